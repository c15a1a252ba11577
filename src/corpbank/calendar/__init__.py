"""Business days and service hours (R-I1): the one place that decides what a business day is.

A business day is a weekday that is not a national holiday (the ``holidays`` package, Japan, public and
bank categories), not 31 December – 3 January, and not a day the bank closes besides (``ClosedDay``,
added in the back office). The day's cut-off for same-day transfers, how far ahead a transfer may be
dated, the helpdesk's hours and each operation's service hours are here too. Nothing else in the code
decides any of them."""

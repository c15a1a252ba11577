"""The ledger (元帳): the bank's accounts and the postings that move money between them, in integer yen,
double-entry (R-G7). It is corpbank's embedded core banking, for the demo and for a small bank.

It is also the seam where a bank plugs in its own core system: everything that moves money calls
``services.post`` (and ``services.reverse`` for a correction), and reads balances and history through
``selectors``. A bank with its own core system replaces those few functions; the screens, the API, the
limits and the approvals above them stay as they are.

The database enforces the invariants (migration 0017; the same rules on PostgreSQL and SQLite):

- a posting's legs are two or more and sum to zero;
- each account's legs form a running chain: the n-th leg of an account carries the account's balance
  after it, the (n-1)-th leg's balance plus its amount;
- a customer's account never goes below zero;
- postings and legs are never changed or deleted: a correction is a reversing posting.

``corpbank ledger verify`` checks every one of them over the whole ledger and names the first
violation; Python repeats them only for readable messages."""

"""``corpbank ledger verify``: every invariant of the ledger over the whole ledger, the first violation
named (R-G7). The database refuses each of them as it is written (migration 0017); this is for what got
past it anyway: a restore, a trigger dropped by hand, a row changed with the triggers disabled."""

from __future__ import annotations

import dataclasses
from collections import Counter

from django.db import connection

from corpbank.ledger.models import LedgerAccount, Leg, Posting

POSTING, LEG, ACCOUNT = Posting._meta.db_table, Leg._meta.db_table, LedgerAccount._meta.db_table

# Each leg against the one before it on its account.
_WINDOW = "OVER (PARTITION BY account_id ORDER BY seq)"
_PREVIOUS = f"LAG(seq) {_WINDOW} AS previous_seq, LAG(balance_after) {_WINDOW} AS previous_balance"
_CHAIN = (
    f"SELECT id FROM (SELECT id, seq, amount, balance_after, {_PREVIOUS} FROM {LEG}) chain"  # noqa: S608
    " WHERE seq <> COALESCE(previous_seq, 0) + 1"
    " OR balance_after <> COALESCE(previous_balance, 0) + amount ORDER BY id LIMIT 1"
)

# Each check: a statement that finds the first offending row (by id), and what it breaks.
CHECKS: list[tuple[str, str]] = [
    (
        f"SELECT posting_id FROM {LEG} GROUP BY posting_id"  # noqa: S608 - names
        " HAVING COUNT(*) < 2 OR SUM(amount) <> 0 ORDER BY posting_id LIMIT 1",
        "posting {0}: its legs are not two or more summing to zero",
    ),
    (
        f"SELECT p.id FROM {POSTING} p LEFT JOIN {LEG} l ON l.posting_id = p.id"  # noqa: S608 - names
        " WHERE l.id IS NULL ORDER BY p.id LIMIT 1",
        "posting {0}: it has no legs",
    ),
    (
        f"SELECT p.id FROM {POSTING} p JOIN (SELECT posting_id, COUNT(*) AS n FROM {LEG}"  # noqa: S608
        " GROUP BY posting_id) c ON c.posting_id = p.id"
        " WHERE p.legs_count IS NOT NULL AND p.legs_count <> c.n ORDER BY p.id LIMIT 1",
        "posting {0}: it does not hold the legs it sealed",
    ),
    (
        f"SELECT l.id FROM {LEG} l LEFT JOIN {POSTING} p ON p.id = l.posting_id"  # noqa: S608 - names
        " WHERE p.id IS NULL ORDER BY l.id LIMIT 1",
        "leg {0}: its posting does not exist",
    ),
    (
        f"SELECT id FROM {LEG} WHERE amount = 0 OR amount > 9999999999999 OR amount < -9999999999999"  # noqa: S608
        " ORDER BY id LIMIT 1",
        "leg {0}: its amount is zero or longer than 13 digits",
    ),
    (
        _CHAIN,
        "leg {0}: it does not continue its account's running balance (a leg missing, changed or moved)",
    ),
    (
        f"SELECT l.id FROM {LEG} l JOIN {ACCOUNT} a ON a.id = l.account_id"  # noqa: S608 - names
        " WHERE a.kind = 'customer' AND l.balance_after < 0 ORDER BY l.id LIMIT 1",
        "leg {0}: it takes a customer's account below zero",
    ),
]


@dataclasses.dataclass(frozen=True)
class Report:
    violation: str  # empty when the ledger holds
    postings: int
    legs: int
    accounts: int
    total: int  # the sum of every account's balance: zero when every posting balances

    @property
    def intact(self) -> bool:
        return not self.violation


def verify() -> Report:
    violation = ""
    with connection.cursor() as cursor:
        for statement, broken in CHECKS:
            cursor.execute(statement)
            row = cursor.fetchone()
            if row is not None:
                violation = broken.format(row[0])
                break
        if not violation:
            violation = _reversals_mirror(cursor)
        cursor.execute(f"SELECT COUNT(*) FROM {POSTING}")  # noqa: S608 - a name
        postings = int(cursor.fetchone()[0])
        cursor.execute(f"SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM {LEG}")  # noqa: S608 - a name
        legs, total = (int(value) for value in cursor.fetchone())
        cursor.execute(f"SELECT COUNT(*) FROM {ACCOUNT}")  # noqa: S608 - a name
        accounts = int(cursor.fetchone()[0])
    return Report(violation, postings, legs, accounts, total)


def _reversals_mirror(cursor) -> str:  # type: ignore[no-untyped-def]
    """Each reversal moves exactly the original's amounts, each the other way, on the same accounts."""
    cursor.execute(
        f"SELECT r.id, r.reverses_id, l.posting_id, l.account_id, l.amount FROM {POSTING} r"  # noqa: S608
        f" JOIN {LEG} l ON l.posting_id IN (r.id, r.reverses_id) WHERE r.reverses_id IS NOT NULL"
        " ORDER BY r.id"
    )
    sides: dict[int, Counter[tuple[int, int]]] = {}
    for reversal, original, posting, account, amount in cursor.fetchall():
        side = sides.setdefault(reversal, Counter())
        side[(account, amount if posting == original else -amount)] += 1 if posting == original else -1
    for reversal in sorted(sides):
        if any(sides[reversal].values()):
            return f"posting {reversal}: it does not reverse its original leg for leg"
    return ""

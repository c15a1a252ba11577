"""Reads of the ledger: balances and an account's history (明細), for screens, the API and the back
office. A bank with its own core system answers these from it (see the package's docstring)."""

from __future__ import annotations

from corpbank.core.db import select
from corpbank.ledger.models import LedgerAccount, Leg

_BALANCE = f"SELECT balance_after FROM {Leg._meta.db_table} WHERE account_id = %s ORDER BY seq DESC LIMIT 1"  # noqa: S608


def balance(account_id: int) -> int:
    """The account's balance in yen: its last leg's running balance (0 before any)."""
    rows = select(_BALANCE, [account_id])
    return int(rows[0][0]) if rows else 0


def internal_account(purpose: str) -> LedgerAccount:
    """The bank's internal account of ``purpose``, opened the first time it is asked for."""
    account, _created = LedgerAccount.objects.get_or_create(kind=LedgerAccount.Kind.INTERNAL, purpose=purpose)
    return account


def customer_account(branch_id: int, type: str, number: str) -> LedgerAccount | None:
    """The customer's account by its key (branch, 科目, 7-digit number), or None."""
    return LedgerAccount.objects.filter(
        kind=LedgerAccount.Kind.CUSTOMER, branch_id=branch_id, type=type, number=number
    ).first()


def customer_account_at(
    branch_code: str, type: str, number: str, *, open_only: bool = False
) -> LedgerAccount | None:
    """The customer's account by the branch's code (店番), 科目 and number, as people name it; with
    ``open_only``, None for a closed one."""
    held = LedgerAccount.objects.filter(
        kind=LedgerAccount.Kind.CUSTOMER, branch__code=branch_code, type=type, number=number
    ).first()
    if held is None or (open_only and held.closed_at is not None):
        return None
    return held

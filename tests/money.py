"""Fixtures of money to move (a plugin of tests/conftest.py): the master's contract account funded at
the counter, and another customer of the bank to transfer to."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import transaction

from corpbank.ledger import selectors as ledger_selectors
from corpbank.ledger import services as ledger
from corpbank.ledger.models import LedgerAccount, Posting
from corpbank.organizations.models import Account, Branch, CustomerUser, UsageLimit
from corpbank.payments.payees import PayeeInput
from corpbank.payments.transfers import TransferInput

OTHER_CUSTOMER = ("101", "1", "7654321", "ﾔﾏﾀﾞ ﾊﾅｺ")


def pay_in(account: Account | LedgerAccount, amount: int, day: date | None = None) -> None:
    """Cash paid in at the counter."""
    held = (
        account
        if isinstance(account, LedgerAccount)
        else ledger_selectors.customer_account(account.branch_id, account.type, account.number)
    )
    assert held is not None
    cash = ledger_selectors.internal_account(LedgerAccount.Purpose.CASH)
    with transaction.atomic():
        ledger.post(
            kind=Posting.Kind.CASH_DEPOSIT,
            value_date=day or date(2026, 11, 24),
            entries=[ledger.Entry(held.pk, amount, "ｹﾞﾝｷﾝ"), ledger.Entry(cash.pk, -amount)],
        )


def balance_of(account: Account | LedgerAccount) -> int:
    held = (
        account
        if isinstance(account, LedgerAccount)
        else ledger_selectors.customer_account(account.branch_id, account.type, account.number)
    )
    assert held is not None
    return ledger_selectors.balance(held.pk)


@pytest.fixture
def other_customer(branch: Branch) -> LedgerAccount:
    """山田花子's 普通 account at the same branch (本店営業部 101), empty."""
    with transaction.atomic():
        return ledger.open_customer_account(
            branch=branch, type=OTHER_CUSTOMER[1], number=OTHER_CUSTOMER[2], holder=OTHER_CUSTOMER[3]
        )


@pytest.fixture
def payer(master: CustomerUser, clock) -> CustomerUser:  # type: ignore[no-untyped-def]
    """The master, its contract account holding 1,000,000 yen, on Tuesday 24 November 2026 at 10:00
    in Tokyo (a business day, before the 15:00 cut-off). The contract's limit for 振込振替 is the
    registration's default (10,000,000 per transfer, 30,000,000 a day)."""
    pay_in(master.contract.accounts.get(), 1_000_000)
    assert UsageLimit.objects.filter(
        contract_id=master.contract_id, user__isnull=True, kind="single_transfer"
    )
    return master


def to_mizuho(payer, amount: str, **overrides: str) -> TransferInput:  # type: ignore[no-untyped-def]
    """An ad-hoc transfer of ``amount`` to an account at another bank (みずほ 東京営業部)."""
    return TransferInput(
        source_account=str(payer.contract.accounts.get().pk),
        to="adhoc",
        amount=amount,
        adhoc=PayeeInput(bank_code="0001", branch_code="001", type="1", number="0000001", holder="ﾐｽﾞﾎ ﾀﾛｳ"),
        **overrides,
    )

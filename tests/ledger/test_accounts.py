"""A contract's accounts are the ledger's by branch, type and number (issue 14 item 8): registering a
contract opens, in the organization's name, an account the embedded core does not hold yet."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from corpbank.core.errors import ValidationFailed
from corpbank.core.models import AuditEvent
from corpbank.ledger import selectors, services
from corpbank.ledger.models import LedgerAccount
from tests.conftest import register_contract


def test_registering_a_contract_opens_its_accounts_in_the_organization_s_name(registered):
    account = registered.contract.accounts.get()
    opened = selectors.customer_account(account.branch_id, account.type, account.number)
    assert opened is not None
    assert (opened.holder_kana, opened.kind, selectors.balance(opened.pk)) == (
        "ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ",
        LedgerAccount.Kind.CUSTOMER,
        0,
    )
    event = AuditEvent.objects.get(action="contract.registered", contract_id=registered.contract.pk)
    assert event.details["accounts_opened"] == ["101-1-1234567"]


def test_an_account_the_ledger_holds_is_not_opened_again(branch, operators):
    """An organization that already banks here registers its existing account: the ledger keeps it."""
    with transaction.atomic():
        existing = services.open_customer_account(
            branch=branch, type="1", number="1234567", holder="ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ"
        )
    registered = register_contract(operators)
    assert list(LedgerAccount.objects.filter(kind=LedgerAccount.Kind.CUSTOMER)) == [existing]
    event = AuditEvent.objects.get(action="contract.registered", contract_id=registered.contract.pk)
    assert event.details["accounts_opened"] == []


@pytest.mark.parametrize("closed", [False, True])
def test_another_holder_s_or_a_closed_account_is_refused_at_entry(branch, operators, closed):
    """Registering an account the bank holds for somebody else (or has closed) would show that
    customer's balance to the organization: the entry is refused on the account's row."""
    with transaction.atomic():
        held = services.open_customer_account(
            branch=branch,
            type="1",
            number="1234567",
            holder="ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ" if closed else "ﾔﾏﾀﾞ ﾀﾛｳ",
        )
    if closed:
        LedgerAccount.objects.filter(pk=held.pk).update(closed_at=timezone.now())
    with pytest.raises(ValidationFailed) as refused:
        register_contract(operators)
    assert "accounts.0" in refused.value.fields

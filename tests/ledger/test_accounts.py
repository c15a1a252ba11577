"""A contract's accounts are the ledger's by branch, type and number (issue 14 item 8): registering a
contract opens, in the organization's name, an account the embedded core does not hold yet."""

from __future__ import annotations

from django.db import transaction

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
        existing = services.open_customer_account(branch=branch, type="1", number="1234567", holder="ｺｰﾌﾟ")
    registered = register_contract(operators)
    assert list(LedgerAccount.objects.filter(kind=LedgerAccount.Kind.CUSTOMER)) == [existing]
    event = AuditEvent.objects.get(action="contract.registered", contract_id=registered.contract.pk)
    assert event.details["accounts_opened"] == []
    assert LedgerAccount.objects.get(pk=existing.pk).holder_kana == "ｺｰﾌﾟ"

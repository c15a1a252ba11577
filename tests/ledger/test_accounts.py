"""A contract's accounts are the ledger's by branch, type and number (issue 14 item 8): registering a
contract opens, in the organization's name, an account the embedded core does not hold yet."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from corpbank.approvals import engine
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.services import AccountInput
from corpbank.core.errors import Conflict, ValidationFailed
from corpbank.core.models import AuditEvent
from corpbank.ledger import selectors, services
from corpbank.ledger.models import LedgerAccount
from corpbank.organizations.models import Account
from tests.conftest import application, register_contract


def test_r_g7_registering_a_contract_opens_its_accounts_in_the_organization_s_name(registered):
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


def test_r_g7_an_account_the_ledger_holds_is_not_opened_again(branch, operators):
    """An organization that already banks here registers its existing account: the ledger keeps it."""
    with transaction.atomic():
        existing = services.open_customer_account(
            branch=branch, type="1", number="1234567", holder="ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ"
        )
    registered = register_contract(operators)
    assert list(LedgerAccount.objects.filter(kind=LedgerAccount.Kind.CUSTOMER)) == [existing]
    event = AuditEvent.objects.get(action="contract.registered", contract_id=registered.contract.pk)
    assert event.details["accounts_opened"] == []


def test_r_g7_a_closed_account_is_refused_and_a_held_one_shows_its_holder_to_the_approver(branch, operators):
    """Registering an account the bank holds in the organization's name shows the approver the holder on
    record; one held in another name (someone else's money) and a closed one are refused at entry."""
    with transaction.atomic():
        held = services.open_customer_account(
            branch=branch, type="1", number="1234567", holder="ｺｰﾌﾟ ﾛｳﾄﾞｳｸﾐｱｲ"
        )
        services.open_customer_account(branch=branch, type="1", number="7654321", holder="ﾔﾏﾀﾞ ﾀﾛｳ")
    entered = backoffice.enter_contract_registration(operators[0], application())
    procedure = engine.procedure_for(entered.kind)
    shown = {detail.name: detail.value for detail in procedure.details(entered)}
    assert "名義：ｺｰﾌﾟ ﾛｳﾄﾞｳｸﾐｱｲ" in shown["accounts.0"]
    backoffice.reject(operators[1], entered.pk)
    with pytest.raises(ValidationFailed) as refused:
        register_contract(operators, accounts=[AccountInput("101", "1", "7654321")])
    assert "ﾔﾏﾀﾞ ﾀﾛｳ" in refused.value.fields["accounts.0"]
    LedgerAccount.objects.filter(pk=held.pk).update(closed_at=timezone.now())
    with pytest.raises(ValidationFailed) as refused:
        register_contract(operators)
    assert refused.value.fields["accounts.0"] == "この口座は解約済みです。"


def test_r_g7_an_account_closed_after_the_entry_stops_the_approval(branch, operators):
    with transaction.atomic():
        held = services.open_customer_account(branch=branch, type="1", number="1234567", holder="ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ")
    entered = backoffice.enter_contract_registration(operators[0], application())
    LedgerAccount.objects.filter(pk=held.pk).update(closed_at=timezone.now())
    with pytest.raises(Conflict, match="受付の後に解約されました"):
        backoffice.approve(operators[1], entered.pk)
    assert not Account.objects.filter(number="1234567").exists()

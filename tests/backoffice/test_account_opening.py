"""口座の追加 (issue 14 item 8, R-A2): an account added to a contract on the paper form, four-eyes; on
approval it is the contract's (照会, the paying account) and the embedded ledger opens it in the
organization's kana name. An account of another contract, a closed one, or a malformed one is refused."""

from __future__ import annotations

import pytest
from django.db import transaction

from corpbank.approvals.models import PendingAction
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.services import AccountInput
from corpbank.backoffice.services import accounts as accounts_service
from corpbank.core.errors import Conflict, ValidationFailed
from corpbank.core.models import AuditEvent
from corpbank.ledger import selectors as ledger_selectors
from corpbank.ledger import services as ledger
from corpbank.organizations.models import Account, Branch
from tests.api.test_api import operator
from tests.conftest import application, register_contract


def test_an_account_is_added_on_approval_and_opened_in_the_ledger(registered, operators):
    clerk = operator("clerk1")
    status, action = clerk.post(
        f"/backoffice/contracts/{registered.contract.pk}/accounts",
        {"branch_code": "101", "type": "2", "number": "７７７７７７７"},
    )
    assert status == 202, action
    assert not Account.objects.filter(number="7777777").exists()  # not before the approval
    approver = operator("clerk2")
    status, _body = approver.post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})
    assert status == 200
    added = Account.objects.get(number="7777777")
    assert added.contract_id == registered.contract.pk and added.type == "2"
    held = ledger_selectors.customer_account(added.branch_id, "2", "7777777")
    assert held is not None and held.holder_kana == "ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ"
    assert AuditEvent.objects.filter(action="contract.account_added").exists()


def test_an_account_already_a_contracts_or_malformed_is_refused(registered, operators):
    clerk = operators[0]
    with pytest.raises(ValidationFailed) as refused:
        backoffice.enter_account_opening(
            clerk, registered.contract.pk, branch_code="101", type="1", number="1234567"
        )
    assert "すでにいずれかの契約" in refused.value.fields["account"]
    with pytest.raises(ValidationFailed):
        backoffice.enter_account_opening(
            clerk, registered.contract.pk, branch_code="999", type="1", number="1"
        )


def test_an_account_the_bank_holds_in_another_name_is_refused(registered, operators):
    with transaction.atomic():
        ledger.open_customer_account(
            branch=Branch.objects.get(code="101"), type="1", number="7654321", holder="ﾔﾏﾀﾞ ﾊﾅｺ"
        )
        ledger.open_customer_account(
            branch=Branch.objects.get(code="101"), type="1", number="7654322", holder="ｺｰﾌﾟ ﾛｳﾄﾞｳｸﾐｱｲ"
        )
    with pytest.raises(ValidationFailed) as refused:
        backoffice.enter_account_opening(
            operators[0], registered.contract.pk, branch_code="101", type="1", number="7654321"
        )
    assert "ﾔﾏﾀﾞ ﾊﾅｺ" in refused.value.fields["account"]
    # The organization's own name, spaced and spelt with the hyphen or not, is its own.
    assert backoffice.enter_account_opening(
        operators[0], registered.contract.pk, branch_code="101", type="1", number="7654322"
    )


def test_a_new_contract_may_not_take_an_account_the_bank_holds_in_another_name(branch, operators):
    with transaction.atomic():
        ledger.open_customer_account(branch=branch, type="1", number="7654321", holder="ﾔﾏﾀﾞ ﾊﾅｺ")
    with pytest.raises(ValidationFailed) as refused:
        register_contract(operators, accounts=[AccountInput("101", "1", "7654321")])
    assert "ﾔﾏﾀﾞ ﾊﾅｺ" in refused.value.fields["accounts.0"]


def test_a_second_registration_of_one_account_is_a_conflict_at_approval(branch, operators):
    """Two applications entered for the same account (nothing refuses the second while the first
    waits): approving the second after the first answers 409 and says to reject it, it does not fail
    on the unique constraint (R-A2)."""
    first = backoffice.enter_contract_registration(operators[0], application())
    second = backoffice.enter_contract_registration(operators[0], application())
    backoffice.approve(operators[1], first.pk)
    with pytest.raises(Conflict) as refused:
        backoffice.approve(operators[1], second.pk)
    assert "101-1-1234567" in refused.value.message and "却下" in refused.value.message
    assert Account.objects.filter(number="1234567").count() == 1
    second.refresh_from_db()
    assert second.status == PendingAction.Status.PENDING  # still there, to be rejected
    assert backoffice.reject(operators[1], second.pk).status == PendingAction.Status.REJECTED


def test_an_effect_refused_by_a_unique_constraint_is_a_conflict(registered, operators, monkeypatch):
    """Whatever the procedure's own checks miss (two approvals at the same moment), the database's
    constraint is told as a 409 over the API, and nothing of the approval is kept."""
    clerk = operator("clerk1")
    status, action = clerk.post(
        f"/backoffice/contracts/{registered.contract.pk}/accounts",
        {"branch_code": "101", "type": "1", "number": "7777777"},
    )
    assert status == 202, action
    # As if a concurrent approval had passed the same check: the account taken after the check.
    monkeypatch.setattr(accounts_service, "_taken", lambda *args: None)
    with transaction.atomic():
        Account.objects.create(
            contract=registered.contract, branch=Branch.objects.get(code="101"), type="1", number="7777777"
        )
    status, body = operator("clerk2").post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})
    assert status == 409, body
    assert "却下" in body["error"]["message"]
    assert PendingAction.objects.get(pk=action["id"]).status == PendingAction.Status.PENDING
    assert not AuditEvent.objects.filter(action="contract.account_added").exists()


def test_any_other_refusal_of_the_database_stays_a_server_error(registered, operators, monkeypatch):
    """The review of stop 22: only a unique constraint is the approver's to act on; a ledger
    invariant (a CHECK, a trigger) told as 「却下してください」 would have a valid entry rejected."""
    from django.db import IntegrityError

    entered = backoffice.enter_account_opening(
        operators[0], registered.contract.pk, branch_code="101", type="1", number="7777777"
    )

    def broken(*args, **kwargs):
        raise IntegrityError("CHECK constraint failed: corpbank_leg_sums_to_zero")

    monkeypatch.setattr(accounts_service.AddAccount, "execute", broken)
    with pytest.raises(IntegrityError):
        backoffice.approve(operators[1], entered.pk)
    assert PendingAction.objects.get(pk=entered.pk).status == PendingAction.Status.PENDING

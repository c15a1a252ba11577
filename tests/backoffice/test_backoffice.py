"""The back office's paper procedures, four-eyes (R-A1, R-B4, R-B7, R-B8, R-C3, R-F5)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from corpbank.approvals.models import PendingAction
from corpbank.backoffice import services as backoffice
from corpbank.core.errors import Conflict, Forbidden, InvalidCredentials, Suspended, ValidationFailed
from corpbank.identity.hashing import verify_hash
from corpbank.identity.models import Principal, Secret
from corpbank.organizations.models import Contract, CustomerUser
from tests.conftest import (
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    PINS,
    activate_master,
    application,
    log_in,
)


def test_r_a1_an_entry_takes_effect_only_when_a_second_operator_approves(branch, operators):
    entered = backoffice.enter_contract_registration(operators[0], application())
    assert not Contract.objects.exists()
    with pytest.raises(Forbidden):
        backoffice.approve(operators[0], entered.pk)
    assert not Contract.objects.exists()
    decision = backoffice.approve(operators[1], entered.pk)
    assert Contract.objects.get().number == decision.letter.contract_number
    with pytest.raises(Conflict):
        backoffice.approve(operators[1], entered.pk)


def test_r_a1_the_database_refuses_self_approval(branch, operators):
    entered = backoffice.enter_contract_registration(operators[0], application())
    with pytest.raises(IntegrityError), transaction.atomic():
        PendingAction.objects.filter(pk=entered.pk).update(
            status="approved", decided_by=operators[0], decided_at=timezone.now()
        )


def test_a_rejected_entry_never_takes_effect(branch, operators):
    entered = backoffice.enter_contract_registration(operators[0], application())
    backoffice.reject(operators[1], entered.pk)
    with pytest.raises(Conflict):
        backoffice.approve(operators[1], entered.pk)
    assert not Contract.objects.exists()


def _stored_texts(value: object) -> Iterator[str]:
    """Every key and every scalar value of a stored JSON payload, as text."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _stored_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _stored_texts(item)
    else:
        yield str(value)


def test_r_b4_pins_are_hashed_when_entered_not_kept_in_the_queue(branch, operators):
    entered = backoffice.enter_contract_registration(operators[0], application())
    payload = PendingAction.objects.get(pk=entered.pk).payload
    hashes = payload["pin_hashes"]
    assert set(hashes) == set(PINS)
    for kind, pin in PINS.items():
        assert hashes[kind].startswith("$argon2id$")
        assert verify_hash(hashes[kind], pin)
    # Nowhere else in the queue, in any form: not as a value, a key, a number or part of a text.
    others = [text for text in _stored_texts(payload) if text not in hashes.values()]
    for pin in PINS.values():
        assert not any(pin in text for text in others)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"organization_name_kana": "生活協同組合"}, "organization_name_kana"),  # kanji: no kana
        # 61 voiced kana are 122 half-width characters: past the column, told at entry, not a 500 at approval
        ({"organization_name_kana": "ダ" * 61}, "organization_name_kana"),
        ({"organization_name": "組" * 121}, "organization_name"),
        ({"branch_code": "999"}, "branch_code"),
        ({"pins": {"inquiry_pin": "12"}}, "inquiry_pin"),
        ({"accounts": []}, "accounts"),
    ],
)
def test_bad_applications_are_refused_with_the_field_named(branch, operators, overrides, field):
    with pytest.raises(ValidationFailed) as error:
        backoffice.enter_contract_registration(operators[0], application(**overrides))
    assert field in error.value.fields
    assert not PendingAction.objects.exists()


def test_a_kana_name_typed_in_full_width_is_kept_in_half_width_kana(branch, operators):
    """People type the kana name with the IME on (コープ, or hiragana): the bank keeps the half-width
    kana the Zengin format carries (jaconv), instead of refusing it."""
    entered = backoffice.enter_contract_registration(
        operators[0], application(organization_name_kana="こーぷ　ロウドウクミアイ")
    )
    assert PendingAction.objects.get(pk=entered.pk).payload["organization_name_kana"] == "ｺｰﾌﾟ ﾛｳﾄﾞｳｸﾐｱｲ"


def test_r_b4_pin_change_replaces_only_the_named_pins(master, operators):
    before = dict(Secret.objects.filter(contract=master.contract).values_list("kind", "hash"))
    action = backoffice.enter_pin_change(operators[0], master.contract_id, {"transfer_pin": "9876"})
    backoffice.approve(operators[1], action.pk)
    after = dict(Secret.objects.filter(contract=master.contract).values_list("kind", "hash"))
    assert after["transfer_pin"] != before["transfer_pin"]
    assert after["inquiry_pin"] == before["inquiry_pin"]


def test_r_b8_initializing_the_master_issues_a_new_letter_and_clears_the_login_id(master, operators):
    action = backoffice.enter_master_initialization(operators[0], master.contract_id)
    letter = backoffice.approve(operators[1], action.pk).letter
    master.refresh_from_db()
    assert master.login_id is None and master.status == CustomerUser.Status.AWAITING_REGISTRATION
    with pytest.raises(InvalidCredentials):
        log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD)
    from tests.conftest import Registered

    # The secret questions stay: only the bank's own procedure resets them (R-D3).
    activate_master(
        Registered(master.contract, master, letter.initial_password), login_id="master02", questions=False
    )


def test_r_c3_only_the_bank_lifts_a_suspended_master(master, operators, settings):
    settings.CORPBANK_POLICY = "suspend-at-6"
    for _ in range(6):
        with pytest.raises((InvalidCredentials, Suspended)):
            log_in(login_id=MASTER_LOGIN_ID, password="Wrong1pass")
    with pytest.raises(Suspended) as suspended:
        log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD)
    assert "書面" in suspended.value.message
    action = backoffice.enter_master_lock_lift(operators[0], master.contract_id)
    backoffice.approve(operators[1], action.pk)
    assert not Principal.objects.get(pk=master.principal_id).is_suspended
    assert log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD).user == master


def test_operators_log_in_through_the_same_lockout(operators):
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            backoffice.operator_log_in(login_name="clerk1", password="Wrong1pass")
    from corpbank.core.errors import LockedOut

    with pytest.raises(LockedOut):
        backoffice.operator_log_in(login_name="clerk1", password="Wrong1pass")


def test_r_a2_a_registered_contract_holds_what_the_application_said(branch, operators):
    from corpbank.identity.models import Secret
    from corpbank.organizations.models import Account

    entered = backoffice.enter_contract_registration(
        operators[0],
        application(
            login_method="certificate",
            accounts=[
                backoffice.AccountInput("101", "1", "1234567"),
                backoffice.AccountInput("101", "2", "7654321"),
            ],
        ),
    )
    contract = Contract.objects.get(
        number=backoffice.approve(operators[1], entered.pk).letter.contract_number
    )
    assert contract.service == Contract.Service.INTERNET_BANKING
    assert contract.status == Contract.Status.ACTIVE
    assert contract.login_method == Contract.LoginMethod.CERTIFICATE
    assert (contract.organization.name, contract.organization.name_kana) == ("コープ労働組合", "ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ")
    assert contract.branch.code == "101"
    assert set(Account.objects.filter(contract=contract).values_list("type", "number")) == {
        ("1", "1234567"),
        ("2", "7654321"),
    }
    pins = dict(Secret.objects.filter(contract=contract).values_list("kind", "hash"))
    assert set(pins) == {"inquiry_pin", "transfer_pin", "confirmation_pin", "approval_pin"}
    assert all(pin_hash.startswith("$argon2id$") for pin_hash in pins.values())
    assert CustomerUser.objects.get(contract=contract).role == CustomerUser.Role.MASTER

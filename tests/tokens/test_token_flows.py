"""Tokens in the users' hands: registration at login, sharing, the OTP column of the operation table
(R-C4, R-E2, R-E7, R-E8)."""

from __future__ import annotations

import pytest

from corpbank.backoffice import services as backoffice
from corpbank.core.errors import (
    FactorsRejected,
    InvalidCredentials,
    TokenRegistrationRequired,
    TokenSuspended,
    ValidationFailed,
)
from corpbank.identity.models import FailureCounter
from corpbank.organizations import services as users
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens
from corpbank.tokens.models import Token, TokenRegistration
from corpbank.tokens.otp import TokenNotUsable
from tests import conftest
from tests.conftest import (
    MASTER_CONFIRMATION,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    code_now,
    register_contract,
    ship_tokens,
)


def log_in():
    return conftest.log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD)


def register(user, serial="HW00000001", code=None):
    return tokens.register_for_user(user=user, serial=serial, code=code if code is not None else code_now())


def add_user(master, login_id="staff001", otp=None):
    return users.add_general_user(
        master=master,
        factors={"confirmation_password": MASTER_CONFIRMATION, "otp": otp if otp is not None else code_now()},
        login_id=login_id,
        name="一般",
        login_password="Init1login",
        confirmation_password="Init1conf",
    )


def test_r_e7_a_user_without_a_token_is_sent_to_the_registration_screen(otp_master):
    assert log_in().must_register_token
    register(otp_master)
    assert not log_in().must_register_token


def test_contracts_without_otp_never_ask_for_a_token(master):
    assert not log_in().must_register_token


def test_r_e7_registration_by_serial_and_current_code(otp_master):
    registration = register(otp_master, serial=" hw00000001 ")
    assert registration.token.serial == "HW00000001"
    assert Token.objects.get(serial="HW00000001").state == Token.State.IN_USE


@pytest.mark.parametrize("serial", ["HW99999999", "HW00000003"])
def test_a_serial_not_shipped_to_this_contract_is_refused_vaguely(otp_master, operators, serial):
    from corpbank.backoffice.services import AccountInput

    other = register_contract(operators, accounts=[AccountInput("101", "1", "7777777")], otp_required=True)
    ship_tokens(operators, other.contract, "HW00000003")
    with pytest.raises(InvalidCredentials) as wrong_serial:
        register(otp_master, serial=serial)
    with pytest.raises(InvalidCredentials) as wrong_code:
        register(otp_master, code="000000" if code_now() != "000000" else "111111")
    assert wrong_serial.value.message == wrong_code.value.message


def test_r_e8_two_users_share_one_token(otp_master, clock):
    register(otp_master)
    clock(60)
    staff = add_user(otp_master)
    clock(60)
    register(staff)
    assert TokenRegistration.objects.filter(token__serial="HW00000001", ended_at__isnull=True).count() == 2


def test_r_e2_adding_a_user_needs_an_otp_once_the_contract_uses_them(otp_master, clock):
    with pytest.raises(TokenRegistrationRequired):
        add_user(otp_master)
    register(otp_master)
    clock(60)
    with pytest.raises(ValidationFailed):  # asked for on its field, counted against nobody
        add_user(otp_master, otp="")
    add_user(otp_master)


def test_r_e2_one_otp_authorises_one_operation(otp_master, clock):
    register(otp_master)
    clock(60)
    code = code_now()
    add_user(otp_master, "staff001", otp=code)
    with pytest.raises(FactorsRejected):
        add_user(otp_master, "staff002", otp=code)


def test_r_c4_ten_wrong_otps_stop_the_masters_token_and_say_the_bank_lifts_it(otp_master, clock):
    register(otp_master)
    wrong = "000000" if code_now() != "000000" else "111111"
    for _ in range(9):
        with pytest.raises(FactorsRejected):
            add_user(otp_master, otp=wrong)
    with pytest.raises(TokenSuspended) as stopped:
        add_user(otp_master, otp=wrong)
    assert "書面" in stopped.value.message
    # The user is not locked: only the token is.
    assert log_in().user == otp_master


def test_r_e4_an_expired_token_cannot_be_registered(otp_master):
    from datetime import date

    Token.objects.filter(serial="HW00000001").update(expires_on=date(2026, 11, 1))
    with pytest.raises(TokenNotUsable) as expired:
        register(otp_master)
    assert "有効期限" in expired.value.message


def test_r_e1_shipping_is_four_eyes_and_takes_only_stock(otp_master, operators):
    with pytest.raises(ValidationFailed):
        backoffice.enter_token_shipment(operators[0], otp_master.contract_id, ["HW00000001"])


def factors(code=None):
    return {"confirmation_password": MASTER_CONFIRMATION, "otp": code if code is not None else code_now()}


def test_r_e7_revocation_stops_the_token_at_once_and_asks_for_registration_after_the_delay(otp_master, clock):
    register(otp_master)
    clock(60)
    tokens.revoke_for_user(master=otp_master, factors=factors(), user_id=otp_master.pk)
    clock(60)
    with pytest.raises(TokenRegistrationRequired):
        add_user(otp_master)
    assert not log_in().must_register_token  # about 30 minutes first
    clock(28 * 60)  # 29 minutes after the revocation
    assert not log_in().must_register_token
    clock(61)
    assert log_in().must_register_token
    register(otp_master, serial="HW00000002")
    assert Token.objects.get(serial="HW00000001").state == Token.State.REVOKED


def test_r_e7_the_master_revokes_a_general_users_token(otp_master, clock):
    register(otp_master)
    clock(60)
    staff = add_user(otp_master)
    clock(60)
    register(staff, serial="HW00000002")
    clock(60)
    tokens.revoke_for_user(master=otp_master, factors=factors(), user_id=staff.pk)
    assert token_selectors.registration_in_force(staff) is None
    assert token_selectors.registration_in_force(otp_master) is not None


def test_r_c4_the_master_lifts_a_general_users_token_stop(otp_master, clock):
    from django.db import transaction

    from corpbank.authorization.operations import Operation, check_factors
    from corpbank.core import audit
    from corpbank.identity.models import Principal

    register(otp_master)
    clock(60)
    staff = add_user(otp_master)
    clock(60)
    register(staff, serial="HW00000002")
    token = Token.objects.get(serial="HW00000002")
    for _ in range(10):
        with transaction.atomic():
            check_factors(
                Operation.PAYEE_REGISTRATION,
                user=staff,
                actor=audit.Actor.system("t"),
                supplied={"confirmation_password": "Init1conf", "otp": "000000"},
            )
    assert Principal.objects.get(pk=token.principal_id).is_suspended
    tokens.lift_lock_for_user(
        master=otp_master, factors={"confirmation_password": MASTER_CONFIRMATION}, user_id=staff.pk
    )
    assert not Principal.objects.get(pk=token.principal_id).is_suspended


def test_r_c4_a_token_the_master_uses_is_lifted_only_by_the_bank(otp_master, operators, clock):
    from corpbank.core.errors import Forbidden
    from corpbank.identity.models import Principal

    register(otp_master)
    clock(60)
    staff = add_user(otp_master)
    clock(60)
    register(staff)  # the same token as the master (R-E8)
    token = Token.objects.get(serial="HW00000001")
    Principal.objects.filter(pk=token.principal_id).update(suspended_at=clock())
    with pytest.raises(Forbidden, match="書面"):
        tokens.lift_lock_for_user(
            master=otp_master, factors={"confirmation_password": MASTER_CONFIRMATION}, user_id=staff.pk
        )
    entered = backoffice.enter_procedure(operators[0], otp_master.contract_id, "lift-master-token-lock")
    backoffice.approve(operators[1], entered.pk)
    assert not Principal.objects.get(pk=token.principal_id).is_suspended


def test_r_e6_a_lost_token_is_disabled_at_once_and_for_ever(otp_master, clock):
    from django.db import DatabaseError, transaction

    from corpbank.core import audit

    register(otp_master)
    tokens.report_lost(serial="hw00000001", actor=audit.Actor.system("bank"))
    assert token_selectors.registration_in_force(otp_master) is None
    clock(31 * 60)
    assert log_in().must_register_token
    with pytest.raises(TokenNotUsable, match="紛失"):
        register(otp_master, serial="HW00000001")  # found again: never usable
    with pytest.raises(DatabaseError), transaction.atomic():
        Token.objects.filter(serial="HW00000001").update(state=Token.State.IN_USE)


def test_r_e3_first_tokens_are_free_additional_and_reissued_ones_carry_the_fee(
    otp_master, operators, settings
):
    from corpbank.core import audit
    from corpbank.tokens.models import TokenFee

    assert not TokenFee.objects.exists()
    for serial in ("HW00000010", "HW00000011"):
        tokens.add_to_stock(serial=serial, seed=b"0123456789abcdef0123", actor=audit.Actor.system("t"))
    for serial, reason in (("HW00000010", "additional"), ("HW00000011", "reissue")):
        entered = backoffice.enter_token_shipment(
            operators[0], otp_master.contract_id, [serial], fee_reason=reason
        )
        backoffice.approve(operators[1], entered.pk)
    fees = {fee.token.serial: (fee.reason, fee.amount_yen) for fee in TokenFee.objects.all()}
    assert fees == {
        "HW00000010": ("additional", settings.CORPBANK_TOKEN_FEE_ADDITIONAL),
        "HW00000011": ("reissue", settings.CORPBANK_TOKEN_FEE_REISSUE),
    }


@pytest.mark.parametrize("confirmation", [MASTER_CONFIRMATION, "Wrong1conf"])
def test_a_malformed_code_is_refused_before_the_confirmation_password_is_checked(
    otp_master, clock, confirmation
):
    """The same 422 whether the confirmation password was right or not, and nothing counted: a message
    about the code's form must not tell which passwords are right (R-C6, issue 12 item 1)."""
    register(otp_master)
    clock(60)
    with pytest.raises(ValidationFailed) as refused:
        users.add_general_user(
            master=otp_master,
            factors={"confirmation_password": confirmation, "otp": "12a456"},
            login_id="staff001",
            name="一般",
            login_password="Init1login",
            confirmation_password="Init1conf",
        )
    assert set(refused.value.fields) == {"otp"}
    assert not FailureCounter.objects.filter(consecutive_failures__gt=0).exists()

"""First registration, login, password change and expiry (R-B1–R-B8, R-F5 contract status)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from corpbank.authentication import services as authentication
from corpbank.backoffice import services as backoffice
from corpbank.core.errors import ContractNotActive, InvalidCredentials, ValidationFailed
from corpbank.identity.models import Secret
from corpbank.organizations.models import CustomerUser
from tests.conftest import MASTER_CONFIRMATION, MASTER_LOGIN_ID, MASTER_PASSWORD, activate_master, log_in


def test_r_b7_master_registers_login_id_and_passwords_with_the_initial_password(registered):
    master = activate_master(registered)
    assert master.login_id == MASTER_LOGIN_ID
    assert master.status == CustomerUser.Status.ACTIVE
    outcome = log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD)
    assert outcome.user == master
    assert outcome.must_change == ()


def test_r_b7_the_initial_password_serves_once(registered):
    activate_master(registered)
    with pytest.raises(InvalidCredentials):
        activate_master(registered, login_id="other123")


def test_r_b7_an_expired_initial_password_is_refused(registered):
    Secret.objects.filter(principal_id=registered.master.principal_id, kind="initial_password").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(InvalidCredentials):
        activate_master(registered)


def test_r_b7_a_wrong_initial_password_counts_towards_lockout(registered):
    registered.initial_password = "Wrong1pass"
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            activate_master(registered)
    from corpbank.core.errors import LockedOut

    with pytest.raises(LockedOut):
        activate_master(registered)


def test_r_b1_login_id_is_unique_in_the_bank(operators, registered):
    from tests.conftest import register_contract

    activate_master(registered)
    other = register_contract(operators, accounts=[backoffice.AccountInput("101", "1", "7777777")])
    with pytest.raises(ValidationFailed) as error:
        activate_master(other)
    assert "login_id" in error.value.fields


def test_r_b1_login_id_is_case_sensitive(master):
    with pytest.raises(InvalidCredentials):
        log_in(login_id=MASTER_LOGIN_ID.upper(), password=MASTER_PASSWORD)


def test_r_b6_password_near_expiry_warns_and_past_expiry_forces_change(master):
    secret = Secret.objects.get(principal_id=master.principal_id, kind="login_password")
    secret.change_due_at = timezone.now() + timedelta(days=3)
    secret.save()
    outcome = log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD)
    assert outcome.warn_expiry and outcome.must_change == ()
    secret.change_due_at = timezone.now() - timedelta(days=1)
    secret.save()
    outcome = log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD)
    assert outcome.must_change == ("login_password",)


def test_r_b6_changing_the_login_password_starts_a_new_lifetime(master):
    authentication.change_passwords(
        user=master,
        current={"login_password": MASTER_PASSWORD, "confirmation_password": MASTER_CONFIRMATION},
        new_login_password="New1login",
        new_login_password_again="New1login",
        new_confirmation_password=None,
        new_confirmation_password_again=None,
    )
    outcome = log_in(login_id=MASTER_LOGIN_ID, password="New1login")
    assert outcome.password_change_due_at > timezone.now() + timedelta(days=89)
    with pytest.raises(InvalidCredentials):
        log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD)


def test_r_b6_a_wrong_current_password_is_refused_and_counted(master):
    with pytest.raises(InvalidCredentials):
        authentication.change_passwords(
            user=master,
            current={"login_password": "Wrong1pass", "confirmation_password": MASTER_CONFIRMATION},
            new_login_password="New1login",
            new_login_password_again="New1login",
            new_confirmation_password=None,
            new_confirmation_password_again=None,
        )
    from corpbank.identity.models import FailureCounter

    assert (
        FailureCounter.objects.get(
            principal_id=master.principal_id, kind="login_password"
        ).consecutive_failures
        == 1
    )


def test_r_b3_new_login_password_may_not_equal_the_confirmation_password(master):
    with pytest.raises(ValidationFailed) as error:
        authentication.change_passwords(
            user=master,
            current={"login_password": MASTER_PASSWORD, "confirmation_password": MASTER_CONFIRMATION},
            new_login_password=MASTER_CONFIRMATION,
            new_login_password_again=MASTER_CONFIRMATION,
            new_confirmation_password=None,
            new_confirmation_password_again=None,
        )
    assert "new_login_password" in error.value.fields


@pytest.mark.parametrize("enter", ["enter_emergency_stop"])
def test_r_f5_emergency_stopped_contract_refuses_login_only_after_a_right_password(master, operators, enter):
    action = backoffice.enter_emergency_stop(operators[0], master.contract_id, reason="PC紛失")
    backoffice.approve(operators[1], action.pk)
    with pytest.raises(InvalidCredentials):
        log_in(login_id=MASTER_LOGIN_ID, password="Wrong1pass")
    with pytest.raises(ContractNotActive):
        log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD)
    lift = backoffice.enter_emergency_stop_lift(operators[1], master.contract_id)
    backoffice.approve(operators[0], lift.pk)
    assert log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD).user == master


@pytest.mark.production_argon2
def test_r_b5_no_secret_is_stored_in_clear(master):
    from corpbank.core.models import AuditEvent

    stored = " ".join(Secret.objects.values_list("hash", flat=True))
    assert all(
        h.startswith("$argon2id$v=19$m=19456,t=2,p=1$") for h in Secret.objects.values_list("hash", flat=True)
    )
    audit_text = " ".join(str(e.details) for e in AuditEvent.objects.all())
    for plain in (MASTER_PASSWORD, MASTER_CONFIRMATION, "1111", "2222", "3333", "4444"):
        assert plain not in stored
        assert plain not in audit_text


def test_a_terminated_contract_refuses_login_with_a_clear_message(master, operators):
    # 解約, through the bank's procedure (four-eyes), not a status set by hand.
    entered = backoffice.enter_contract_termination(operators[0], master.contract_id, reason="解約届")
    backoffice.approve(operators[1], entered.pk)
    with pytest.raises(ContractNotActive) as refused:
        log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD)
    assert "解約" in refused.value.message

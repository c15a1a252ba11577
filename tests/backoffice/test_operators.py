"""The back office's operators (issue 12 item 7): roles enforced by the approval engine, the second
factor (an authenticator app's TOTP) through the one lockout mechanism, and 職員管理 as four-eyes among
administrators, with system-generated initial passwords in two halves, one for each administrator,
changed at the next login after the app's code (R-A1; the security review of the operator
administration)."""

from __future__ import annotations

import base64
import io
import logging
import subprocess
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from corpbank.approvals import engine
from corpbank.approvals.models import PendingAction
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator, OperatorPasswordHalf, OperatorTotp
from corpbank.core.errors import (
    Conflict,
    Forbidden,
    InvalidCredentials,
    LockedOut,
    NotFound,
    ValidationFailed,
)
from corpbank.core.models import AuditEvent
from corpbank.organizations.models import Contract
from corpbank.tokens import otp
from tests.conftest import (
    OPERATOR_PASSWORD,
    OPERATOR_TOTP_SEED,
    across_migration,
    all_at_once,
    application,
    make_operator,
    operator_code,
)


def code_at(seed: bytes, seconds: float) -> str:
    return otp.totp(seed, seconds, step_seconds=30)


def admins(*names: str) -> list[Operator]:
    return [make_operator(name, role="admin") for name in names]


def approved(decider: Operator, action: PendingAction) -> backoffice.Decision:
    return backoffice.approve(decider, action.pk)


def whole_password(entrant: Operator, decider: Operator, action: PendingAction) -> str:
    """Approve a registration or a password reset and put the two halves together, as the operator does
    with the two envelopes: the approver's (second) half at approval, the entrant's (first) after."""
    second = approved(decider, action).operator_letter
    assert second is not None and second.half == "second"
    first = backoffice.show_first_half(entrant, action.pk)
    assert first.half == "first"
    return first.password_half + second.password_half


def registered_operator(entrant: Operator, decider: Operator, login_name: str = "new1", role: str = "clerk"):
    """An operator registered by one administrator and approved by another: (operator, initial password)."""
    entered = backoffice.enter_operator_registration(
        entrant, login_name=login_name, display_name="新人 四郎", role=role
    )
    initial = whole_password(entrant, decider, entered)
    return Operator.objects.get(login_name=login_name), initial


def wrong_code() -> str:
    """A code that no step of the window gives now."""
    right = {code_at(OPERATOR_TOTP_SEED, otp.now_seconds() + 30 * step) for step in range(-3, 4)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in right)


# ---------------------------------------------------------------------------------------------------
# Roles


def test_a_clerk_enters_and_cannot_decide_an_approver_decides(branch, db):
    clerk, approver = make_operator("uketsuke", role="clerk"), make_operator("shonin", role="approver")
    entered = backoffice.enter_contract_registration(clerk, application())
    other_clerk = make_operator("uketsuke2", role="clerk")
    for decide in (backoffice.approve, backoffice.reject):
        with pytest.raises(Forbidden, match="別の職員"):
            decide(clerk, entered.pk)
        # Another clerk neither: deciding takes the approver role, not just another person.
        with pytest.raises(Forbidden, match="承認者"):
            decide(other_clerk, entered.pk)
    assert PendingAction.objects.get(pk=entered.pk).status == "pending"
    backoffice.approve(approver, entered.pk)
    assert Contract.objects.count() == 1


def test_an_approver_may_enter_but_never_decides_their_own_entry(branch, operators):
    entered = backoffice.enter_contract_registration(operators[0], application())
    with pytest.raises(Forbidden, match="別の職員"):
        backoffice.approve(operators[0], entered.pk)
    backoffice.approve(operators[1], entered.pk)


def test_an_administrator_neither_enters_nor_decides(branch, operators):
    admin = make_operator("kanri", role="admin")
    with pytest.raises(Forbidden, match="受付担当または承認者"):
        backoffice.enter_contract_registration(admin, application())
    entered = backoffice.enter_contract_registration(operators[0], application())
    with pytest.raises(Forbidden):
        backoffice.approve(admin, entered.pk)
    assert not PendingAction.objects.exclude(pk=entered.pk).exists()


def test_a_deactivated_approver_decides_nothing(branch, operators):
    first, second = admins("kanri", "kanri2")
    entered = backoffice.enter_contract_registration(operators[0], application())
    approved(second, backoffice.enter_operator_procedure(first, operators[1].pk, "deactivate"))
    operators[1].refresh_from_db()
    with pytest.raises(Forbidden):
        backoffice.approve(operators[1], entered.pk)


def test_only_an_administrator_enters_operator_procedures_and_another_decides_them(operators):
    """R-A1 for 職員管理: an administrator's entry takes effect only on another administrator's approval."""
    first, second = admins("kanri", "kanri2")
    with pytest.raises(Forbidden, match="管理者"):
        backoffice.enter_operator_registration(
            operators[0], login_name="new1", display_name="新人", role="clerk"
        )
    with pytest.raises(Forbidden, match="管理者"):
        backoffice.enter_role_change(operators[1], operators[0].pk, "approver")
    with pytest.raises(Conflict):
        backoffice.enter_role_change(first, operators[0].pk, "approver")  # make_operator's default already
    demote = backoffice.enter_role_change(first, operators[0].pk, "clerk")
    assert demote.contract is None and demote.summary.startswith("職員の権限の変更")
    assert Operator.objects.get(pk=operators[0].pk).role == "approver"  # not yet
    with pytest.raises(Forbidden, match="別の管理者"):
        approved(first, demote)  # never one's own entry
    for other in operators:  # clerks and approvers never decide operator procedures, nor see them
        with pytest.raises(NotFound):
            approved(other, demote)
        with pytest.raises(NotFound):
            backoffice.reject(other, demote.pk)
    approved(second, demote)
    assert Operator.objects.get(pk=operators[0].pk).role == "clerk"
    event = AuditEvent.objects.get(action="operator.role_changed")
    assert event.actor_label == "kanri2" and event.details["to"] == "clerk"
    assert AuditEvent.objects.filter(action="operator_procedure.entered", actor_label="kanri").count() == 1
    with pytest.raises(Conflict):
        backoffice.enter_role_change(first, first.pk, "clerk")  # never oneself: the last admin stays one
    with pytest.raises(ValidationFailed):
        backoffice.enter_role_change(first, operators[0].pk, "boss")


def test_the_operator_concerned_never_decides_a_procedure_about_themselves(operators):
    first, second, third = admins("kanri", "kanri2", "kanri3")
    entered = backoffice.enter_role_change(first, third.pk, "clerk")
    with pytest.raises(Forbidden, match="対象の職員以外"):
        approved(third, entered)
    assert Operator.objects.get(pk=third.pk).role == "admin"
    approved(second, entered)
    assert Operator.objects.get(pk=third.pk).role == "clerk"


def test_a_registration_takes_a_generated_initial_password_in_two_halves_one_for_each_administrator(
    operators, clock
):
    """The review's "ghost" administrator: the approver of a registration knew the whole password and
    could sign in as a second identity. Now the approver is shown the second half, the entrant the
    first, each once, and neither alone signs in."""
    first, second = admins("kanri", "kanri2")
    entered = backoffice.enter_operator_registration(
        first, login_name="ｎｅｗ１", display_name=" 新人 四郎 ", role="approver"
    )
    assert not Operator.objects.filter(login_name="new1").exists()  # not before the approval
    assert "password" not in entered.payload
    with pytest.raises(NotFound):
        backoffice.show_first_half(first, entered.pk)  # nothing before the approval
    letter = approved(second, entered).operator_letter
    assert letter is not None and letter.login_name == "new1" and letter.display_name == "新人 四郎"
    assert letter.half == "second" and len(letter.password_half) == 6
    assert letter.other_administrator == "kanri（ログイン名 kanri）"
    created = Operator.objects.get(login_name="new1")
    assert created.role == "approver" and backoffice.password_is_initial(created)
    assert not backoffice.has_second_factor(created)
    # The first half waits sealed for the entrant: not in clear in any row.
    half = OperatorPasswordHalf.objects.get(action=entered)
    with pytest.raises(NotFound):
        backoffice.show_first_half(second, entered.pk)  # the approver never sees the entrant's half
    shown = backoffice.show_first_half(first, entered.pk)
    assert shown.half == "first" and shown.other_administrator == "kanri2（ログイン名 kanri2）"
    assert shown.password_half.encode() not in bytes(half.sealed_half)
    assert shown.password_half not in str(PendingAction.objects.get(pk=entered.pk).payload)
    assert not OperatorPasswordHalf.objects.exists()  # erased once shown
    with pytest.raises(NotFound):
        backoffice.show_first_half(first, entered.pk)  # once
    assert AuditEvent.objects.filter(
        action="operator.initial_password_half_shown", actor_label="kanri"
    ).exists()
    # Neither half alone is the password; both, first then second, are.
    for alone in (letter.password_half, shown.password_half, letter.password_half + shown.password_half):
        with pytest.raises(InvalidCredentials):
            backoffice.check_password(login_name="new1", password=alone)
    assert backoffice.check_password(login_name="new1", password=shown.password_half + letter.password_half)
    event = AuditEvent.objects.get(action="operator.created", details__login_name="new1")
    assert event.actor_label == "kanri2" and event.details == {"login_name": "new1", "role": "approver"}
    with pytest.raises(Conflict):
        backoffice.enter_operator_registration(first, login_name="new1", display_name="x", role="clerk")


def test_an_initial_password_is_changed_before_the_second_factor(operators, clock):
    operator, initial = registered_operator(*admins("kanri", "kanri2"))
    assert backoffice.check_password(login_name="new1", password=initial) == operator
    with pytest.raises(backoffice.PasswordChangeRequired):
        backoffice.operator_log_in(login_name="new1", password=initial, otp="123456")
    with pytest.raises(backoffice.PasswordChangeRequired):
        backoffice.start_enrolment(operator)  # whoever knew the initial password never enrols a key with it
    assert not OperatorTotp.objects.filter(operator=operator).exists()
    assert backoffice.next_login_step(operator, code_accepted=False) is backoffice.LoginStep.CHANGE_PASSWORD
    for new, again, field in (
        (initial, initial, "new_password"),  # the initial password again
        ("new1", "new1", "new_password"),  # the login name (and too short)
        ("Newpass99", "Newpass98", "new_password_again"),
        ("onlyletters", "onlyletters", "new_password"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            backoffice.change_password_at_login(
                operator, code_accepted=False, new_password=new, new_password_again=again
            )
        assert field in refused.value.fields
    assert backoffice.password_is_initial(operator)
    backoffice.change_password_at_login(
        operator, code_accepted=False, new_password="Mine4pass", new_password_again="Mine4pass"
    )
    assert not backoffice.password_is_initial(operator)
    assert AuditEvent.objects.filter(action="operator.initial_password_changed", actor_label="new1").exists()
    assert backoffice.next_login_step(operator, code_accepted=False) is backoffice.LoginStep.ENROL
    with pytest.raises(Conflict):
        backoffice.change_password_at_login(
            operator, code_accepted=False, new_password="Mine5pass", new_password_again="Mine5pass"
        )
    with pytest.raises(InvalidCredentials):
        backoffice.check_password(login_name="new1", password=initial)
    with pytest.raises(backoffice.SecondFactorEnrolmentRequired):
        backoffice.operator_log_in(login_name="new1", password="Mine4pass")
    enrolment = backoffice.start_enrolment(operator)
    seed = base64.b32decode(enrolment.secret_base32 + "=" * (-len(enrolment.secret_base32) % 8))
    assert backoffice.check_second_factor(operator, code_at(seed, otp.now_seconds())) == operator


def test_the_two_factors_are_never_both_unknown_to_the_operator(operators, clock):
    """A second-factor reset while the password is initial, or a password reset while no second factor
    is registered, would let the administrator who saw the letter hold both factors: refused."""
    first, second = admins("kanri", "kanri2")
    operator, _ = registered_operator(first, second)
    with pytest.raises(Conflict, match="初期パスワード"):
        backoffice.enter_operator_procedure(first, operator.pk, "reset-second-factor")
    with pytest.raises(Conflict, match="認証アプリが登録されていない"):
        backoffice.enter_operator_procedure(first, operator.pk, "reset-password")
    # One procedure about an operator at a time: the other one is not even entered while one waits.
    entered = backoffice.enter_operator_procedure(first, operators[0].pk, "reset-second-factor")
    with pytest.raises(Conflict, match="承認待ちの手続"):
        backoffice.enter_operator_procedure(second, operators[0].pk, "reset-password")
    assert PendingAction.objects.filter(kind="operator_reset_password").count() == 0
    backoffice.reject(second, entered.pk)
    reset = backoffice.enter_operator_procedure(first, operators[0].pk, "reset-password")
    assert reset.status == "pending"


def test_a_password_reset_issues_an_initial_password_to_change_then_the_code(operators, clock):
    first, second = admins("kanri", "kanri2")
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            backoffice.check_password(login_name="clerk1", password="Wrong1pass")
    entered = backoffice.enter_operator_procedure(first, operators[0].pk, "reset-password")
    initial = whole_password(first, second, entered)
    with pytest.raises(InvalidCredentials):
        backoffice.check_password(login_name="clerk1", password=OPERATOR_PASSWORD)
    operator = backoffice.check_password(login_name="clerk1", password=initial)  # lifted
    # The app is registered: its code first, then the change, never the change with the password alone.
    assert backoffice.next_login_step(operator, code_accepted=False) is backoffice.LoginStep.CODE
    with pytest.raises(backoffice.SecondFactorRequired):
        backoffice.change_password_at_login(
            operator, code_accepted=False, new_password="Mine4pass", new_password_again="Mine4pass"
        )
    with pytest.raises(backoffice.PasswordChangeRequired):
        backoffice.operator_log_in(login_name="clerk1", password=initial, otp=operator_code("clerk1"))
    assert not AuditEvent.objects.filter(action="operator.login").exists()  # not signed in
    backoffice.change_password_at_login(
        operator, code_accepted=True, new_password="Mine4pass", new_password_again="Mine4pass"
    )
    assert (
        backoffice.operator_log_in(login_name="clerk1", password="Mine4pass", otp=operator_code("clerk1"))
        == operator
    )
    assert AuditEvent.objects.filter(action="operator.password_reset", actor_label="kanri2").exists()


def test_a_signed_in_operator_changes_the_password_through_the_lockout(operators):
    operator = operators[0]
    with pytest.raises(InvalidCredentials, match="現在のパスワード"):
        backoffice.change_password(
            operator, current_password="Wrong1pass", new_password="Mine4pass", new_password_again="Mine4pass"
        )
    assert AuditEvent.objects.filter(action="secret.rejected", details__kind="login_password").exists()
    with pytest.raises(ValidationFailed) as refused:
        backoffice.change_password(
            operator,
            current_password=OPERATOR_PASSWORD,
            new_password=OPERATOR_PASSWORD,
            new_password_again=OPERATOR_PASSWORD,
        )
    assert "new_password" in refused.value.fields
    backoffice.change_password(
        operator, current_password=OPERATOR_PASSWORD, new_password="Mine4pass", new_password_again="Mine4pass"
    )
    assert backoffice.check_password(login_name="clerk1", password="Mine4pass") == operator
    assert not backoffice.password_is_initial(operator)


def test_bad_operator_input_names_its_fields(db):
    with pytest.raises(ValidationFailed) as refused:
        backoffice.create_operator(login_name="職員", display_name="", password="short", role="boss")
    assert set(refused.value.fields) == {"login_name", "display_name", "password", "role"}


def test_the_database_knows_only_the_three_roles(operators):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Operator.objects.filter(pk=operators[0].pk).update(role="boss")


def test_createoperator_makes_the_first_administrator(db, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("Operat0r!x\n"))
    out = io.StringIO()
    call_command("createoperator", "admin9", name="管理 九郎", role="admin", password_stdin=True, stdout=out)
    admin = Operator.objects.get(login_name="admin9")
    assert admin.role == "admin" and admin.administers
    assert not backoffice.has_second_factor(admin) and "first login" in out.getvalue()
    monkeypatch.setattr("sys.stdin", io.StringIO("Operat0r!x\n"))
    out = io.StringIO()
    call_command(
        "createoperator",
        "admin8",
        name="管理 八郎",
        role="admin",
        password_stdin=True,
        print_second_factor=True,
        stdout=out,
    )
    printed = out.getvalue()
    assert "otpauth://totp/" in printed and backoffice.has_second_factor(
        Operator.objects.get(login_name="admin8")
    )
    key = printed.split("key (base32): ")[1].split()[0]
    seed = base64.b32decode(key + "=" * (-len(key) % 8))
    operator = backoffice.check_password(login_name="admin8", password="Operat0r!x")
    assert backoffice.check_second_factor(operator, code_at(seed, otp.now_seconds())) == operator
    with pytest.raises(CommandError):
        call_command("createoperator", "x1", name="x", role="boss", password_stdin=True, stdout=io.StringIO())


# ---------------------------------------------------------------------------------------------------
# The second factor


def test_login_takes_the_password_then_the_apps_code(operators, clock):
    with pytest.raises(InvalidCredentials):
        backoffice.check_password(login_name="clerk1", password="Wrong1pass")
    operator = backoffice.check_password(login_name="clerk1", password=OPERATOR_PASSWORD)
    with pytest.raises(InvalidCredentials, match="ワンタイムパスワード"):
        backoffice.check_second_factor(operator, wrong_code())
    assert backoffice.check_second_factor(operator, operator_code("clerk1")) == operator
    assert AuditEvent.objects.filter(action="operator.login", actor_label="clerk1").count() == 1


def test_a_code_is_accepted_once_and_a_replay_is_not_counted(operators, clock):
    code = code_at(OPERATOR_TOTP_SEED, otp.now_seconds())
    operator = operators[0]
    backoffice.check_second_factor(operator, code)
    for _ in range(12):  # more than the OTP limit: a replay is refused but never stops the operator
        with pytest.raises(InvalidCredentials):
            backoffice.check_second_factor(operator, code)
    assert AuditEvent.objects.filter(action="secret.spent", details__kind="otp").count() == 12
    clock(30)
    assert (
        backoffice.check_second_factor(operator, code_at(OPERATOR_TOTP_SEED, otp.now_seconds())) == operator
    )


def test_the_drift_window_is_the_customers(operators, clock, settings, caplog):
    caplog.set_level(logging.INFO, logger="corpbank.tokens.otp")
    operator = operators[0]
    now = otp.now_seconds()
    assert backoffice.check_second_factor(operator, code_at(OPERATOR_TOTP_SEED, now + 30)) == operator
    # Logged as the customers' tokens' drift is (issue 12 item 9), with the operator and never the code.
    assert [record.getMessage() for record in caplog.records] == [
        f"operator {operator.login_name}: clock drift now +1 steps (was +0)"
    ]
    with pytest.raises(InvalidCredentials):
        backoffice.check_second_factor(operator, code_at(OPERATOR_TOTP_SEED, now + 30 * 4))
    settings.CORPBANK_POLICY_TUNING = {"OTP_WINDOW_STEPS": 3}
    assert backoffice.check_second_factor(operator, code_at(OPERATOR_TOTP_SEED, now + 30 * 4)) == operator


def test_oathtool_computes_the_same_codes(operators, clock):
    key = base64.b32encode(OPERATOR_TOTP_SEED).decode()
    at = int(otp.now_seconds())
    printed = subprocess.run(
        ["oathtool", "--totp", "-b", "--now", f"@{at}", key], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert backoffice.check_second_factor(operators[0], printed) == operators[0]


def test_wrong_codes_count_through_the_lockout_and_stop_the_operator(operators, clock):
    operator = operators[0]
    wrong = wrong_code()
    for _ in range(9):
        with pytest.raises(InvalidCredentials):
            backoffice.check_second_factor(operator, wrong)
    with pytest.raises(backoffice.OperatorSuspended, match="管理者"):
        backoffice.check_second_factor(operator, wrong)
    with pytest.raises(backoffice.OperatorSuspended):
        backoffice.check_second_factor(operator, operator_code("clerk1"))  # even the right code
    with pytest.raises(backoffice.OperatorSuspended):
        backoffice.check_password(login_name="clerk1", password=OPERATOR_PASSWORD)
    first, second = admins("kanri", "kanri2")
    entered = backoffice.enter_operator_procedure(first, operator.pk, "unlock")
    with pytest.raises(backoffice.OperatorSuspended):
        backoffice.check_second_factor(operator, operator_code("clerk1"))  # not before the approval
    approved(second, entered)
    assert backoffice.check_second_factor(operator, operator_code("clerk1")) == operator


def test_wrong_passwords_lock_the_operator_for_the_policys_hour(operators):
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            backoffice.check_password(login_name="clerk1", password="Wrong1pass")
    with pytest.raises(LockedOut):
        backoffice.check_password(login_name="clerk1", password="Wrong1pass")


def test_enrolment_shows_a_new_key_each_time_and_the_first_code_confirms_it(operators, clock):
    created = backoffice.create_operator(
        login_name="new1", display_name="新人", password=OPERATOR_PASSWORD, role="clerk"
    )
    first = backoffice.start_enrolment(created)
    second = backoffice.start_enrolment(created)
    assert first.secret_base32 != second.secret_base32 and second.period == 30
    assert "otpauth://totp/" in second.otpauth_uri() and "secret=" in second.otpauth_uri()
    seed = base64.b32decode(second.secret_base32 + "=" * (-len(second.secret_base32) % 8))
    old = base64.b32decode(first.secret_base32 + "=" * (-len(first.secret_base32) % 8))
    with pytest.raises(InvalidCredentials):
        backoffice.check_second_factor(created, code_at(old, otp.now_seconds()))  # replaced
    assert not backoffice.has_second_factor(created)
    backoffice.check_second_factor(created, code_at(seed, otp.now_seconds()))
    assert backoffice.has_second_factor(created)
    with pytest.raises(Conflict):
        backoffice.start_enrolment(created)  # registered: never shown again
    # The seed is sealed at rest and bound to the operator: not in the row in clear.
    assert seed not in bytes(OperatorTotp.objects.get(operator=created).sealed_seed)


def test_the_api_login_needs_the_code_and_tells_an_operator_without_an_app(operators, clock):
    with pytest.raises(backoffice.SecondFactorRequired):
        backoffice.operator_log_in(login_name="clerk1", password=OPERATOR_PASSWORD)
    first, second = admins("kanri", "kanri2")
    approved(second, backoffice.enter_operator_procedure(first, operators[0].pk, "reset-second-factor"))
    with pytest.raises(backoffice.SecondFactorEnrolmentRequired):
        backoffice.operator_log_in(login_name="clerk1", password=OPERATOR_PASSWORD, otp="123456")


def test_seed_keys_rotate_for_operators_too(operators, clock, settings):
    old = settings.CORPBANK_SEED_KEYS
    settings.CORPBANK_SEED_KEYS = "k2:" + base64.b64encode(b"2" * 32).decode() + "," + old
    from corpbank.core import audit

    call = io.StringIO()
    call_command("tokens", "rotate-key", stdout=call)
    assert "re-sealed 2 operators' seeds" in call.getvalue()
    assert set(OperatorTotp.objects.values_list("seed_key_id", flat=True)) == {"k2"}
    settings.CORPBANK_SEED_KEYS = "k2:" + base64.b64encode(b"2" * 32).decode()
    assert backoffice.check_second_factor(operators[0], operator_code("clerk1")) == operators[0]
    assert backoffice.rotate_seed_keys(actor=audit.Actor.system("test")) == 0


def test_the_demo_prints_a_working_way_into_the_back_office(db, clock):
    from corpbank.management.commands.loaddemo import DEMO, DEMO_OPERATOR_SEED

    out = io.StringIO()
    call_command("loaddemo", stdout=out)
    roles = dict(Operator.objects.values_list("login_name", "role"))
    assert roles == {"clerk1": "clerk", "clerk2": "approver", "admin1": "admin", "admin2": "admin"}
    key = base64.b32encode(DEMO_OPERATOR_SEED).decode().rstrip("=")
    assert f"oathtool --totp -b {key}" in out.getvalue()
    for login_name in roles:
        operator = backoffice.check_password(login_name=login_name, password=DEMO["operator_password"])
        assert (
            backoffice.check_second_factor(operator, code_at(DEMO_OPERATOR_SEED, otp.now_seconds()))
            == operator
        )
    assert not any(backoffice.password_is_initial(operator) for operator in Operator.objects.all())


def test_loaddemo_on_a_database_with_data_creates_and_changes_no_operator(db, branch):
    """The published credentials are never planted on a database that holds data: not a new operator,
    not a role, not a key, not a password."""
    real = make_operator("clerk2", role="clerk")  # a real bank's operator who happens to have a demo name
    make_operator("kanri", role="admin")
    OperatorTotp.objects.filter(operator=real).delete()
    before = {(operator.login_name, operator.role, operator.is_active) for operator in Operator.objects.all()}
    events = AuditEvent.objects.count()
    out = io.StringIO()
    call_command("loaddemo", stdout=out)
    assert "nothing was created or changed" in out.getvalue()
    assert {(o.login_name, o.role, o.is_active) for o in Operator.objects.all()} == before
    assert not OperatorTotp.objects.filter(operator=real).exists()
    assert AuditEvent.objects.count() == events
    with pytest.raises(InvalidCredentials):
        backoffice.check_password(login_name="clerk2", password="Demo1oper")
    with pytest.raises(InvalidCredentials):
        backoffice.check_password(login_name="admin1", password="Demo1oper")


def operator_across(before: str, after: str, login_name: str) -> Any:
    """An operator written as migration ``before`` left the table, read after migration ``after``."""
    with across_migration(before, after) as migration:
        principal = migration.old.get_model("corpbank", "Principal").objects.create(kind="operator")
        migration.old.get_model("corpbank", "Operator").objects.create(
            principal=principal, login_name=login_name, display_name="x"
        )
        return migration.forward().get_model("corpbank", "Operator").objects.get(principal_id=principal.pk)


@pytest.mark.django_db(transaction=True)
def test_operators_from_before_roles_become_approvers():
    """Migration 0014: the operators who could enter and approve keep doing so."""
    operator = operator_across("0013_unknown_login_ids", "0014_backoffice_roles", "old1")
    assert operator.role == "approver"


# ---------------------------------------------------------------------------------------------------
# The security review of the operator administration


def test_an_operators_initial_password_expires_after_the_policys_days(clock, operators):
    """Finding 4, as a customer's initial password (R-B7): after INITIAL_PASSWORD_DAYS it is refused."""
    operator, initial = registered_operator(*admins("kanri", "kanri2"))
    clock(30 * 86400 - 60)
    assert backoffice.check_password(login_name="new1", password=initial) == operator
    clock(120)
    with pytest.raises(InvalidCredentials):
        backoffice.check_password(login_name="new1", password=initial)
    with pytest.raises(InvalidCredentials):
        backoffice.change_password_before_login(
            login_name="new1",
            password=initial,
            otp="",
            new_password="Mine4pass",
            new_password_again="Mine4pass",
        )


def test_a_password_past_its_lifetime_is_changed_in_the_login_after_the_code(clock, operators):
    """Finding 4: the policy's PASSWORD_LIFETIME_DAYS holds at the back office's login too (R-B6): the
    code, then the forced change, then the session."""
    operator = operators[0]
    clock(89 * 86400)
    assert backoffice.next_login_step(operator, code_accepted=True) is backoffice.LoginStep.DONE
    clock(2 * 86400)
    assert backoffice.password_change_due(operator)
    assert backoffice.check_password(login_name="clerk1", password=OPERATOR_PASSWORD) == operator
    assert backoffice.next_login_step(operator, code_accepted=False) is backoffice.LoginStep.CODE
    with pytest.raises(backoffice.SecondFactorRequired):
        backoffice.operator_log_in(login_name="clerk1", password=OPERATOR_PASSWORD)
    with pytest.raises(backoffice.PasswordChangeRequired):
        backoffice.operator_log_in(
            login_name="clerk1", password=OPERATOR_PASSWORD, otp=operator_code("clerk1")
        )
    with pytest.raises(backoffice.SecondFactorRequired):
        backoffice.change_password_at_login(
            operator, code_accepted=False, new_password="Mine4pass", new_password_again="Mine4pass"
        )
    backoffice.change_password_at_login(
        operator, code_accepted=True, new_password="Mine4pass", new_password_again="Mine4pass", signs_in=True
    )
    assert AuditEvent.objects.filter(
        action="operator.expired_password_changed", actor_label="clerk1"
    ).exists()
    assert AuditEvent.objects.filter(action="operator.login", actor_label="clerk1").count() == 1
    assert not backoffice.password_change_due(operator)
    assert (
        backoffice.operator_log_in(login_name="clerk1", password="Mine4pass", otp=operator_code("clerk1"))
        == operator
    )


def test_stopping_an_operator_rejects_their_pending_entries_and_those_about_them(branch, operators):
    """Finding 5: in the stop's transaction, audited; the stop is entered although one is pending."""
    first, second, third = admins("kanri", "kanri2", "kanri3")
    paper = backoffice.enter_contract_registration(operators[0], application())  # clerk1's entry
    about = backoffice.enter_operator_procedure(second, operators[0].pk, "unlock")  # about clerk1
    other = backoffice.enter_role_change(third, operators[1].pk, "clerk")  # neither
    stop = backoffice.enter_operator_procedure(first, operators[0].pk, "deactivate")
    with pytest.raises(Conflict, match="利用停止は承認待ち"):
        backoffice.enter_operator_procedure(third, operators[0].pk, "deactivate")
    # Whoever decides the stop reads what it will reject with it (a back-office walk: it said nothing).
    told = {detail.name: detail.value for detail in engine.procedure_for(stop.kind).details(stop)}
    assert "2件を却下します" in told["pending"]
    approved(second, stop)
    paper, about, other = (PendingAction.objects.get(pk=action.pk) for action in (paper, about, other))
    assert paper.status == about.status == "rejected" and other.status == "pending"
    assert paper.decided_by == second
    assert paper.decision_reason == about.decision_reason == "職員の利用停止に伴う却下"
    assert about.decided_by == first  # kanri2 entered it: the stop's entrant is recorded as its decider
    rejected = AuditEvent.objects.filter(details__reason="operator_deactivated")
    assert {(event.action, event.details["action_id"]) for event in rejected} == {
        ("backoffice.rejected", paper.pk),
        ("operator_procedure.rejected", about.pk),
    }
    with pytest.raises(Conflict):
        approved(operators[1], paper)  # decided
    approved(first, backoffice.enter_operator_procedure(second, third.pk, "deactivate"))
    assert PendingAction.objects.get(pk=other.pk).status == "rejected"


def test_an_entry_whose_entrant_is_no_longer_entitled_is_not_approved(branch, operators):
    """Finding 5: an approval refuses an entry whose entrant was stopped (or lost the entering role)."""
    first, second, third = admins("kanri", "kanri2", "kanri3")
    entered = backoffice.enter_operator_procedure(first, operators[0].pk, "unlock")
    approved(third, backoffice.enter_role_change(second, first.pk, "clerk"))
    with pytest.raises(Conflict, match="入力した職員"):
        approved(second, entered)
    paper = backoffice.enter_contract_registration(operators[0], application())
    Operator.objects.filter(pk=operators[0].pk).update(is_active=False)  # stopped outside the procedure
    with pytest.raises(Conflict, match="入力した職員"):
        approved(operators[1], paper)
    backoffice.reject(operators[1], paper.pk)  # a rejection is always possible
    assert PendingAction.objects.get(pk=paper.pk).status == "rejected"


def test_login_names_are_unique_whatever_the_case_and_the_login_takes_any_case(operators):
    """Finding 6: stored lower-cased after NFKC."""
    first, _second = admins("kanri", "kanri2")
    for typed in ("Clerk1", "ＣＬＥＲＫ１", " clerk1 "):
        with pytest.raises(Conflict):
            backoffice.enter_operator_registration(first, login_name=typed, display_name="x", role="clerk")
    entered = backoffice.enter_operator_registration(
        first, login_name="NewOne1", display_name="x", role="clerk"
    )
    assert entered.payload["login_name"] == "newone1"
    with pytest.raises(Conflict, match="承認待ち"):
        backoffice.enter_operator_registration(first, login_name="NEWONE1", display_name="y", role="clerk")
    with pytest.raises(Conflict):
        backoffice.create_operator(login_name="CLERK2", display_name="x", password="Abcdef12", role="clerk")
    assert Operator.objects.get(login_name="clerk2")  # unchanged
    for typed in ("CLERK1", "Clerk1", "ｃｌｅｒｋ１"):
        assert backoffice.check_password(login_name=typed, password=OPERATOR_PASSWORD) == operators[0]
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Operator.objects.filter(pk=operators[0].pk).update(login_name="Clerk1")


def test_only_administrators_read_an_operator_procedure(operators):
    """Finding 7: anybody else is told it does not exist."""
    from corpbank.backoffice import selectors

    first, second = admins("kanri", "kanri2")
    entered = backoffice.enter_operator_procedure(first, operators[0].pk, "unlock")
    assert selectors.action_view(entered.pk, second).may_decide
    for other in operators:
        with pytest.raises(NotFound):
            selectors.action_view(entered.pk, other)


def test_createoperator_registers_the_app_in_the_operators_own_transaction(db, monkeypatch, settings):
    """Finding 8: an app that cannot be sealed leaves no operator behind without it."""
    settings.CORPBANK_SEED_KEYS = "broken"
    monkeypatch.setattr("sys.stdin", io.StringIO("Operat0r!x\n"))
    with pytest.raises(Exception, match="CORPBANK_SEED_KEYS"):
        call_command(
            "createoperator",
            "admin7",
            name="管理 七郎",
            role="admin",
            password_stdin=True,
            print_second_factor=True,
            stdout=io.StringIO(),
        )
    assert not Operator.objects.filter(login_name="admin7").exists()
    assert not AuditEvent.objects.filter(action="operator.created").exists()


def test_loaddemo_plants_nothing_on_a_deployment_that_serves_https(db, settings):
    """Finding 8: the published credentials only with --demo where HTTPS is served."""
    settings.HTTPS = True
    with pytest.raises(CommandError, match="--demo"):
        call_command("loaddemo", stdout=io.StringIO())
    assert not Operator.objects.exists()
    out = io.StringIO()
    call_command("loaddemo", demo=True, stdout=out)
    assert Operator.objects.count() == 4 and "clerk1" in out.getvalue()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_resets_approved_at_the_same_moment_never_leave_both_factors_unknown(operators, clock):
    """Finding 3 (PostgreSQL): a password reset and a second-factor reset about one operator, both
    pending (entered before one-at-a-time was enforced), approved at the same moment: each approval
    locks the operator's principal before its checks, so the second sees the first and is refused."""
    first, second = admins("kanri", "kanri2")
    victim = operators[0]
    reset = backoffice.enter_operator_procedure(first, victim.pk, "reset-password")
    # The other entry as one made before this release (entering it now is refused).
    other = PendingAction.objects.create(
        kind="operator_reset_second_factor",
        payload={"operator_id": victim.pk, "login_name": victim.login_name},
        summary="職員の認証アプリの再登録（clerk1）",
        entered_by=first,
    )
    assert connection.vendor == "postgresql"

    def attempt(index: int) -> str:
        try:
            backoffice.approve(second, (reset, other)[index].pk)
        except Conflict:
            return "refused"
        return "approved"

    assert sorted(all_at_once(2, attempt)) == ["approved", "refused"]
    assert not (backoffice.password_is_initial(victim) and not backoffice.has_second_factor(victim))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_login_name_registered_twice_at_the_same_moment_is_a_clear_409(db):
    """Finding 8 (PostgreSQL): the check-then-insert race ends in the unique index: said as a 409."""
    assert connection.vendor == "postgresql"

    def attempt(index: int) -> str:
        try:
            backoffice.create_operator(
                login_name="twin1", display_name=f"双子 {index}", password="Operat0rx", role="clerk"
            )
        except Conflict as refused:
            assert refused.http_status == 409 and "login_name" in refused.fields
            return "refused"
        return "created"

    assert sorted(all_at_once(2, attempt)) == ["created", "refused"]
    assert Operator.objects.filter(login_name="twin1").count() == 1


@pytest.mark.django_db(transaction=True)
def test_migration_0015_lower_cases_the_login_names():
    operator = operator_across("0014_backoffice_roles", "0015_initial_password_halves", "Old1")
    assert operator.login_name == "old1"


def test_r_a1_an_administrators_entry_about_the_only_other_one_is_withdrawn(operators):
    """A back-office walk: with two administrators, one's entry about the other could be decided by
    nobody (the entrant may not, the other is its subject) and blocked every other procedure about
    that operator. Its entrant withdraws it; the database keeps a withdrawal without a decider."""
    from django.db import IntegrityError, transaction

    first, second = admins("kanri", "kanri2")
    entry = backoffice.enter_operator_procedure(first, second.pk, "reset-password")
    with pytest.raises(Conflict):
        backoffice.enter_operator_procedure(first, second.pk, "unlock")  # one at a time
    with pytest.raises(NotFound):
        backoffice.withdraw(operators[0], entry.pk)  # a clerk does not see operator procedures
    withdrawn = backoffice.withdraw(first, entry.pk)
    assert withdrawn.status == "withdrawn" and withdrawn.decided_by is None and withdrawn.decided_at
    assert AuditEvent.objects.filter(
        action="operator_procedure.withdrawn", details__action_id=entry.pk
    ).exists()
    backoffice.enter_operator_procedure(first, second.pk, "unlock")  # free again
    with pytest.raises(IntegrityError), transaction.atomic():
        PendingAction.objects.filter(pk=entry.pk).update(decided_by=second)

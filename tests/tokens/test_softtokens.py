"""Software tokens, the whole flow of seed 004 (R-E9, R-E10, R-E11), with mail through real SMTP."""

from __future__ import annotations

import base64

import pytest

from corpbank.backoffice import services as backoffice
from corpbank.backoffice.services import AccountInput
from corpbank.core import audit
from corpbank.core.errors import Conflict, FactorsRejected, InvalidCredentials, LockedOut, ValidationFailed
from corpbank.identity.models import Principal
from corpbank.organizations.models import Organization
from corpbank.tokens import otp, softtokens
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens
from corpbank.tokens.models import SoftwareTokenEnrolment, Token
from tests.conftest import MASTER_CONFIRMATION, register_contract, wait_for_mail

BANK = audit.Actor.system("bank")


@pytest.fixture
def enabled(master, operators, smtp_server, django_capture_on_commit_callbacks):
    Organization.objects.filter(contracts=master.contract).update(notification_email="keiri@union.example")
    with django_capture_on_commit_callbacks(execute=True):
        entered = backoffice.enter_procedure(operators[0], master.contract_id, "start-software-tokens")
        backoffice.approve(operators[1], entered.pk)
    master.contract.refresh_from_db()
    return master


def issue(master, confirmation_password=MASTER_CONFIRMATION, **overrides):
    values = {
        "user": master,
        "mail_address": "phone@example.jp",
        "activation_password": "Start1app",
        "activation_password_again": "Start1app",
    }
    values.update(overrides)
    application = softtokens.prepare(**values)
    return softtokens.issue(user=master, application=application, confirmation_password=confirmation_password)


def provision(issued, password="Start1app"):  # noqa: S107 - the test's activation password
    return softtokens.provision(
        service_id=issued.service_id, token_user_id=issued.token_user_id, activation_password=password
    )


def code_of(provisioned) -> str:
    seed = base64.b32decode(provisioned.secret_base32 + "=" * (-len(provisioned.secret_base32) % 8))
    return otp.totp(seed, otp.now_seconds())


def test_r_e9_the_whole_flow_ends_in_service_in_use(
    enabled, smtp_server, settings, clock, django_capture_on_commit_callbacks
):
    wait_for_mail(smtp_server, 1)
    assert smtp_server[0]["Subject"].strip() == "ワンタイムパスワード申請お取扱い開始のご案内"
    assert smtp_server[0]["To"] == "keiri@union.example"
    assert enabled.contract.otp_required and enabled.contract.software_tokens
    with django_capture_on_commit_callbacks(execute=True):
        issued = issue(enabled)
    assert issued.service_id == settings.CORPBANK_SOFTTOKEN_SERVICE_ID and len(issued.token_user_id) == 10
    wait_for_mail(smtp_server, 3)
    # The phone gets the app's address; the organization's contact is told a token was issued (R-I4).
    assert [message["To"] for message in smtp_server[1:]] == ["keiri@union.example", "phone@example.jp"]
    assert "ソフトウェアトークンの発行" in smtp_server[1]["Subject"]
    assert settings.CORPBANK_SOFTTOKEN_APP_URL in smtp_server[2].get_content()
    assert all(message["From"] == settings.DEFAULT_FROM_EMAIL for message in smtp_server)  # R-E11
    provisioned = provision(issued)
    assert provisioned.otpauth_uri().startswith("otpauth://totp/")
    enrolment = softtokens.activate(user=enabled, code=code_of(provisioned))
    assert enrolment.state == SoftwareTokenEnrolment.State.ACTIVE
    assert enrolment.get_state_display() == "サービス利用中"
    assert token_selectors.registration_in_force(enabled).token.type == Token.Type.SOFTWARE


def test_r_e9_the_seed_is_handed_out_once(enabled):
    issued = issue(enabled)
    provision(issued)
    with pytest.raises(InvalidCredentials):
        provision(issued)


def test_r_e9_wrong_activation_passwords_go_through_the_lockout(enabled):
    issued = issue(enabled)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            provision(issued, password="Wrong1app")
    with pytest.raises(LockedOut):
        provision(issued, password="Wrong1app")
    with pytest.raises(LockedOut):
        provision(issued)


def test_r_e9_issuing_asks_for_the_confirmation_password(enabled):
    with pytest.raises(FactorsRejected):
        issue(enabled, confirmation_password="Wrong1conf")
    assert not SoftwareTokenEnrolment.objects.exists()


def test_r_e9_only_after_the_banks_registration(master):
    with pytest.raises(Conflict):
        issue(master)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"mail_address": "not-a-mail-address"}, "mail_address"),
        ({"activation_password": "short", "activation_password_again": "short"}, "activation_password"),
        ({"activation_password_again": "Start2app"}, "activation_password_again"),
    ],
)
def test_r_e9_the_issue_form_is_checked_before_the_confirmation(enabled, overrides, field):
    with pytest.raises(ValidationFailed) as refused:
        issue(enabled, **overrides)
    assert field in refused.value.fields
    assert not SoftwareTokenEnrolment.objects.exists()


def test_r_e9_the_activation_password_waits_for_confirmation_only_as_a_hash(enabled):
    application = softtokens.prepare(
        user=enabled,
        mail_address="phone@example.jp",
        activation_password="Start1app",
        activation_password_again="Start1app",
    )
    assert "Start1app" not in repr(application)
    assert application.activation_password_hash.startswith("$argon2id$")
    assert "Start1app" not in application.activation_password_hash


def test_r_e10_ten_wrong_codes_make_it_unusable_and_the_bank_stops_it_to_issue_again(enabled, clock):
    issued = issue(enabled)
    provisioned = provision(issued)
    softtokens.activate(user=enabled, code=code_of(provisioned))
    token = token_selectors.registration_in_force(enabled).token
    from django.db import transaction

    for _ in range(10):
        with transaction.atomic():
            otp.check_code(token, "000000" if code_of(provisioned) != "000000" else "111111", actor=BANK)
    assert Principal.objects.get(pk=token.principal_id).is_suspended
    with pytest.raises(Conflict):
        issue(enabled)  # still live: the bank must stop it first
    softtokens.end(token_user_id=issued.token_user_id, cancel=False, actor=BANK)
    assert token_selectors.registration_in_force(enabled) is None
    issue(enabled)


def test_r_e10_the_bank_stops_a_software_token_on_paper_with_four_eyes(enabled, operators, clock):
    issued = issue(enabled)
    softtokens.activate(user=enabled, code=code_of(provision(issued)))
    entered = backoffice.enter_procedure(
        operators[0], enabled.contract_id, "stop-software-token", token_user_id=issued.token_user_id
    )
    assert token_selectors.registration_in_force(enabled) is not None  # nothing yet: it waits for approval
    backoffice.approve(operators[1], entered.pk)
    assert token_selectors.registration_in_force(enabled) is None
    assert SoftwareTokenEnrolment.objects.get().get_state_display() == "利用停止"
    with pytest.raises(ValidationFailed):  # already stopped
        backoffice.enter_procedure(
            operators[0], enabled.contract_id, "cancel-software-token", token_user_id=issued.token_user_id
        )


def test_r_e10_the_bank_finds_only_this_contracts_software_tokens(enabled, operators):
    issued = issue(enabled)
    other = register_contract(operators, accounts=[AccountInput("101", "1", "7777777")])
    with pytest.raises(ValidationFailed):
        backoffice.enter_procedure(
            operators[0], other.contract.pk, "stop-software-token", token_user_id=issued.token_user_id
        )


def test_r_e10_the_master_cannot_revoke_or_lift_a_software_token(enabled, clock):
    issued = issue(enabled)
    softtokens.activate(user=enabled, code=code_of(provision(issued)))
    with pytest.raises(Conflict, match="窓口"):
        tokens.revoke_for_user(
            master=enabled,
            factors={"confirmation_password": MASTER_CONFIRMATION, "otp": "000000"},
            user_id=enabled.pk,
        )
    assert token_selectors.registration_in_force(enabled) is not None


def test_r_e10_cancellation_ends_it_at_once(enabled, clock):
    issued = issue(enabled)
    softtokens.activate(user=enabled, code=code_of(provision(issued)))
    enrolment = softtokens.end(token_user_id=issued.token_user_id, cancel=True, actor=BANK)
    assert enrolment.get_state_display() == "ご利用解除"
    assert Token.objects.get(serial=f"SW{issued.token_user_id}").state == Token.State.REVOKED

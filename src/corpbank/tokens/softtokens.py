"""Software tokens (ソフトウェアトークン), the whole flow of seed 004 (R-E9, R-E10):

1. the bank registers the organization's application (four-eyes, services/backoffice.py) and the
   organization is mailed 「ワンタイムパスワード申請お取扱い開始のご案内」;
2. on the PC the user issues a token (トークン発行): the phone's mail address and an activation password
   (利用開始パスワード), confirmed with the confirmation password; the completion screen shows the
   service ID and the user ID, and the phone is mailed the app's download address;
3. the phone app fetches the seed once with service ID, user ID and activation password (wrong
   activation passwords go through the lockout mechanism; the right one is then spent);
4. on the PC the user enters the app's first code (ワンタイムパスワード利用開始): サービス利用中;
5. the bank stops (利用停止) or cancels (ご利用解除) it."""

from __future__ import annotations

import base64
import dataclasses
import os
import secrets
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.authorization.operations import check_secrets
from corpbank.core import audit, mail, text
from corpbank.core.errors import (
    Conflict,
    ContractNotActive,
    DomainError,
    FactorsRejected,
    InvalidCredentials,
    ValidationFailed,
)
from corpbank.identity import lockout
from corpbank.identity.credentials import character_rule_problem, is_mail_address
from corpbank.identity.hashing import hash_secret, verify_nothing
from corpbank.identity.models import Secret, SecretKind
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations.models import Contract, CustomerUser
from corpbank.tokens import otp
from corpbank.tokens import services as tokens
from corpbank.tokens.models import SoftwareTokenEnrolment, Token, TokenRegistration
from corpbank.tokens.seeds import unseal


@dataclasses.dataclass(frozen=True)
class Issued:
    service_id: str
    token_user_id: str
    mail_address: str


def _new_token_user_id() -> str:
    while True:
        candidate = "".join(secrets.choice("0123456789") for _ in range(10))
        if not SoftwareTokenEnrolment.objects.filter(token_user_id=candidate).exists():
            return candidate


@dataclasses.dataclass(frozen=True)
class Application:
    """トークン発行 as entered (ソフトウェアトークン発行情報入力), checked, and waiting for the confirmation
    password on the next screen. The activation password is kept only as its Argon2id hash."""

    mail_address: str
    activation_password_hash: str

    def __repr__(self) -> str:  # never the hash
        return f"<Application {self.mail_address}>"


def prepare(
    *, user: CustomerUser, mail_address: str, activation_password: str, activation_password_again: str
) -> Application:
    """Check トークン発行's input (step 3 of seed 004): the phone's mail address and the activation
    password (利用開始パスワード) that the phone app will ask for."""
    if not user.contract.software_tokens:
        raise Conflict(_("ソフトウェアトークンのお申込みがありません。お取引店にお問い合わせください。"))
    if SoftwareTokenEnrolment.objects.filter(
        user=user, state__in=SoftwareTokenEnrolment.LIVE_STATES
    ).exists():
        raise Conflict(_("ソフトウェアトークンは既に発行されています。"))
    problems = {}
    if not is_mail_address(mail_address):
        problems["mail_address"] = _("メールアドレスの形式をご確認ください。")
    if problem := character_rule_problem(activation_password):
        problems["activation_password"] = problem
    elif activation_password != activation_password_again:
        problems["activation_password_again"] = _("利用開始パスワードが一致しません。")
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    return Application(mail_address.strip(), hash_secret(activation_password))


def issue(
    *,
    user: CustomerUser,
    application: Application,
    confirmation_password: str,
    ip_address: str = "",
) -> Issued:
    """トークン発行, confirmed with the confirmation password (steps 4-6 of seed 004): the completion
    screen shows the service ID and the user ID, and the phone is mailed the app's address."""

    if not user.contract.software_tokens:
        raise Conflict(_("ソフトウェアトークンのお申込みがありません。お取引店にお問い合わせください。"))
    if not confirmation_password:  # a slip, told on its field and counted against nobody
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={
                "confirmation_password": _("%(label)sを入力してください。")
                % {"label": SecretKind.CONFIRMATION_PASSWORD.label}
            },
        )
    actor = audit.Actor.customer(user, ip_address)

    def act() -> Issued:
        if SoftwareTokenEnrolment.objects.filter(
            user=user, state__in=SoftwareTokenEnrolment.LIVE_STATES
        ).exists():
            raise Conflict(_("ソフトウェアトークンは既に発行されています。"))
        token_user_id = _new_token_user_id()
        serial = f"SW{token_user_id}"
        token = tokens.add_to_stock(serial=serial, seed=os.urandom(20), actor=actor, type=Token.Type.SOFTWARE)
        Token.objects.filter(pk=token.pk).update(
            state=Token.State.SHIPPED, contract=user.contract, shipped_at=timezone.now()
        )
        Secret.objects.create(
            principal_id=token.principal_id,
            kind=SecretKind.ACTIVATION_PASSWORD,
            hash=application.activation_password_hash,
        )
        SoftwareTokenEnrolment.objects.create(
            token=token, user=user, token_user_id=token_user_id, mail_address=application.mail_address
        )
        audit.record(
            "softtoken.issued",
            actor=actor,
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details={"serial": serial},
        )
        issued = Issued(settings.CORPBANK_SOFTTOKEN_SERVICE_ID, token_user_id, application.mail_address)
        mail.send_after_commit(
            to=issued.mail_address,
            subject=_("【%(bank)s】ワンタイムパスワードアプリのダウンロード")
            % {"bank": settings.CORPBANK_BANK_NAME},
            body=render_to_string(
                "corpbank/mail/softtoken_download.txt",
                {
                    "url": settings.CORPBANK_SOFTTOKEN_APP_URL,
                    "bank_name": settings.CORPBANK_BANK_NAME,
                    "sender": mail.sender(),
                },
            ),
        )
        return issued

    return lockout.verified(
        lambda: check_secrets(
            [SecretKind.CONFIRMATION_PASSWORD],
            user=user,
            supplied={"confirmation_password": confirmation_password},
            actor=actor,
        ),
        act,
        refused=FactorsRejected,
        master=user.is_master,
    )


@dataclasses.dataclass(frozen=True)
class Provisioned:
    """What the phone app needs, handed out once."""

    secret_base32: str
    algorithm: str
    digits: int
    period: int
    issuer: str
    account: str

    def __repr__(self) -> str:  # never the seed
        return f"<Provisioned {self.account}>"

    def otpauth_uri(self) -> str:
        """otpauth://totp/… for any standard authenticator app (the Key URI format)."""
        label = quote(f"{self.issuer}:{self.account}")
        query = urlencode(
            {
                "secret": self.secret_base32,
                "issuer": self.issuer,
                "algorithm": self.algorithm.upper(),
                "digits": self.digits,
                "period": self.period,
            }
        )
        return f"otpauth://totp/{label}?{query}"

    def qr_svg(self) -> str:
        """The otpauth URI as an inline SVG QR code (segno), for a standard authenticator app."""
        return str(segno.make(self.otpauth_uri(), error="m").svg_inline(scale=5, title=self.account))


class ProvisioningRefused(InvalidCredentials):
    def __init__(self) -> None:
        DomainError.__init__(self, _("サービスID・ユーザID・利用開始パスワードのいずれかに誤りがあります。"))


def provision(
    *, service_id: str, token_user_id: str, activation_password: str, ip_address: str = ""
) -> Provisioned:
    """The phone app's set-up (step 7): the seed, once, for the right activation password."""
    token_user_id = text.half_width(token_user_id)
    enrolment = (
        SoftwareTokenEnrolment.objects.select_related("token", "user")
        .filter(token_user_id=token_user_id, state=SoftwareTokenEnrolment.State.ISSUED)
        .first()
    )
    if text.half_width(service_id) != settings.CORPBANK_SOFTTOKEN_SERVICE_ID or enrolment is None:
        verify_nothing(activation_password)
        raise ProvisioningRefused()
    token = enrolment.token
    actor = audit.Actor(type="anonymous", label=f"softtoken app {token_user_id}", ip_address=ip_address)

    def act() -> Provisioned:
        # Told only to whoever knows the activation password: a stopped contract hands out no seed. Held
        # until the seed is handed out: a 緊急停止 approved meanwhile waits for it (stop_holding).
        if organization_selectors.contract_status_held(enrolment.user.contract_id) != Contract.Status.ACTIVE:
            raise ContractNotActive(
                _("ご契約が緊急停止中または解約済みのため、ソフトウェアトークンの利用開始はできません。")
            )
        updated = SoftwareTokenEnrolment.objects.filter(
            pk=enrolment.pk, state=SoftwareTokenEnrolment.State.ISSUED
        ).update(state=SoftwareTokenEnrolment.State.PROVISIONED, provisioned_at=timezone.now())
        if not updated:
            raise ProvisioningRefused()
        Secret.objects.filter(principal_id=token.principal_id, kind=SecretKind.ACTIVATION_PASSWORD).delete()
        audit.record(
            "softtoken.provisioned",
            actor=actor,
            subject_user_id=enrolment.user_id,
            contract_id=token.contract_id,
            details={"serial": token.serial},
        )
        return Provisioned(
            secret_base32=base64.b32encode(unseal(token)).decode().rstrip("="),
            algorithm=token.algorithm,
            digits=token.digits,
            period=token.step_seconds,
            issuer=settings.CORPBANK_BANK_NAME,
            account=enrolment.token_user_id,
        )

    def check() -> lockout.Verdict:
        return lockout.check_principal_secret(
            principal_id=token.principal_id,
            kind=SecretKind.ACTIVATION_PASSWORD,
            candidate=activation_password,
            actor=actor,
            subject_user_id=enrolment.user_id,
            contract_id=token.contract_id,
        )

    return lockout.verified(check, act, refused=ProvisioningRefused)


def activate(*, user: CustomerUser, code: str, ip_address: str = "") -> SoftwareTokenEnrolment:
    """ワンタイムパスワード利用開始 (steps 8-11): the app's first code; then サービス利用中."""
    code = text.one_time_password(code)
    enrolment = (
        SoftwareTokenEnrolment.objects.select_related("token")
        .filter(user=user, state=SoftwareTokenEnrolment.State.PROVISIONED)
        .first()
    )
    if enrolment is None:
        raise Conflict(_("スマートフォンでの初期設定が完了していません。"))
    actor = audit.Actor.customer(user, ip_address)

    def act() -> SoftwareTokenEnrolment:
        SoftwareTokenEnrolment.objects.filter(pk=enrolment.pk).update(
            state=SoftwareTokenEnrolment.State.ACTIVE, activated_at=timezone.now()
        )
        tokens.put_in_use(enrolment.token, user=user, actor=actor, action="softtoken.activated")
        enrolment.refresh_from_db()
        return enrolment

    return lockout.verified(
        lambda: otp.check_code(
            enrolment.token, code, actor=actor, subject_user_id=user.pk, contract_id=user.contract_id
        ),
        act,
        refused=ActivationCodeRefused,
        master=user.is_master,
    )


class ActivationCodeRefused(tokens.RegistrationRefused):
    """利用開始: the phone app's code was wrong (this screen asks no serial number)."""

    def __init__(self) -> None:
        DomainError.__init__(self, _("ワンタイムパスワードに誤りがあります。"))


def end(*, token_user_id: str, cancel: bool, actor: audit.Actor) -> SoftwareTokenEnrolment:
    """The bank's 利用停止 (a lost phone, or ten wrong codes: issue again to resume) or ご利用解除 (R-E10).
    Either way the token stops working at once. Runs inside the approving operator's transaction."""
    with transaction.atomic():
        enrolment = (
            SoftwareTokenEnrolment.objects.select_for_update()
            .select_related("token")
            .filter(token_user_id=token_user_id)
            .first()
        )
        if enrolment is None or enrolment.state not in SoftwareTokenEnrolment.LIVE_STATES:
            raise Conflict(_("対象のソフトウェアトークンが見つかりません。"))
        state = SoftwareTokenEnrolment.State.CANCELLED if cancel else SoftwareTokenEnrolment.State.STOPPED
        now = timezone.now()
        SoftwareTokenEnrolment.objects.filter(pk=enrolment.pk).update(state=state)
        TokenRegistration.objects.filter(token=enrolment.token, ended_at__isnull=True).update(
            ended_at=now, ended_reason=str(state)
        )
        Token.objects.filter(pk=enrolment.token_id).update(state=Token.State.REVOKED)
        audit.record(
            f"softtoken.{state}",
            actor=actor,
            subject_user_id=enrolment.user_id,
            contract_id=enrolment.token.contract_id,
            details={"serial": enrolment.token.serial},
        )
    enrolment.refresh_from_db()
    return enrolment


def enable_for_contract(contract: Contract, *, actor: audit.Actor) -> None:
    """The bank has registered the application (inside the approving operator's transaction): the
    contract uses OTP with software tokens, and the organization is told it may start (step 2)."""
    Contract.objects.filter(pk=contract.pk).update(software_tokens=True, otp_required=True)
    audit.record("contract.software_tokens_enabled", actor=actor, contract_id=contract.pk)
    if contract.organization.notification_email:
        mail.send_after_commit(
            to=contract.organization.notification_email,
            subject=_("ワンタイムパスワード申請お取扱い開始のご案内"),
            body=render_to_string(
                "corpbank/mail/softtoken_start.txt",
                {
                    "organization": contract.organization.name,
                    "bank_name": settings.CORPBANK_BANK_NAME,
                    "sender": mail.sender(),
                },
            ),
        )

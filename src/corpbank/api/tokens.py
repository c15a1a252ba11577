"""Tokens: ワンタイムパスワード利用登録 of a hardware token (R-E7, R-E8); the software token of seed
004 (R-E9, R-E11), with the phone app's set-up; and the master's 管理 ≫ 利用者管理 ≫
ワンタイムパスワードの管理."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from corpbank.api import security
from corpbank.api.schemas import ERRORS, FactorsIn
from corpbank.core import mail
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations.models import CustomerUser
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens
from corpbank.tokens import softtokens
from corpbank.web import sessions


class TokenRegistrationIn(Schema):
    serial: str = Field(description="the serial number on the back of the token")
    otp: str = Field(description="the one-time password the token shows now")


class OtpIn(Schema):
    otp: str = Field(description="the one-time password the app shows now")


class SoftwareTokenIssueIn(Schema):
    mail_address: str = Field(description="the phone's mail address; the app's download URL goes there")
    activation_password: str = Field(description="利用開始パスワード, asked by the phone app once")
    activation_password_again: str
    confirmation_password: str


class SoftwareTokenOut(Schema):
    state: str | None = Field(description="issued, provisioned, active, stopped, cancelled; null: none yet")
    state_label: str = Field(description="the state as the screens name it, e.g. サービス利用中")
    service_id: str
    token_user_id: str | None
    mail_address: str | None
    sender: str = Field(description="the one address every mail comes from (R-E11)")


class ProvisionIn(Schema):
    service_id: str
    user_id: str
    activation_password: str


class ProvisionedOut(Schema):
    secret: str = Field(description="the TOTP seed in base32, handed out once")
    algorithm: str
    digits: int
    period: int
    issuer: str
    account: str
    otpauth_uri: str = Field(description="the same as an otpauth:// Key URI for standard authenticator apps")


class TokenOut(Schema):
    user_id: int
    login_id: str | None
    serial: str | None
    stopped: bool


router = Router(tags=["customer"])


@router.post(
    "/me/token-registration", auth=security.customer_pending_token_allowed, response={204: None, **ERRORS}
)
def register_token(request: HttpRequest, body: TokenRegistrationIn) -> Status[None]:
    """ワンタイムパスワード利用登録 (R-E7, R-E8): serial number and the code the token shows now."""
    tokens.register_for_user(
        user=request.auth,  # type: ignore[attr-defined]
        serial=body.serial,
        code=body.otp,
        ip_address=sessions.client_ip(request),
    )
    sessions.token_registered(request)
    return Status(204, None)


def _software_token_out(request: HttpRequest) -> SoftwareTokenOut:
    enrolment = token_selectors.software_token(request.auth)  # type: ignore[attr-defined]
    return SoftwareTokenOut(
        state=enrolment.state if enrolment else None,
        state_label=enrolment.get_state_display() if enrolment else _("未発行"),
        service_id=settings.CORPBANK_SOFTTOKEN_SERVICE_ID,
        token_user_id=enrolment.token_user_id if enrolment else None,
        mail_address=enrolment.mail_address if enrolment else None,
        sender=mail.sender(),
    )


@router.get(
    "/me/software-token",
    auth=security.customer_pending_token_allowed,
    response={200: SoftwareTokenOut, **ERRORS},
)
def software_token(request: HttpRequest) -> SoftwareTokenOut:
    """ワンタイムパスワード申請内容選択: the user's software token and the mail sender (R-E9, R-E11)."""
    return _software_token_out(request)


@router.post(
    "/me/software-token",
    auth=security.customer_pending_token_allowed,
    response={201: SoftwareTokenOut, **ERRORS},
)
def issue_software_token(request: HttpRequest, body: SoftwareTokenIssueIn) -> Status[SoftwareTokenOut]:
    """トークン発行: the phone's mail address and 利用開始パスワード, confirmed with the confirmation
    password; returns the service ID and user ID for the phone app, which is mailed its download URL."""
    application = softtokens.prepare(
        user=request.auth,  # type: ignore[attr-defined]
        mail_address=body.mail_address,
        activation_password=body.activation_password,
        activation_password_again=body.activation_password_again,
    )
    softtokens.issue(
        user=request.auth,  # type: ignore[attr-defined]
        application=application,
        confirmation_password=body.confirmation_password,
        ip_address=sessions.client_ip(request),
    )
    return Status(201, _software_token_out(request))


@router.post(
    "/me/software-token/activate",
    auth=security.customer_pending_token_allowed,
    response={200: SoftwareTokenOut, **ERRORS},
)
def activate_software_token(request: HttpRequest, body: OtpIn) -> SoftwareTokenOut:
    """ワンタイムパスワード利用開始: the app's first code; then サービス利用中."""
    softtokens.activate(
        user=request.auth,  # type: ignore[attr-defined]
        code=body.otp,
        ip_address=sessions.client_ip(request),
    )
    sessions.token_registered(request)
    return _software_token_out(request)


@router.post("/softtoken/provision", auth=None, response={200: ProvisionedOut, **ERRORS}, tags=["phone app"])
def provision_software_token(request: HttpRequest, body: ProvisionIn) -> ProvisionedOut:
    """The phone app's set-up: service ID, user ID and 利用開始パスワード give the seed, once. No session
    and no CSRF (the app holds no cookies); wrong activation passwords go through the lockout."""
    provisioned = softtokens.provision(
        service_id=body.service_id,
        token_user_id=body.user_id,
        activation_password=body.activation_password,
        ip_address=sessions.client_ip(request),
    )
    return ProvisionedOut(
        secret=provisioned.secret_base32,
        algorithm=provisioned.algorithm.upper(),
        digits=provisioned.digits,
        period=provisioned.period,
        issuer=provisioned.issuer,
        account=provisioned.account,
        otpauth_uri=provisioned.otpauth_uri(),
    )


@router.get("/otp", auth=security.master, response={200: list[TokenOut], **ERRORS})
def otp_management(request: HttpRequest) -> list[TokenOut]:
    """管理 ≫ 利用者管理 ≫ ワンタイムパスワードの管理: each user's token in force."""
    master: CustomerUser = request.auth  # type: ignore[attr-defined]
    rows = []
    for user in [master, *organization_selectors.general_users(master)]:
        registration = token_selectors.registration_in_force(user)
        token = registration.token if registration else None
        rows.append(
            TokenOut(
                user_id=user.pk,
                login_id=user.login_id,
                serial=token.serial if token else None,
                stopped=bool(token and token.principal.is_suspended),
            )
        )
    return rows


@router.post("/users/{user_id}/token/revoke", auth=security.master, response={204: None, **ERRORS})
def revoke_token(request: HttpRequest, user_id: int, body: FactorsIn) -> Status[None]:
    """パスワード生成機の失効, the master's own (its own user id) or a general user's (R-E7)."""
    tokens.revoke_for_user(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.post("/users/{user_id}/token/lift-lock", auth=security.master, response={204: None, **ERRORS})
def lift_token_lock(request: HttpRequest, user_id: int, body: FactorsIn) -> Status[None]:
    """ワンタイムパスワードの利用停止解除 of a general user's token (R-C4)."""
    tokens.lift_lock_for_user(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)

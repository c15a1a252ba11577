"""Customer endpoints: the same flows as the web UI, through the same services."""

from __future__ import annotations

import base64

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status

from corpbank.api import security
from corpbank.api.schemas import (
    ERRORS,
    AdditionalAuthOut,
    AnswerIn,
    CertificateObtainedOut,
    CertificateObtainIn,
    CertificateOut,
    FactorsIn,
    LimitSchema,
    LoginEventOut,
    LoginIn,
    OtpIn,
    PasswordsIn,
    ProvisionedOut,
    ProvisionIn,
    QuestionChoiceOut,
    RegisterMasterIn,
    SecretQuestionsIn,
    SessionOut,
    SoftwareTokenIssueIn,
    SoftwareTokenOut,
    TokenOut,
    TokenRegistrationIn,
    UserAddIn,
    UserChangeIn,
    UserOut,
    UserResetIn,
)
from corpbank.authentication import risk
from corpbank.authentication import selectors as authentication_selectors
from corpbank.authentication import services as authentication
from corpbank.authentication.models import Question
from corpbank.authentication.services import LoginOutcome
from corpbank.certificates import services as certificates
from corpbank.certificates.models import CertificateIssuance
from corpbank.core import mail
from corpbank.core.errors import AdditionalAuthExpired
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations import services as users
from corpbank.organizations.models import CustomerUser
from corpbank.organizations.services import LimitInput
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens
from corpbank.tokens import softtokens
from corpbank.web import sessions

router = Router(tags=["customer"])


def _session_out(request: HttpRequest, outcome: LoginOutcome) -> SessionOut:
    user = outcome.user
    return SessionOut(
        user_id=user.pk,
        login_id=user.login_id or "",
        role=user.role,
        name=user.name,
        organization=user.contract.organization.name,
        contract_number=user.contract.number,
        must_change=list(outcome.must_change),
        password_change_due_at=outcome.password_change_due_at,
        warn_expiry=outcome.warn_expiry,
        must_register_token=outcome.must_register_token,
        must_register_questions=outcome.must_register_questions,
        csrf_token=get_token(request),
    )


@router.post(
    "/auth/login", auth=security.anonymous, response={200: SessionOut, 202: AdditionalAuthOut, **ERRORS}
)
def login(request: HttpRequest, body: LoginIn) -> SessionOut | Status[AdditionalAuthOut]:
    """Log in with login ID and login password; the session cookie serves the API and the web UI.
    From an environment the bank does not recognise the answer is 202 with a secret question: answer
    it at /auth/additional-auth before the session starts (R-D2). Over a TLS connection that presented
    the bank's client certificate, the certificate names the user (R-F1; login_id may be empty)."""
    outcome = authentication.log_in(
        login_id=body.login_id,
        password=body.password,
        ip_address=sessions.client_ip(request),
        environment=sessions.environment(request),
        certificate=sessions.client_certificate(request),
    )
    if outcome.challenge is not None:
        sessions.await_answer(request, outcome)
        return Status(
            202,
            AdditionalAuthOut(
                question=outcome.challenge.question,
                question_label=outcome.challenge.label,
                csrf_token=get_token(request),
            ),
        )
    sessions.start_customer_session(request, outcome)
    return _session_out(request, outcome)


@router.post("/auth/additional-auth", auth=security.anonymous, response={200: SessionOut, **ERRORS})
def additional_auth(request: HttpRequest, body: AnswerIn) -> SessionOut:
    """追加認証: the answer to the question the login was given; then the session starts and this
    environment is recognised (its cookie is set). Wrong answers count like passwords."""
    waiting = sessions.challenge(request)
    if waiting is None:
        raise AdditionalAuthExpired()
    user_id, position, _question = waiting
    outcome = authentication.answer_challenge(
        user_id=user_id,
        position=position,
        answer=body.answer,
        environment=sessions.environment(request),
        ip_address=sessions.client_ip(request),
    )
    sessions.start_customer_session(request, outcome)
    return _session_out(request, outcome)


@router.get("/secret-questions", auth=None, response={200: list[QuestionChoiceOut]})
def secret_question_choices(request: HttpRequest) -> list[QuestionChoiceOut]:
    """The questions a user chooses three from (R-D1)."""
    return [QuestionChoiceOut(question=value, label=str(label)) for value, label in Question.choices]


@router.post(
    "/me/secret-questions", auth=security.customer_pending_questions_allowed, response={204: None, **ERRORS}
)
def register_secret_questions(request: HttpRequest, body: SecretQuestionsIn) -> Status[None]:
    """追加認証の合言葉の登録: three different questions with their answers (R-D1); this environment is
    recognised from now on."""
    device_id = authentication.register_questions(
        user=request.auth,  # type: ignore[attr-defined]
        pairs=[(item.question, item.answer) for item in body.questions],
        environment=sessions.environment(request),
        ip_address=sessions.client_ip(request),
    )
    sessions.questions_registered(request, device_id)
    return Status(204, None)


@router.post("/auth/logout", auth=security.customer_pending_change_allowed, response={204: None, **ERRORS})
def logout(request: HttpRequest) -> Status[None]:
    authentication.log_out(request.auth, ip_address=sessions.client_ip(request))  # type: ignore[attr-defined]
    sessions.end_session(request)
    return Status(204, None)


@router.post("/auth/register-master", auth=security.anonymous, response={201: None, **ERRORS})
def register_master(request: HttpRequest, body: RegisterMasterIn) -> Status[None]:
    """マスターユーザ初回登録 with the contract number and the initial password (R-B7)."""
    authentication.register_master(**body.dict(), ip_address=sessions.client_ip(request))
    return Status(201, None)


@router.get("/me", auth=security.customer_pending_change_allowed, response={200: SessionOut, **ERRORS})
def me(request: HttpRequest) -> SessionOut:
    user: CustomerUser = request.auth  # type: ignore[attr-defined]
    outcome = authentication.LoginOutcome(
        user=user,
        must_change=tuple(sessions.must_change(request)),
        password_change_due_at=None,
        warn_expiry=bool(request.session.get(sessions.WARN_EXPIRY)),
        must_register_token=sessions.must_register_token(request),
        must_register_questions=sessions.must_register_questions(request),
    )
    return _session_out(request, outcome)


@router.post("/me/passwords", auth=security.customer_pending_change_allowed, response={204: None, **ERRORS})
def change_passwords(request: HttpRequest, body: PasswordsIn) -> Status[None]:
    """管理機能 ≫ IDメンテナンス (R-B6)."""
    authentication.change_passwords(
        user=request.auth,  # type: ignore[attr-defined]
        current={
            "login_password": body.current_login_password,
            "confirmation_password": body.current_confirmation_password,
        },
        new_login_password=body.new_login_password or None,
        new_login_password_again=body.new_login_password_again,
        new_confirmation_password=body.new_confirmation_password or None,
        new_confirmation_password_again=body.new_confirmation_password_again,
        ip_address=sessions.client_ip(request),
    )
    sessions.passwords_changed(request)
    return Status(204, None)


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


@router.get("/me/login-history", auth=security.customer, response={200: list[LoginEventOut], **ERRORS})
def login_history(request: HttpRequest) -> list[LoginEventOut]:
    return [
        LoginEventOut(at=e.at, action=e.action, ip_address=e.ip_address)
        for e in authentication_selectors.login_history(request.auth)  # type: ignore[attr-defined]
    ]


def user_out(user: CustomerUser) -> UserOut:
    now = timezone.now()
    principal = user.principal
    return UserOut(
        id=user.pk,
        login_id=user.login_id,
        name=user.name,
        role=user.role,
        status=user.status,
        locked_until=principal.locked_until if principal.is_locked(now) else None,
        suspended=principal.is_suspended,
        permissions=sorted(p.permission for p in user.permissions.all()),
        limits=[
            LimitSchema(kind=limit.kind, per_transaction=limit.per_transaction, per_day=limit.per_day)
            for limit in user.limits.all()
        ],
    )


def _limits(limits: list[LimitSchema]) -> list[LimitInput]:
    return [LimitInput(limit.kind, limit.per_transaction, limit.per_day) for limit in limits]


@router.get("/users", auth=security.master, response={200: list[UserOut], **ERRORS})
def list_users(request: HttpRequest) -> list[UserOut]:
    """管理 ≫ 利用者管理: the contract's general users, with their login IDs (R-B8)."""
    return [user_out(user) for user in organization_selectors.general_users(request.auth)]  # type: ignore[attr-defined]


@router.post("/users", auth=security.master, response={201: UserOut, **ERRORS})
def add_user(request: HttpRequest, body: UserAddIn) -> Status[UserOut]:
    user = users.add_general_user(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        login_id=body.login_id,
        name=body.name,
        login_password=body.login_password,
        confirmation_password=body.confirmation_password,
        permissions=body.permissions,
        limits=_limits(body.limits),
        ip_address=sessions.client_ip(request),
    )
    return Status(201, user_out(user))


@router.get("/users/{user_id}", auth=security.master, response={200: UserOut, **ERRORS})
def get_user(request: HttpRequest, user_id: int) -> UserOut:
    return user_out(organization_selectors.general_user_of(request.auth, user_id))  # type: ignore[attr-defined]


@router.put("/users/{user_id}", auth=security.master, response={200: UserOut, **ERRORS})
def change_user(request: HttpRequest, user_id: int, body: UserChangeIn) -> UserOut:
    user = users.change_general_user(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        name=body.name,
        permissions=body.permissions,
        limits=_limits(body.limits),
        ip_address=sessions.client_ip(request),
    )
    return user_out(user)


@router.post("/users/{user_id}/delete", auth=security.master, response={204: None, **ERRORS})
def delete_user(request: HttpRequest, user_id: int, body: FactorsIn) -> Status[None]:
    users.delete_general_user(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.post("/users/{user_id}/reset-credentials", auth=security.master, response={204: None, **ERRORS})
def reset_user(request: HttpRequest, user_id: int, body: UserResetIn) -> Status[None]:
    """New one-time passwords; lifts a lockout or suspension (R-B8, R-C3)."""
    users.reset_general_user_credentials(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        login_password=body.login_password,
        confirmation_password=body.confirmation_password,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.post("/users/{user_id}/lift-lock", auth=security.master, response={204: None, **ERRORS})
def lift_lock(request: HttpRequest, user_id: int, body: FactorsIn) -> Status[None]:
    """利用停止解除 (R-C3)."""
    users.lift_general_user_lock(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.post("/users/{user_id}/secret-questions/reset", auth=security.master, response={204: None, **ERRORS})
def reset_secret_questions(request: HttpRequest, user_id: int, body: FactorsIn) -> Status[None]:
    """追加認証のリセット of a general user (R-D3): new questions at the next login."""
    risk.reset_by_master(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.get("/certificates", auth=security.master, response={200: list[CertificateOut], **ERRORS})
def certificate_management(request: HttpRequest) -> list[CertificateOut]:
    """管理 ≫ 利用者管理 ≫ 電子証明書の管理: each user's certificate in force and open issuance."""
    master: CustomerUser = request.auth  # type: ignore[attr-defined]
    rows = []
    for user in [master, *organization_selectors.general_users(master)]:
        certificate = certificates.active_certificate(user)
        rows.append(
            CertificateOut(
                user_id=user.pk,
                login_id=user.login_id,
                serial_number=certificate.serial_number if certificate else None,
                not_after=certificate.not_after if certificate else None,
                issuance_enabled=CertificateIssuance.objects.filter(user=user, used_at__isnull=True).exists(),
            )
        )
    return rows


@router.post("/users/{user_id}/certificate/enable", auth=security.master, response={204: None, **ERRORS})
def enable_certificate(request: HttpRequest, user_id: int, body: FactorsIn) -> Status[None]:
    """電子証明書の発行許可 for a general user's PC (R-F3, R-F4)."""
    certificates.enable_by_master(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.post("/users/{user_id}/certificate/revoke", auth=security.master, response={204: None, **ERRORS})
def revoke_certificate(request: HttpRequest, user_id: int, body: FactorsIn) -> Status[None]:
    """電子証明書の失効, own (the master's id) or a general user's (R-F3)."""
    certificates.revoke_by_master(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.post("/certificate/obtain", auth=security.anonymous, response={201: CertificateObtainedOut, **ERRORS})
def obtain_certificate(
    request: HttpRequest, response: HttpResponse, body: CertificateObtainIn
) -> Status[CertificateObtainedOut]:
    """電子証明書の取得 on the PC, once issuance is enabled: the PKCS#12 and its one-time password."""
    response["Cache-Control"] = "no-store"
    obtained = certificates.obtain_with_password(
        login_id=body.login_id, password=body.password, ip_address=sessions.client_ip(request)
    )
    return Status(201, _obtained_out(obtained))


def _obtained_out(obtained: certificates.Obtained) -> CertificateObtainedOut:
    return CertificateObtainedOut(
        pkcs12=base64.b64encode(obtained.pkcs12).decode(),
        password=obtained.password,
        serial_number=obtained.certificate.serial_number,
        not_after=obtained.certificate.not_after,
    )


@router.post(
    "/me/certificate/renew", auth=security.customer, response={201: CertificateObtainedOut, **ERRORS}
)
def renew_certificate(request: HttpRequest, response: HttpResponse) -> Status[CertificateObtainedOut]:
    """電子証明書の更新 from the PC whose certificate this connection presented, near its end (R-F2)."""
    response["Cache-Control"] = "no-store"
    obtained = certificates.renew(
        request.auth,  # type: ignore[attr-defined]
        presented=sessions.client_certificate(request),
        ip_address=sessions.client_ip(request),
    )
    return Status(201, _obtained_out(obtained))


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

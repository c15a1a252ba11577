"""The customer's way in and own credentials: login (with 追加認証), logout, the master's first
registration, the secret questions, the session's user, password change, login history."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.middleware.csrf import get_token
from ninja import Field, Router, Schema, Status

from corpbank.api import security
from corpbank.api.schemas import ERRORS, fields_named
from corpbank.authentication import selectors as authentication_selectors
from corpbank.authentication import services as authentication
from corpbank.authentication.models import Question
from corpbank.authentication.services import LoginOutcome
from corpbank.core.errors import AdditionalAuthExpired
from corpbank.organizations.models import CustomerUser
from corpbank.web import sessions


class LoginIn(Schema):
    login_id: str = Field("", description="not needed when the connection presents a client certificate")
    password: str


class SessionOut(Schema):
    user_id: int
    login_id: str
    role: str
    name: str
    organization: str
    contract_number: str
    must_change: list[str]
    password_change_due_at: datetime | None = None
    warn_expiry: bool = False
    must_register_token: bool = False
    must_register_questions: bool = False
    csrf_token: str = Field(description="the CSRF token rotated at login; send it as X-CSRFToken")


class AdditionalAuthOut(Schema):
    question: str = Field(description="the question's code")
    question_label: str = Field(description="the question as the screens ask it")
    csrf_token: str = Field(description="the CSRF token of this pre-login session")


class AnswerIn(Schema):
    answer: str


class QuestionChoiceOut(Schema):
    question: str
    label: str


class QuestionAnswerIn(Schema):
    question: str = Field(description="a code from GET /secret-questions")
    answer: str


class SecretQuestionsIn(Schema):
    questions: list[QuestionAnswerIn] = Field(description="three different questions with their answers")


class RegisterMasterIn(Schema):
    contract_number: str
    initial_password: str
    login_id: str
    login_password: str
    login_password_again: str
    confirmation_password: str
    confirmation_password_again: str


class PasswordsIn(Schema):
    current_login_password: str = ""
    current_confirmation_password: str = ""
    new_login_password: str = ""
    new_login_password_again: str = ""
    new_confirmation_password: str = ""
    new_confirmation_password_again: str = ""


class LoginEventOut(Schema):
    at: datetime
    action: str
    ip_address: str


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
    # The service names the screen's inputs (question_1, answer_1 …): here, the body's paths.
    names = {
        f"{part}_{position}": f"questions.{position - 1}.{part}"
        for position in range(1, len(body.questions) + 1)
        for part in ("question", "answer")
    }
    with fields_named(names):
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
        password_change_due_at=sessions.password_change_due_at(request),
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
    sessions.passwords_changed(
        request,
        authentication_selectors.password_change_due_at(request.auth),  # type: ignore[attr-defined]
    )
    return Status(204, None)


@router.get("/me/login-history", auth=security.customer, response={200: list[LoginEventOut], **ERRORS})
def login_history(request: HttpRequest) -> list[LoginEventOut]:
    return [
        LoginEventOut(at=e.at, action=e.action, ip_address=e.ip_address)
        for e in authentication_selectors.login_history(request.auth)  # type: ignore[attr-defined]
    ]

"""The customer's way in and the customer's own credentials: login (with 追加認証), logout, the
master's first registration, the secret questions, IDメンテナンス (passwords), and the login history.
Each view parses the form, calls one service, and renders the outcome."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from corpbank.authentication import risk
from corpbank.authentication import selectors as authentication_selectors
from corpbank.authentication import services as authentication
from corpbank.authentication.models import Question
from corpbank.certificates import services as certificates
from corpbank.core.errors import DomainError
from corpbank.identity.models import SecretKind
from corpbank.organizations.models import CustomerUser
from corpbank.web import drafts, sessions
from corpbank.web.pages import (
    PASSWORD_HINT,
    Field,
    customer_required,
    form_page,
    posted,
    secret,
    to_login,
)


def login(request: HttpRequest) -> HttpResponse:
    """Login by login ID and login password; from a PC with the bank's client certificate, the
    certificate names the user and only the login password is asked (R-F1). Somebody signed in
    already is sent to the top page (log out first to sign in as somebody else, R-A5)."""
    if request.method == "GET" and getattr(request, "customer", None) is not None:
        messages.info(request, _("ログイン中です。別の利用者でログインするには、ログアウトしてください。"))
        return redirect("home")
    certificate = sessions.client_certificate(request)
    holder, error = None, None
    if certificate is not None:
        try:
            holder = certificates.verify(certificate).user
        except DomainError as refused:
            error = refused
    fields = [secret("password", _("ログインパスワード"), autocomplete="current-password")]
    if holder is None:
        fields.insert(0, Field("login_id", _("ログインID"), autocomplete="username", maxlength=12))
    if request.method == "POST" and error is None:
        draft = request.session.get(drafts.DRAFT)  # what a timed-out form kept, before the new session
        data = posted(request, "login_id", "password")
        try:
            outcome = authentication.log_in(
                login_id=data["login_id"],
                password=data["password"],
                ip_address=sessions.client_ip(request),
                environment=sessions.environment(request),
                certificate=certificate,
            )
        except DomainError as failure:
            error = failure
        else:
            if outcome.challenge is not None:
                sessions.await_answer(request, outcome)
                return redirect("additional_auth")
            sessions.start_customer_session(request, outcome)
            return redirect(
                sessions.required_page(request, outcome.user)
                or drafts.resume_page(draft, ["customer", outcome.user.pk])
                or "home"
            )
    return form_page(
        request,
        title=_("ログイン"),
        fields=fields,
        submit_label=_("ログイン"),
        error=error,
        template="corpbank/authentication/login.html",
        certificate_holder=holder,
    )


def additional_auth(request: HttpRequest) -> HttpResponse:
    """追加認証: a login from an environment the bank does not recognise answers one of the user's
    secret questions before the session starts (R-D2)."""
    waiting = sessions.challenge(request)
    if waiting is None:
        return to_login(request, "login")
    user_id, position, question = waiting
    fields = [
        Field(
            "answer",
            Question(question).label,
            "password",
            hint=_("ご登録の回答を入力してください。全角・半角、大文字・小文字、空白は区別しません。"),
            maxlength=60,
            autocomplete="off",
        )
    ]
    error = None
    if request.method == "POST":
        draft = request.session.get(drafts.DRAFT)
        try:
            outcome = authentication.answer_challenge(
                user_id=user_id,
                position=position,
                answer=request.POST.get("answer", ""),
                environment=sessions.environment(request),
                ip_address=sessions.client_ip(request),
            )
        except DomainError as failure:
            error = failure
        else:
            sessions.start_customer_session(request, outcome)
            return redirect(
                sessions.required_page(request, outcome.user)
                or drafts.resume_page(draft, ["customer", outcome.user.pk])
                or "home"
            )
    return form_page(
        request,
        title=_("追加認証"),
        lead=_(
            "いつもと異なるご利用環境からのログインです。ご本人確認のため、合言葉の質問にお答えください。"
            "パソコンの設定、OS・ブラウザの種類、ご利用のプロバイダーを変更された場合や、"
            "Cookieを削除された場合にもお尋ねします。"
        ),
        fields=fields,
        submit_label=_("認証する"),
        error=error,
    )


@customer_required(allow_pending_questions=True)
def secret_questions(request: HttpRequest) -> HttpResponse:
    """追加認証の合言葉の登録 (R-D1): three different questions and their answers."""
    customer: CustomerUser = request.customer  # type: ignore[attr-defined]
    if not sessions.must_register_questions(request):
        return redirect("home")
    choices: list[tuple[str, str]] = [
        ("", _("質問を選択してください")),
        *((value, str(label)) for value, label in Question.choices),
    ]
    fields = []
    for position in range(1, risk.QUESTIONS_PER_USER + 1):
        fields.append(
            Field(f"question_{position}", _("質問%(n)d") % {"n": position}, "select", choices=choices)
        )
        fields.append(
            Field(
                f"answer_{position}",
                _("回答%(n)d") % {"n": position},
                "password",
                hint=_("%(min)d文字以上%(max)d文字以内。全角・半角、大文字・小文字、空白は区別しません。")
                % {"min": risk.ANSWER_LENGTH[0], "max": risk.ANSWER_LENGTH[1]},
                maxlength=60,
            )
        )
    error = None
    if request.method == "POST":
        pairs = [
            (request.POST.get(f"question_{n}", ""), request.POST.get(f"answer_{n}", ""))
            for n in range(1, risk.QUESTIONS_PER_USER + 1)
        ]
        try:
            device_id = authentication.register_questions(
                user=customer,
                pairs=pairs,
                environment=sessions.environment(request),
                ip_address=sessions.client_ip(request),
            )
        except DomainError as failure:
            error = failure
        else:
            sessions.questions_registered(request, device_id)
            messages.success(request, _("追加認証の合言葉を登録しました。"))
            return redirect(sessions.required_page(request, customer) or "home")
    return form_page(
        request,
        title=_("追加認証（合言葉）の登録"),
        lead=_(
            "いつもと異なる環境からログインされた際のご本人確認に使います。"
            "異なる3つの質問を選び、回答を登録してください。"
            "回答は当金庫の職員にもわかりません。お忘れにならないようご注意ください。"
        ),
        fields=fields,
        submit_label=_("登録する"),
        error=error,
    )


def register(request: HttpRequest) -> HttpResponse:
    """マスターユーザの初回登録 with the contract number and the initial password (R-B7)."""
    fields = [
        Field(
            "contract_number", _("契約番号"), hint=_("初期パスワードのご案内に記載の10桁の番号"), maxlength=10
        ),
        secret("initial_password", _("初期パスワード")),
        Field(
            "login_id",
            _("ログインID（新規）"),
            hint=str(PASSWORD_HINT),
            autocomplete="username",
            maxlength=12,
        ),
        secret("login_password", _("ログインパスワード（新規）"), str(PASSWORD_HINT), "new-password"),
        secret(
            "login_password_again", _("ログインパスワード（確認のため再入力）"), autocomplete="new-password"
        ),
        secret(
            "confirmation_password",
            _("確認用パスワード（新規）"),
            _("ログインパスワードと異なるものを設定してください。") + str(PASSWORD_HINT),
            "new-password",
        ),
        secret(
            "confirmation_password_again",
            _("確認用パスワード（確認のため再入力）"),
            autocomplete="new-password",
        ),
    ]
    error = None
    if request.method == "POST":
        data = posted(request, *(f.name for f in fields))
        try:
            authentication.register_master(**data, ip_address=sessions.client_ip(request))
        except DomainError as failure:
            error = failure
        else:
            messages.success(
                request,
                _("ご登録が完了しました。登録したログインIDとログインパスワードでログインしてください。"),
            )
            return redirect("login")
    return form_page(
        request,
        title=_("マスターユーザ初回登録"),
        lead=_("金庫からお送りした「初期パスワードのご案内」をお手元にご用意ください。"),
        fields=fields,
        submit_label=_("登録する"),
        error=error,
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    customer: CustomerUser | None = request.customer  # type: ignore[attr-defined]
    if customer is not None:
        authentication.log_out(customer, ip_address=sessions.client_ip(request))
    sessions.end_session(request)
    messages.success(request, _("ログアウトしました。"))
    return redirect("login")


@customer_required(allow_pending_change=True)
def password(request: HttpRequest) -> HttpResponse:
    """管理機能 ≫ IDメンテナンス: change passwords; forced after an initial or expired one (R-B6)."""
    forced = sessions.must_change(request)
    fields = [
        secret("current_login_password", _("現在のログインパスワード"), autocomplete="current-password"),
        secret("new_login_password", _("新しいログインパスワード"), str(PASSWORD_HINT), "new-password"),
        secret(
            "new_login_password_again",
            _("新しいログインパスワード（確認のため再入力）"),
            autocomplete="new-password",
        ),
        secret(
            "current_confirmation_password",
            _("現在の確認用パスワード"),
            _(
                "どちらのパスワードを変更する場合も、現在のログインパスワードと確認用パスワードの両方が必要です。"
            ),
        ),
        secret("new_confirmation_password", _("新しい確認用パスワード"), str(PASSWORD_HINT), "new-password"),
        secret(
            "new_confirmation_password_again",
            _("新しい確認用パスワード（確認のため再入力）"),
            autocomplete="new-password",
        ),
    ]
    error = None
    if request.method == "POST":
        data = posted(request, *(f.name for f in fields))
        try:
            authentication.change_passwords(
                user=request.customer,  # type: ignore[attr-defined]
                current={
                    "login_password": data["current_login_password"],
                    "confirmation_password": data["current_confirmation_password"],
                },
                new_login_password=data["new_login_password"] or None,
                new_login_password_again=data["new_login_password_again"],
                new_confirmation_password=data["new_confirmation_password"] or None,
                new_confirmation_password_again=data["new_confirmation_password_again"],
                ip_address=sessions.client_ip(request),
            )
        except DomainError as failure:
            error = failure
        else:
            sessions.passwords_changed(
                request,
                authentication_selectors.password_change_due_at(request.customer),  # type: ignore[attr-defined]
            )
            messages.success(request, _("パスワードを変更しました。"))
            customer = request.customer  # type: ignore[attr-defined]
            return redirect(sessions.required_page(request, customer) or "home")
    if forced:
        lead = _(
            "初期パスワードまたは有効期限を過ぎたパスワードをご利用です。続けてご利用いただくには、"
            "%(kinds)sを現在と異なるものに変更してください。現在のパスワードは両方を入力してください。"
        ) % {"kinds": pgettext("list separator", "・").join(str(SecretKind(kind).label) for kind in forced)}
    else:
        lead = _("現在のパスワードは両方を、新しいパスワードは変更するものの欄のみを入力してください。")
    return form_page(
        request,
        title=_("パスワード変更"),
        breadcrumb=_("管理機能 ≫ IDメンテナンス"),
        lead=lead,
        forced=forced,
        fields=fields,
        submit_label=_("変更する"),
        error=error,
    )


@customer_required()
def login_history(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "corpbank/authentication/login_history.html",
        {"title": _("ログイン履歴"), "events": authentication_selectors.login_history(request.customer)},  # type: ignore[attr-defined]
    )

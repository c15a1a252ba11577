"""The back office's operators on screen: the login (password, then the one-time password of the
operator's authenticator app, registered at the first login from a QR code shown once), the roles'
guards of the back office's pages, and the administrators' 職員管理 (issue 12 item 7)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from corpbank.backoffice import selectors as backoffice_selectors
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator
from corpbank.core.errors import DomainError, NotFound
from corpbank.core.policy import current_policy
from corpbank.web import sessions
from corpbank.web.pages import Field, View, form_page, operator_required, posted, secret

# A login whose password was right and whose second factor is awaited: not a session yet.
PENDING = "corpbank.operator_second_factor"


def _operator(request: HttpRequest) -> Operator:
    return request.operator  # type: ignore[attr-defined,no-any-return]


def _refused(request: HttpRequest, message: str) -> HttpResponse:
    return render(
        request,
        "corpbank/backoffice/message.html",
        {"title": _("ご利用いただけません"), "message": message},
        status=403,
    )


def _role_required(allowed: Callable[[Operator], bool], message: Callable[[], str]) -> Callable[[View], View]:
    """A page of one role (the services refuse too: this says so before a form is filled in)."""

    def decorate(view: View) -> View:
        @operator_required
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed(_operator(request)):
                return _refused(request, message())
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


entrant_required = _role_required(
    lambda operator: operator.enters, lambda: _("この操作は受付担当または承認者の職員のみ行えます。")
)
approver_required = _role_required(
    lambda operator: operator.approves, lambda: _("承認・却下は承認者の職員のみ行えます。")
)
administrator_required = _role_required(
    lambda operator: operator.administers, lambda: _("職員の管理は管理者の職員のみ行えます。")
)


# ---------------------------------------------------------------------------------------------------
# Login


def _await_second_factor(request: HttpRequest, operator: Operator) -> None:
    """The password was right: a fresh session that only remembers whose code is awaited, for the
    policy's inactivity period."""
    request.session.flush()
    rotate_token(request)
    request.session[PENDING] = {"operator": operator.pk, "since": timezone.now().isoformat()}


def _pending(request: HttpRequest) -> Operator | None:
    waiting = request.session.get(PENDING)
    if not waiting:
        return None
    if timezone.now() - datetime.fromisoformat(waiting["since"]) > current_policy().session_inactivity:
        request.session.pop(PENDING, None)
        return None
    return Operator.objects.filter(pk=waiting["operator"], is_active=True).first()


def login(request: HttpRequest) -> HttpResponse:
    """事務センター ログイン, first step: login name and password (through the lockout)."""
    fields = [
        Field("login_name", _("職員ログイン名"), autocomplete="username", maxlength=30),
        secret("password", _("パスワード"), autocomplete="current-password"),
    ]
    error = None
    if request.method == "POST":
        data = posted(request, "login_name", "password")
        try:
            operator = backoffice.check_password(**data, ip_address=sessions.client_ip(request))
        except DomainError as failure:
            error = failure
        else:
            _await_second_factor(request, operator)
            return redirect("backoffice:second_factor")
    return form_page(
        request,
        title=_("事務センター ログイン"),
        fields=fields,
        submit_label=_("次へ"),
        error=error,
        template="corpbank/backoffice/form.html",
    )


def second_factor(request: HttpRequest) -> HttpResponse:
    """Second step: the code of the operator's authenticator app. An operator without one registers it
    here first: a new key, shown once as a QR code and as text; the first code accepted confirms it."""
    operator = _pending(request)
    if operator is None:
        messages.error(request, _("一定時間が経過したため、ログインをやり直してください。"))
        return redirect("backoffice:login")
    error = None
    if request.method == "POST":
        try:
            backoffice.check_second_factor(
                operator, request.POST.get("otp", ""), ip_address=sessions.client_ip(request)
            )
        except DomainError as failure:
            error = failure
        else:
            sessions.start_operator_session(request, operator)
            return redirect("backoffice:home")
    enrolled = backoffice.has_second_factor(operator)
    enrolment = None
    if not enrolled and request.method != "POST":
        # A new key each time the page is shown: a key is never shown twice.
        enrolment = backoffice.start_enrolment(operator, ip_address=sessions.client_ip(request))
    response = form_page(
        request,
        title=_("認証アプリの登録") if not enrolled else _("ワンタイムパスワードの入力"),
        lead=(
            _("認証アプリに表示されている6桁のワンタイムパスワードを入力してください。")
            if enrolled
            else _(
                "事務センターへのログインには、スマートフォン等の認証アプリ（TOTP）のワンタイムパスワードが必要です。"
                "下のQRコードを認証アプリで読み取り、表示された6桁の番号を入力してください。"
            )
        ),
        fields=[
            Field("otp", _("ワンタイムパスワード"), autocomplete="one-time-code", maxlength=8),
        ],
        submit_label=_("ログイン") if enrolled else _("登録してログイン"),
        error=error,
        template="corpbank/backoffice/second_factor.html",
        enrolment=enrolment,
        qr_svg=enrolment.qr_svg() if enrolment else "",
        uri=enrolment.otpauth_uri() if enrolment else "",
        enrolling=not enrolled,
        operator_login_name=operator.login_name,
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    sessions.end_session(request)
    return redirect("backoffice:login")


# ---------------------------------------------------------------------------------------------------
# 職員管理 (administrators)


def _role_choices() -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in Operator.Role.choices]


@administrator_required
def operators(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "corpbank/backoffice/operators.html",
        {
            "title": _("職員管理"),
            "operators": backoffice_selectors.operators(),
            "roles": _role_choices(),
            "now": timezone.now(),
        },
    )


@administrator_required
def operator_new(request: HttpRequest) -> HttpResponse:
    """職員の登録: the operator registers an authenticator app at the first login."""
    fields = [
        Field("login_name", _("職員ログイン名"), hint=_("30文字以内の半角英数字記号"), maxlength=30),
        Field("display_name", _("氏名"), maxlength=60),
        Field("role", _("権限"), "select", choices=_role_choices(), value=Operator.Role.CLERK),
        secret("password", _("初期パスワード"), _("6～12桁の半角英数字（英字・数字を各1文字以上）")),
    ]
    error = None
    if request.method == "POST":
        data = posted(request, "login_name", "display_name", "role", "password")
        try:
            created = backoffice.create_operator(
                **data, by=_operator(request), ip_address=sessions.client_ip(request)
            )
        except DomainError as failure:
            error = failure
        else:
            messages.success(
                request,
                _("職員 %(login_name)s を登録しました。初回ログイン時に認証アプリを登録します。")
                % {"login_name": created.login_name},
            )
            return redirect("backoffice:operators")
    return form_page(
        request,
        title=_("職員の登録"),
        lead=_("初期パスワードは本人に直接お伝えください。本人は初回ログイン時に認証アプリを登録します。"),
        fields=fields,
        submit_label=_("登録する"),
        error=error,
        template="corpbank/backoffice/form.html",
    )


@require_POST
@administrator_required
def operator_act(request: HttpRequest, operator_id: int, act: str) -> HttpResponse:
    """権限の変更, ロックアウト・利用停止の解除, 認証アプリの再登録, 利用停止 of an operator."""
    admin, ip_address = _operator(request), sessions.client_ip(request)
    acts: dict[str, tuple[Callable[[], object], str]] = {
        "role": (
            lambda: backoffice.change_role(
                admin, operator_id, request.POST.get("role", ""), ip_address=ip_address
            ),
            _("権限を変更しました。"),
        ),
        "unlock": (
            lambda: backoffice.lift_operator_lock(admin, operator_id, ip_address=ip_address),
            _("ロックアウト・利用停止を解除しました。"),
        ),
        "reset-second-factor": (
            lambda: backoffice.reset_second_factor(admin, operator_id, ip_address=ip_address),
            _("認証アプリの登録を解除しました。次回ログイン時に新しい認証アプリを登録します。"),
        ),
        "deactivate": (
            lambda: backoffice.deactivate_operator(admin, operator_id, ip_address=ip_address),
            _("職員を利用停止にしました。"),
        ),
    }
    try:
        if act not in acts:
            raise NotFound()
        do, done = acts[act]
        do()
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("backoffice:operators")

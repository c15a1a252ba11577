"""The back office's operators on screen: the login (password; an initial password replaced by the
operator's own; then the one-time password of the operator's authenticator app, registered at the first
login from a QR code shown once), パスワードの変更, the roles' guards of the back office's pages, and the
administrators' 職員管理, each entry of which another administrator approves (issue 12 item 7)."""

from __future__ import annotations

import functools
from collections.abc import Callable
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
from corpbank.backoffice.services import OperatorLetter
from corpbank.core.errors import DomainError
from corpbank.identity.models import Principal, Secret, SecretKind
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
administrator_required = _role_required(
    lambda operator: operator.administers, lambda: _("職員の管理は管理者の職員のみ行えます。")
)
# 承認・却下: approvers decide the paper procedures, administrators the operators' (the engine's rule of
# each procedure says which).
decider_required = _role_required(
    lambda operator: operator.approves or operator.administers,
    lambda: _("承認・却下は承認者または管理者の職員のみ行えます。"),
)


# ---------------------------------------------------------------------------------------------------
# Login


def _await_second_factor(request: HttpRequest, operator: Operator) -> None:
    """The password was right: a fresh session that only remembers whose code is awaited, for the
    policy's inactivity period."""
    request.session.flush()
    rotate_token(request)
    sessions.await_step(
        request,
        PENDING,
        operator=operator.pk,
        # A reset of the password or of the second factor, or a stop, ends this half-login too.
        epoch=Principal.objects.values_list("session_epoch", flat=True).get(pk=operator.principal_id),
    )


def _pending(request: HttpRequest) -> Operator | None:
    waiting = sessions.pending_step(request, PENDING)
    if waiting is None:
        return None
    operator = (
        Operator.objects.select_related("principal").filter(pk=waiting["operator"], is_active=True).first()
    )
    if operator is None or operator.principal.session_epoch != waiting.get("epoch"):
        request.session.pop(PENDING, None)
        return None
    return operator


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
            if backoffice.password_is_initial(operator):
                return redirect("backoffice:initial_password")
            return redirect("backoffice:second_factor")
    return form_page(
        request,
        title=_("事務センター ログイン"),
        fields=fields,
        submit_label=_("次へ"),
        error=error,
        template="corpbank/backoffice/form.html",
    )


def _new_password_fields() -> list[Field]:
    return [
        secret(
            "new_password",
            _("新しいパスワード"),
            _("6～12桁の半角英数字（英字・数字を各1文字以上）。ログイン名・現在のパスワードとは別のもの"),
            autocomplete="new-password",
        ),
        secret("new_password_again", _("新しいパスワード（確認のため再入力）"), autocomplete="new-password"),
    ]


def initial_password(request: HttpRequest) -> HttpResponse:
    """After a right initial password (generated at the registration's or a reset's approval, and seen
    by the administrator who approved it): the operator chooses their own, before the second factor."""
    operator = _pending(request)
    if operator is None:
        messages.error(request, _("一定時間が経過したため、ログインをやり直してください。"))
        return redirect("backoffice:login")
    if not backoffice.password_is_initial(operator):
        return redirect("backoffice:second_factor")
    error = None
    if request.method == "POST":
        try:
            backoffice.change_initial_password(
                operator,
                new_password=request.POST.get("new_password", ""),
                new_password_again=request.POST.get("new_password_again", ""),
                ip_address=sessions.client_ip(request),
            )
        except DomainError as failure:
            error = failure
        else:
            messages.success(request, _("パスワードを変更しました。"))
            return redirect("backoffice:second_factor")
    response = form_page(
        request,
        title=_("初期パスワードの変更"),
        lead=_(
            "初期パスワードのままではログインできません。ご自身だけが知る新しいパスワードに変更してください。"
        ),
        fields=_new_password_fields(),
        submit_label=_("変更して次へ"),
        error=error,
        template="corpbank/backoffice/form.html",
    )
    response["Cache-Control"] = "no-store"
    return response


@operator_required
def password(request: HttpRequest) -> HttpResponse:
    """パスワードの変更 by a signed-in operator: the current password (through the lockout) and a new one."""
    fields = [
        secret("current_password", _("現在のパスワード"), autocomplete="current-password"),
        *_new_password_fields(),
    ]
    error = None
    if request.method == "POST":
        try:
            backoffice.change_password(
                _operator(request),
                current_password=request.POST.get("current_password", ""),
                new_password=request.POST.get("new_password", ""),
                new_password_again=request.POST.get("new_password_again", ""),
                ip_address=sessions.client_ip(request),
            )
        except DomainError as failure:
            error = failure
        else:
            messages.success(request, _("パスワードを変更しました。"))
            return redirect("backoffice:home")
    return form_page(
        request,
        title=_("パスワードの変更"),
        fields=fields,
        submit_label=_("変更する"),
        error=error,
        template="corpbank/backoffice/form.html",
    )


def second_factor(request: HttpRequest) -> HttpResponse:
    """Second step: the code of the operator's authenticator app. An operator without one registers it
    here first: a new key, shown once as a QR code and as text; the first code accepted confirms it.
    Never while the password is an initial one (which its approver saw): that is changed first."""
    operator = _pending(request)
    if operator is None:
        messages.error(request, _("一定時間が経過したため、ログインをやり直してください。"))
        return redirect("backoffice:login")
    if backoffice.password_is_initial(operator):
        return redirect("backoffice:initial_password")
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
    found = backoffice_selectors.operators()
    initial = set(
        Secret.objects.filter(
            principal_id__in=[operator.principal_id for operator in found],
            kind=SecretKind.LOGIN_PASSWORD,
            must_change=True,
        ).values_list("principal_id", flat=True)
    )
    for operator in found:
        operator.password_is_initial = operator.principal_id in initial  # type: ignore[attr-defined]
    return render(
        request,
        "corpbank/backoffice/operators.html",
        {
            "title": _("職員管理"),
            "operators": found,
            "roles": _role_choices(),
            "now": timezone.now(),
        },
    )


def _entered(request: HttpRequest, action_id: int) -> None:
    messages.success(
        request,
        _("受付番号 %(id)s で受け付けました。別の管理者が承認すると有効になります。") % {"id": action_id},
    )


@administrator_required
def operator_new(request: HttpRequest) -> HttpResponse:
    """職員の登録: entered here, the operator exists once another administrator approves it; the initial
    password is generated then and shown once to that administrator."""
    fields = [
        Field("login_name", _("職員ログイン名"), hint=_("30文字以内の半角英数字記号"), maxlength=30),
        Field("display_name", _("氏名"), maxlength=60),
        Field("role", _("権限"), "select", choices=_role_choices(), value=Operator.Role.CLERK),
    ]
    error = None
    if request.method == "POST":
        data = posted(request, "login_name", "display_name", "role")
        try:
            action = backoffice.enter_operator_registration(
                _operator(request), **data, ip_address=sessions.client_ip(request)
            )
        except DomainError as failure:
            error = failure
        else:
            _entered(request, action.pk)
            return redirect("backoffice:action", action_id=action.pk)
    return form_page(
        request,
        title=_("職員の登録"),
        lead=_(
            "別の管理者が承認すると登録されます。初期パスワードは承認時にシステムが発行し、承認した管理者に"
            "一度だけ表示されます。本人は初回ログイン時にパスワードを変更し、認証アプリを登録します。"
        ),
        fields=fields,
        submit_label=_("登録する（承認待ち）"),
        error=error,
        template="corpbank/backoffice/form.html",
    )


@require_POST
@administrator_required
def operator_act(request: HttpRequest, operator_id: int, act: str) -> HttpResponse:
    """権限の変更, ロックアウト・利用停止の解除, 認証アプリの再登録, パスワードの再発行, 利用停止 of an
    operator: entered here, each takes effect when another administrator approves it."""
    admin, ip_address = _operator(request), sessions.client_ip(request)
    try:
        if act == "role":
            action = backoffice.enter_role_change(
                admin, operator_id, request.POST.get("role", ""), ip_address=ip_address
            )
        else:
            action = backoffice.enter_operator_procedure(admin, operator_id, act, ip_address=ip_address)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        _entered(request, action.pk)
    return redirect("backoffice:operators")


def operator_letter_page(request: HttpRequest, letter: OperatorLetter) -> HttpResponse:
    """The operator's initial password, shown once to the administrator who approved the registration or
    the reset: it exists nowhere else in clear."""
    response = render(
        request,
        "corpbank/backoffice/operator_letter.html",
        {"title": _("職員の初期パスワード"), "letter": letter},
    )
    response["Cache-Control"] = "no-store"
    return response

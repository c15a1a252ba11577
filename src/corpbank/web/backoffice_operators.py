"""The back office's operators on screen: the login in the order of ``next_login_step`` (password;
with an app registered, its one-time password, then an initial or expired password replaced; without
one, the password replaced when due, then the app registered from a QR code shown once), パスワードの
変更, the roles' guards of the back office's pages, and the administrators' 職員管理, each entry of which
another administrator approves (issue 12 item 7), with the halves of an initial password shown once to
each of the two administrators."""

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
from corpbank.backoffice.services import LoginStep, OperatorLetter
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
    lambda: _("承認・却下は、書面手続は承認者、職員の手続は管理者の職員のみ行えます。"),
)


# ---------------------------------------------------------------------------------------------------
# Login


def _await_second_factor(request: HttpRequest, operator: Operator) -> None:
    """The password was right: a fresh session that only remembers whose login goes on, for the
    policy's inactivity period, and (``code``) whether the app's code was accepted since."""
    request.session.flush()
    rotate_token(request)
    _remember(request, operator, code_accepted=False)


def _remember(request: HttpRequest, operator: Operator, *, code_accepted: bool) -> None:
    sessions.await_step(
        request,
        PENDING,
        operator=operator.pk,
        # A reset of the password or of the second factor, or a stop, ends this half-login too.
        epoch=Principal.objects.values_list("session_epoch", flat=True).get(pk=operator.principal_id),
        code=code_accepted,
    )


def _code_accepted(request: HttpRequest) -> bool:
    waiting = sessions.pending_step(request, PENDING)
    return bool(waiting and waiting.get("code") is True)


def _go_on(request: HttpRequest, operator: Operator) -> HttpResponse:
    """Where the login goes after a step: the next one (next_login_step), or the session."""
    step = backoffice.next_login_step(operator, code_accepted=_code_accepted(request))
    if step is LoginStep.CHANGE_PASSWORD:
        return redirect("backoffice:initial_password")
    if step is LoginStep.DONE:
        sessions.start_operator_session(request, operator)
        return redirect("backoffice:home")
    return redirect("backoffice:second_factor")


def _start_again(request: HttpRequest) -> HttpResponse:
    messages.error(request, _("一定時間が経過したため、ログインをやり直してください。"))
    return redirect("backoffice:login")


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
            return _go_on(request, operator)
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
    """An initial password (its halves handed over by two administrators) or an expired one replaced by
    the operator's own: after the app's code when an app is registered, before its registration when
    none is (next_login_step). Never reachable with the password alone while an app is registered."""
    operator = _pending(request)
    if operator is None:
        return _start_again(request)
    accepted = _code_accepted(request)
    if backoffice.next_login_step(operator, code_accepted=accepted) is not LoginStep.CHANGE_PASSWORD:
        return redirect("backoffice:second_factor")
    initial = backoffice.password_is_initial(operator)
    error = None
    if request.method == "POST":
        try:
            backoffice.change_password_at_login(
                operator,
                code_accepted=accepted,
                new_password=request.POST.get("new_password", ""),
                new_password_again=request.POST.get("new_password_again", ""),
                ip_address=sessions.client_ip(request),
                signs_in=accepted,
            )
        except DomainError as failure:
            error = failure
        else:
            messages.success(request, _("パスワードを変更しました。"))
            return _go_on(request, operator)
    response = form_page(
        request,
        title=_("初期パスワードの変更") if initial else _("パスワードの有効期限切れ"),
        lead=(
            _(
                "初期パスワードのままではログインできません。"
                "ご自身だけが知る新しいパスワードに変更してください。"
            )
            if initial
            else _("パスワードの有効期限が過ぎています。ご自身だけが知る新しいパスワードに変更してください。")
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
    """The code of the operator's authenticator app: with an app registered, right after the password
    (before an initial or expired password is replaced). An operator without one registers it here,
    once the password is their own: a new key, shown once as a QR code and as text; the first code
    accepted confirms it."""
    operator = _pending(request)
    if operator is None:
        return _start_again(request)
    step = backoffice.next_login_step(operator, code_accepted=_code_accepted(request))
    if step is LoginStep.CHANGE_PASSWORD:
        return redirect("backoffice:initial_password")
    if step is LoginStep.DONE:
        return _go_on(request, operator)
    error = None
    if request.method == "POST":
        try:
            backoffice.check_second_factor(
                operator, request.POST.get("otp", ""), ip_address=sessions.client_ip(request)
            )
        except DomainError as failure:
            error = failure
        else:
            _remember(request, operator, code_accepted=True)
            return _go_on(request, operator)
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
            "halves": backoffice_selectors.first_halves_waiting_for(_operator(request)),
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
            "別の管理者が承認すると登録されます。初期パスワードは承認時にシステムが前半・後半に分けて発行し、"
            "後半は承認した管理者に、前半は入力したあなたに（この手続の画面で）一度だけ表示されます。"
            "それぞれ封書で本人に渡してください。本人は初回ログイン時にパスワードを変更し、認証アプリを登録します。"
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


@require_POST
@administrator_required
def password_half(request: HttpRequest, action_id: int) -> HttpResponse:
    """The first half of an initial password, shown once to the administrator who entered the
    registration or the reset, after another approved it; then erased."""
    try:
        letter = backoffice.show_first_half(
            _operator(request), action_id, ip_address=sessions.client_ip(request)
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("backoffice:action", action_id=action_id)
    return operator_letter_page(request, letter)


def operator_letter_page(request: HttpRequest, letter: OperatorLetter) -> HttpResponse:
    """One half of the operator's initial password, shown once to one of the two administrators (the
    approver at approval, the entrant on the action's page): it exists nowhere else in clear."""
    response = render(
        request,
        "corpbank/backoffice/operator_letter.html",
        {"title": _("職員の初期パスワード"), "letter": letter},
    )
    response["Cache-Control"] = "no-store"
    return response

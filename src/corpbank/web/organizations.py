"""管理 ≫ 利用者管理: the master's administration of general users — list, add, change (業務権限,
利用限度額), password reset, lifting a lockout or suspension, 追加認証のリセット, delete (R-A3, R-A4,
R-B8, R-C3, R-D3). The users' tokens and certificates are managed in ``web.tokens`` and
``web.certificates``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from corpbank.authentication import risk
from corpbank.authorization.operations import Operation
from corpbank.core.errors import DomainError, ValidationFailed
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations import services as users
from corpbank.organizations.models import CustomerUser, Permission
from corpbank.organizations.services import LimitInput
from corpbank.web import sessions
from corpbank.web.pages import (
    PASSWORD_HINT,
    Field,
    act_on_user,
    customer_required,
    factor_fields,
    factors_from,
    form_page,
    limit_fields,
    limits_from,
    posted,
    secret,
)

BREADCRUMB = gettext_lazy("管理 ≫ 利用者管理")


def _permission_and_limit_fields(user: CustomerUser | None) -> list[Field]:
    current_permissions = list(user.permissions.values_list("permission", flat=True)) if user else []
    fields = [
        Field(
            "permissions", _("業務権限"), "checkboxes", choices=Permission.choices, value=current_permissions
        )
    ]
    return fields + limit_fields(user.limits.all() if user else [])


@customer_required(master_only=True)
def user_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = [
        {
            "user": listed.user,
            "permissions": listed.permission_labels(),
            "locked": listed.user.principal.is_locked(now),
            "suspended": listed.user.principal.is_suspended,
        }
        for listed in organization_selectors.user_list(request.customer)  # type: ignore[attr-defined]
    ]
    return render(request, "corpbank/organizations/users.html", {"title": _("利用者管理"), "rows": rows})


@customer_required(master_only=True)
def user_add(request: HttpRequest) -> HttpResponse:
    fields = [
        Field("login_id", _("ログインID"), hint=str(PASSWORD_HINT), maxlength=12),
        Field("name", _("利用者名"), maxlength=60),
        secret(
            "login_password",
            _("初期ログインパスワード"),
            _("初回ログイン時に利用者ご本人が変更します。%(rules)s") % {"rules": PASSWORD_HINT},
        ),
        secret(
            "user_confirmation_password",
            _("初期確認用パスワード"),
            _("初回ログイン時に利用者ご本人が変更します。"),
        ),
        *_permission_and_limit_fields(None),
        *factor_fields(request, Operation.ADD_USER),
    ]
    error = None
    if request.method == "POST":
        data = posted(
            request,
            "login_id",
            "name",
            "login_password",
            "user_confirmation_password",
            "confirmation_password",
        )
        typed: dict[str, Any] = {
            "login_id": data["login_id"],
            "name": data["name"],
            "login_password": data["login_password"],
            "confirmation_password": data["user_confirmation_password"],
            "permissions": request.POST.getlist("permissions"),
        }
        try:
            users.add_general_user(
                master=request.customer,  # type: ignore[attr-defined]
                factors=factors_from(request, Operation.ADD_USER),
                limits=_limits_with_the_forms_other_problems(request, typed),
                ip_address=sessions.client_ip(request),
                **typed,
            )
        except DomainError as failure:
            error = _rename_field(failure, "confirmation_password", "user_confirmation_password")
        else:
            messages.success(request, _("利用者を追加しました。"))
            return redirect("users")
    return form_page(
        request,
        title=_("利用者の追加"),
        breadcrumb=BREADCRUMB,
        fields=fields,
        submit_label=_("追加する"),
        error=error,
    )


def _rename_field(error: DomainError, service_name: str, form_name: str) -> DomainError:
    """The service's ``confirmation_password`` is the new user's; the form's is the master's."""
    if service_name in error.fields:
        error.fields[form_name] = error.fields.pop(service_name)
    return error


@customer_required(master_only=True)
def user_change(request: HttpRequest, user_id: int) -> HttpResponse:
    master = request.customer  # type: ignore[attr-defined]
    return act_on_user(
        request,
        user_id,
        operation=Operation.CHANGE_USER,
        title=_("利用者情報の変更"),
        lead=_("業務権限・利用限度額を変更します"),
        submit_label=_("変更する"),
        extra_fields=lambda target: [
            Field("name", _("利用者名"), value=target.name, maxlength=60),
            *_permission_and_limit_fields(target),
        ],
        act=lambda user, factors: users.change_general_user(
            master=master,
            factors=factors,
            user_id=user.pk,
            name=request.POST.get("name", ""),
            permissions=request.POST.getlist("permissions"),
            limits=limits_from(request),
            ip_address=sessions.client_ip(request),
        ),
        done=_("利用者情報を変更しました。"),
        breadcrumb=BREADCRUMB,
        back="users",
    )


@customer_required(master_only=True)
def user_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    master = request.customer  # type: ignore[attr-defined]
    return act_on_user(
        request,
        user_id,
        operation=Operation.RESET_USER_CREDENTIALS,
        title=_("パスワードの再設定"),
        lead=_("新しい初期パスワードを設定します。ロックアウト・利用停止も解除されます"),
        submit_label=_("再設定する"),
        extra_fields=lambda target: [
            secret("login_password", _("新しい初期ログインパスワード"), str(PASSWORD_HINT)),
            secret("user_confirmation_password", _("新しい初期確認用パスワード")),
        ],
        act=lambda user, factors: _reset(request, master, user, factors),
        done=_("パスワードを再設定しました。利用者は次回ログイン時にパスワードを変更します。"),
        breadcrumb=BREADCRUMB,
        back="users",
    )


def _reset(request: HttpRequest, master: CustomerUser, user: CustomerUser, factors: dict[str, str]) -> None:
    try:
        users.reset_general_user_credentials(
            master=master,
            factors=factors,
            user_id=user.pk,
            login_password=request.POST.get("login_password", ""),
            confirmation_password=request.POST.get("user_confirmation_password", ""),
            ip_address=sessions.client_ip(request),
        )
    except DomainError as error:
        raise _rename_field(error, "confirmation_password", "user_confirmation_password") from None


def _limits_with_the_forms_other_problems(request: HttpRequest, typed: dict[str, Any]) -> list[LimitInput]:
    """The limits as typed; when they do not read, the form's other problems are told with them, every
    field at once (a browser walk found one group of messages per try)."""
    try:
        return limits_from(request)
    except ValidationFailed as refused:
        try:
            users.check_new_user(request.customer, limits=[], **typed)  # type: ignore[attr-defined]
        except ValidationFailed as others:
            refused.fields = {**others.fields, **refused.fields}
        raise


@customer_required(master_only=True)
def user_unlock(request: HttpRequest, user_id: int) -> HttpResponse:
    master = request.customer  # type: ignore[attr-defined]
    return act_on_user(
        request,
        user_id,
        operation=Operation.LIFT_USER_LOCK,
        title=_("利用停止解除"),
        lead=_("ロックアウト・利用停止を解除します"),
        submit_label=_("解除する"),
        extra_fields=lambda target: [],
        act=lambda user, factors: users.lift_general_user_lock(
            master=master, factors=factors, user_id=user.pk, ip_address=sessions.client_ip(request)
        ),
        done=lambda lifted: {
            "suspended": _("利用停止を解除しました。"),
            "locked": _("ロックアウトを解除しました。"),
        }.get(str(lifted), _("ロックアウト・利用停止はありませんでした。誤入力の回数を0に戻しました。")),
        breadcrumb=BREADCRUMB,
        back="users",
    )


@customer_required(master_only=True)
def user_questions_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    """追加認証のリセット of a general user who forgot the answers (R-D3)."""
    master = request.customer  # type: ignore[attr-defined]
    return act_on_user(
        request,
        user_id,
        operation=Operation.RESET_SECRET_QUESTIONS,
        title=_("追加認証のリセット"),
        lead=_("合言葉の質問と回答を削除します。利用者は次回ログイン時に新しい合言葉を登録します"),
        submit_label=_("リセットする"),
        extra_fields=lambda target: [],
        act=lambda user, factors: risk.reset_by_master(
            master=master, factors=factors, user_id=user.pk, ip_address=sessions.client_ip(request)
        ),
        done=_("追加認証をリセットしました。利用者は次回ログイン時に合言葉を登録します。"),
        breadcrumb=BREADCRUMB,
        back="users",
    )


@customer_required(master_only=True)
def user_delete(request: HttpRequest, user_id: int) -> HttpResponse:
    master = request.customer  # type: ignore[attr-defined]
    return act_on_user(
        request,
        user_id,
        operation=Operation.DELETE_USER,
        title=_("利用者の削除"),
        lead=_("この利用者を削除します"),
        submit_label=_("削除する"),
        extra_fields=lambda target: [],
        act=lambda user, factors: users.delete_general_user(
            master=master, factors=factors, user_id=user.pk, ip_address=sessions.client_ip(request)
        ),
        done=_("利用者を削除しました。"),
        breadcrumb=BREADCRUMB,
        back="users",
    )

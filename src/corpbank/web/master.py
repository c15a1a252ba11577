"""管理 ≫ 利用者管理: the master's administration of general users (R-A3, R-A4, R-B8, R-C3)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from corpbank.authentication import risk
from corpbank.certificates import services as certificates
from corpbank.certificates.models import CertificateIssuance
from corpbank.core.errors import DomainError
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations import services as users
from corpbank.organizations.models import CustomerUser, Permission
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens
from corpbank.web import sessions
from corpbank.web.pages import (
    PASSWORD_HINT,
    Field,
    customer_required,
    form_page,
    limit_fields,
    limits_from,
    posted,
    secret,
)

BREADCRUMB = gettext_lazy("管理 ≫ 利用者管理")


def _factor_fields(request: HttpRequest) -> list[Field]:
    """The master's confirmation password, and a one-time password where the contract uses OTP."""
    fields = [
        secret(
            "confirmation_password",
            _("確認用パスワード（マスターユーザ）"),
            _("登録内容・権限の変更には、マスターユーザの確認用パスワードが必要です。"),
        )
    ]
    if request.customer.contract.otp_required:  # type: ignore[attr-defined]
        fields.append(
            Field(
                "otp",
                _("ワンタイムパスワード"),
                hint=_("パスワード生成機に表示されている数字"),
                maxlength=8,
                autocomplete="one-time-code",
            )
        )
    return fields


def _factors(request: HttpRequest) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in ("confirmation_password", "otp")}


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
        {"user": user, "locked": user.principal.is_locked(now), "suspended": user.principal.is_suspended}
        for user in organization_selectors.general_users(request.customer)  # type: ignore[attr-defined]
    ]
    return render(request, "corpbank/customer/users.html", {"title": _("利用者管理"), "rows": rows})


@customer_required(master_only=True)
def user_add(request: HttpRequest) -> HttpResponse:
    fields = [
        Field("login_id", _("ログインID"), hint=str(PASSWORD_HINT), maxlength=12),
        Field("name", _("利用者名"), maxlength=60),
        secret(
            "login_password",
            _("初期ログインパスワード"),
            _("初回ログイン時に利用者ご本人が変更します。") + str(PASSWORD_HINT),
        ),
        secret(
            "user_confirmation_password",
            _("初期確認用パスワード"),
            _("初回ログイン時に利用者ご本人が変更します。"),
        ),
        *_permission_and_limit_fields(None),
        *_factor_fields(request),
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
        try:
            users.add_general_user(
                master=request.customer,  # type: ignore[attr-defined]
                factors=_factors(request),
                login_id=data["login_id"],
                name=data["name"],
                login_password=data["login_password"],
                confirmation_password=data["user_confirmation_password"],
                permissions=request.POST.getlist("permissions"),
                limits=limits_from(request),
                ip_address=sessions.client_ip(request),
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


def _act_on_user(
    request: HttpRequest,
    user_id: int,
    *,
    title: str,
    lead: str,
    submit_label: str,
    extra_fields: Callable[[CustomerUser], list[Field]],
    act: Callable[[CustomerUser, dict[str, str]], object],
    done: str,
    allow_self: bool = False,
    breadcrumb: str | Promise = BREADCRUMB,
    back: str = "users",
) -> HttpResponse:
    master: CustomerUser = request.customer  # type: ignore[attr-defined]
    try:
        target = (
            master
            if allow_self and user_id == master.pk
            else organization_selectors.general_user_of(master, user_id)
        )
    except DomainError as missing:
        return render(
            request,
            "corpbank/message.html",
            {"title": title, "message": missing.message},
            status=missing.http_status,
        )
    fields = [*extra_fields(target), *_factor_fields(request)]
    error: DomainError | None = None
    if request.method == "POST":
        try:
            act(target, _factors(request))
        except DomainError as failure:
            error = failure
        else:
            messages.success(request, done)
            return redirect(back)
    return form_page(
        request,
        title=title,
        breadcrumb=breadcrumb,
        lead=f"{lead}（{target.login_id} {target.name}）",
        fields=fields,
        submit_label=submit_label,
        error=error,
    )


@customer_required(master_only=True)
def user_change(request: HttpRequest, user_id: int) -> HttpResponse:
    master = request.customer  # type: ignore[attr-defined]
    return _act_on_user(
        request,
        user_id,
        title=_("利用者情報の変更"),
        lead=_("業務権限・利用限度額を変更します"),
        submit_label=_("変更する"),
        extra_fields=lambda target: [
            Field("name", _("利用者名"), value=target.name),
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
    )


@customer_required(master_only=True)
def user_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    master = request.customer  # type: ignore[attr-defined]
    return _act_on_user(
        request,
        user_id,
        title=_("パスワードの再設定"),
        lead=_("新しい初期パスワードを設定します。ロックアウト・利用停止も解除されます"),
        submit_label=_("再設定する"),
        extra_fields=lambda target: [
            secret("login_password", _("新しい初期ログインパスワード"), str(PASSWORD_HINT)),
            secret("user_confirmation_password", _("新しい初期確認用パスワード")),
        ],
        act=lambda user, factors: _reset(request, master, user, factors),
        done=_("パスワードを再設定しました。利用者は次回ログイン時にパスワードを変更します。"),
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


@customer_required(master_only=True)
def user_unlock(request: HttpRequest, user_id: int) -> HttpResponse:
    master = request.customer  # type: ignore[attr-defined]
    return _act_on_user(
        request,
        user_id,
        title=_("利用停止解除"),
        lead=_("ロックアウト・利用停止を解除します"),
        submit_label=_("解除する"),
        extra_fields=lambda target: [],
        act=lambda user, factors: users.lift_general_user_lock(
            master=master, factors=factors, user_id=user.pk, ip_address=sessions.client_ip(request)
        ),
        done=_("利用停止を解除しました。"),
    )


@customer_required(master_only=True)
def user_questions_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    """追加認証のリセット of a general user who forgot the answers (R-D3)."""
    master = request.customer  # type: ignore[attr-defined]
    return _act_on_user(
        request,
        user_id,
        title=_("追加認証のリセット"),
        lead=_("合言葉の質問と回答を削除します。利用者は次回ログイン時に新しい合言葉を登録します"),
        submit_label=_("リセットする"),
        extra_fields=lambda target: [],
        act=lambda user, factors: risk.reset_by_master(
            master=master, factors=factors, user_id=user.pk, ip_address=sessions.client_ip(request)
        ),
        done=_("追加認証をリセットしました。利用者は次回ログイン時に合言葉を登録します。"),
    )


@customer_required(master_only=True)
def user_delete(request: HttpRequest, user_id: int) -> HttpResponse:
    master = request.customer  # type: ignore[attr-defined]
    return _act_on_user(
        request,
        user_id,
        title=_("利用者の削除"),
        lead=_("この利用者を削除します"),
        submit_label=_("削除する"),
        extra_fields=lambda target: [],
        act=lambda user, factors: users.delete_general_user(
            master=master, factors=factors, user_id=user.pk, ip_address=sessions.client_ip(request)
        ),
        done=_("利用者を削除しました。"),
    )


OTP_BREADCRUMB = gettext_lazy("管理 ≫ 利用者管理 ≫ ワンタイムパスワードの管理")


@customer_required(master_only=True)
def otp_management(request: HttpRequest) -> HttpResponse:
    """管理 ≫ 利用者管理 ≫ ワンタイムパスワードの管理: every user's token, its state, and the acts."""
    master: CustomerUser = request.customer  # type: ignore[attr-defined]
    rows = []
    for user in [master, *organization_selectors.general_users(master)]:
        registration = token_selectors.registration_in_force(user)
        token = registration.token if registration else None
        rows.append({"user": user, "token": token, "stopped": bool(token and token.principal.is_suspended)})
    return render(
        request, "corpbank/customer/otp.html", {"title": _("ワンタイムパスワードの管理"), "rows": rows}
    )


@customer_required(master_only=True)
def otp_revoke(request: HttpRequest, user_id: int) -> HttpResponse:
    """パスワード生成機の失効, own or a general user's (R-E7)."""
    master = request.customer  # type: ignore[attr-defined]
    return _act_on_user(
        request,
        user_id,
        title=_("パスワード生成機の失効"),
        lead=_(
            "失効したパスワード生成機はすぐに利用できなくなります。約30分後のログイン時に新しいパスワード生成機を登録します"
        ),
        submit_label=_("失効する"),
        extra_fields=lambda target: [],
        act=lambda user, factors: tokens.revoke_for_user(
            master=master, factors=factors, user_id=user.pk, ip_address=sessions.client_ip(request)
        ),
        done=_("パスワード生成機を失効しました。"),
        allow_self=True,
        breadcrumb=OTP_BREADCRUMB,
        back="otp_management",
    )


@customer_required(master_only=True)
def otp_unlock(request: HttpRequest, user_id: int) -> HttpResponse:
    """ワンタイムパスワードの利用停止解除 of a general user's token (R-C4)."""
    master = request.customer  # type: ignore[attr-defined]
    return _act_on_user(
        request,
        user_id,
        title=_("ワンタイムパスワードの利用停止解除"),
        lead=_("利用停止中のパスワード生成機を利用できるようにします"),
        submit_label=_("解除する"),
        extra_fields=lambda target: [],
        act=lambda user, factors: tokens.lift_lock_for_user(
            master=master, factors=factors, user_id=user.pk, ip_address=sessions.client_ip(request)
        ),
        done=_("ワンタイムパスワードの利用停止を解除しました。"),
        breadcrumb=OTP_BREADCRUMB,
        back="otp_management",
    )


CERTIFICATE_BREADCRUMB = gettext_lazy("管理 ≫ 利用者管理 ≫ 電子証明書の管理")


@customer_required(master_only=True)
def certificate_management(request: HttpRequest) -> HttpResponse:
    """管理 ≫ 利用者管理 ≫ 電子証明書の管理: each user's certificate, and whether issuance is enabled."""
    master: CustomerUser = request.customer  # type: ignore[attr-defined]
    rows = [
        {
            "user": user,
            "certificate": certificates.active_certificate(user),
            "issuance_open": CertificateIssuance.objects.filter(user=user, used_at__isnull=True).exists(),
        }
        for user in [master, *organization_selectors.general_users(master)]
    ]
    return render(
        request,
        "corpbank/customer/certificates.html",
        {
            "title": _("電子証明書の管理"),
            "rows": rows,
            "certificate_method": master.contract.login_method == "certificate",
        },
    )


@customer_required(master_only=True)
def certificate_enable(request: HttpRequest, user_id: int) -> HttpResponse:
    """電子証明書の発行許可 for a general user's PC (R-F3), or again after a broken PC (R-F4)."""
    master = request.customer  # type: ignore[attr-defined]
    return _act_on_user(
        request,
        user_id,
        title=_("電子証明書の発行許可"),
        lead=_("利用者はご自身のパソコンで「電子証明書の取得」を行うと、電子証明書を1つ取得できます"),
        submit_label=_("許可する"),
        extra_fields=lambda target: [],
        act=lambda user, factors: certificates.enable_by_master(
            master=master, factors=factors, user_id=user.pk, ip_address=sessions.client_ip(request)
        ),
        done=_("電子証明書の発行を許可しました。"),
        breadcrumb=CERTIFICATE_BREADCRUMB,
        back="certificate_management",
    )


@customer_required(master_only=True)
def certificate_revoke(request: HttpRequest, user_id: int) -> HttpResponse:
    """電子証明書の失効: own (before changing PC) or a general user's (R-F3)."""
    master = request.customer  # type: ignore[attr-defined]
    return _act_on_user(
        request,
        user_id,
        title=_("電子証明書の失効"),
        lead=_(
            "失効した電子証明書ではすぐにログインできなくなります。パソコンを変更する前に失効してください"
        ),
        submit_label=_("失効する"),
        extra_fields=lambda target: [],
        act=lambda user, factors: certificates.revoke_by_master(
            master=master, factors=factors, user_id=user.pk, ip_address=sessions.client_ip(request)
        ),
        done=_("電子証明書を失効しました。"),
        allow_self=True,
        breadcrumb=CERTIFICATE_BREADCRUMB,
        back="certificate_management",
    )

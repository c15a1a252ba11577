"""The token screens, in the order a user meets them: ワンタイムパスワード利用登録 of a hardware token
(R-E7, R-E8); the software-token flow of seed 004 (R-E9, R-E11) — ワンタイムパスワード申請内容選択, トーク
ン発行 (input, confirmation, completion), ワンタイムパスワード利用開始 — with the page the phone opens from
the mail, where a standard authenticator app can be set up instead of the bank's app; and the master's
管理 ≫ 利用者管理 ≫ ワンタイムパスワードの管理 (revoke, lift a stop)."""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from corpbank.authorization.operations import Operation
from corpbank.core import mail
from corpbank.core.errors import DomainError
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations.models import CustomerUser
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens
from corpbank.tokens import softtokens
from corpbank.tokens.models import SoftwareTokenEnrolment
from corpbank.web import sessions
from corpbank.web.pages import (
    PASSWORD_HINT,
    Field,
    View,
    act_on_user,
    customer_required,
    form_page,
    message_page,
    otp_field,
    posted,
    secret,
)


@customer_required(allow_pending_token=True)
def token_registration(request: HttpRequest) -> HttpResponse:
    """ワンタイムパスワード利用登録画面 (R-E7, R-E8): the serial number on the back of the token and the
    password it shows now."""
    fields = [
        Field("serial", _("シリアル番号"), hint=_("パスワード生成機の裏面に記載の番号"), maxlength=40),
        otp_field(_("パスワード生成機に表示されている6桁の数字")),
    ]
    error = None
    if request.method == "POST":
        data = posted(request, "serial", "otp")
        try:
            tokens.register_for_user(
                user=request.customer,  # type: ignore[attr-defined]
                serial=data["serial"],
                code=data["otp"],
                ip_address=sessions.client_ip(request),
            )
        except DomainError as failure:
            error = failure
        else:
            sessions.token_registered(request)
            messages.success(request, _("ワンタイムパスワードの利用登録が完了しました。"))
            return redirect("home")
    return form_page(
        request,
        title=_("ワンタイムパスワード利用登録"),
        lead=_(
            "お手元のパスワード生成機のシリアル番号と、表示されているワンタイムパスワードを入力してください。"
        ),
        fields=fields,
        submit_label=_("登録する"),
        error=error,
    )


APPLICATION = "corpbank.softtoken_application"
APPLICATION_BREADCRUMB = gettext_lazy("ワンタイムパスワード申請")


def _customer(request: HttpRequest) -> CustomerUser:
    return request.customer  # type: ignore[attr-defined,no-any-return]


def _sender_notice() -> str:
    return _(
        "メールは %(sender)s からお送りします。"
        "迷惑メール対策をされている場合は、このアドレスからのメールを受信できるよう設定してください。"
    ) % {"sender": mail.sender()}


def software_token_page(view: View) -> View:
    """A page of ワンタイムパスワード申請: open before a token is registered, for contracts whose OTP
    application is for software tokens."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        if not _customer(request).contract.software_tokens:
            return message_page(
                request,
                _("ワンタイムパスワード申請"),
                _("ソフトウェアトークンのお申込みがありません。お取引店にお問い合わせください。"),
                409,
            )
        return view(request)

    return customer_required(allow_pending_token=True)(wrapper)


@software_token_page
def otp_application(request: HttpRequest) -> HttpResponse:
    """ワンタイムパスワード申請内容選択: the registration status and the two steps on the PC."""
    customer = _customer(request)
    return render(
        request,
        "corpbank/tokens/softtoken.html",
        {
            "title": _("ワンタイムパスワード申請内容選択"),
            "enrolment": token_selectors.software_token(customer),
            "sender_notice": _sender_notice(),
            "pending": sessions.must_register_token(request),
        },
    )


@software_token_page
def softtoken_issue(request: HttpRequest) -> HttpResponse:
    """トークン発行（ソフトウェアトークン発行情報入力）: the phone's mail address and 利用開始パスワード."""
    customer = _customer(request)
    fields = [
        Field(
            "mail_address",
            _("メールアドレス（スマートフォン・携帯電話）"),
            "email",
            hint=_("アプリのダウンロード用URLをお送りします。"),
            autocomplete="email",
            maxlength=254,
        ),
        secret(
            "activation_password",
            _("利用開始パスワード"),
            _("スマートフォンでアプリの初期設定を行う際に入力します。") + str(PASSWORD_HINT),
            "new-password",
        ),
        secret(
            "activation_password_again",
            _("利用開始パスワード（確認のため再入力）"),
            autocomplete="new-password",
        ),
    ]
    error = None
    if request.method == "POST":
        data = posted(request, *(f.name for f in fields))
        try:
            application = softtokens.prepare(user=customer, **data)
        except DomainError as failure:
            error = failure
        else:
            request.session[APPLICATION] = {
                "mail_address": application.mail_address,
                "activation_password_hash": application.activation_password_hash,
            }
            return redirect("softtoken_issue_confirm")
    return form_page(
        request,
        title=_("トークン発行（ソフトウェアトークン発行情報入力）"),
        breadcrumb=APPLICATION_BREADCRUMB,
        lead=_sender_notice(),
        fields=fields,
        submit_label=_("次へ"),
        error=error,
    )


@software_token_page
def softtoken_issue_confirm(request: HttpRequest) -> HttpResponse:
    """トークン発行（ソフトウェアトークン発行情報入力内容確認）: confirmed with the confirmation password."""
    stored = request.session.get(APPLICATION)
    if not stored:
        return redirect("softtoken_issue")
    application = softtokens.Application(**stored)
    fields = [secret("confirmation_password", _("確認用パスワード"))]
    error = None
    if request.method == "POST":
        try:
            softtokens.issue(
                user=_customer(request),
                application=application,
                confirmation_password=request.POST.get("confirmation_password", ""),
                ip_address=sessions.client_ip(request),
            )
        except DomainError as failure:
            error = failure
        else:
            del request.session[APPLICATION]
            return redirect("softtoken_issued")
    return form_page(
        request,
        title=_("トークン発行（ソフトウェアトークン発行情報入力内容確認）"),
        breadcrumb=APPLICATION_BREADCRUMB,
        lead=_("送付先メールアドレス：%(address)s　内容をご確認のうえ、確認用パスワードを入力してください。")
        % {"address": application.mail_address},
        fields=fields,
        submit_label=_("確定する"),
        error=error,
    )


@software_token_page
def softtoken_issued(request: HttpRequest) -> HttpResponse:
    """トークン発行（ソフトウェアトークン発行完了）: the service ID and user ID for the phone."""
    enrolment = token_selectors.software_token(_customer(request))
    if enrolment is None or enrolment.state != SoftwareTokenEnrolment.State.ISSUED:
        return redirect("otp_application")
    return render(
        request,
        "corpbank/tokens/softtoken_issued.html",
        {
            "title": _("トークン発行（ソフトウェアトークン発行完了）"),
            "enrolment": enrolment,
            "service_id": settings.CORPBANK_SOFTTOKEN_SERVICE_ID,
            "sender_notice": _sender_notice(),
        },
    )


@software_token_page
def softtoken_activate(request: HttpRequest) -> HttpResponse:
    """ワンタイムパスワード利用開始（ソフトウェアトークン確認）: the app's first code; then サービス利用中."""
    customer = _customer(request)
    fields = [otp_field(_("スマートフォン・携帯電話のアプリに表示されている数字"))]
    error = None
    if request.method == "POST":
        try:
            softtokens.activate(
                user=customer, code=request.POST.get("otp", ""), ip_address=sessions.client_ip(request)
            )
        except DomainError as failure:
            error = failure
        else:
            sessions.token_registered(request)
            messages.success(
                request,
                _(
                    "ワンタイムパスワード利用開始（ソフトウェアトークン完了）：ワンタイムパスワードの利用を開始しました。"
                ),
            )
            return redirect("otp_application")
    return form_page(
        request,
        title=_("ワンタイムパスワード利用開始（ソフトウェアトークン確認）"),
        breadcrumb=APPLICATION_BREADCRUMB,
        lead=_(
            "スマートフォン・携帯電話での初期設定が完了したら、アプリに表示されているワンタイムパスワードを入力してください。"
        ),
        fields=fields,
        submit_label=_("利用開始する"),
        error=error,
    )


@never_cache
def softtoken_setup(request: HttpRequest) -> HttpResponse:
    """The page the phone opens from the mail: how to get the bank's app, or set up any standard
    authenticator app here with service ID, user ID and 利用開始パスワード (the seed is handed out once,
    through the app or here, never both)."""
    fields = [
        Field("service_id", _("サービスID"), maxlength=20),
        Field("user_id", _("ユーザID"), maxlength=20, autocomplete="username"),
        secret("activation_password", _("利用開始パスワード"), autocomplete="current-password"),
    ]
    error = None
    if request.method == "POST":
        data = posted(request, "service_id", "user_id", "activation_password")
        try:
            provisioned = softtokens.provision(
                service_id=data["service_id"],
                token_user_id=data["user_id"],
                activation_password=data["activation_password"],
                ip_address=sessions.client_ip(request),
            )
        except DomainError as failure:
            error = failure
        else:
            return render(
                request,
                "corpbank/tokens/softtoken_setup_done.html",
                {
                    "title": _("認証アプリの初期設定"),
                    "provisioned": provisioned,
                    "uri": provisioned.otpauth_uri(),
                    "qr_svg": provisioned.qr_svg(),
                },
            )
    return form_page(
        request,
        title=_("ワンタイムパスワードアプリの初期設定"),
        lead=_(
            "パソコンの「トークン発行（ソフトウェアトークン発行完了）」画面に表示された「サービスID」「ユーザID」と、ご自身で設定した「利用開始パスワード」を入力してください。初期設定は1回限りです。"
        ),
        fields=fields,
        submit_label=_("初期設定する"),
        error=error,
        template="corpbank/tokens/softtoken_setup.html",
    )


MANAGEMENT_BREADCRUMB = gettext_lazy("管理 ≫ 利用者管理 ≫ ワンタイムパスワードの管理")


@customer_required(master_only=True)
def otp_management(request: HttpRequest) -> HttpResponse:
    """管理 ≫ 利用者管理 ≫ ワンタイムパスワードの管理: every user's token, its state, and the acts."""
    master: CustomerUser = request.customer  # type: ignore[attr-defined]
    rows = []
    for user in [master, *organization_selectors.general_users(master)]:
        registration = token_selectors.registration_in_force(user)
        token = registration.token if registration else None
        # Without a registration: a token the user stopped while registering it (tokens_to_lift).
        stopped_at_registration = [] if token else token_selectors.tokens_to_lift(user)
        rows.append(
            {
                "user": user,
                "token": token,
                "stopped": bool(token and token.principal.is_suspended),
                "stopped_at_registration": stopped_at_registration,
            }
        )
    return render(
        request, "corpbank/tokens/otp.html", {"title": _("ワンタイムパスワードの管理"), "rows": rows}
    )


@customer_required(master_only=True)
def otp_revoke(request: HttpRequest, user_id: int) -> HttpResponse:
    """パスワード生成機の失効, own or a general user's (R-E7)."""
    master = request.customer  # type: ignore[attr-defined]
    return act_on_user(
        request,
        user_id,
        operation=Operation.TOKEN_REVOCATION,
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
        breadcrumb=MANAGEMENT_BREADCRUMB,
        back="otp_management",
    )


@customer_required(master_only=True)
def otp_unlock(request: HttpRequest, user_id: int) -> HttpResponse:
    """ワンタイムパスワードの利用停止解除 of a general user's token (R-C4)."""
    master = request.customer  # type: ignore[attr-defined]
    return act_on_user(
        request,
        user_id,
        operation=Operation.LIFT_TOKEN_LOCK,
        title=_("ワンタイムパスワードの利用停止解除"),
        lead=_("利用停止中のパスワード生成機を利用できるようにします"),
        submit_label=_("解除する"),
        extra_fields=lambda target: [],
        act=lambda user, factors: tokens.lift_lock_for_user(
            master=master, factors=factors, user_id=user.pk, ip_address=sessions.client_ip(request)
        ),
        done=_("ワンタイムパスワードの利用停止を解除しました。"),
        breadcrumb=MANAGEMENT_BREADCRUMB,
        back="otp_management",
    )

"""The certificate screens (R-F1–R-F4): the CA's public face (its certificate and its CRL, published
for browsers, nginx and anybody checking a certificate; the CRL is re-signed at every revocation) and
the page nginx shows when a client certificate fails; the customer's 電子証明書の取得 and 更新; and the
master's 管理 ≫ 利用者管理 ≫ 電子証明書の管理 (enable issuance, revoke)."""

from __future__ import annotations

import base64

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from corpbank.authentication import certificate as obtaining
from corpbank.authentication.models import SecretQuestion
from corpbank.authorization.operations import Operation
from corpbank.certificates import services as certificates
from corpbank.certificates.models import CertificateIssuance
from corpbank.core import text
from corpbank.core.errors import DomainError
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations.models import CustomerUser
from corpbank.web import sessions
from corpbank.web.pages import (
    Field,
    act_on_user,
    customer_required,
    form_page,
    message_page,
    otp_field,
    posted,
    secret,
)


@require_GET
def ca_certificate(request: HttpRequest) -> HttpResponse:
    try:
        pem = certificates.authority().certificate_pem
    except DomainError as error:
        return HttpResponse(error.message, status=error.http_status, content_type="text/plain; charset=utf-8")
    response = HttpResponse(pem, content_type="application/x-pem-file")
    response["Cache-Control"] = "public, max-age=3600"  # public; else the middleware says no-store
    return response


@require_GET
def ca_crl(request: HttpRequest) -> HttpResponse:
    try:
        der = certificates.current_crl_der()
    except DomainError as error:
        return HttpResponse(error.message, status=error.http_status, content_type="text/plain; charset=utf-8")
    response = HttpResponse(der, content_type="application/pkix-crl")
    response["Cache-Control"] = "no-cache"
    return response


def certificate_error(request: HttpRequest) -> HttpResponse:
    """Where nginx sends a client whose certificate failed its verification (docs/nginx/corpbank.conf):
    why, in the customer's language. The reason is believed only from a trusted proxy."""
    verdict = ""
    if sessions.from_trusted_proxy(request):
        verdict = str(request.META.get("HTTP_CLIENT_VERIFY", "")).lower()
    if "expired" in verdict:
        reason = _(
            "電子証明書の有効期限が過ぎています。マスターユーザ（マスターユーザの場合はお取引店）に再発行をご依頼ください。"
        )
    elif "revoked" in verdict:
        reason = _(
            "この電子証明書は失効しています。マスターユーザ（マスターユーザの場合はお取引店）に再発行をご依頼ください。"
        )
    else:
        reason = _(
            "当金庫が発行した有効な電子証明書を確認できませんでした。ブラウザで選択した電子証明書をご確認ください。"
        )
    return message_page(request, _("電子証明書を確認できません"), reason, 403)


def _certificate_handed_over(
    request: HttpRequest, title: str, obtained: certificates.Obtained
) -> HttpResponse:
    """The PKCS#12 and its one-time password, on a page shown once (the views are never cached)."""
    return render(
        request,
        "corpbank/certificates/certificate_obtained.html",
        {
            "title": title,
            "obtained": obtained,
            "file_name": f"corpbank-{obtained.certificate.user.login_id}.p12",
            "data": base64.b64encode(obtained.pkcs12).decode(),
        },
    )


@never_cache
def certificate_obtain(request: HttpRequest) -> HttpResponse:
    """電子証明書の取得 on the user's own PC, once issuance is enabled (R-F3): login ID and login password,
    and then what a login from this environment would be asked (the secret question, R-D2) and the
    one-time password on a contract that uses OTP (``certificate_obtain_verify``). The answer is the
    certificate in a PKCS#12 file and the one-time password that opens it, shown once."""
    fields = [
        Field("login_id", _("ログインID"), autocomplete="username", maxlength=12),
        secret("password", _("ログインパスワード"), autocomplete="current-password"),
    ]
    error = None
    if request.method == "POST":
        data = posted(request, "login_id", "password")
        try:
            outcome = obtaining.obtain_certificate(
                login_id=data["login_id"],
                password=data["password"],
                environment=sessions.environment(request),
                ip_address=sessions.client_ip(request),
            )
        except DomainError as failure:
            error = failure
        else:
            if outcome.verification is not None:
                await_verification(request, outcome.verification)
                return redirect("certificate_obtain_verify")
            if outcome.obtained is not None:
                return _certificate_handed_over(request, _("電子証明書の取得"), outcome.obtained)
    return form_page(
        request,
        title=_("電子証明書の取得"),
        lead=_(
            "電子証明書を使うパソコンで操作してください。マスターユーザ（マスターユーザの場合は当金庫）が"
            "発行を許可した利用者が、電子証明書を1つ取得できます。ログインIDとログインパスワードのほか、"
            "ログインのときと同じく合言葉の質問やワンタイムパスワードをお尋ねすることがあります。"
        ),
        fields=fields,
        submit_label=_("取得する"),
        error=error,
    )


# The obtaining waiting for its answer and code: the user, the question's position (None when the
# environment is recognised), whether a code is asked, and since when. Not a session of the user.
VERIFICATION = "corpbank.certificate_verification"


def await_verification(request: HttpRequest, verification: obtaining.Verification) -> None:
    """The password was right; the answer or code comes next, within the policy's inactivity period.
    A new session key, as at login: whoever planted the old one learns nothing of this one."""
    request.session.cycle_key()
    sessions.await_step(
        request,
        VERIFICATION,
        user=verification.user_id,
        position=verification.position,
        otp=verification.otp,
    )


def waiting_verification(request: HttpRequest) -> obtaining.Verification | None:
    """The obtaining waiting for its answer and code, or None (never begun, done, or timed out)."""
    waiting = sessions.pending_step(request, VERIFICATION)
    if waiting is None:
        return None
    position = waiting["position"]
    question = None
    if position is not None:
        question = (
            SecretQuestion.objects.filter(user_id=waiting["user"], position=position)
            .values_list("question", flat=True)
            .first()
        )
        if question is None:
            return None
    return obtaining.Verification(
        user_id=waiting["user"], position=position, question=question, otp=bool(waiting["otp"])
    )


def verification_done(request: HttpRequest) -> None:
    request.session.pop(VERIFICATION, None)


@never_cache
def certificate_obtain_verify(request: HttpRequest) -> HttpResponse:
    """電子証明書の取得, second step: the secret question when the bank does not recognise this
    environment (R-D2) and the one-time password when the contract uses OTP; then the certificate."""
    verification = waiting_verification(request)
    if verification is None:
        messages.error(request, str(obtaining.CertificateVerificationExpired().message))
        return redirect("certificate_obtain")
    fields = []
    if verification.question_label is not None:
        fields.append(
            Field(
                "answer",
                verification.question_label,
                "password",
                hint=_("ご登録の回答を入力してください。全角・半角、大文字・小文字、空白は区別しません。"),
                maxlength=60,
                autocomplete="off",
            )
        )
    if verification.otp:
        fields.append(otp_field())
    error = None
    if request.method == "POST":
        data = posted(request, "answer", "otp")
        try:
            obtained = obtaining.verify_and_obtain(
                user_id=verification.user_id,
                position=verification.position,
                answer=data["answer"],
                code=data["otp"],
                ip_address=sessions.client_ip(request),
            )
        except DomainError as failure:
            error = failure
        else:
            verification_done(request)
            return _certificate_handed_over(request, _("電子証明書の取得"), obtained)
    return form_page(
        request,
        title=_("電子証明書の取得（ご本人確認）"),
        lead=_(
            "電子証明書は、ログインと同じご本人確認のうえでお渡しします。"
            "いつもと異なるご利用環境からの場合は合言葉の質問にお答えください。"
            "ワンタイムパスワードをご利用の場合は、パスワード生成機に表示されている数字を入力してください。"
        ),
        fields=fields,
        submit_label=_("取得する"),
        error=error,
    )


@never_cache
@customer_required()
def certificate_renew(request: HttpRequest) -> HttpResponse:
    """電子証明書の更新 (R-F2): from the PC holding a certificate near its end, a new one."""
    customer: CustomerUser = request.customer  # type: ignore[attr-defined]
    error = None
    if request.method == "POST":
        try:
            obtained = certificates.renew(
                customer,
                presented=sessions.client_certificate(request),
                ip_address=sessions.client_ip(request),
            )
        except DomainError as failure:
            error = failure
        else:
            return _certificate_handed_over(request, _("電子証明書の更新"), obtained)
    current = certificates.active_certificate(customer)
    return form_page(
        request,
        title=_("電子証明書の更新"),
        lead=_("有効期限：%(date)s　新しい電子証明書を発行し、現在の電子証明書は失効します。")
        % {"date": text.day(current.not_after) if current else "—"},
        fields=[],
        submit_label=_("更新する"),
        error=error,
    )


MANAGEMENT_BREADCRUMB = gettext_lazy("管理 ≫ 利用者管理 ≫ 電子証明書の管理")


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
        "corpbank/certificates/certificates.html",
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
    return act_on_user(
        request,
        user_id,
        operation=Operation.CERTIFICATE_ISSUANCE,
        title=_("電子証明書の発行許可"),
        lead=_("利用者はご自身のパソコンで「電子証明書の取得」を行うと、電子証明書を1つ取得できます"),
        submit_label=_("許可する"),
        extra_fields=lambda target: [],
        act=lambda user, factors: certificates.enable_by_master(
            master=master, factors=factors, user_id=user.pk, ip_address=sessions.client_ip(request)
        ),
        done=_("電子証明書の発行を許可しました。"),
        breadcrumb=MANAGEMENT_BREADCRUMB,
        back="certificate_management",
    )


@customer_required(master_only=True)
def certificate_revoke(request: HttpRequest, user_id: int) -> HttpResponse:
    """電子証明書の失効: own (before changing PC) or a general user's (R-F3)."""
    master = request.customer  # type: ignore[attr-defined]
    return act_on_user(
        request,
        user_id,
        operation=Operation.CERTIFICATE_REVOCATION,
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
        breadcrumb=MANAGEMENT_BREADCRUMB,
        back="certificate_management",
    )

"""The CA's public face: its certificate and its CRL, published for browsers, nginx and anybody
checking a certificate (R-F3). The CRL is re-signed at every revocation."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from corpbank.certificates import services as certificates
from corpbank.core.errors import DomainError
from corpbank.web import sessions


@require_GET
def certificate(request: HttpRequest) -> HttpResponse:
    try:
        pem = certificates.authority().certificate_pem
    except DomainError as error:
        return HttpResponse(error.message, status=error.http_status, content_type="text/plain; charset=utf-8")
    return HttpResponse(pem, content_type="application/x-pem-file")


@require_GET
def crl(request: HttpRequest) -> HttpResponse:
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
    return render(
        request,
        "corpbank/message.html",
        {"title": _("電子証明書を確認できません"), "message": reason},
        status=403,
    )

"""The CA's public face: its certificate and its CRL, published for browsers, nginx and anybody
checking a certificate (R-F3). The CRL is re-signed at every revocation."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from corpbank.services import certificates
from corpbank.services.errors import DomainError


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

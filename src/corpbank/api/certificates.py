"""Client certificates (R-F1–R-F4): 電子証明書の取得 and 更新 on the customer's PC, and the master's
管理 ≫ 利用者管理 ≫ 電子証明書の管理 (enable issuance, revoke)."""

from __future__ import annotations

import base64
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from ninja import Field, Router, Schema, Status

from corpbank.api import security
from corpbank.api.schemas import ERRORS, FactorsIn
from corpbank.authentication import certificate as obtaining
from corpbank.certificates import services as certificates
from corpbank.certificates.models import CertificateIssuance
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations.models import CustomerUser
from corpbank.web import certificates as web_certificates
from corpbank.web import sessions


class CertificateOut(Schema):
    user_id: int
    login_id: str | None
    serial_number: str | None
    not_after: datetime | None
    issuance_enabled: bool


class CertificateObtainIn(Schema):
    login_id: str
    password: str


class CertificateVerificationOut(Schema):
    question: str | None = Field(description="the secret question's code, when one must be answered")
    question_label: str | None = Field(description="the question as the screens ask it")
    otp_required: bool = Field(description="whether the one-time password of the user's token is asked")
    csrf_token: str = Field(description="the CSRF token of this session")


class CertificateVerifyIn(Schema):
    answer: str = ""
    otp: str = ""


class CertificateObtainedOut(Schema):
    pkcs12: str = Field(description="the PKCS#12 file (base64): the certificate and its private key")
    password: str = Field(description="the one-time password that opens it; shown once")
    serial_number: str
    not_after: datetime


router = Router(tags=["customer"])


@router.get("/certificates", auth=security.master, response={200: list[CertificateOut], **ERRORS})
def certificate_management(request: HttpRequest) -> list[CertificateOut]:
    """管理 ≫ 利用者管理 ≫ 電子証明書の管理: each user's certificate in force and open issuance."""
    master: CustomerUser = request.auth  # type: ignore[attr-defined]
    rows = []
    for user in [master, *organization_selectors.general_users(master)]:
        certificate = certificates.active_certificate(user)
        rows.append(
            CertificateOut(
                user_id=user.pk,
                login_id=user.login_id,
                serial_number=certificate.serial_number if certificate else None,
                not_after=certificate.not_after if certificate else None,
                issuance_enabled=CertificateIssuance.objects.filter(user=user, used_at__isnull=True).exists(),
            )
        )
    return rows


@router.post("/users/{user_id}/certificate/enable", auth=security.master, response={204: None, **ERRORS})
def enable_certificate(request: HttpRequest, user_id: int, body: FactorsIn) -> Status[None]:
    """電子証明書の発行許可 for a general user's PC (R-F3, R-F4)."""
    certificates.enable_by_master(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.post("/users/{user_id}/certificate/revoke", auth=security.master, response={204: None, **ERRORS})
def revoke_certificate(request: HttpRequest, user_id: int, body: FactorsIn) -> Status[None]:
    """電子証明書の失効, own (the master's id) or a general user's (R-F3)."""
    certificates.revoke_by_master(
        master=request.auth,  # type: ignore[attr-defined]
        factors=body.factors.dict(),
        user_id=user_id,
        ip_address=sessions.client_ip(request),
    )
    return Status(204, None)


@router.post(
    "/certificate/obtain",
    auth=security.anonymous,
    response={201: CertificateObtainedOut, 202: CertificateVerificationOut, **ERRORS},
)
def obtain_certificate(
    request: HttpRequest, response: HttpResponse, body: CertificateObtainIn
) -> Status[CertificateObtainedOut] | Status[CertificateVerificationOut]:
    """電子証明書の取得 on the PC, once issuance is enabled: the PKCS#12 and its one-time password (201);
    or 202 with what must be proved first, as a login from this environment would (R-D2: the secret
    question when the environment is not recognised; the one-time password on a contract that uses
    OTP): send it to /certificate/obtain/verify in the same session."""
    response["Cache-Control"] = "no-store"
    outcome = obtaining.obtain_certificate(
        login_id=body.login_id,
        password=body.password,
        environment=sessions.environment(request),
        ip_address=sessions.client_ip(request),
    )
    if outcome.verification is not None:
        web_certificates.await_verification(request, outcome.verification)
        return Status(
            202,
            CertificateVerificationOut(
                question=outcome.verification.question,
                question_label=outcome.verification.question_label,
                otp_required=outcome.verification.otp,
                csrf_token=get_token(request),
            ),
        )
    if outcome.obtained is None:  # pragma: no cover - an outcome is one or the other
        raise AssertionError("unreachable")
    return Status(201, _obtained_out(outcome.obtained))


@router.post(
    "/certificate/obtain/verify", auth=security.anonymous, response={201: CertificateObtainedOut, **ERRORS}
)
def verify_and_obtain_certificate(
    request: HttpRequest, response: HttpResponse, body: CertificateVerifyIn
) -> Status[CertificateObtainedOut]:
    """電子証明書の取得, second step: the answer to the question and/or the one-time password that
    /certificate/obtain asked for; then the certificate (201). Wrong ones count and are told alike
    (factors_rejected); after the policy's inactivity period, additional_auth_expired."""
    response["Cache-Control"] = "no-store"
    verification = web_certificates.waiting_verification(request)
    if verification is None:
        raise obtaining.CertificateVerificationExpired()
    obtained = obtaining.verify_and_obtain(
        user_id=verification.user_id,
        position=verification.position,
        answer=body.answer,
        code=body.otp,
        ip_address=sessions.client_ip(request),
    )
    web_certificates.verification_done(request)
    return Status(201, _obtained_out(obtained))


def _obtained_out(obtained: certificates.Obtained) -> CertificateObtainedOut:
    return CertificateObtainedOut(
        pkcs12=base64.b64encode(obtained.pkcs12).decode(),
        password=obtained.password,
        serial_number=obtained.certificate.serial_number,
        not_after=obtained.certificate.not_after,
    )


@router.post(
    "/me/certificate/renew", auth=security.customer, response={201: CertificateObtainedOut, **ERRORS}
)
def renew_certificate(request: HttpRequest, response: HttpResponse) -> Status[CertificateObtainedOut]:
    """電子証明書の更新 from the PC whose certificate this connection presented, near its end (R-F2)."""
    response["Cache-Control"] = "no-store"
    obtained = certificates.renew(
        request.auth,  # type: ignore[attr-defined]
        presented=sessions.client_certificate(request),
        ip_address=sessions.client_ip(request),
    )
    return Status(201, _obtained_out(obtained))

"""The bank's certificate authority and its client certificates (電子証明書, R-F1–R-F7).

- ``init_ca`` creates the CA once: an EC P-256 key kept only encrypted (PKCS#8, AES-256 under
  CORPBANK_CA_PASSPHRASE) and a self-signed certificate valid for 20 years.
- The master enables issuance for a general user, the bank (four-eyes) for the master (R-F3, R-F4);
  the user's PC then obtains one certificate (``issue``, inside the transaction that checked the user's
  factors, ``authentication.obtain_certificate``): a new EC P-256 key pair generated in memory,
  the certificate, and both in a PKCS#12 file under a one-time password shown once. The private key is
  never stored (docs/architecture.md explains why the key is made on the server).
- One active certificate per user (R-F2): a new one revokes the old. Revoking (the master, the bank, or
  a new certificate) re-signs the CRL at once, in the same transaction.
- ``verify`` decides whether a presented certificate logs in: issued by this CA (signature), within its
  validity, not revoked, and its user and contract active (R-F5, R-F6)."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.authorization.operations import Operation, authorized
from corpbank.certificates.models import CertificateAuthority, CertificateIssuance, ClientCertificate
from corpbank.core import audit, text
from corpbank.core.errors import Conflict, DomainError
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations.models import Contract, CustomerUser
from corpbank.organizations.selectors import general_user_of

CA_YEARS = 20


class CertificateRefused(DomainError):
    """A certificate that does not log in, with the reason the user can act on."""

    code = "certificate_refused"
    http_status = 403


class CaNotReady(DomainError):
    code = "ca_not_ready"
    http_status = 503


def _passphrase() -> bytes:
    passphrase = settings.CORPBANK_CA_PASSPHRASE
    if not passphrase:
        raise CaNotReady(_("認証局の鍵のパスフレーズ（CORPBANK_CA_PASSPHRASE）が設定されていません。"))
    return str(passphrase).encode()


def self_signed(name: x509.Name, key: ec.EllipticCurvePrivateKey, *, days: int) -> x509.CertificateBuilder:
    """A self-signed certificate's builder, valid from five minutes ago for ``days``."""
    now = timezone.now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
    )


def init_ca(*, common_name: str, actor: audit.Actor) -> CertificateAuthority:
    """`corpbank ca init`: the bank's CA, once."""
    passphrase = _passphrase()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.CORPBANK_BANK_NAME),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    certificate = (
        self_signed(name, key, days=365 * CA_YEARS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    with transaction.atomic(durable=True):
        if CertificateAuthority.objects.exists():
            raise Conflict(_("認証局は作成済みです。"))
        authority = CertificateAuthority.objects.create(
            id=1,
            certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
            encrypted_key_pem=encrypted.decode(),
        )
        _publish_crl(authority, key)
        audit.record(
            "ca.created",
            actor=actor,
            details={
                "subject": certificate.subject.rfc4514_string(),
                "serial": f"{certificate.serial_number:x}",
            },
        )
    authority.refresh_from_db()
    return authority


def authority() -> CertificateAuthority:
    found = CertificateAuthority.objects.filter(pk=1).first()
    if found is None:
        raise CaNotReady(_("認証局がまだ作成されていません（corpbank ca init）。"))
    return found


def ca_certificate(found: CertificateAuthority | None = None) -> x509.Certificate:
    return x509.load_pem_x509_certificate((found or authority()).certificate_pem.encode())


def _ca_key(found: CertificateAuthority) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(found.encrypted_key_pem.encode(), password=_passphrase())
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CaNotReady(_("認証局の鍵の形式が不正です。"))
    return key


def _publish_crl(found: CertificateAuthority, key: ec.EllipticCurvePrivateKey | None = None) -> None:
    """Sign the CRL anew with every revoked certificate still within its validity (inside the act's
    transaction, so the CRL never lags behind a revocation)."""
    key = key or _ca_key(found)
    now = timezone.now()
    number = found.crl_number + 1
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_certificate(found).subject)
        .last_update(now)
        .next_update(now + timedelta(days=7))
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    revoked = ClientCertificate.objects.filter(status=ClientCertificate.Status.REVOKED, not_after__gt=now)
    for certificate in revoked.only("serial_number", "revoked_at"):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(int(certificate.serial_number, 16))
            .revocation_date(certificate.revoked_at or now)
            .build()
        )
    crl = builder.sign(key, hashes.SHA256())
    CertificateAuthority.objects.filter(pk=found.pk).update(
        crl_number=number, crl_der=crl.public_bytes(serialization.Encoding.DER), crl_updated_at=now
    )


def current_crl_der() -> bytes:
    return bytes(authority().crl_der)


# ---------------------------------------------------------------------------------------------------
# Issuance


def enable_issuance(user: CustomerUser, *, actor: audit.Actor) -> CertificateIssuance:
    """証明書発行の許可 (inside the act's transaction): the user's PC may now obtain one certificate."""
    _certificate_contract(user)
    issuance, _created = CertificateIssuance.objects.get_or_create(
        user=user, used_at__isnull=True, defaults={"enabled_by": actor.label[:80]}
    )
    audit.record(
        "certificate.issuance_enabled", actor=actor, subject_user_id=user.pk, contract_id=user.contract_id
    )
    return issuance


@dataclasses.dataclass(frozen=True)
class Obtained:
    """What the PC receives, once: the PKCS#12 file and the one-time password that opens it."""

    certificate: ClientCertificate
    pkcs12: bytes
    password: str

    def __repr__(self) -> str:  # never the password or the key
        return f"<Obtained {self.certificate.serial_number}>"


def issuance_refusal(user: CustomerUser, *, enabled: bool | None = None) -> DomainError | None:
    """Why the user's PC may not obtain a certificate now, or None: the contract is not active, or no
    issuance is enabled for the user (``enabled``, when the caller has already looked)."""
    if user.contract.status != Contract.Status.ACTIVE:
        return CertificateRefused(_("ご契約が利用中ではないため、電子証明書を取得できません。"))
    if enabled is None:
        enabled = CertificateIssuance.objects.filter(user=user, used_at__isnull=True).exists()
    if not enabled:
        return Conflict(
            _(
                "電子証明書の発行が許可されていません。マスターユーザ（マスターユーザの場合はお取引店）にご依頼ください。"
            )
        )
    return None


def issue(user: CustomerUser, *, actor: audit.Actor, now: datetime | None = None) -> Obtained:
    """The user's PC obtains its certificate with the issuance enabled for it, inside the transaction
    in which the caller checked the user's factors (``authentication.obtain_certificate``): an issuance
    that fails leaves nothing behind, neither a certificate nor a reset counter. The previous
    certificate of the user, if any, is revoked (R-F2)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("issue must run inside the transaction that checked the user's factors")
    now = now or timezone.now()
    # The contract's status as of a lock that a 解約 approved meanwhile waits for (it locks the contract
    # FOR UPDATE): never an active certificate, missing from the CRL, on a contract just terminated.
    # Taken once the user's factors are proved (organizations.selectors.contract_status_held).
    user.contract.status = organization_selectors.contract_status_held(user.contract_id) or ""
    issuance = CertificateIssuance.objects.select_for_update().filter(user=user, used_at__isnull=True).first()
    refusal = issuance_refusal(user, enabled=issuance is not None)
    if refusal is not None:
        raise refusal
    if issuance is None:  # pragma: no cover - issuance_refusal has said why
        raise AssertionError("unreachable")
    found = authority()
    ca_key = _ca_key(found)
    ca_cert = ca_certificate(found)
    key = ec.generate_private_key(ec.SECP256R1())
    serial = x509.random_serial_number()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, user.contract.organization.name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, user.contract.number),
            x509.NameAttribute(NameOID.COMMON_NAME, user.login_id or str(user.pk)),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=settings.CORPBANK_CERTIFICATE_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    password = secrets.token_urlsafe(12)
    bundle = pkcs12.serialize_key_and_certificates(
        (user.login_id or "corpbank").encode(),
        key,
        certificate,
        [ca_cert],
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(100_000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode()),
    )
    CertificateIssuance.objects.filter(pk=issuance.pk).update(used_at=now)
    previous = list(ClientCertificate.objects.select_for_update().filter(user=user, status="active"))
    for old in previous:
        _revoke_row(old, reason="superseded", now=now)
    stored = ClientCertificate.objects.create(
        user=user,
        serial_number=f"{serial:x}",
        fingerprint=hashlib.sha256(der).hexdigest(),
        subject=subject.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        issued_at=now,
    )
    if previous:
        _publish_crl(found, ca_key)
    audit.record(
        "certificate.issued",
        actor=actor,
        subject_user_id=user.pk,
        contract_id=user.contract_id,
        details={"serial": stored.serial_number, "not_after": stored.not_after},
    )
    return Obtained(stored, bundle, password)


# ---------------------------------------------------------------------------------------------------
# Revocation


def _revoke_row(certificate: ClientCertificate, *, reason: str, now: datetime) -> None:
    ClientCertificate.objects.filter(pk=certificate.pk, status="active").update(
        status=ClientCertificate.Status.REVOKED, revoked_at=now, revocation_reason=reason
    )


def revoke(certificate: ClientCertificate, *, actor: audit.Actor, reason: str) -> None:
    """Revoke one certificate (inside the act's transaction); the CRL is re-signed at once."""
    if certificate.status != ClientCertificate.Status.ACTIVE:
        raise Conflict(_("この電子証明書は失効済みです。"))
    now = timezone.now()
    _revoke_row(certificate, reason=reason, now=now)
    _publish_crl(authority())
    audit.record(
        "certificate.revoked",
        actor=actor,
        subject_user_id=certificate.user_id,
        contract_id=certificate.user.contract_id,
        details={"serial": certificate.serial_number, "reason": reason},
    )


def active_certificate(user: CustomerUser) -> ClientCertificate | None:
    return ClientCertificate.objects.filter(user=user, status=ClientCertificate.Status.ACTIVE).first()


# ---------------------------------------------------------------------------------------------------
# Verification


@dataclasses.dataclass(frozen=True)
class Verified:
    user: CustomerUser
    certificate: ClientCertificate


def verify(der: bytes, now: datetime | None = None) -> Verified:
    """Whether a presented certificate logs in: this CA's signature, its validity, not revoked, and its
    user and contract active. The TLS layer has already proved the client holds the private key."""
    now = now or timezone.now()
    try:
        presented = x509.load_der_x509_certificate(der)
    except ValueError:
        raise CertificateRefused(_("電子証明書を読み取れません。")) from None
    ca_cert = ca_certificate()
    try:
        presented.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        raise CertificateRefused(_("当金庫が発行した電子証明書ではありません。")) from None
    if not presented.not_valid_before_utc <= now <= presented.not_valid_after_utc:
        raise CertificateRefused(
            _("電子証明書の有効期限（%(date)s）が過ぎています。再発行をご依頼ください。")
            % {"date": text.day(timezone.localtime(presented.not_valid_after_utc))}
        )
    stored = (
        ClientCertificate.objects.select_related("user__contract__organization", "user__principal")
        .filter(fingerprint=hashlib.sha256(der).hexdigest())
        .first()
    )
    if stored is None:
        raise CertificateRefused(_("この電子証明書は登録されていません。"))
    if stored.status != ClientCertificate.Status.ACTIVE:
        raise CertificateRefused(_("この電子証明書は失効しています。再発行をご依頼ください。"))
    user = stored.user
    if user.status != CustomerUser.Status.ACTIVE:
        raise CertificateRefused(_("この電子証明書の利用者はご利用いただけません。"))
    if user.contract.status != Contract.Status.ACTIVE:
        raise CertificateRefused(_("ご契約が利用中ではないため、この電子証明書ではログインできません。"))
    return Verified(user, stored)


# ---------------------------------------------------------------------------------------------------
# The master's and the bank's acts


def _certificate_contract(user: CustomerUser) -> None:
    if user.contract.login_method != Contract.LoginMethod.CERTIFICATE:
        raise Conflict(_("このご契約はID・パスワード方式です。電子証明書は不要です。"))


def enable_by_master(
    *, master: CustomerUser, factors: dict[str, str], user_id: int, ip_address: str = ""
) -> None:
    """The master allows a general user's PC to obtain a certificate (R-F3), or again after a broken PC
    or a deleted certificate (R-F4). The master's own is enabled by the bank, on paper."""

    user = general_user_of(master, user_id)
    _certificate_contract(user)
    authorized(
        Operation.CERTIFICATE_ISSUANCE,
        master,
        factors,
        ip_address,
        lambda: enable_issuance(user, actor=audit.Actor.customer(master, ip_address)),
    )


def revoke_by_master(
    *, master: CustomerUser, factors: dict[str, str], user_id: int, ip_address: str = ""
) -> None:
    """The master revokes a general user's certificate, or the master's own before changing PC (R-F3)."""

    user = master if user_id == master.pk else general_user_of(master, user_id)
    certificate = active_certificate(user)
    if certificate is None:
        raise Conflict(_("この利用者には有効な電子証明書がありません。"))
    authorized(
        Operation.CERTIFICATE_REVOCATION,
        master,
        factors,
        ip_address,
        lambda: revoke(certificate, actor=audit.Actor.customer(master, ip_address), reason="master"),
    )


# ---------------------------------------------------------------------------------------------------
# Renewal


def renewal_due(certificate: ClientCertificate, now: datetime | None = None) -> bool:
    """Within CORPBANK_CERTIFICATE_RENEWAL_DAYS of its end, a certificate may be renewed by its holder."""
    now = now or timezone.now()
    return certificate.not_after - now <= timedelta(days=settings.CORPBANK_CERTIFICATE_RENEWAL_DAYS)


def renew(user: CustomerUser, *, presented: bytes | None, ip_address: str = "") -> Obtained:
    """電子証明書の更新 before it expires: from the PC that holds it (the certificate this connection
    presented is the user's and near its end), a new one, without the master; the old one is revoked."""

    if presented is None:
        raise CertificateRefused(_("電子証明書を選択して接続したパソコンから更新してください。"))
    verified = verify(presented)
    if verified.user.pk != user.pk:
        raise CertificateRefused(_("ログイン中の利用者の電子証明書ではありません。"))
    if not renewal_due(verified.certificate):
        raise Conflict(
            _("電子証明書の更新は、有効期限の%(days)d日前から行えます。")
            % {"days": settings.CORPBANK_CERTIFICATE_RENEWAL_DAYS}
        )
    actor = audit.Actor.customer(user, ip_address)
    with transaction.atomic(durable=True):
        enable_issuance(user, actor=actor)
        return issue(user, actor=actor)

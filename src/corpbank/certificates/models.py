"""Client certificates (電子証明書, R-F1–R-F7): the bank's certificate authority, the issuance a master
(or the bank) enables, and the certificates issued, one per user and PC."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from corpbank.organizations.models import CustomerUser


class CertificateAuthority(models.Model):
    """The bank's CA: one row. Its private key is kept only encrypted with CORPBANK_CA_PASSPHRASE;
    the latest CRL is kept signed, as it is published."""

    certificate_pem = models.TextField()
    encrypted_key_pem = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    crl_number = models.PositiveIntegerField(default=0)
    crl_der = models.BinaryField(default=b"")
    crl_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="one_certificate_authority")]


class CertificateIssuance(models.Model):
    """証明書発行の許可: the master enables it for a general user, the bank for the master (R-F3, R-F4).
    The user's PC then obtains one certificate with it."""

    user = models.ForeignKey(CustomerUser, on_delete=models.CASCADE, related_name="certificate_issuances")
    enabled_by = models.CharField(max_length=80)
    enabled_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(used_at__isnull=True), name="one_open_issuance_per_user"
            )
        ]


class ClientCertificate(models.Model):
    """A certificate issued to one user on one PC (R-F2). The private key never reaches the database."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("有効")
        REVOKED = "revoked", _("失効")

    user = models.ForeignKey(CustomerUser, on_delete=models.PROTECT, related_name="certificates")
    serial_number = models.CharField(max_length=40, unique=True)  # hexadecimal
    fingerprint = models.CharField(max_length=64, unique=True)  # SHA-256 of the DER, hexadecimal
    subject = models.CharField(max_length=200)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    issued_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="active"), name="one_active_certificate_per_user"
            ),
            models.CheckConstraint(
                condition=Q(status="active", revoked_at__isnull=True)
                | Q(status="revoked", revoked_at__isnull=False),
                name="revoked_certificate_has_a_time",
            ),
        ]

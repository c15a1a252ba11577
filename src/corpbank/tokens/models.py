"""One-time-password tokens: hardware tokens パスワード生成機 and software tokens ソフトウェアトークン
(R-E1–R-E10). A token is a principal of its own: its wrong OTPs lock the token, not the user (R-C4)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from corpbank.identity.models import Principal
from corpbank.organizations.models import Contract, CustomerUser


class Token(models.Model):
    class Type(models.TextChoices):
        HARDWARE = "hardware", _("パスワード生成機")
        SOFTWARE = "software", _("ソフトウェアトークン")

    class State(models.TextChoices):
        IN_STOCK = "in_stock", _("在庫")
        SHIPPED = "shipped", _("発送済")
        IN_USE = "in_use", _("利用中")
        LOST = "lost", _("紛失")
        REVOKED = "revoked", _("失効")

    class Algorithm(models.TextChoices):
        SHA1 = "sha1", "HMAC-SHA1"
        SHA256 = "sha256", "HMAC-SHA256"
        SHA512 = "sha512", "HMAC-SHA512"

    principal = models.OneToOneField(Principal, on_delete=models.PROTECT, related_name="token")
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.HARDWARE)
    serial = models.CharField(max_length=40, unique=True)
    # AES-GCM: 12-byte nonce followed by the ciphertext and tag; the serial is the associated data, so
    # a sealed seed cannot be moved to another token's row (services/seeds.py).
    sealed_seed = models.BinaryField()
    seed_key_id = models.CharField(max_length=40)
    algorithm = models.CharField(max_length=10, choices=Algorithm.choices, default=Algorithm.SHA1)
    digits = models.PositiveSmallIntegerField(default=6)
    step_seconds = models.PositiveSmallIntegerField(default=60)
    expires_on = models.DateField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.IN_STOCK)
    contract = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.PROTECT, related_name="tokens"
    )
    # The last time step accepted: a code is accepted once (RFC 6238 §5.2).
    last_step = models.BigIntegerField(null=True, blank=True)
    # Steps the token's clock runs ahead (+) or behind (-) ours, learnt from accepted codes.
    drift = models.SmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    shipped_at = models.DateTimeField(null=True, blank=True)
    # R-E4: the token this one was sent to replace before it expired (so that a token is renewed once).
    replacement_for = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replacement"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(digits__in=[6, 7, 8]), name="token_digits_6_to_8"),
            models.CheckConstraint(condition=Q(step_seconds__gte=15), name="token_step_at_least_15s"),
            models.CheckConstraint(
                condition=Q(state="in_stock") | Q(contract__isnull=False),
                name="token_out_of_stock_has_contract",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.serial}"

    def __repr__(self) -> str:  # never the seed
        return f"<Token {self.serial} {self.state}>"


class TokenRegistration(models.Model):
    """A user's use of a token, from the OTP registration screen (R-E7); several users may register the
    same serial (R-E8). A user has at most one registration in force."""

    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="registrations")
    user = models.ForeignKey(CustomerUser, on_delete=models.PROTECT, related_name="token_registrations")
    registered_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(ended_at__isnull=True), name="one_token_in_force_per_user"
            ),
        ]


class TokenFee(models.Model):
    """R-E3: the first token is free; an additional token and a reissue after loss carry the bank's fee,
    charged to the organization and recorded here (integer yen)."""

    class Reason(models.TextChoices):
        ADDITIONAL = "additional", _("追加発行")
        REISSUE = "reissue", _("紛失再発行")

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="token_fees")
    token = models.ForeignKey(Token, on_delete=models.PROTECT, related_name="fees")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    amount_yen = models.PositiveIntegerField()
    recorded_at = models.DateTimeField(default=timezone.now)


class SoftwareTokenEnrolment(models.Model):
    """A software token's way from トークン発行 on the PC to サービス利用中 (R-E9), and its end (R-E10).

    The activation password (利用開始パスワード) is a Secret of the token's principal, spent when the phone
    app fetches the seed, which it does once."""

    class State(models.TextChoices):
        ISSUED = "issued", _("トークン発行済")
        PROVISIONED = "provisioned", _("アプリ設定済")
        ACTIVE = "active", _("サービス利用中")
        STOPPED = "stopped", _("利用停止")
        CANCELLED = "cancelled", _("ご利用解除")

    # Issued and not yet stopped or cancelled: one per user at a time.
    LIVE_STATES = ("issued", "provisioned", "active")

    token = models.OneToOneField(Token, on_delete=models.PROTECT, related_name="enrolment")
    user = models.ForeignKey(CustomerUser, on_delete=models.PROTECT, related_name="software_tokens")
    token_user_id = models.CharField(max_length=20, unique=True)
    mail_address = models.EmailField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.ISSUED)
    issued_at = models.DateTimeField(default=timezone.now)
    provisioned_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(state__in=["issued", "provisioned", "active"]),  # LIVE_STATES
                name="one_live_software_token_per_user",
            ),
        ]

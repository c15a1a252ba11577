"""Principals, their stored secrets and the one lockout state every secret shares (R-B5, R-C1–R-C5)."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SecretKind(models.TextChoices):
    LOGIN_PASSWORD = "login_password", _("ログインパスワード")
    CONFIRMATION_PASSWORD = "confirmation_password", _("確認用パスワード")
    INITIAL_PASSWORD = "initial_password", _("初期パスワード")
    INQUIRY_PIN = "inquiry_pin", _("照会用暗証番号")
    TRANSFER_PIN = "transfer_pin", _("振込振替暗証番号")
    CONFIRMATION_PIN = "confirmation_pin", _("確認暗証番号")
    APPROVAL_PIN = "approval_pin", _("承認暗証番号")
    SECRET_ANSWER = "secret_answer", _("合言葉")
    ACTIVATION_PASSWORD = "activation_password", _("利用開始パスワード")
    OTP = "otp", _("ワンタイムパスワード")


CONTRACT_PIN_KINDS = (
    SecretKind.INQUIRY_PIN,
    SecretKind.TRANSFER_PIN,
    SecretKind.CONFIRMATION_PIN,
    SecretKind.APPROVAL_PIN,
)


class LockState(models.Model):
    """What a lockout leaves on whoever the attempts are counted against (identity/lockout.py): a
    principal, or a login name that names nobody (R-C6). One rule reads and writes it for both."""

    locked_until = models.DateTimeField(null=True, blank=True)
    consecutive_lockouts = models.PositiveIntegerField(default=0)
    suspended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def is_locked(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.locked_until is not None and self.locked_until > now

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None


class Principal(LockState):
    """Anything that proves itself with a secret and can be locked out: a customer user, a bank
    operator, later an OTP token. The lock state lives here, once, for every kind of secret."""

    class Kind(models.TextChoices):
        CUSTOMER_USER = "customer_user"
        OPERATOR = "operator"
        TOKEN = "token"  # noqa: S105 - a kind of principal, not a password

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Bumped whenever every open session of the principal must end (password reset, suspension, …).
    session_epoch = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["customer_user", "operator", "token"]), name="principal_kind_known"
            ),
        ]


class FailureCounter(models.Model):
    """Consecutive failures of one kind of secret by one principal (R-C1: counted per secret)."""

    principal = models.ForeignKey(Principal, on_delete=models.CASCADE, related_name="failure_counters")
    kind = models.CharField(max_length=32, choices=SecretKind.choices)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["principal", "kind"], name="failure_counter_once_per_kind"),
        ]


class Secret(models.Model):
    """One stored secret as an Argon2id hash: nobody can read it back (R-B5).

    A password or secret answer belongs to a principal; a contract PIN belongs to the contract (R-B4)
    although its failures are counted against the principal who typed it (R-C1)."""

    principal = models.ForeignKey(
        Principal, null=True, blank=True, on_delete=models.CASCADE, related_name="secrets"
    )
    contract = models.ForeignKey(
        "corpbank.Contract", null=True, blank=True, on_delete=models.CASCADE, related_name="pins"
    )
    kind = models.CharField(max_length=32, choices=SecretKind.choices)
    hash = models.CharField(max_length=200)
    set_at = models.DateTimeField(default=timezone.now)
    # After this the secret no longer authenticates (initial passwords, R-B7).
    expires_at = models.DateTimeField(null=True, blank=True)
    # After this the secret still authenticates but its holder must change it first (R-B6).
    change_due_at = models.DateTimeField(null=True, blank=True)
    # A secret somebody else chose (initial passwords, a master's reset of a general user's password)
    # must be replaced by its holder at the next login.
    must_change = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(principal__isnull=False, contract__isnull=True)
                | Q(principal__isnull=True, contract__isnull=False),
                name="secret_has_exactly_one_holder",
            ),
            models.UniqueConstraint(
                fields=["principal", "kind"],
                condition=Q(principal__isnull=False) & ~Q(kind="secret_answer"),
                name="secret_once_per_principal_and_kind",
            ),
            models.UniqueConstraint(
                fields=["contract", "kind"], condition=Q(contract__isnull=False), name="pin_once_per_contract"
            ),
            models.CheckConstraint(
                condition=Q(hash__startswith="$argon2id$"), name="secret_is_argon2id_hash"
            ),
        ]

    def __repr__(self) -> str:  # never the hash, not even in a traceback
        return f"<Secret {self.kind} of principal={self.principal_id} contract={self.contract_id}>"


class UnknownLoginFailure(LockState):
    """Failures of a login name that names nobody — a customer's login ID or an operator's login name —
    counted like a principal's, by the same rule, so that lockout does not tell whether it exists (R-C6).

    Keyed by a keyed hash (HMAC with SECRET_KEY, and the realm: customers' IDs and operators' names
    never share a row) of the name as typed, never the name itself; no user is created. Bounded: rows
    idle longer than the policy's retention are deleted and the oldest are evicted above the policy's
    cap (identity/lockout.py)."""

    key = models.CharField(max_length=64, unique=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __repr__(self) -> str:
        return f"<UnknownLoginFailure {self.pk} failures={self.consecutive_failures}>"

"""Bank operators (R-A1): their role in the back office, and their second factor."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from corpbank.identity.models import Principal


class Operator(models.Model):
    class Role(models.TextChoices):
        """What an operator may do (docs/operations.md, 職員の権限): a clerk enters the paper
        procedures, an approver enters and approves another's entries, an administrator manages the
        operators and does nothing else."""

        CLERK = "clerk", _("受付担当")
        APPROVER = "approver", _("承認者")
        ADMIN = "admin", _("管理者")

    principal = models.OneToOneField(Principal, on_delete=models.PROTECT, related_name="operator")
    # Lower-cased (after NFKC, backoffice/services/operators.login_name_of): unique whatever the case
    # typed, so that ``Admin1`` never stands beside ``admin1``.
    login_name = models.CharField(max_length=30, unique=True)
    display_name = models.CharField(max_length=60)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CLERK)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["clerk", "approver", "admin"]), name="operator_role_known"
            ),
            models.CheckConstraint(
                condition=Q(login_name=Lower("login_name")), name="operator_login_name_lower"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.login_name})"

    @property
    def enters(self) -> bool:
        """Enters paper procedures, reports lost tokens, stocks tokens."""
        return self.is_active and self.role in (self.Role.CLERK, self.Role.APPROVER)

    @property
    def approves(self) -> bool:
        """Approves or rejects what another operator entered."""
        return self.is_active and self.role == self.Role.APPROVER

    @property
    def administers(self) -> bool:
        """Creates operators, changes their roles, lifts their lockouts, resets their second factor."""
        return self.is_active and self.role == self.Role.ADMIN


class OperatorTotp(models.Model):
    """An operator's second factor: a TOTP seed (RFC 6238, 30-second steps, 6 digits, what every
    authenticator app reads from a QR code), sealed at rest like a token's (tokens/seeds.py) and bound
    to the operator. Unconfirmed until the first code from the operator's app is accepted; a code is
    accepted once (``last_step``), and the app's clock drift is learnt as a token's is."""

    operator = models.OneToOneField(Operator, on_delete=models.CASCADE, related_name="totp")
    sealed_seed = models.BinaryField()
    seed_key_id = models.CharField(max_length=40)
    last_step = models.BigIntegerField(null=True, blank=True)
    drift = models.SmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __repr__(self) -> str:  # never the seed
        return f"<OperatorTotp of operator={self.operator_id} confirmed={self.confirmed_at is not None}>"


class OperatorPasswordHalf(models.Model):
    """The first half of an operator's initial password (職員の登録, パスワードの再発行), kept for the
    administrator who *entered* the procedure: sealed at rest like a token's seed (tokens/seeds.py),
    bound to the action, until that administrator is shown it once on the action's page; then erased.
    The approving administrator is shown the second half at approval, and it is stored nowhere: neither
    administrator alone knows the whole password."""

    action = models.OneToOneField(
        "corpbank.PendingAction", on_delete=models.CASCADE, related_name="operator_password_half"
    )
    operator = models.ForeignKey(Operator, on_delete=models.CASCADE, related_name="+")
    sealed_half = models.BinaryField()
    seed_key_id = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    def __repr__(self) -> str:  # never the half
        return f"<OperatorPasswordHalf of action={self.action_id} operator={self.operator_id}>"

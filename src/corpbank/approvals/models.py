"""Procedures entered by one person that take effect only when a second approves them (R-A1)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PendingAction(models.Model):
    """A paper procedure entered by one operator that takes effect only when a second approves it.

    The payload never holds a secret in clear: PINs are hashed when entered."""

    class Status(models.TextChoices):
        PENDING = "pending", _("承認待ち")
        APPROVED = "approved", _("承認済")
        REJECTED = "rejected", _("却下")
        # Taken back by its entrant before anyone decided it (engine.withdraw).
        WITHDRAWN = "withdrawn", _("取消（受付者）")

    kind = models.CharField(max_length=40)
    contract = models.ForeignKey(
        "corpbank.Contract", null=True, blank=True, on_delete=models.PROTECT, related_name="pending_actions"
    )
    payload = models.JSONField(default=dict)
    summary = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    entered_by = models.ForeignKey(
        "corpbank.Operator", on_delete=models.PROTECT, related_name="entered_actions"
    )
    entered_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        "corpbank.Operator", null=True, blank=True, on_delete=models.PROTECT, related_name="decided_actions"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # Why it was rejected, as the decider wrote it (却下の理由), or why the bank did (a stopped operator).
    decision_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-entered_at"]
        constraints = [
            # The database itself refuses an operator approving their own entry.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("entered_by")),
                name="four_eyes_decider_is_not_entrant",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_by__isnull=True)
                | Q(status__in=["approved", "rejected"], decided_by__isnull=False, decided_at__isnull=False)
                | Q(status="withdrawn", decided_by__isnull=True, decided_at__isnull=False),
                name="decision_is_complete",
            ),
        ]

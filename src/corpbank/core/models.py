"""The append-only, hash-chained audit log (R-I3)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from corpbank.core import audit_labels


class AuditEvent(models.Model):
    class ActorType(models.TextChoices):
        CUSTOMER = "customer"
        OPERATOR = "operator"
        SYSTEM = "system"
        ANONYMOUS = "anonymous"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=60, db_index=True)
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=80, blank=True)
    # What the event is about, so that a user's own history and an organization's are cheap to find.
    subject_user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    contract_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    ip_address = models.CharField(max_length=45, blank=True)
    details = models.JSONField(default=dict)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]

    @property
    def action_label(self) -> str:
        """What the event is called on the screens, in the user's language (core.audit_labels)."""
        return audit_labels.event_label(self.action, self.details)


class AuditChainHead(models.Model):
    """One row, locked by every append, so that the chain never forks under concurrency."""

    last_hash = models.CharField(max_length=64)
    last_event_id = models.BigIntegerField(null=True, blank=True)

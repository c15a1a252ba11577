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
    # PostgreSQL: the writing transaction's id (pg_current_xact_id), so that the sealer takes an event
    # only once every transaction that could still commit one before it has ended. 0 on SQLite, whose
    # writers take turns, so that committed events are sealed in the order of their ids.
    transaction_id = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["transaction_id", "id"], name="corpbank_audit_sealing_order")]

    @property
    def action_label(self) -> str:
        """What the event is called on the screens, in the user's language (core.audit_labels)."""
        return audit_labels.event_label(self.action, self.details)


class AuditSeal(models.Model):
    """An event's place in the chain: its position (1, 2, … without gaps) and the HMAC over the
    event, its position and the previous seal's MAC, under a key kept off the database (core/audit.py).
    Written after the event's transaction has committed, by the sealer; never changed (a trigger)."""

    position = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="seal")
    key_id = models.CharField(max_length=40)
    mac = models.CharField(max_length=64)


class AuditChainHead(models.Model):
    """One row, locked only by the sealer: the last seal, and the last event sealed (by transaction id
    and id), from which the sealer looks for the next."""

    last_hash = models.CharField(max_length=64)  # the last seal's MAC
    last_position = models.BigIntegerField(default=0)
    last_transaction_id = models.BigIntegerField(default=0)
    last_event_id = models.BigIntegerField(null=True, blank=True)
    # Every event up to this id is sealed: the sealer looks only above it. 0, until `corpbank audit
    # rebase` after a restore onto another PostgreSQL server, whose transaction ids start lower.
    floor_event_id = models.BigIntegerField(default=0)

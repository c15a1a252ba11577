"""Append-only, hash-chained audit log (R-I3).

Every act writes its event with :func:`record` inside the act's own transaction, never after. Each row
carries the hash of the previous one; the single chain-head row is locked by every append so that two
concurrent transactions can never both extend the same link."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from corpbank.db import for_update, insert, insert_statement, inserted
from corpbank.models import AuditChainHead, AuditEvent
from corpbank.services import notices

GENESIS = "0" * 64


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who acts, and from where. Built by the web layer from the session, or by a command."""

    type: str
    id: int | None = None
    label: str = ""
    ip_address: str = ""

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(type=AuditEvent.ActorType.SYSTEM, label=label)

    @classmethod
    def anonymous(cls, ip_address: str = "") -> Actor:
        return cls(type=AuditEvent.ActorType.ANONYMOUS, ip_address=ip_address)


def _digest(previous_hash: str, event: AuditEvent) -> str:
    body = {
        "previous": previous_hash,
        "at": event.at.isoformat(),
        "action": event.action,
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "subject_user_id": event.subject_user_id,
        "contract_id": event.contract_id,
        "ip_address": event.ip_address,
        "details": event.details,
    }
    canonical = json.dumps(
        body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lock_head() -> str:
    """Lock the chain head (created by migration 0003), the one row every append queues on, and read
    the last hash. Plain SQL: it runs in every audited transaction and never changes."""
    select = "SELECT last_hash FROM corpbank_auditchainhead WHERE id = 1" + for_update()  # noqa: S608
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(select)
        row = cursor.fetchone()
        if row is None:  # an emptied database (the test suite's flush)
            AuditChainHead.objects.bulk_create(
                [AuditChainHead(pk=1, last_hash=GENESIS)], ignore_conflicts=True
            )
            cursor.execute(select)
            row = cursor.fetchone()
    return str(row[0])


def record(
    action: str,
    *,
    actor: Actor,
    subject_user_id: int | None = None,
    contract_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Must be called inside the transaction of the act it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the act's transaction")
    previous_hash = _lock_head()
    # Round-trip through JSON now so that the hash covers exactly what the database will give back.
    clean_details = json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder))
    event = AuditEvent(
        action=action,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label,
        subject_user_id=subject_user_id,
        contract_id=contract_id,
        ip_address=actor.ip_address,
        details=clean_details,
        previous_hash=previous_hash,
    )
    event.hash = _digest(previous_hash, event)
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        # The event and the head's move in one statement: one round trip fewer on every audited act.
        insert_event, values = insert_statement(event)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH event AS ({insert_event}) UPDATE corpbank_auditchainhead SET last_hash = %s,"  # noqa: S608
                " last_event_id = (SELECT id FROM event) WHERE id = 1 RETURNING last_event_id",
                [*values, event.hash],
            )
            inserted(event, cursor.fetchone()[0])
    else:
        insert(event)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE corpbank_auditchainhead SET last_hash = %s, last_event_id = %s WHERE id = 1",
                [event.hash, event.pk],
            )
    notices.on_recorded(event)
    return event


@dataclasses.dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_id: int | None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def _events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=2000)


def verify_chain() -> ChainReport:
    """Walk the chain from the start; report the first event whose link or content does not hold."""
    previous = GENESIS
    checked = 0
    for event in _events():
        if event.previous_hash != previous:
            return ChainReport(checked, event.pk, "previous_hash does not match the event before it")
        if _digest(previous, event) != event.hash:
            return ChainReport(checked, event.pk, "content does not match its hash")
        previous = event.hash
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != previous:
        return ChainReport(checked, head.last_event_id, "the chain head names an event that is missing")
    return ChainReport(checked, None)

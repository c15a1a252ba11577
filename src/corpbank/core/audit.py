"""Append-only, hash-chained audit log (R-I3).

Every act writes its event with :func:`record` inside the act's own transaction, never after. Each row
carries the hash of the previous one; the single chain-head row is locked by every append so that two
concurrent transactions can never both extend the same link."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from collections.abc import Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.dispatch import Signal

from corpbank.core.db import Writes, for_update, insert, insert_statement, inserted
from corpbank.core.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64

# Sent by record() inside the act's transaction with each event it writes, so that what follows from an
# event (the organization's notice by mail, tokens.notices) exists exactly when the audited act does.
# Its receivers are connected in corpbank.apps.
recorded = Signal()


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
    def customer(cls, user: Any, ip_address: str = "") -> Actor:
        """A customer user (an organizations.models.CustomerUser, a layer above: only read here)."""
        return cls(
            type=AuditEvent.ActorType.CUSTOMER,
            id=user.pk,
            label=user.login_id or f"user#{user.pk}",
            ip_address=ip_address,
        )

    @classmethod
    def anonymous(cls, ip_address: str = "") -> Actor:
        return cls(type=AuditEvent.ActorType.ANONYMOUS, ip_address=ip_address)


def _canonical(previous_hash: str, event: AuditEvent) -> str:
    """The text an event's hash is taken over: the event and the previous hash, as canonical JSON."""
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
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)


def _digest(previous_hash: str, event: AuditEvent) -> str:
    """The event's hash (the chain's definition; ``verify_chain`` recomputes it)."""
    return hashlib.sha256(_canonical(previous_hash, event).encode()).hexdigest()


def _around_previous(event: AuditEvent) -> tuple[str, str] | None:
    """The canonical text before and after the previous hash, so that the database, which holds the
    previous hash, can take the digest: sha256(before + previous + after) is ``_digest``. None in the
    (practically impossible) case that the event's own content contains the random stand-in."""
    stand_in = secrets.token_hex(16)
    canonical = _canonical(stand_in, event)
    if canonical.count(stand_in) != 1:
        return None
    before, after = canonical.split(stand_in)
    return before, after


# PostgreSQL: lock the chain head, insert the event linked to it and hashed by the database, and move
# the head, in one statement. The head's lock queues concurrent appends as _lock_head does; a waiting
# one then reads the head as the committed append left it.
_APPEND_ON_POSTGRESQL = (
    "{writes}head AS (SELECT last_hash FROM corpbank_auditchainhead WHERE id = 1 FOR UPDATE),"
    " event AS ({insert_event})"
    " UPDATE corpbank_auditchainhead SET last_hash = event.hash, last_event_id = event.id FROM event"
    " WHERE corpbank_auditchainhead.id = 1 RETURNING event.id, event.previous_hash, event.hash"
)


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
    writes: Writes | None = None,
) -> AuditEvent:
    """Append one event. Must be called inside the transaction of the act it records. ``writes``, the
    act's own statements still owed (a lockout counter's reset), go to the database with the event."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record must run inside the act's transaction")
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
    )
    around = _around_previous(event) if connection.vendor == "postgresql" else None
    if around is not None:
        _append_in_one_statement(event, around, writes.taken() if writes else [])
    else:
        if writes:
            writes.flush()
        _append(event)
    recorded.send(sender=AuditEvent, event=event)
    return event


def _append_in_one_statement(
    event: AuditEvent, around: tuple[str, str], writes: list[tuple[str, list[Any]]]
) -> None:
    """The append on PostgreSQL: one round trip for the act's owed writes, the event and the head."""
    before, after = around
    digest = "encode(sha256(convert_to(%s || head.last_hash || %s, 'UTF8')), 'hex')"
    insert_event, values = insert_statement(
        event,
        computed={"previous_hash": ("head.last_hash", []), "hash": (digest, [before, after])},
        source="head",
        returning=("previous_hash", "hash"),
    )
    prefix = "".join(f"write{index} AS ({statement}), " for index, (statement, _) in enumerate(writes))
    sql = "WITH " + _APPEND_ON_POSTGRESQL.format(writes=prefix, insert_event=insert_event)
    parameters = [value for _, written in writes for value in written] + values
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(sql, parameters)
        row = cursor.fetchone()
        if row is None:  # no chain head: an emptied database (the test suite's flush); the writes are
            _lock_head()  # idempotent, so the statement runs again once the head exists
            cursor.execute(sql, parameters)
            row = cursor.fetchone()
    event_id, event.previous_hash, event.hash = row
    inserted(event, event_id)


def _append(event: AuditEvent) -> None:
    """The append elsewhere (SQLite): lock the head, hash, insert, move the head."""
    event.previous_hash = _lock_head()
    event.hash = _digest(event.previous_hash, event)
    insert(event)
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(
            "UPDATE corpbank_auditchainhead SET last_hash = %s, last_event_id = %s WHERE id = 1",
            [event.hash, event.pk],
        )


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

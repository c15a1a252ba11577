"""Append-only audit log, chained by keyed seals (R-I3).

Writing an event and giving it its place are two steps, so that audited acts never queue behind one
another on a shared row:

1. :func:`record` writes the event inside the act's own transaction: one INSERT, nothing shared locked
   (:func:`record_with`: in the same statement as one of the act's own).
2. Once that transaction has committed, the sealer (:func:`seal`: the process's sealer thread, which
   the commit wakes, and ``corpbank audit seal`` and ``checkpoint``) takes the committed events that
   nothing can precede any more, in order, and gives each a seal: the next position (1, 2, … without
   gaps) and HMAC-SHA256(key, previous MAC, position, event). Only the sealer locks the chain head, and
   it seals in one transaction whatever was committed while it slept: under load, one seal for many
   events.

"Nothing can precede it any more": on PostgreSQL, the event was written by a transaction older than
every transaction still running (``pg_snapshot_xmin``), and events are sealed in (transaction id, id)
order; SQLite's writers take turns, so its committed events are sealed in the order of their ids.

The key is kept off the database (CORPBANK_AUDIT_KEYS): whoever can write the database can neither
change, remove, reorder nor re-seal history without :func:`verify_chain` noticing. What it cannot see
from the database alone, the end of the chain cut off, :func:`checkpoint` anchors: it appends the
signed head to a file outside the database, and verify checks the chain still reaches every one.
Events not sealed yet are counted by verify; the sealer takes them within moments of their commit.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import hashlib
import hmac
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, close_old_connections, connections, models, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.dispatch import Signal
from django.utils import timezone

from corpbank.core import keys
from corpbank.core.db import Writes, insert, insert_statement, inserted, select
from corpbank.core.models import AuditChainHead, AuditEvent, AuditSeal

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
# Events sealed in one transaction at most: a backlog (after an upgrade, or a sealer that was down) is
# sealed in several, none holding the head for long.
BATCH = 1000
CHECKPOINT_DOMAIN = b"corpbank-audit-checkpoint:"

# Sent by record() and record_with() inside the act's transaction with each event they write, so that
# what follows from an event (the organization's notice by mail, tokens.notices) exists exactly when the
# audited act does. Its receivers are connected in corpbank.wiring.
recorded = Signal()

# PostgreSQL: the writing transaction's id. Below the oldest transaction still running (as a statement
# sees it), every transaction has ended: its events are all visible, or never will be.
_TRANSACTION_ID = "pg_current_xact_id()::text::bigint"


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


def keyring() -> keys.Keyring:
    return keys.parse("CORPBANK_AUDIT_KEYS", settings.CORPBANK_AUDIT_KEYS)


def _canonical(previous: str, position: int, event: AuditEvent) -> bytes:
    """What a seal's MAC is taken over: the previous MAC, the place, and the whole event."""
    body = {
        "previous": previous,
        "position": position,
        "event": event.pk,
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
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)
    return text.encode()


def _mac(key: bytes, previous: str, position: int, event: AuditEvent) -> str:
    return hmac.new(key, _canonical(previous, position, event), hashlib.sha256).hexdigest()


@dataclasses.dataclass(frozen=True)
class Act:
    """What an event says about an act, for a layer that writes it along with a statement of its own
    (``record_with``: the ledger's posting and its event in one round trip)."""

    action: str
    actor: Actor
    subject_user_id: int | None = None
    contract_id: int | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def record(self, **more_details: Any) -> AuditEvent:
        """The event written on its own (``record``), with ``more_details`` added to its details."""
        return record(
            self.action,
            actor=self.actor,
            subject_user_id=self.subject_user_id,
            contract_id=self.contract_id,
            details={**self.details, **more_details},
        )


def record(
    action: str,
    *,
    actor: Actor,
    subject_user_id: int | None = None,
    contract_id: int | None = None,
    details: dict[str, Any] | None = None,
    writes: Writes | None = None,
) -> AuditEvent:
    """Write one event. Must be called inside the transaction of the act it records; the event is
    sealed after that transaction commits. ``writes``, the act's own statements still owed (a lockout
    counter's reset), go to the database with the event."""
    connection = _in_the_acts_transaction()
    event = _event(Act(action, actor, subject_user_id, contract_id, details or {}))
    if connection.vendor == "postgresql":
        _insert_with_transaction_id(event, writes.taken() if writes else [])
    else:
        if writes:
            writes.flush()
        insert(event)
    _written(event)
    return event


def record_with(
    act: Act, statement: str, parameters: list[Any], *, when: str, adds: dict[str, str]
) -> tuple[tuple[Any, ...], AuditEvent | None]:
    """PostgreSQL: run ``statement``, a query of exactly one row that the act needs (the ledger's posting
    function), and write the act's event in the same statement: one round trip for both. The event is
    written only ``when`` the row meets that SQL condition (otherwise the act is refused, and its
    transaction rolls back); ``adds`` names the row's columns to add to the event's details (detail
    key: column). Returns the row, and the event or None. Names in ``when`` and ``adds`` are the
    caller's code, never input; every value is a parameter."""
    connection = _in_the_acts_transaction()
    if connection.vendor != "postgresql":
        raise RuntimeError("audit.record_with writes the event inside a PostgreSQL statement")
    if not all(column.isidentifier() for column in adds.values()):
        raise ValueError(f"not column names: {sorted(adds.values())}")
    event = _event(act)
    details_field = AuditEvent._meta.get_field("details")
    added = ", ".join(f"%s::text, along.{column}" for column in adds.values())
    insert, values = insert_statement(
        event,
        computed={
            "transaction_id": (_TRANSACTION_ID, []),
            "details": (
                f"%s::jsonb || jsonb_build_object({added})",
                [details_field.get_db_prep_save(event.details, connection), *adds],
            ),
        },
        source=f"along WHERE {when}",
        returning=("transaction_id", "details"),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH along AS ({statement}), event AS ({insert})"  # noqa: S608 - names only
            " SELECT along.*, event.id, event.transaction_id, event.details"
            " FROM along LEFT JOIN event ON true",
            [*parameters, *values],
        )
        rows = cursor.fetchall()
    if len(rows) != 1:
        raise RuntimeError(f"audit.record_with's statement must give one row, not {len(rows)}")
    *row, event_id, transaction_id, details = rows[0]
    if event_id is None:
        return tuple(row), None
    # What the database stored, as the sealer will read it back.
    event.details = json.loads(details) if isinstance(details, str) else details  # Django reads jsonb as text
    event.transaction_id = transaction_id
    inserted(event, event_id)
    _written(event)
    return tuple(row), event


def _in_the_acts_transaction() -> Any:
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("an audit event must be written inside the act's transaction")
    return connection


def _event(act: Act) -> AuditEvent:
    return AuditEvent(
        action=act.action,
        actor_type=act.actor.type,
        actor_id=act.actor.id,
        actor_label=act.actor.label,
        subject_user_id=act.subject_user_id,
        contract_id=act.contract_id,
        ip_address=act.actor.ip_address,
        # Round-trip through JSON now so that the seal covers exactly what the database gives back.
        details=json.loads(json.dumps(act.details, cls=DjangoJSONEncoder)),
    )


def _written(event: AuditEvent) -> None:
    """What follows an event's INSERT: its sealing once the act commits, and its receivers."""
    transaction.on_commit(sealer.wake)
    recorded.send(sender=AuditEvent, event=event)


def _insert_with_transaction_id(event: AuditEvent, writes: list[tuple[str, list[Any]]]) -> None:
    """The INSERT on PostgreSQL, with the act's owed writes in front of it: one round trip."""
    statement, values = insert_statement(
        event, computed={"transaction_id": (_TRANSACTION_ID, [])}, returning=("transaction_id",)
    )
    if writes:
        statement = (
            "WITH " + ", ".join(f"write{i} AS ({sql})" for i, (sql, _) in enumerate(writes)) + " " + statement
        )
    parameters = [value for _, written in writes for value in written] + values
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(statement, parameters)
        event_id, event.transaction_id = cursor.fetchone()
    inserted(event, event_id)


def _after(transaction_id: int, event_id: int) -> models.Expression:
    """Events after the given one in sealing order: (transaction id, id) compared as a pair."""
    return RawSQL(
        "(corpbank_auditevent.transaction_id, corpbank_auditevent.id) > (%s, %s)",
        [transaction_id, event_id],
        output_field=models.BooleanField(),
    )


# The sealer's statements run after every audited act, so they are plain SQL (as the append's INSERT
# is): the ORM's compiler cost several times the database's work. Names only; values are parameters.
_HEAD = (
    "SELECT last_hash, last_position, last_transaction_id, last_event_id, floor_event_id"
    " FROM corpbank_auditchainhead"
)
# After the head in sealing order. PostgreSQL compares (transaction id, id) as a pair; on SQLite every
# event's transaction id is 0 (its writers take turns), so the order is the ids' and the rows are found
# by the key's range. Each statement below reads the events in the sealing-order index's order, from
# the head on, so that its cost follows the events not sealed yet, never the whole log.
# PostgreSQL: ``e.id + 0`` keeps the planner off the primary key's index for the floor, usually 0,
# which reads the whole log. Every event a statement can see was written by a transaction that had
# completed before its snapshot (below the snapshot's xmax) or by its own: that bound, which changes
# nothing else, keeps the index scan off the events sealed before a restore onto another server
# (`audit rebase`: their transaction ids are the old server's, above the head's and below the floor).
_AFTER_HEAD = {
    "postgresql": "(e.transaction_id, e.id) > (head.last_transaction_id, COALESCE(head.last_event_id, 0))"
    " AND e.transaction_id < GREATEST(pg_snapshot_xmax(pg_current_snapshot())::text::bigint,"
    " pg_current_xact_id_if_assigned()::text::bigint + 1)"
    " AND e.id + 0 > head.floor_event_id",
    "sqlite": "e.id > head.floor_event_id AND e.id > COALESCE(head.last_event_id, 0)",
}
# The transaction the sealer is in (PostgreSQL): its id is above every committed one's, unless the
# database was restored onto a server whose ids start lower (then `corpbank audit rebase`).
_CURRENT_TRANSACTION = {"postgresql": "pg_current_xact_id()::text::bigint", "sqlite": "1"}
# PostgreSQL: written by a transaction older than every one still running, or by this transaction
# when it is itself the oldest (its events then roll back with their seals).
_READY = {
    "postgresql": _AFTER_HEAD["postgresql"]
    + " AND (e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    " OR (e.transaction_id = pg_current_xact_id_if_assigned()::text::bigint"
    " AND pg_current_xact_id_if_assigned() <= pg_snapshot_xmin(pg_current_snapshot())))",
    "sqlite": _AFTER_HEAD["sqlite"],
}
_SEALING_ORDER = "ORDER BY e.transaction_id, e.id"


def _events_after_head(vendor: str, condition: str, columns: str, limit: str) -> str:
    """``FROM head`` joined with the events after it that meet ``condition``, at most ``limit``, in
    sealing order; the head's row alone when there are none. On PostgreSQL a LATERAL subquery, so that
    the head's values bound the index scan and the LIMIT stops it (a plain join scanned the whole
    log); SQLite finds them by the key's range."""
    if vendor == "postgresql":
        return (
            f" FROM head LEFT JOIN LATERAL (SELECT {columns} FROM corpbank_auditevent e"  # noqa: S608
            f" WHERE {condition} {_SEALING_ORDER} LIMIT {limit}) e ON true"
        )
    return f" FROM head LEFT JOIN corpbank_auditevent e ON {condition}"


@functools.cache
def _ready_statement(vendor: str, lock: str) -> str:
    """The head, locked with ``lock``, joined with the events ready after it in sealing order (at most
    the parameter's number): one row without an event when none is ready; no row when the head is
    missing."""
    columns = ", ".join(f"e.{field.column}" for field in AuditEvent._meta.concrete_fields)
    return (
        f"WITH head AS ({_HEAD} WHERE id = 1{lock})"
        f" SELECT {columns}, head.last_hash AS head_hash, head.last_position AS head_position,"
        " head.last_transaction_id AS head_transaction_id,"
        f" {_CURRENT_TRANSACTION[vendor]} AS current_transaction_id"
        + _events_after_head(vendor, _READY[vendor], columns, "%s")
        + f" {_SEALING_ORDER} LIMIT %s"
    )


@dataclasses.dataclass(frozen=True)
class _Head:
    """The chain's head as the sealer locked it, and the transaction the sealer is in."""

    mac: str
    position: int
    transaction_id: int
    current_transaction_id: int


def _ready(limit: int) -> tuple[_Head, list[AuditEvent]] | None:
    """The head, locked, and the events ready after it in sealing order (at most ``limit``); None when
    the head is missing. Read by plain SQL (core/db.select), as the events are written."""
    connection = transaction.get_connection()
    # SQLite has no row locks: the IMMEDIATE transaction holds the database's write lock.
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    # PostgreSQL's statement has the limit twice: in its LATERAL subquery and on the whole.
    limits = [limit, limit] if connection.vendor == "postgresql" else [limit]
    rows = select(_ready_statement(connection.vendor, lock), limits, AuditEvent)
    if not rows:
        return None
    _, mac, position, transaction_id, current = rows[0]
    head = _Head(mac, int(position), int(transaction_id), int(current))
    return head, [event for event, *_ in rows if event.pk is not None]


@functools.cache
def _anything_left_statement(vendor: str) -> str:
    return (
        f"WITH head AS ({_HEAD} WHERE id = 1) SELECT e.id"
        + _events_after_head(vendor, _AFTER_HEAD[vendor], "e.id", "1")
        + " WHERE e.id IS NOT NULL LIMIT 1"
    )


def _anything_left() -> bool:
    """Without a lock: is there a committed event after the head that the sealer has not taken (one
    not ready yet, held back by an older transaction still running)?"""
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        cursor.execute(_anything_left_statement(connection.vendor))
        return cursor.fetchone() is not None


class ChainBroken(Exception):
    """The sealer cannot go on: the chain's head or its seals are not what the sealer left."""


_MOVE_HEAD = (
    "UPDATE corpbank_auditchainhead SET last_hash = %s, last_position = %s, last_transaction_id = %s,"
    " last_event_id = %s WHERE id = 1"
)
_INSERT_SEAL = "INSERT INTO corpbank_auditseal (position, event_id, key_id, mac) VALUES (%s, %s, %s, %s)"
# PostgreSQL: the seals and the head's move in one statement of the same text whatever the batch's size
# (its plan kept), the seals' columns as arrays.
_INSERT_SEALS_AND_MOVE_HEAD = (
    "WITH sealed AS (INSERT INTO corpbank_auditseal (position, event_id, key_id, mac)"
    " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]))"
    " UPDATE corpbank_auditchainhead SET last_hash = %s, last_position = %s, last_transaction_id = %s,"
    " last_event_id = %s WHERE id = 1"
)


def _write_seals(seals: list[tuple[int, int, str, str]], last: AuditEvent) -> None:
    """Insert the seals (position, event, key id, MAC) and move the head past ``last``: one statement
    on PostgreSQL."""
    position, _, _, mac = seals[-1]
    moved = [mac, position, last.transaction_id, last.pk]
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                _INSERT_SEALS_AND_MOVE_HEAD, [*(list(column) for column in zip(*seals, strict=True)), *moved]
            )
        else:
            cursor.executemany(_INSERT_SEAL, seals)
            cursor.execute(_MOVE_HEAD, moved)


def _seal_batch() -> int:
    """Seal up to BATCH ready events in one transaction; returns how many."""
    ring = keyring()
    with transaction.atomic():
        ready = _ready(BATCH)
        if ready is None:
            if AuditSeal.objects.exists():
                raise ChainBroken("the audit chain's head is missing: run corpbank audit verify")
            # An emptied database (the test suite's flush): the migration's head is written again.
            AuditChainHead.objects.bulk_create(
                [AuditChainHead(pk=1, last_hash=GENESIS)], ignore_conflicts=True
            )
            ready = _ready(BATCH)
            if ready is None:  # pragma: no cover - written just now
                raise ChainBroken("the audit chain's head cannot be written")
        head, events = ready
        # Equal: this transaction sealed its own events before (it is the oldest running).
        if head.current_transaction_id < head.transaction_id:
            raise ChainBroken(
                "the database's transaction ids are below the chain's (restored onto another server?): "
                "run corpbank audit verify, then corpbank audit rebase"
            )
        if not events:
            return 0
        previous, position = head.mac, head.position
        seals = []
        for event in events:
            position += 1
            previous = _mac(ring.current, previous, position, event)
            seals.append((position, event.pk, ring.current_id, previous))
        try:
            _write_seals(seals, events[-1])
        except IntegrityError as error:  # a seal for an event already sealed: the head was moved back
            raise ChainBroken(f"an event is sealed already ({error}): run corpbank audit verify") from error
    return len(events)


def seal() -> int:
    """Seal every event ready now, after any other sealer at work; returns how many."""
    sealed = 0
    while True:
        count = _seal_batch()
        sealed += count
        if count < BATCH:
            return sealed


class _Sealer:
    """The process's sealer: a thread that an act's commit wakes (a flag set, nothing more), and that
    seals every event ready in as few transactions as it can. It waits CORPBANK_AUDIT_SEAL_DELAY after
    being woken, so that the acts committed meanwhile are sealed together: one transaction for many
    events, under load and at a single client alike. Idle for a while, it gives its database connection
    back. At the process's normal exit it seals what is left; after a crash, the next sealer of any
    process does."""

    IDLE_SECONDS = 5.0
    RETRY_SECONDS = 2.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._woken = threading.Event()
        self._condition = threading.Condition()
        self._requested = 0
        self._completed = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pid = 0

    def wake(self) -> None:
        with self._condition:
            self._requested += 1
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._start()
        self._woken.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            if self._pid != os.getpid():  # first start in this process (a forked worker has none)
                atexit.register(self.stop)
            self._pid, self._stopping = os.getpid(), False
            self._thread = threading.Thread(target=self._run, name="corpbank-audit-sealer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                if not self._woken.wait(timeout=self.IDLE_SECONDS):
                    connections.close_all()  # this thread's own connection
                    self._woken.wait()
                if not self._stopping:
                    time.sleep(settings.CORPBANK_AUDIT_SEAL_DELAY)
                self._woken.clear()
                with self._condition:
                    asked = self._requested
                self._seal_until_none_left()
                with self._condition:
                    self._completed = max(self._completed, asked)
                    self._condition.notify_all()
                if self._stopping and not self._woken.is_set():
                    return
        finally:
            connections.close_all()

    def _seal_until_none_left(self) -> None:
        """Seal what is ready; while committed events are held back (PostgreSQL: an older transaction,
        of any database on the server, still running), look again, less and less often (up to every
        RETRY_SECONDS), until none is left, or a commit wakes the thread anyway."""
        pause = 0.05
        while True:
            if self._stopping and pause > 0.5:
                return  # at exit: held back still; the next sealer of any process takes it
            try:
                close_old_connections()
                seal()
                if not _anything_left():
                    return
            except ChainBroken:
                logger.exception("the audit sealer stopped: the chain needs a person's attention")
                return
            except Exception:
                if self._stopping:  # at exit: the next sealer of any process takes what is left
                    logger.exception("the audit sealer failed while stopping")
                    return
                logger.exception("the audit sealer failed; it tries again")
            if self._woken.wait(timeout=pause) and not self._stopping:
                return  # the next pass takes it, after its delay
            pause = min(pause * 2, self.RETRY_SECONDS)

    def drain(self, timeout: float = 30) -> None:
        """Until every commit that woke the sealer so far has been sealed after (tests)."""
        with self._condition:
            asked = self._requested
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                return
            self._condition.wait_for(lambda: self._completed >= asked, timeout=timeout)

    def stop(self, timeout: float = 30) -> None:
        """Seal what the commits so far asked for, and end the thread (at exit; the tests' end)."""
        thread = self._thread
        if thread is None or self._pid != os.getpid() or not thread.is_alive():
            return
        self._stopping = True
        self._woken.set()
        thread.join(timeout)


sealer = _Sealer()


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """The chain's head at a moment, signed with the audit key, kept outside the database."""

    position: int
    event_id: int | None
    mac: str
    at: str
    key_id: str
    signature: str = ""

    def signed_text(self) -> bytes:
        body = {"position": self.position, "event": self.event_id, "mac": self.mac, "at": self.at}
        return CHECKPOINT_DOMAIN + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def signed(self, ring: keys.Keyring) -> Checkpoint:
        key = ring.keys[self.key_id]
        return dataclasses.replace(
            self, signature=hmac.new(key, self.signed_text(), hashlib.sha256).hexdigest()
        )

    def authentic(self, ring: keys.Keyring) -> bool:
        if self.key_id not in ring.keys:
            return False
        return hmac.compare_digest(self.signed(ring).signature, self.signature)


class CheckpointsUnreadable(Exception):
    """A line of the checkpoint file that is not a checkpoint signed with a configured key."""


def read_checkpoints(path: Path | None = None) -> list[Checkpoint]:
    """The checkpoints written so far (none if the file does not exist), each checked for its
    signature."""
    path = path or settings.CORPBANK_AUDIT_CHECKPOINTS
    if not path.exists():
        return []
    ring = keyring()
    marks = []
    text = path.read_text()
    lines = text.splitlines()
    if lines and not text.endswith("\n"):
        lines.pop()  # unfinished (a crash while appending): no checkpoint; the next append drops it
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            mark = Checkpoint(**json.loads(line))
        except (ValueError, TypeError) as error:
            raise CheckpointsUnreadable(f"{path}, line {number}: not a checkpoint") from error
        if not mark.authentic(ring):
            raise CheckpointsUnreadable(
                f"{path}, line {number}: not signed with a key of CORPBANK_AUDIT_KEYS"
            )
        marks.append(mark)
    return marks


@dataclasses.dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_id: int | None
    reason: str = ""
    position: int = 0  # the position checked last (or where the chain broke)
    awaiting: int = 0  # committed events the sealer has not taken yet
    checkpoints: int = 0  # checkpoints the chain was found to reach
    last_mac: str = GENESIS  # the MAC at ``position`` when intact
    last_event_id: int | None = None

    @property
    def intact(self) -> bool:
        return not self.reason


def _seals(after: int, through: int) -> Iterator[AuditSeal]:
    seals = AuditSeal.objects.select_related("event").filter(position__gt=after, position__lte=through)
    return seals.order_by("position").iterator(chunk_size=2000)


def _head_and_last_seal() -> tuple[int | None, int | None]:
    """The head's last position and the highest seal's, read in one statement (one snapshot, so a
    sealer at work cannot make them differ)."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT last_position FROM corpbank_auditchainhead WHERE id = 1),"
            " (SELECT MAX(position) FROM corpbank_auditseal)"
        )
        head, last = cursor.fetchone()
    return head, last


def verify_chain(
    checkpoints: list[Checkpoint] | None = None, *, since: Checkpoint | None = None
) -> ChainReport:
    """Walk the seals in order (from the start, or from ``since``, a checkpoint already trusted) up to
    the head as it is when the walk begins (sealers may go on meanwhile), and report the first that
    does not hold: a missing position, a MAC that does not match the event, its place and the one
    before, a seal beyond the head (the head moved back), a checkpoint the chain no longer reaches, or
    an event written behind the sealed chain."""
    ring = keyring()
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        if AuditSeal.objects.exists():
            return ChainReport(0, None, "the chain head is missing while seals exist")
        head = AuditChainHead(last_hash=GENESIS)  # nothing sealed yet (an emptied database)
    marks = {mark.position: mark for mark in (checkpoints or [])}
    position, previous = (since.position, since.mac) if since else (0, GENESIS)
    last_event_id = since.event_id if since else None
    if since is not None and since.position > 0:
        anchor = AuditSeal.objects.filter(position=since.position).first()
        if anchor is None or not hmac.compare_digest(anchor.mac, since.mac):
            reason = "the chain no longer holds the seal of the last checkpoint"
            return ChainReport(0, since.event_id, reason, since.position)
    checked = 0
    for sealed in _seals(position, head.last_position):
        position += 1
        event = sealed.event
        if sealed.position != position:
            reason = f"position {position} is missing: a sealed event was removed"
            return ChainReport(checked, event.pk, reason, position)
        key = ring.keys.get(sealed.key_id)
        if key is None:
            reason = f"sealed under key {sealed.key_id!r}, which CORPBANK_AUDIT_KEYS does not hold"
            return ChainReport(checked, event.pk, reason, position)
        if not hmac.compare_digest(_mac(key, previous, position, event), sealed.mac):
            return ChainReport(checked, event.pk, "the event or its place does not match its seal", position)
        mark = marks.get(position)
        if mark is not None and not hmac.compare_digest(mark.mac, sealed.mac):
            reason = f"the seal differs from the checkpoint of {mark.at}"
            return ChainReport(checked, event.pk, reason, position)
        previous, last_event_id = sealed.mac, event.pk
        checked += 1
    beyond = [mark for mark in marks.values() if mark.position > position]
    if beyond:
        mark = max(beyond, key=lambda mark: mark.position)
        reason = (
            f"the checkpoint of {mark.at} names position {mark.position}, past the chain's end {position}"
        )
        return ChainReport(checked, mark.event_id, reason + ": sealed events were removed", position)
    if (head.last_position, head.last_hash) != (position, previous):
        reason = "the chain head names a seal that is missing"
        return ChainReport(checked, head.last_event_id, reason, head.last_position)
    now_at, highest = _head_and_last_seal()
    if highest is not None and highest > (now_at or 0):
        first = AuditSeal.objects.filter(position__gt=now_at or 0).order_by("position").first()
        reason = f"seals lie beyond the chain head (position {now_at}): the head was moved back"
        return ChainReport(checked, first.event_id if first else None, reason, position)
    unsealed = AuditEvent.objects.filter(seal__isnull=True)
    after = _after(head.last_transaction_id, head.last_event_id or 0)
    behind = unsealed.alias(after=after).filter(Q(after=False) | Q(id__lte=head.floor_event_id))
    stray = behind.order_by("id").first()
    if stray is not None:
        reason = "written behind the sealed chain, not by the application"
        if _transaction_ids_restarted(head):
            reason = (
                "written below the chain's transaction ids: the database was restored onto another "
                "server; once the chain holds up to here, run corpbank audit rebase"
            )
        return ChainReport(checked, stray.pk, reason, position)
    return ChainReport(
        checked,
        None,
        position=position,
        awaiting=unsealed.count(),
        checkpoints=len(marks),
        last_mac=previous,
        last_event_id=last_event_id,
    )


def _transaction_ids_restarted(head: AuditChainHead) -> bool:
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        return int(cursor.fetchone()[0]) < head.last_transaction_id


def rebase(*, actor: Actor) -> int:
    """After a restore onto another PostgreSQL server, whose transaction ids start below the chain's
    (the sealer then stops and says so): the sealer goes on above the highest sealed event, taking the
    events written since the restore by their ids. Refused while an event at or below it is unsealed
    (it could never be sealed). The caller has verified the chain. The rebase is itself an audited
    act. Returns the highest sealed event's id."""
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(pk=1)
        floor = AuditSeal.objects.order_by("-event_id").values_list("event_id", flat=True).first() or 0
        stranded = AuditEvent.objects.filter(seal__isnull=True, id__lte=floor).order_by("id").first()
        if stranded is not None:
            raise ChainBroken(f"event {stranded.pk} is not sealed and lies below the sealed events")
        AuditChainHead.objects.filter(pk=1).update(
            floor_event_id=floor, last_transaction_id=0, last_event_id=floor
        )
        record(
            "audit.rebased",
            actor=actor,
            details={"floor_event_id": floor, "previous_transaction_id": head.last_transaction_id},
        )
    return floor


def checkpoint(path: Path | None = None) -> Checkpoint:
    """Seal what is ready, check the chain since the last checkpoint, and append the head, signed, to
    the checkpoint file. Refuses (ValueError) to anchor a chain that does not hold."""
    path = path or settings.CORPBANK_AUDIT_CHECKPOINTS
    seal()
    marks = read_checkpoints(path)
    report = verify_chain(marks[-1:], since=marks[-1] if marks else None)
    if not report.intact:
        raise ValueError(f"the audit chain does not hold at event {report.first_broken_id}: {report.reason}")
    ring = keyring()
    mark = Checkpoint(
        position=report.position,  # what was verified, not the head that may have moved on since
        event_id=report.last_event_id,
        mac=report.last_mac,
        at=timezone.now().isoformat(),
        key_id=ring.current_id,
    ).signed(ring)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as file:
        _drop_an_unfinished_line(file)
        file.write(json.dumps(dataclasses.asdict(mark), sort_keys=True).encode() + b"\n")
        file.flush()
        os.fsync(file.fileno())
    return mark


def _drop_an_unfinished_line(file: BinaryIO) -> None:
    """A line a crash or a full disk left without its newline is no checkpoint: cut it off, so that
    the next one starts on a line of its own."""
    end = file.seek(0, os.SEEK_END)
    if end == 0:
        return
    with open(file.name, "rb") as reader:
        content = reader.read()
    if content.endswith(b"\n"):
        return
    logger.warning("the checkpoint file's last line was unfinished; it is dropped")
    file.truncate(content.rfind(b"\n") + 1)

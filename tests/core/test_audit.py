"""The append-only audit log, chained by keyed seals (R-I3, issue 13): appends that do not queue,
a sealer that keeps order without gaps, and history nobody with the database's rights alone can change,
remove, reorder or rewrite unnoticed."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from corpbank.core import audit
from corpbank.core.models import AuditChainHead, AuditEvent, AuditSeal
from tests.conftest import all_at_once


def sealed_chain() -> list[AuditSeal]:
    audit.seal()
    return list(AuditSeal.objects.select_related("event").order_by("position"))


@contextlib.contextmanager
def database_rights() -> Iterator[Any]:
    """What someone who can write the database can do: go around the append-only triggers (and, on
    PostgreSQL, the foreign keys). Undone with the test's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for table in ("auditevent", "auditseal"):
                for change in ("update", "delete"):
                    cursor.execute(f"DROP TRIGGER corpbank_{table}_no_{change}")
        else:
            cursor.execute("SET LOCAL session_replication_role = replica")
        yield cursor


@contextlib.contextmanager
def held_open(statement: str) -> Iterator[None]:
    """Another connection, in a thread, runs ``statement`` in a transaction it keeps open (its locks,
    its transaction id) until the block ends."""
    began, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
                began.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert began.wait(timeout=10)
        yield
    finally:
        release.set()
        holder.join(timeout=30)


def test_r_i3_every_act_is_sealed_into_an_intact_chain(master):
    chain = sealed_chain()
    report = audit.verify_chain()
    assert report.intact, report
    assert report.checked == len(chain) == AuditEvent.objects.count() > 3
    assert report.awaiting == 0
    assert [seal.position for seal in chain] == list(range(1, len(chain) + 1))
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_position, head.last_hash, head.last_event_id) == (
        len(chain),
        chain[-1].mac,
        chain[-1].event_id,
    )


def test_r_i3_events_not_sealed_yet_are_counted_not_broken(master):
    """Inside a transaction nothing is sealed (the sealer runs after commit): verify says so."""
    report = audit.verify_chain()
    assert report.intact
    assert (report.checked, report.awaiting) == (0, AuditEvent.objects.count())


def test_r_i3_a_seal_is_keyed_not_a_plain_hash(master):
    """Someone who can read and write the database cannot compute a seal: the MAC is HMAC-SHA256 under
    the audit key, which is not in the database."""
    first = sealed_chain()[0]
    canonical = audit._canonical(audit.GENESIS, 1, first.event)
    assert first.mac != hashlib.sha256(canonical).hexdigest()
    key = audit.keyring().keys[first.key_id]
    assert first.mac == hmac.new(key, canonical, hashlib.sha256).hexdigest()


def swap_positions(cursor: Any, chain: list[AuditSeal]) -> AuditSeal:
    a, b = chain[1], chain[2]
    cursor.execute("UPDATE corpbank_auditseal SET position = -1 WHERE position = %s", [a.position])
    cursor.execute(
        "UPDATE corpbank_auditseal SET position = %s WHERE position = %s", [a.position, b.position]
    )
    cursor.execute("UPDATE corpbank_auditseal SET position = %s WHERE position = -1", [b.position])
    return b  # now first at position 2


def swap_contents(cursor: Any, chain: list[AuditSeal]) -> AuditSeal:
    a, b = chain[1].event, chain[2].event
    update = "UPDATE corpbank_auditevent SET action = %s, details = %s WHERE id = %s"
    cursor.execute(update, [b.action, json.dumps(b.details), a.pk])
    cursor.execute(update, [a.action, json.dumps(a.details), b.pk])
    return chain[1]


def modify(cursor: Any, chain: list[AuditSeal]) -> AuditSeal:
    cursor.execute(
        "UPDATE corpbank_auditevent SET actor_label = 'someone else' WHERE id = %s", [chain[2].event_id]
    )
    return chain[2]


def delete(cursor: Any, chain: list[AuditSeal]) -> AuditSeal:
    victim = chain[2]
    cursor.execute("DELETE FROM corpbank_auditseal WHERE position = %s", [victim.position])
    cursor.execute("DELETE FROM corpbank_auditevent WHERE id = %s", [victim.event_id])
    return chain[3]  # the first seal after the gap


def delete_and_renumber(cursor: Any, chain: list[AuditSeal]) -> AuditSeal:
    """Remove an event and move every later seal down one place: no gap left."""
    delete(cursor, chain)
    for seal in chain[3:]:
        cursor.execute(
            "UPDATE corpbank_auditseal SET position = %s WHERE position = %s",
            [seal.position - 1, seal.position],
        )
    last = chain[-1]
    cursor.execute("UPDATE corpbank_auditchainhead SET last_position = %s", [last.position - 1])
    return chain[3]


def rewrite_everything(cursor: Any, chain: list[AuditSeal]) -> AuditSeal:
    """Change an event, then seal the whole chain again with a key of one's own, head included."""
    modify(cursor, chain)
    guessed = b"\x00" * 32
    previous = audit.GENESIS
    for seal in chain:
        event = AuditEvent.objects.get(pk=seal.event_id)
        previous = hmac.new(
            guessed, audit._canonical(previous, seal.position, event), hashlib.sha256
        ).hexdigest()
        cursor.execute(
            "UPDATE corpbank_auditseal SET mac = %s WHERE position = %s", [previous, seal.position]
        )
    cursor.execute("UPDATE corpbank_auditchainhead SET last_hash = %s", [previous])
    return chain[0]


def forge_an_event_at_the_end(cursor: Any, chain: list[AuditSeal]) -> AuditSeal:
    event = AuditEvent.objects.create(action="login.succeeded", actor_type="system", transaction_id=0)
    position = len(chain) + 1
    mac = hashlib.sha256(b"anything").hexdigest()
    cursor.execute(
        "INSERT INTO corpbank_auditseal (position, event_id, key_id, mac) VALUES (%s, %s, %s, %s)",
        [position, event.pk, chain[-1].key_id, mac],
    )
    cursor.execute("UPDATE corpbank_auditchainhead SET last_position = %s, last_hash = %s", [position, mac])
    return AuditSeal(position=position, event=event)


def forge_an_event_behind_the_chain(cursor: Any, chain: list[AuditSeal]) -> AuditSeal:
    """An event the sealer will never take, slipped in behind what it has sealed."""
    event = AuditEvent.objects.create(action="login.succeeded", actor_type="system", transaction_id=-1)
    return AuditSeal(position=len(chain), event=event)


def move_the_head_back(cursor: Any, chain: list[AuditSeal]) -> AuditSeal:
    """Point the head at the first seal, and change an event the seals beyond it cover."""
    first = chain[0]
    cursor.execute(
        "UPDATE corpbank_auditchainhead SET last_position = 1, last_hash = %s, last_event_id = %s,"
        " last_transaction_id = %s",
        [first.mac, first.event_id, first.event.transaction_id],
    )
    modify(cursor, chain)
    return chain[1]  # the first seal beyond the head


@pytest.mark.parametrize(
    "tamper",
    [
        modify,
        move_the_head_back,
        delete,
        delete_and_renumber,
        swap_positions,
        swap_contents,
        rewrite_everything,
        forge_an_event_at_the_end,
        forge_an_event_behind_the_chain,
    ],
)
def test_r_i3_verify_names_the_first_event_tampered_with_the_database_rights_alone(master, tamper):
    chain = sealed_chain()
    assert len(chain) > 4 and audit.verify_chain().intact
    with database_rights() as cursor:
        first_wrong = tamper(cursor, chain)
    report = audit.verify_chain()
    assert not report.intact
    assert report.first_broken_id == first_wrong.event_id, report


def test_r_i3_a_checkpoint_outside_the_database_notices_the_end_cut_off(master, tmp_path):
    """Remove the last events, their seals, and point the head at what is left: from the database
    alone the shorter chain holds. The checkpoint written before says where it ended."""
    path = tmp_path / "checkpoints.jsonl"
    chain = sealed_chain()
    mark = audit.checkpoint(path)
    assert (mark.position, mark.mac) == (len(chain), chain[-1].mac)
    with database_rights() as cursor:
        for seal in chain[-2:]:
            cursor.execute("DELETE FROM corpbank_auditseal WHERE position = %s", [seal.position])
            cursor.execute("DELETE FROM corpbank_auditevent WHERE id = %s", [seal.event_id])
        kept = chain[-3]
        cursor.execute(
            "UPDATE corpbank_auditchainhead SET last_position = %s, last_hash = %s, last_event_id = %s",
            [kept.position, kept.mac, kept.event_id],
        )
    assert audit.verify_chain().intact  # what the database alone can tell
    report = audit.verify_chain(audit.read_checkpoints(path))
    assert not report.intact
    assert report.first_broken_id == chain[-1].event_id
    assert "past the chain's end" in report.reason
    with pytest.raises(ValueError, match="does not hold"):
        audit.checkpoint(path)  # and no new checkpoint anchors the shortened chain


def test_r_i3_a_checkpoint_edited_or_unsigned_is_refused(master, tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    sealed_chain()
    audit.checkpoint(path)
    line = json.loads(path.read_text())
    line["position"] -= 1
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(audit.CheckpointsUnreadable, match="line 1"):
        audit.read_checkpoints(path)
    path.write_text("not json\n")
    with pytest.raises(audit.CheckpointsUnreadable, match="not a checkpoint"):
        audit.read_checkpoints(path)


def test_r_i3_checkpoints_follow_the_chain(master, tmp_path):
    """Each checkpoint checks only what was sealed since the one before, and verify checks them all."""
    path = tmp_path / "checkpoints.jsonl"
    sealed_chain()
    first = audit.checkpoint(path)
    with transaction.atomic():
        audit.record("test.later", actor=audit.Actor.system())
    second = audit.checkpoint(path)
    assert second.position == first.position + 1
    assert audit.read_checkpoints(path) == [first, second]
    report = audit.verify_chain(audit.read_checkpoints(path))
    assert report.intact and report.checkpoints == 2


def test_r_i3_older_keys_still_check_what_they_sealed(master, settings):
    """Rotating the audit key: the new key seals, the old one (kept after it) still checks."""
    first, second = settings.CORPBANK_AUDIT_KEYS.split(",")
    settings.CORPBANK_AUDIT_KEYS = second
    sealed_chain()
    settings.CORPBANK_AUDIT_KEYS = f"{first},{second}"
    with transaction.atomic():
        audit.record("test.after_rotation", actor=audit.Actor.system())
    chain = sealed_chain()
    assert {seal.key_id for seal in chain} == {first.split(":")[0], second.split(":")[0]}
    assert audit.verify_chain().intact
    settings.CORPBANK_AUDIT_KEYS = first  # the old key dropped too early
    report = audit.verify_chain()
    assert report.first_broken_id == chain[0].event_id and "does not hold" in report.reason


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE corpbank_auditevent SET action = 'x'",
        "DELETE FROM corpbank_auditevent",
        "UPDATE corpbank_auditseal SET mac = 'x'",
        "DELETE FROM corpbank_auditseal",
    ],
)
def test_r_i3_the_database_refuses_to_change_history(master, statement):
    sealed_chain()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_record_outside_a_transaction_is_refused(transactional_db):
    with pytest.raises(RuntimeError):
        audit.record("x", actor=audit.Actor.system())


@pytest.mark.django_db(transaction=True)
def test_r_i3_an_act_is_sealed_when_it_commits():
    with transaction.atomic():
        event = audit.record("test.committed", actor=audit.Actor.system())
        assert not AuditSeal.objects.filter(event=event).exists()
    audit.sealer.drain()  # the commit woke the process's sealer thread
    assert AuditSeal.objects.get(event=event).position == AuditChainHead.objects.get(pk=1).last_position
    assert audit.verify_chain().intact


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_i3_an_act_never_waits_for_the_sealer():
    """The head is locked by a sealer that hangs: acts still record and commit at once (nothing they
    write is shared), and their events are sealed once the head is free."""
    audit.seal()  # the head exists (a flush before this test emptied every table)
    with held_open("SELECT 1 FROM corpbank_auditchainhead WHERE id = 1 FOR UPDATE"):  # a hanging sealer
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # a wait for the head would fail the act
        try:
            for index in range(3):
                with transaction.atomic():
                    audit.record("test.while_sealer_hangs", actor=audit.Actor.system(str(index)))
            assert AuditEvent.objects.filter(action="test.while_sealer_hangs").count() == 3
            assert not AuditSeal.objects.filter(event__action="test.while_sealer_hangs").exists()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = 0")
    audit.sealer.drain()  # woken by the three commits, it waited for the head, then sealed
    assert AuditSeal.objects.filter(event__action="test.while_sealer_hangs").count() == 3
    assert audit.verify_chain().intact


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_i3_parallel_acts_are_sealed_in_one_chain_without_gaps():
    """Forty transactions append at once (real threads, each sealing on commit): every event is sealed
    exactly once, positions run 1…n, and the chain verifies."""
    assert connection.vendor == "postgresql"

    def act(index: int) -> int:
        with transaction.atomic():
            return audit.record("test.parallel", actor=audit.Actor.system(f"thread {index}")).pk

    ids = all_at_once(40, act)
    audit.sealer.drain()
    audit.seal()  # whatever a transaction still running when the last one committed held back
    chain = list(AuditSeal.objects.order_by("position").values_list("position", "event_id"))
    assert [position for position, _ in chain] == list(range(1, len(chain) + 1))
    assert sorted(event for _, event in chain) == sorted(AuditEvent.objects.values_list("id", flat=True))
    assert set(ids) <= {event for _, event in chain}
    report = audit.verify_chain()
    assert report.intact and report.awaiting == 0


# Text that JSON escapes, text it keeps as it is, and text from far outside ASCII.
AWKWARD = ["", 'say "hi"', "back\\slash", "改行\nタブ\t", "全角　スペース", "😀", "\u2028", "0123abcdef" * 7]


def test_r_i3_the_seal_covers_what_the_database_gives_back(master):
    with transaction.atomic():
        for text in AWKWARD:
            audit.record(
                "test.awkward",
                actor=audit.Actor.system(text),
                details={"text": text, "nested": {"previous": text}},
            )
    sealed_chain()
    assert audit.verify_chain().intact


# What reaches an event: text without NUL, which web/edge.py refuses at the door (PostgreSQL's jsonb
# cannot hold it).
TEXT = st.characters(codec="utf-8", exclude_characters="\x00")


@settings(max_examples=25, deadline=None)
@given(
    details=st.dictionaries(
        st.text(TEXT, max_size=8), st.one_of(st.text(TEXT, max_size=12), st.integers(), st.none()), max_size=4
    ),
)
@pytest.mark.django_db
def test_r_i3_any_details_seal_and_verify(details):
    with transaction.atomic():
        audit.record("test.any", actor=audit.Actor.system(), details=details)
    sealed_chain()
    assert audit.verify_chain().intact


def test_the_audit_keyring_is_read_like_the_seed_keyring(settings):
    settings.CORPBANK_AUDIT_KEYS = "k9:" + base64.b64encode(b"9" * 32).decode()
    assert audit.keyring().current == b"9" * 32


def test_r_i3_a_missing_head_with_seals_is_broken_and_stops_the_sealer(master):
    sealed_chain()
    with database_rights() as cursor:
        cursor.execute("DELETE FROM corpbank_auditchainhead")
    report = audit.verify_chain()
    assert not report.intact and "head is missing" in report.reason
    with transaction.atomic():
        audit.record("test.after", actor=audit.Actor.system())
    with pytest.raises(audit.ChainBroken, match="head is missing"):
        audit.seal()


def test_r_i3_an_unfinished_last_checkpoint_line_is_skipped_then_dropped(master, tmp_path):
    """A crash while appending leaves a line without its newline: not a checkpoint, and the next
    checkpoint starts on a line of its own."""
    path = tmp_path / "checkpoints.jsonl"
    sealed_chain()
    first = audit.checkpoint(path)
    with path.open("a") as file:
        file.write('{"position": 9')
    assert audit.read_checkpoints(path) == [first]
    second = audit.checkpoint(path)
    assert audit.read_checkpoints(path) == [first, second]
    assert path.read_text().count("\n") == 2


class _Events:
    def __init__(self, events: list[Any]) -> None:
        self.events = events

    def order_by(self, *_: str) -> _Events:
        return self

    def iterator(self, chunk_size: int) -> Iterator[Any]:
        return iter(self.events)

    def filter(self, **_: Any) -> _Events:
        return _Events([])

    def first(self) -> None:
        return None


def test_r_i3_migration_0016_refuses_an_old_chain_that_does_not_hold():
    """The keyed seals must not take over a history already changed: 0016 checks the SHA-256 links of
    0002–0015 before it drops them."""
    import importlib
    import types

    from django.utils import timezone

    migration = importlib.import_module("corpbank.migrations.0016_audit_sealed_in_parallel")
    events, previous = [], migration.GENESIS
    for index in range(3):
        event = types.SimpleNamespace(
            pk=index + 1,
            at=timezone.now(),
            action="login.succeeded",
            actor_type="system",
            actor_id=None,
            actor_label="x",
            subject_user_id=None,
            contract_id=None,
            ip_address="",
            details={"n": index, "text": "全角"},
            previous_hash=previous,
        )
        event.hash = previous = migration.old_digest(previous, event)
        events.append(event)
    models = {"AuditEvent": _Events(events), "AuditChainHead": _Events([])}
    apps = types.SimpleNamespace(get_model=lambda app, name: types.SimpleNamespace(objects=models[name]))
    migration.the_old_chain_holds(apps, None)  # intact: no complaint
    events[1].details = {"n": 99}
    with pytest.raises(RuntimeError, match="broken at event 2"):
        migration.the_old_chain_holds(apps, None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_i3_an_event_held_back_by_an_older_transaction_is_sealed_when_it_ends():
    """An older transaction (of any database on the server) still running holds the event back; when
    it ends, the sealer seals it without waiting for another commit."""
    audit.seal()
    with held_open("SELECT pg_current_xact_id()"):  # it has a transaction id: it counts
        with transaction.atomic():
            event = audit.record("test.held_back", actor=audit.Actor.system())
        assert audit.seal() == 0  # not ready: the older transaction could still commit events
    audit.sealer.drain(timeout=20)  # the sealer looks again by itself, less and less often
    assert AuditSeal.objects.filter(event=event).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_i3_after_a_restore_onto_another_server_the_sealer_stops_until_rebased(tmp_path):
    """A restored database whose server's transaction ids start below the chain's (made here by moving
    the chain's ids above the server's): the sealer refuses, verify says why, and `corpbank audit
    rebase` lets it go on; the rebase is audited and sealed like every act."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with transaction.atomic():
        audit.record("test.before_restore", actor=audit.Actor.system())
    audit.sealer.drain()
    audit.seal()
    AuditChainHead.objects.filter(pk=1).update(last_transaction_id=2**62)
    audit.sealer.wake = lambda: None  # type: ignore[method-assign]  # the test seals by hand
    try:
        with transaction.atomic():
            after = audit.record("test.after_restore", actor=audit.Actor.system())
        with pytest.raises(audit.ChainBroken, match="restored onto another server"):
            audit.seal()
        report = audit.verify_chain()
        assert report.first_broken_id == after.pk and "corpbank audit rebase" in report.reason
        with pytest.raises(CommandError):
            call_command("audit", "verify", checkpoints=tmp_path / "none.jsonl", stdout=io.StringIO())
        call_command("audit", "rebase", checkpoints=tmp_path / "none.jsonl", stdout=io.StringIO())
        audit.seal()
    finally:
        del audit.sealer.wake
    chain = list(AuditSeal.objects.select_related("event").order_by("position"))
    assert [seal.event.action for seal in chain[-2:]] == ["test.after_restore", "audit.rebased"]
    assert audit.verify_chain().intact


def sealer_plan(statement: str, parameters: list[Any]) -> str:
    """How the database runs one of the sealer's statements, as text (its plan, the rows it read)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute("ANALYZE corpbank_auditevent")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
        return json.dumps(cursor.fetchone()[0])


@pytest.mark.django_db
@pytest.mark.parametrize("rebased", [False, True], ids=["history", "history-before-a-restore"])
def test_r_i3_the_sealer_reads_the_events_after_the_head_not_the_whole_log(rebased):
    """After every act the sealer asks what is ready and whether anything is left. Its statements
    follow the sealing-order index from the head (PostgreSQL) or the key's range (SQLite): with a long
    sealed history and three events after it, neither scans the log (they did, 40 ms at 200,000
    events, on every pass). Also after ``audit rebase`` onto another server, when the history's
    transaction ids are the old server's, above the head's (an independent review found that case)."""
    if rebased and connection.vendor != "postgresql":
        pytest.skip("transaction ids are PostgreSQL's; SQLite's are all 0")
    history_transaction = 10**12 if rebased else 0
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO corpbank_auditevent (at, action, actor_type, actor_label, ip_address, details,"
            " transaction_id) SELECT CURRENT_TIMESTAMP, 'test.history', 'system', '', '', '{}', %s"
            " FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)"
            " SELECT i FROM n) numbers",
            [history_transaction],
        )
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    AuditChainHead.objects.update_or_create(
        pk=1,
        defaults={
            "last_event_id": last,
            "last_transaction_id": 0,
            "floor_event_id": last if rebased else 0,
        },
    )
    with transaction.atomic():
        for _ in range(3):
            audit.record("test.after", actor=audit.Actor.system())
    vendor = connection.vendor
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    limits = [audit.BATCH, audit.BATCH] if vendor == "postgresql" else [audit.BATCH]
    with transaction.atomic():
        ready = sealer_plan(audit._ready_statement(vendor, lock), limits)
    left = sealer_plan(audit._anything_left_statement(vendor), [])
    for plan in (ready, left):
        if vendor == "sqlite":
            # By the key (rowid>?), or a skip-scan of the sealing-order index on the id: not by the
            # transaction id alone (transaction_id>?), which is 0 for every event.
            assert re.search(r"SEARCH e USING .*\b(rowid|id)>\?", plan), plan
        else:
            nodes = [node for node in _plan_nodes(json.loads(plan)[0]["Plan"]) if node.get("Relation Name")]
            events = [node for node in nodes if node["Relation Name"] == "corpbank_auditevent"]
            assert events and all(node["Node Type"] != "Seq Scan" for node in events), plan
            read = sum(node["Actual Rows"] + node.get("Rows Removed by Filter", 0) for node in events)
            assert read <= 3, plan
    assert audit._anything_left()
    assert audit.seal() == 3


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)

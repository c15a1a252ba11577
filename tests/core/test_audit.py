"""The append-only, hash-chained audit log (R-I3)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction
from hypothesis import given
from hypothesis import strategies as st

from corpbank.core import audit
from corpbank.core.models import AuditEvent


def test_r_i3_every_act_extends_an_intact_chain(master):
    report = audit.verify_chain()
    assert report.intact
    assert report.checked == AuditEvent.objects.count() > 3


def test_r_i3_verify_names_the_first_broken_link(master):
    events = list(AuditEvent.objects.order_by("id"))
    victim = events[2]
    # Go around the trigger the way an attacker with raw database access would, on SQLite only.
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER corpbank_auditevent_no_update")
        else:
            cursor.execute("ALTER TABLE corpbank_auditevent DISABLE TRIGGER corpbank_auditevent_no_update")
        cursor.execute("UPDATE corpbank_auditevent SET action = 'tampered' WHERE id = %s", [victim.pk])
    report = audit.verify_chain()
    assert report.first_broken_id == victim.pk
    assert not report.intact


@pytest.mark.parametrize(
    "statement", ["UPDATE corpbank_auditevent SET action = 'x'", "DELETE FROM corpbank_auditevent"]
)
def test_r_i3_the_database_refuses_to_change_history(master, statement):
    from django.db import connection

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def test_record_outside_a_transaction_is_refused(transactional_db):
    with pytest.raises(RuntimeError):
        audit.record("x", actor=audit.Actor.system())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_i3_parallel_acts_extend_one_chain_without_forks():
    """Thirty transactions append at once (PostgreSQL, real threads): each waits its turn on the chain
    head, so every event links to the one before it and the head names the last."""
    from django.db import connection

    from corpbank.core.models import AuditChainHead
    from tests.conftest import all_at_once

    assert connection.vendor == "postgresql"
    before = AuditEvent.objects.count()

    def act(index: int) -> int:
        with transaction.atomic():
            return audit.record("test.parallel", actor=audit.Actor.system(f"thread {index}")).pk

    ids = all_at_once(30, act)
    assert len(set(ids)) == 30
    assert AuditEvent.objects.count() == before + 30
    assert audit.verify_chain().intact
    last = AuditEvent.objects.order_by("-id").first()
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_hash, head.last_event_id) == (last.hash, last.pk)


# Text that JSON escapes, text it keeps as it is, and the random stand-in's own alphabet.
AWKWARD = ["", 'say "hi"', "back\\slash", "改行\nタブ\t", "全角　スペース", "😀", "\u2028", "0123abcdef" * 7]


def test_r_i3_what_the_database_writes_is_the_chain_hash_verify_recomputes(master):
    """On PostgreSQL the database takes each event's digest (one statement per append): whatever the
    details hold, verify_chain, which hashes in Python, finds the chain intact. On SQLite, Python
    hashes both ways."""
    with transaction.atomic():
        events = [
            audit.record(
                "test.awkward",
                actor=audit.Actor.system(text),
                details={"text": text, "nested": {"previous": text}},
            )
            for text in AWKWARD
        ]
    stored = AuditEvent.objects.filter(action="test.awkward").order_by("id")
    assert [(event.pk, event.hash, event.previous_hash) for event in events] == [
        (event.pk, event.hash, event.previous_hash) for event in stored
    ]
    assert events[1].previous_hash == events[0].hash
    assert audit.verify_chain().intact


@given(
    details=st.dictionaries(
        st.text(max_size=8), st.one_of(st.text(max_size=12), st.integers(), st.none()), max_size=4
    ),
    previous=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
def test_r_i3_the_text_around_the_previous_hash_hashes_as_the_chain_does(details, previous):
    """The database's digest, sha256(before + previous + after), is the chain's own definition."""
    import hashlib

    from django.utils import timezone

    event = AuditEvent(
        action="test", actor_type="system", actor_label="x", details=details, at=timezone.now()
    )
    around = audit._around_previous(event)
    assert around is not None
    before, after = around
    assert hashlib.sha256((before + previous + after).encode()).hexdigest() == audit._digest(previous, event)


def test_r_i3_content_that_holds_the_stand_in_is_hashed_by_python_instead(master, monkeypatch):
    """If the event's own text contained the random stand-in for the previous hash, the database could
    not be told where the previous hash goes: the append then hashes in Python, and the chain holds."""
    monkeypatch.setattr(audit.secrets, "token_hex", lambda _: "5eed")
    with transaction.atomic():
        event = audit.record("test.stand_in", actor=audit.Actor.system(), details={"note": "5eed"})
    assert audit._around_previous(event) is None
    assert AuditEvent.objects.get(pk=event.pk).hash == event.hash
    assert audit.verify_chain().intact

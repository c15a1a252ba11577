"""The audit chain across processes (R-I3, issue 13): two servers appending at once, and a process
killed (SIGKILL) after its act committed but before its event was sealed, or in the middle of sealing.
Each runs `corpbank` in its own process on a database of its own (a SQLite file, or a new PostgreSQL
database), so that what one process left is what the next one finds."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import BIN, ROOT, corpbank, own_database, server_environment, server_shell

REPORT = """
import json
from corpbank.core import audit
from corpbank.core.models import AuditEvent, AuditSeal
report = audit.verify_chain()
print(json.dumps({
    "intact": report.intact, "reason": report.reason, "checked": report.checked,
    "awaiting": report.awaiting, "events": AuditEvent.objects.count(),
    "positions": list(AuditSeal.objects.order_by("position").values_list("position", flat=True)),
    "order": list(AuditSeal.objects.order_by("position").values_list("event__action", flat=True)),
}))
"""


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("audit_processes")
    with own_database(tmp, "corpbank_audit_processes") as url:
        env = server_environment(tmp, url, PYTHONPATH=str(ROOT))
        corpbank(env, "migrate", "--noinput", "-v", "0")
        yield env


def shell(env: dict[str, str], code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "corpbank"), "shell", "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def report(env: dict[str, str]) -> dict[str, object]:
    return dict(json.loads(server_shell(env, REPORT).strip().splitlines()[-1]))


def append(count: int, label: str) -> str:
    return f"""
from django.db import transaction
from corpbank.core import audit
for index in range({count}):
    with transaction.atomic():
        audit.record("{label}", actor=audit.Actor.system("{label} %d" % index))
"""


def test_r_i3_two_processes_append_at_once_into_one_chain(database):
    before = report(database)
    processes = [shell(database, append(25, f"test.process_{name}")) for name in ("a", "b")]
    for process in processes:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors
    corpbank(database, "audit", "seal")
    after = report(database)
    assert after["intact"], after
    assert after["awaiting"] == 0
    assert after["events"] == before["events"] + 50  # type: ignore[operator]
    assert after["positions"] == list(range(1, after["checked"] + 1))  # type: ignore[operator]
    assert after["checked"] == after["events"]


def test_r_i3_an_act_killed_before_its_seal_is_sealed_by_the_next(database):
    killed = shell(
        database,
        """
import os, signal
from django.db import transaction
from corpbank.core import audit
with transaction.atomic():
    transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))  # runs before the sealer
    audit.record("test.killed_after_commit", actor=audit.Actor.system())
""",
    )
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL
    left = report(database)
    assert left["intact"] and left["awaiting"] == 1, left  # committed, not sealed: counted, not broken
    server_shell(database, append(1, "test.next_act"))  # its commit seals what is ready, in order
    after = report(database)
    assert after["intact"] and after["awaiting"] == 0, after
    assert after["order"][-2:] == ["test.killed_after_commit", "test.next_act"]  # type: ignore[index]


def test_r_i3_a_sealer_killed_while_sealing_leaves_nothing_half_sealed(database):
    killed = shell(
        database,
        """
import os, signal
from django.db import transaction
from corpbank.core import audit
audit.sealer.wake = lambda: None  # this act's commit leaves its event to the sealer below
with transaction.atomic():
    audit.record("test.killed_while_sealing", actor=audit.Actor.system())
with transaction.atomic():
    assert audit.seal() == 1
    os.kill(os.getpid(), signal.SIGKILL)  # the seal and the head's move are written, not committed
""",
    )
    _, errors = killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL, errors
    left = report(database)
    assert left["intact"] and left["awaiting"] == 1, left
    done = subprocess.run(
        [str(BIN / "corpbank"), "audit", "seal"], env=database, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "sealed 1 events", done.stderr  # the head was not left locked
    verified = subprocess.run(
        [str(BIN / "corpbank"), "audit", "verify"], env=database, capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0 and "0 awaiting their seal" in verified.stdout, verified


def test_r_i3_the_command_fails_on_a_broken_chain_and_checkpoints(database, tmp_path: Path):
    checkpoints = tmp_path / "checkpoints.jsonl"
    env = {**database, "CORPBANK_AUDIT_CHECKPOINTS": str(checkpoints)}
    corpbank(env, "audit", "checkpoint")
    assert json.loads(checkpoints.read_text())["position"] == report(env)["checked"]
    # Somebody with the database's rights cuts the last event off.
    server_shell(
        env,
        """
from django.db import connection
from corpbank.core.db import ensure_sqlite_triggers
from corpbank.core.models import AuditChainHead, AuditSeal
last = AuditSeal.objects.order_by("-position").first()
kept = AuditSeal.objects.get(position=last.position - 1)
with connection.cursor() as cursor:
    if connection.vendor == "sqlite":
        cursor.execute("DROP TRIGGER corpbank_auditseal_no_delete")
    else:
        cursor.execute("ALTER TABLE corpbank_auditseal DISABLE TRIGGER USER")
    cursor.execute("DELETE FROM corpbank_auditseal WHERE position = %s", [last.position])
    if connection.vendor == "postgresql":
        cursor.execute("ALTER TABLE corpbank_auditseal ENABLE TRIGGER USER")
ensure_sqlite_triggers(connection)
AuditChainHead.objects.filter(pk=1).update(
    last_position=kept.position, last_hash=kept.mac, last_event_id=kept.event_id,
    last_transaction_id=kept.event.transaction_id,
)
""",
    )
    done = subprocess.run(
        [str(BIN / "corpbank"), "audit", "verify"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "past the chain's end" in done.stderr

"""One lockout mechanism for every secret (R-C1, R-C2, R-C3, R-C5, R-C6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from corpbank.core.errors import InvalidCredentials, LockedOut, Suspended
from corpbank.core.models import AuditEvent
from corpbank.identity.models import FailureCounter, Principal
from tests.conftest import (
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    all_at_once,
    log_in,
    wait_until_blocked_on_a_lock,
)


def attempt(password: str) -> str:
    try:
        log_in(login_id=MASTER_LOGIN_ID, password=password)
    except InvalidCredentials:
        return "invalid"
    except LockedOut:
        return "locked"
    except Suspended:
        return "suspended"
    return "ok"


def test_r_c1_six_failures_lock_for_one_hour(master):
    for _ in range(5):
        assert attempt("wrong1pass") == "invalid"
    assert attempt("wrong1pass") == "locked"
    principal = Principal.objects.get(pk=master.principal_id)
    assert principal.locked_until is not None
    assert timedelta(minutes=59) < principal.locked_until - timezone.now() <= timedelta(hours=1)
    # While locked even the right password is refused, without being evaluated.
    assert attempt(MASTER_PASSWORD) == "locked"


def test_r_c1_success_resets_the_consecutive_count(master):
    for _ in range(5):
        attempt("wrong1pass")
    assert attempt(MASTER_PASSWORD) == "ok"
    assert FailureCounter.objects.get(principal_id=master.principal_id).consecutive_failures == 0
    for _ in range(5):
        assert attempt("wrong1pass") == "invalid"


def test_r_c1_third_consecutive_lockout_suspends(master):
    principal = Principal.objects.get(pk=master.principal_id)
    for round_number in range(3):
        for _ in range(6):
            result = attempt("wrong1pass")
        expected = "suspended" if round_number == 2 else "locked"
        assert result == expected
        # The hour passes.
        Principal.objects.filter(pk=principal.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    principal.refresh_from_db()
    assert principal.is_suspended
    assert attempt(MASTER_PASSWORD) == "suspended"


def test_r_c2_suspend_at_six_variant(master, settings):
    settings.CORPBANK_POLICY = "suspend-at-6"
    for _ in range(5):
        assert attempt("wrong1pass") == "invalid"
    assert attempt("wrong1pass") == "suspended"
    assert Principal.objects.get(pk=master.principal_id).is_suspended


def test_r_c6_messages_do_not_tell_which_or_whether(master):
    with pytest.raises(InvalidCredentials) as unknown:
        log_in(login_id="nobody99", password="wrong1pass")
    with pytest.raises(InvalidCredentials) as wrong:
        log_in(login_id=MASTER_LOGIN_ID, password="wrong1pass")
    assert unknown.value.message == wrong.value.message
    assert unknown.value.code == wrong.value.code


def test_r_c6_locked_message_says_until_when(master):
    for _ in range(6):
        attempt("wrong1pass")
    with pytest.raises(LockedOut) as locked:
        log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD)
    until = timezone.localtime(Principal.objects.get(pk=master.principal_id).locked_until)
    assert until.strftime("%Y/%m/%d %H:%M") in locked.value.message


def test_lock_expires_after_the_duration(master):
    for _ in range(6):
        attempt("wrong1pass")
    Principal.objects.filter(pk=master.principal_id).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert attempt(MASTER_PASSWORD) == "ok"


def run_in_threads(count: int, password: str) -> list[str]:
    return all_at_once(count, lambda _: attempt(password))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_c5_thirty_parallel_wrong_attempts_consume_exactly_the_allowed(branch, operators):
    from tests.conftest import activate_master, register_contract

    master = activate_master(register_contract(operators))
    assert connection.vendor == "postgresql"
    results = run_in_threads(30, "wrong1pass")
    # Exactly six were evaluated; the sixth locked; the other 24 were refused unevaluated.
    assert results.count("invalid") == 5
    assert results.count("locked") == 25
    assert AuditEvent.objects.filter(action="secret.rejected").count() == 6
    assert AuditEvent.objects.filter(action="secret.refused_while_locked").count() == 24
    assert AuditEvent.objects.filter(action="principal.locked").count() == 1
    principal = Principal.objects.get(pk=master.principal_id)
    assert principal.is_locked() and principal.consecutive_lockouts == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_c5_thirty_parallel_correct_logins_all_succeed(branch, operators):
    from tests.conftest import activate_master, register_contract

    activate_master(register_contract(operators))
    results = run_in_threads(30, MASTER_PASSWORD)
    assert results == ["ok"] * 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_c5_parallel_mix_never_lets_a_guess_through_after_the_limit(branch, operators):
    """12 wrong and 12 right in parallel: however they interleave, the attempts are evaluated one after
    another. Replayed in the order the audit log recorded them, every wrong one counts one more
    consecutive failure, every right one resets the count, the policy's limit locks at once, and every
    attempt after the lock is refused without being evaluated."""
    from corpbank.identity.lockout import rule_for
    from corpbank.identity.models import SecretKind
    from tests.conftest import activate_master, register_contract

    master = activate_master(register_contract(operators))
    limit = rule_for(SecretKind.LOGIN_PASSWORD).max_failures
    results = all_at_once(24, lambda index: attempt(MASTER_PASSWORD if index % 2 else "wrong1pass"))
    events = list(
        AuditEvent.objects.filter(
            subject_user_id=master.pk,
            action__in=[
                "secret.rejected",
                "login.succeeded",
                "principal.locked",
                "principal.suspended",
                "secret.refused_while_locked",
            ],
        ).order_by("pk")
    )
    consecutive, locked = 0, False
    for event in events:
        if event.action == "secret.rejected":
            assert not locked and consecutive < limit, "a wrong password was evaluated past the limit"
            consecutive += 1
            assert event.details["consecutive_failures"] == consecutive
        elif event.action == "login.succeeded":
            assert not locked and consecutive < limit, "a right password was evaluated past the limit"
            consecutive = 0
        elif event.action == "principal.locked":
            assert not locked and consecutive == limit, "locked other than at the limit"
            locked = True
        else:
            assert event.action == "secret.refused_while_locked" and locked, event.action
    assert locked == (consecutive == limit), "the limit was reached without locking"
    counts = {action: sum(e.action == action for e in events) for action in {e.action for e in events}}
    assert counts.get("principal.suspended", 0) == 0
    assert counts.get("principal.locked", 0) == int(locked)
    # Each attempt got the answer its event records: the one that locked is told so, like the refused.
    assert results.count("ok") == counts.get("login.succeeded", 0)
    assert results.count("invalid") == counts.get("secret.rejected", 0) - int(locked)
    assert results.count("locked") == counts.get("secret.refused_while_locked", 0) + int(locked)
    assert len(results) == 24
    counter = FailureCounter.objects.filter(principal_id=master.principal_id).first()
    assert counter is None or counter.consecutive_failures == (0 if locked else consecutive)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_c5_success_after_waiting_resets_the_failure_counted_meanwhile(branch, operators):
    """A right password that had to wait for the principal's lock while a wrong one was being counted
    comes second, so it resets that failure: whether failures need resetting is read after the wait,
    not from before it."""
    import threading

    from django.db import connections, transaction

    from tests.conftest import activate_master, register_contract

    master = activate_master(register_contract(operators))
    results: list[str] = []

    def right_password() -> None:
        try:
            results.append(attempt(MASTER_PASSWORD))
        finally:
            connections.close_all()

    # A wrong attempt in flight: it holds the principal's lock and counts its failure only after the
    # right one has come to wait for that lock.
    with transaction.atomic():
        Principal.objects.select_for_update().get(pk=master.principal_id)
        waiting = threading.Thread(target=right_password)
        waiting.start()
        wait_until_blocked_on_a_lock()
        FailureCounter.objects.create(
            principal_id=master.principal_id, kind="login_password", consecutive_failures=1
        )
    waiting.join(timeout=30)
    assert results == ["ok"]
    counter = FailureCounter.objects.get(principal_id=master.principal_id, kind="login_password")
    assert counter.consecutive_failures == 0


def test_r_c1_a_success_whose_act_records_nothing_still_resets_the_count(master):
    """A caller that records its own event (record_success=False) but records none: ``verified``
    still sends the resets the success owes before the transaction ends."""
    from corpbank.core import audit
    from corpbank.identity import lockout
    from corpbank.identity.models import Secret

    FailureCounter.objects.create(
        principal_id=master.principal_id, kind="login_password", consecutive_failures=3
    )
    Principal.objects.filter(pk=master.principal_id).update(consecutive_lockouts=2)
    stored = Secret.objects.get(principal_id=master.principal_id, kind="login_password")
    done = lockout.verified(
        lambda: lockout.check_secret(
            principal_id=master.principal_id,
            kind="login_password",
            candidate=MASTER_PASSWORD,
            stored=stored,
            actor=audit.Actor.system(),
            record_success=False,
        ),
        lambda: "acted",
        refused=InvalidCredentials,
    )
    assert done == "acted"
    assert FailureCounter.objects.get(principal_id=master.principal_id).consecutive_failures == 0
    assert Principal.objects.get(pk=master.principal_id).consecutive_lockouts == 0

"""One lockout mechanism for every secret (R-C1, R-C2, R-C3, R-C5, R-C6)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from corpbank.core import audit, audit_labels
from corpbank.core.errors import InvalidCredentials, LockedOut, Suspended
from corpbank.core.models import AuditEvent
from corpbank.identity import lockout
from corpbank.identity.models import FailureCounter, Principal, SecretKind, UnknownLoginFailure
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


# ---------------------------------------------------------------------------------------------------
# One rule for a principal and for a login name that names nobody (R-C1, R-C2, R-C6)


def principal_tally(master_principal_id: int) -> lockout.Tally:
    principal = Principal.objects.select_for_update().get(pk=master_principal_id)
    return lockout.PrincipalTally(
        principal,
        SecretKind.LOGIN_PASSWORD,
        audit.Actor.system("test"),
        lockout.Subject(subject_user_id=None, contract_id=None),
        {"kind": SecretKind.LOGIN_PASSWORD},
    )


def unknown_tally(_: int) -> lockout.Tally:
    UnknownLoginFailure.objects.get_or_create(key="k" * 64)
    row = UnknownLoginFailure.objects.select_for_update().get(key="k" * 64)
    return lockout.UnknownLoginTally(
        row, audit.Actor.anonymous(), {"login_id": "nobody"}, lockout.CUSTOMERS.events
    )


def failures_of(tally: lockout.Tally) -> int:
    if isinstance(tally, lockout.PrincipalTally):
        counter = FailureCounter.objects.filter(principal=tally.principal, kind=tally.kind).first()
        return counter.consecutive_failures if counter else 0
    assert isinstance(tally, lockout.UnknownLoginTally)
    return UnknownLoginFailure.objects.get(pk=tally.row.pk).consecutive_failures


@pytest.mark.parametrize("tally_of", [principal_tally, unknown_tally], ids=["principal", "unknown name"])
def test_r_c1_r_c2_one_rule_counts_locks_and_suspends_a_principal_and_an_unknown_name_alike(
    tally_of, master, clock, settings
):
    """lockout.judge is the rule: the same attempts leave the same state and events, whether counted
    against a principal's rows or an unknown name's row."""
    settings.CORPBANK_POLICY_TUNING = {
        "LOCKOUT_MAX_FAILURES": 3,
        "LOCKOUT_MINUTES": 10,
        "LOCKOUTS_BEFORE_SUSPENSION": 2,
    }
    start = clock()
    evaluated: list[str] = []

    def wrong() -> lockout.Evaluation:
        evaluated.append("wrong")
        return lockout.Evaluation.MISMATCH

    def never(evaluation: lockout.Evaluation) -> lockout.Verdict:  # pragma: no cover
        raise AssertionError(evaluation)

    seen = []
    for wait in (0, 0, 0, 0, 601, 0, 0, 0, 3600):
        now = clock(wait)
        with transaction.atomic():
            tally = tally_of(master.principal_id)
            before = AuditEvent.objects.count()
            verdict = lockout.judge(
                tally,
                kind=SecretKind.LOGIN_PASSWORD,
                now=now,
                evaluate=wrong,
                when_refused=lambda: evaluated.append("refused"),
                uncounted=never,
            )
            names = {value: key for key, value in dataclasses.asdict(tally.events).items()}
            outcomes = [
                names[action]
                for action in AuditEvent.objects.order_by("pk")[before:].values_list("action", flat=True)
            ]
        state = type(tally.state).objects.get(pk=tally.state.pk)
        seen.append(
            (
                verdict.locked_until and verdict.locked_until - start,
                verdict.suspended,
                outcomes,
                failures_of(tally),
                state.consecutive_lockouts,
                state.locked_until and state.locked_until - start,
                state.suspended_at and state.suspended_at - start,
            )
        )
    ten = timedelta(minutes=10)
    later = timedelta(seconds=601)
    assert seen == [
        (None, False, ["rejected"], 1, 0, None, None),
        (None, False, ["rejected"], 2, 0, None, None),
        (ten, False, ["rejected", "locked"], 0, 1, ten, None),  # the third failure locks
        (ten, False, ["refused"], 0, 1, ten, None),  # refused unevaluated
        (None, False, ["rejected"], 1, 1, ten, None),  # the lock has ended: counted again
        (None, False, ["rejected"], 2, 1, ten, None),
        (None, True, ["rejected", "suspended"], 0, 2, None, later),  # the second lockout suspends
        (None, True, ["refused"], 0, 2, None, later),
        (None, True, ["refused"], 0, 2, None, later),  # until lifted
    ]
    assert evaluated == ["wrong"] * 3 + ["refused"] + ["wrong"] * 3 + ["refused"] * 2


def test_r_i3_every_lockout_event_and_detail_has_a_label():
    """The events' names are data here, where the sources' scan (tests/web) does not see them."""
    for events in (lockout.PRINCIPAL_EVENTS, lockout.CUSTOMERS.events, lockout.OPERATORS.events):
        assert set(dataclasses.asdict(events).values()) <= set(audit_labels.EVENTS)
    details = {"kind", "consecutive_failures", "reason", "lockouts", "until"}
    details |= {lockout.CUSTOMERS.detail, lockout.OPERATORS.detail}
    assert details <= set(audit_labels.DETAIL_LABELS)

"""The one lockout mechanism for every secret (R-C1–R-C5).

Every check of a login password, confirmation password, contract PIN, initial password, and later
secret answers and OTP tokens, goes through :func:`check_secret`. It

* takes a row lock on the principal before it evaluates anything, so attempts against one principal
  are evaluated one after another: k parallel wrong attempts consume exactly k attempts, and once the
  limit is reached the rest are refused without being evaluated (R-C5). A lock held by a process that
  dies is released with its transaction; nothing is left half-counted.
* counts consecutive failures per (principal, kind of secret), with increments done in SQL;
* locks the principal for the policy's duration when a counter reaches its limit, and suspends it on
  the policy's n-th consecutive lockout (or at once, in the suspend-at-6 variant, R-C2);
* resets the counter and the consecutive lockouts on success;
* writes its audit event in the same transaction.

A caller runs it inside its own ``transaction.atomic()`` together with the act the secret authorises,
and must let that transaction commit even when the check failed (so that the failure is counted):
check the verdict, leave the atomic block, then raise. :func:`verified` does this.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypedDict, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from corpbank.core import audit
from corpbank.core.db import Writes
from corpbank.core.errors import DomainError, LockedOut, Suspended, TokenSuspended
from corpbank.core.policy import LockoutRule, current_policy
from corpbank.identity import selectors
from corpbank.identity.hashing import hash_secret, needs_rehash, verify_hash, verify_nothing
from corpbank.identity.models import (
    FailureCounter,
    LockState,
    Principal,
    Secret,
    SecretKind,
    UnknownLoginFailure,
)

T = TypeVar("T")


class Subject(TypedDict):
    """Whom an attempt's audit events are about."""

    subject_user_id: int | None
    contract_id: int | None


@dataclasses.dataclass(frozen=True)
class Verdict:
    ok: bool
    # Set when the principal was (or has just become) locked or suspended.
    locked_until: datetime | None = None
    suspended: bool = False
    # The principal's session epoch as read under the lock, for a session started on this success.
    session_epoch: int | None = None
    # The kind of secret that was refused: a stopped token is told apart from a stopped user.
    kind: str = ""
    # On a success whose event the caller records (record_success=False): the resets it owes, to be
    # given to that event (audit.record(writes=…)); ``verified`` sends them if no event took them.
    writes: Writes | None = None

    def raise_if_refused(self, *, refused: Callable[[], DomainError], master: bool = False) -> None:
        if self.ok:
            return
        if self.suspended and self.kind == SecretKind.OTP:
            raise TokenSuspended(master=master)
        if self.suspended:
            raise Suspended(master=master)
        if self.locked_until is not None:
            raise LockedOut(self.locked_until)
        raise refused()


def rule_for(kind: str) -> LockoutRule:
    """The lockout rule for one kind of secret: OTPs stop the token at once after N (R-C4); every
    other secret follows the bank's profile (R-C1, R-C2)."""
    policy = current_policy()
    return policy.otp_lockout if kind == SecretKind.OTP else policy.secret_lockout


def refusal_of(state: LockState, now: datetime) -> Verdict | None:
    """Why a principal (or a login name that names nobody) may not try any secret now, or None."""
    if state.is_suspended:
        return Verdict(ok=False, suspended=True)
    if state.is_locked(now):
        return Verdict(ok=False, locked_until=state.locked_until)
    return None


def resets(principal: Principal, kind: str) -> Writes:
    """What a success owes: the kind's consecutive failures, and the consecutive lockouts, back to zero.

    Sent after the principal's lock is held, so they see every failure counted before it: the counter
    is reset whenever it is above zero, never from a reading taken before the lock."""
    writes = Writes()
    writes.add(
        "UPDATE corpbank_failurecounter SET consecutive_failures = 0"
        " WHERE principal_id = %s AND kind = %s AND consecutive_failures > 0",
        [principal.pk, kind],
    )
    if principal.consecutive_lockouts:
        writes.add("UPDATE corpbank_principal SET consecutive_lockouts = 0 WHERE id = %s", [principal.pk])
    return writes


def check_principal_secret(
    *,
    principal_id: int,
    kind: str,
    candidate: str,
    actor: audit.Actor,
    subject_user_id: int | None = None,
    contract_id: int | None = None,
) -> Verdict:
    """check_secret against the principal's own stored secret of that kind."""
    stored = Secret.objects.filter(principal_id=principal_id, kind=kind).first()
    return check_secret(
        principal_id=principal_id,
        kind=kind,
        candidate=candidate,
        stored=stored,
        actor=actor,
        subject_user_id=subject_user_id,
        contract_id=contract_id,
    )


class Evaluation(enum.Enum):
    MATCH = "match"
    MISMATCH = "mismatch"
    # Right but already used (an OTP's time step that was accepted before): refused, not counted, so
    # that a double submission or a replayed code never locks the token of the person who typed it.
    SPENT = "spent"
    # Right for a time step further from the server's clock than the policy lets a token's clock drift
    # (tokens/otp.py): refused and counted as a wrong code, the reason kept in its event.
    DRIFTED = "drifted"


# ---------------------------------------------------------------------------------------------------
# The rule, once, for a principal and for a login name that names nobody


@dataclasses.dataclass(frozen=True)
class Events:
    """The audit event of each outcome of a counted attempt (each has its label in core/audit_labels)."""

    refused: str  # locked or suspended: refused unevaluated
    rejected: str  # wrong: one more consecutive failure
    locked: str
    suspended: str


PRINCIPAL_EVENTS = Events(
    refused="secret.refused_while_locked",
    rejected="secret.rejected",
    locked="principal.locked",
    suspended="principal.suspended",
)


class Tally(Protocol):
    """Where an attempt is counted: its row already locked (``FOR UPDATE``) in this transaction, and
    ``state`` read under that lock, so that nothing written meanwhile is missed (R-C5)."""

    @property
    def state(self) -> LockState: ...

    @property
    def events(self) -> Events: ...

    def add_failure(self) -> int:
        """One more consecutive failure, incremented in SQL; the count after it."""
        ...

    def stop(self, *, locked_until: datetime | None, suspended_at: datetime | None) -> None:
        """A lockout or a suspension: the failures back to zero, one more consecutive lockout."""
        ...

    def record(self, action: str, details: dict[str, object]) -> None:
        """One of ``events``, with what identifies the attempt."""
        ...


@dataclasses.dataclass(frozen=True)
class PrincipalTally:
    """A principal's failures of one kind of secret (FailureCounter, R-C1: counted per secret) and the
    principal's lock state, shared by every kind."""

    principal: Principal
    kind: str
    actor: audit.Actor
    subject: Subject
    details: dict[str, object]
    events: Events = PRINCIPAL_EVENTS

    @property
    def state(self) -> LockState:
        return self.principal

    def add_failure(self) -> int:
        counter, _ = FailureCounter.objects.get_or_create(principal_id=self.principal.pk, kind=self.kind)
        counted = FailureCounter.objects.filter(pk=counter.pk)
        counted.update(consecutive_failures=F("consecutive_failures") + 1)
        return counted.values_list("consecutive_failures", flat=True).get()

    def stop(self, *, locked_until: datetime | None, suspended_at: datetime | None) -> None:
        FailureCounter.objects.filter(principal_id=self.principal.pk, kind=self.kind).update(
            consecutive_failures=0
        )
        # A stopped principal's sessions end too.
        Principal.objects.filter(pk=self.principal.pk).update(
            consecutive_lockouts=F("consecutive_lockouts") + 1,
            locked_until=locked_until,
            suspended_at=suspended_at,
            session_epoch=F("session_epoch") + 1,
        )

    def record(self, action: str, details: dict[str, object]) -> None:
        audit.record(action, actor=self.actor, details={**self.details, **details}, **self.subject)


def judge(
    tally: Tally,
    *,
    kind: str,
    now: datetime,
    evaluate: Callable[[], Evaluation],
    when_refused: Callable[[], None],
    uncounted: Callable[[Evaluation], Verdict],
) -> Verdict:
    """The lockout rule (R-C1, R-C2, R-C5, R-C6), whoever the attempt is counted against: a locked or
    suspended one is refused unevaluated; otherwise the attempt is evaluated and, if wrong, counted; the
    rule's N-th consecutive failure locks for the rule's duration, and its M-th consecutive lockout
    suspends instead. ``uncounted`` settles a right (or spent) attempt."""
    refusal = refusal_of(tally.state, now)
    if refusal is not None:
        # Not evaluated: guesses at a locked name tell the guesser nothing and cost nothing.
        when_refused()
        tally.record(tally.events.refused, {})
        return dataclasses.replace(refusal, kind=kind)

    evaluation = evaluate()
    if evaluation in (Evaluation.MATCH, Evaluation.SPENT):
        return uncounted(evaluation)

    failures = tally.add_failure()
    reason = {"reason": "drift_exceeded"} if evaluation is Evaluation.DRIFTED else {}
    tally.record(tally.events.rejected, {"consecutive_failures": failures, **reason})
    rule = rule_for(kind)
    if failures < rule.max_failures:
        return Verdict(ok=False, kind=kind)
    lockouts = tally.state.consecutive_lockouts + 1
    if lockouts >= rule.lockouts_before_suspension:
        tally.stop(locked_until=None, suspended_at=now)
        tally.record(tally.events.suspended, {"lockouts": lockouts})
        return Verdict(ok=False, suspended=True, kind=kind)
    until = now + rule.lock_duration
    tally.stop(locked_until=until, suspended_at=None)
    tally.record(tally.events.locked, {"lockouts": lockouts, "until": until})
    return Verdict(ok=False, locked_until=until, kind=kind)


def check_attempt(
    *,
    principal_id: int,
    kind: str,
    evaluate: Callable[[Principal], Evaluation],
    actor: audit.Actor,
    subject_user_id: int | None = None,
    contract_id: int | None = None,
    record_success: bool = True,
    when_refused: Callable[[], None] = lambda: None,
    details: dict[str, object] | None = None,
    locked: Principal | None = None,
) -> Verdict:
    """The mechanism for a principal: lock the principal, then the rule (:func:`judge`).

    ``evaluate`` runs under the principal's row lock (so it may also move state of its own, such as
    an OTP token's last accepted step). ``when_refused`` spends the time an evaluation would have taken.
    ``record_success=False`` leaves the success event to the caller, who records the act it authorised
    (a login) in the same transaction, with the verdict's ``writes``; failures and lockouts are always
    recorded here. ``locked`` is the principal when the caller has already locked its row in this
    transaction and read it under that lock (the login's lookup does both in one statement). ``details``
    go into every event of the attempt."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("check_attempt must run inside the transaction of the act it authorises")
    principal = locked if locked is not None else selectors.principal_for_update(principal_id)
    event = Subject(subject_user_id=subject_user_id, contract_id=contract_id)
    tally = PrincipalTally(principal, kind, actor, event, {"kind": kind, **(details or {})})

    def uncounted(evaluation: Evaluation) -> Verdict:
        if evaluation is Evaluation.SPENT:
            audit.record("secret.spent", actor=actor, details=tally.details, **event)
            return Verdict(ok=False, kind=kind)
        writes = resets(principal, kind)
        if record_success:
            audit.record("secret.accepted", actor=actor, details=tally.details, writes=writes, **event)
        return Verdict(ok=True, session_epoch=principal.session_epoch, writes=writes)

    return judge(
        tally,
        kind=kind,
        now=timezone.now(),
        evaluate=lambda: evaluate(principal),
        when_refused=when_refused,
        uncounted=uncounted,
    )


def check_secret(
    *,
    principal_id: int,
    kind: str,
    candidate: str,
    stored: Secret | None,
    actor: audit.Actor,
    subject_user_id: int | None = None,
    contract_id: int | None = None,
    record_success: bool = True,
    locked: Principal | None = None,
    details: dict[str, object] | None = None,
) -> Verdict:
    """Check one stored (Argon2id-hashed) secret of one principal through the mechanism; ``details``
    go into its events (``purpose``: what it was typed for, when not a login or an operation)."""

    def evaluate(_: Principal) -> Evaluation:
        now = timezone.now()
        expired = stored is not None and stored.expires_at is not None and stored.expires_at <= now
        if not verify_hash(stored.hash if stored is not None else None, candidate) or expired:
            return Evaluation.MISMATCH
        if stored is not None and needs_rehash(stored.hash):
            Secret.objects.filter(pk=stored.pk).update(hash=hash_secret(candidate))
        return Evaluation.MATCH

    return check_attempt(
        principal_id=principal_id,
        kind=kind,
        evaluate=evaluate,
        actor=actor,
        subject_user_id=subject_user_id,
        contract_id=contract_id,
        record_success=record_success,
        details=details,
        when_refused=lambda: verify_nothing(candidate),
        locked=locked,
    )


# ---------------------------------------------------------------------------------------------------
# Login names that name nobody (R-C6)
#
# A real login ID locks after the policy's failures and answers 423 until when; an unknown one must
# answer alike, or the lockout tells which IDs exist. So its failures are counted too, by the same rule
# (judge) as a user's: by a keyed hash of the name (never the name; no user is created), under a row
# lock, with the same dummy Argon2id verification on every path. Customers' login IDs and operators'
# login names are counted apart (each realm has its own HMAC key). The table is bounded (the policy's
# retention and cap).

# The length of an unknown login name kept in its audit event: the forms take 12 (customers) and 30
# (operators) characters; anything longer is not a name anybody was given.
UNKNOWN_LOGIN_ID_AUDITED_LENGTH = 40
# Rows deleted by one attempt at most, so that the pruning costs every attempt alike.
_PRUNE_BATCH = 20


@dataclasses.dataclass(frozen=True)
class Realm:
    """A space of login names whose unknown ones are counted apart from any other's."""

    # In the HMAC's key: the same string typed as a customer's ID and as an operator's name is two rows.
    name: str
    # The detail of the audit events that holds the name tried.
    detail: str
    events: Events


CUSTOMERS = Realm(
    name="unknown-login-id",
    detail="login_id",
    events=Events(
        refused="login.unknown_login_id_refused_while_locked",
        rejected="login.unknown_login_id",
        locked="login.unknown_login_id_locked",
        suspended="login.unknown_login_id_suspended",
    ),
)
OPERATORS = Realm(
    name="unknown-operator-login-name",
    detail="login_name",
    events=Events(
        refused="operator.unknown_login_name_refused_while_locked",
        rejected="operator.unknown_login_name",
        locked="operator.unknown_login_name_locked",
        suspended="operator.unknown_login_name_suspended",
    ),
)


def unknown_login_key(login_id: str, realm: Realm = CUSTOMERS) -> str:
    """The keyed hash (HMAC-SHA256 with SECRET_KEY and the realm) an unknown login name is counted under."""
    return hmac.new(
        f"corpbank.{realm.name}:{settings.SECRET_KEY}".encode(), login_id.encode(), hashlib.sha256
    ).hexdigest()


def reads_as_master(login_id: str) -> bool:
    """Whether a suspended unknown login ID answers with a master's message or a general user's.

    The two messages differ (who lifts the suspension, R-C3), so always giving one of them would let
    the other tell that an ID exists. About one ID in ten answers as a master does (a contract has one
    master and up to 19 general users), fixed per ID by its keyed hash."""
    return int(unknown_login_key(login_id)[:2], 16) < 26


@dataclasses.dataclass(frozen=True)
class UnknownLoginTally:
    """An unknown login name's row: its failures and its lock state in one."""

    row: UnknownLoginFailure
    actor: audit.Actor
    details: dict[str, object]
    events: Events

    @property
    def state(self) -> LockState:
        return self.row

    def add_failure(self) -> int:
        counted = UnknownLoginFailure.objects.filter(pk=self.row.pk)
        counted.update(consecutive_failures=F("consecutive_failures") + 1)
        return counted.values_list("consecutive_failures", flat=True).get()

    def stop(self, *, locked_until: datetime | None, suspended_at: datetime | None) -> None:
        UnknownLoginFailure.objects.filter(pk=self.row.pk).update(
            consecutive_failures=0,
            consecutive_lockouts=F("consecutive_lockouts") + 1,
            locked_until=locked_until,
            suspended_at=suspended_at,
        )

    def record(self, action: str, details: dict[str, object]) -> None:
        audit.record(action, actor=self.actor, details={**self.details, **details})


def _unknown_login_row(key: str, now: datetime, retention_cutoff: datetime) -> UnknownLoginFailure:
    """The row of one key, inserted if absent, locked, and read under the lock.

    One statement inserts it or locks it (``INSERT … ON CONFLICT DO UPDATE``): an attempt that found
    the row but read it only later could find it deleted in between by another attempt's pruning; a
    row this transaction holds is pruned by nobody else. A row idle past the retention starts again
    from zero, as if it had been deleted."""
    UnknownLoginFailure.objects.bulk_create(
        [UnknownLoginFailure(key=key, last_attempt_at=now)],
        update_conflicts=True,
        unique_fields=["key"],
        update_fields=["key"],  # changes nothing: only the row lock is wanted
    )
    row = UnknownLoginFailure.objects.select_for_update().get(key=key)
    fresh: dict[str, Any] = {"last_attempt_at": now}
    if row.last_attempt_at < retention_cutoff:
        fresh |= {"consecutive_failures": 0, "consecutive_lockouts": 0, "locked_until": None}
        fresh |= {"suspended_at": None}
    UnknownLoginFailure.objects.filter(pk=row.pk).update(**fresh)
    for field, value in fresh.items():
        setattr(row, field, value)
    return row


def _prune_unknown_logins(retention_cutoff: datetime, own: UnknownLoginFailure) -> None:
    """Bounded storage: delete rows idle longer than the retention, and the oldest rows beyond the cap
    (by creation: at most ``cap`` rows were created after the one ``cap`` before this attempt's). Rows
    another attempt holds are skipped, never waited for, so that two attempts pruning at once never
    deadlock; a later attempt deletes them."""
    cap = current_policy().unknown_login_max_rows
    stale = UnknownLoginFailure.objects.filter(last_attempt_at__lt=retention_cutoff)
    if own.pk > cap:
        stale = stale | UnknownLoginFailure.objects.filter(pk__lte=own.pk - cap)
    doomed = list(
        stale.exclude(pk=own.pk)
        .select_for_update(skip_locked=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:_PRUNE_BATCH]
    )
    if doomed:
        UnknownLoginFailure.objects.filter(pk__in=doomed).delete()


def _never_right(evaluation: Evaluation) -> Verdict:  # pragma: no cover - an unknown name only mismatches
    raise AssertionError(f"an unknown login name was evaluated as {evaluation}")


def check_unknown_login(
    *,
    login_id: str,
    candidate: str,
    actor: audit.Actor,
    details: dict[str, object] | None = None,
    realm: Realm = CUSTOMERS,
) -> Verdict:
    """A login password typed for a login name that names nobody in ``realm``: always refused, and
    counted by the rule of a real one (:func:`judge`), so that the answers (status, code, message, the
    time a lockout ends) and their cost are those of a real name (R-C6). Runs inside the transaction
    of the attempt, which must commit (``verified`` does)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("check_unknown_login must run inside the transaction of the attempt")
    now = timezone.now()
    cutoff = now - current_policy().unknown_login_retention
    row = _unknown_login_row(unknown_login_key(login_id, realm), now, cutoff)
    _prune_unknown_logins(cutoff, row)
    tried = {realm.detail: login_id[:UNKNOWN_LOGIN_ID_AUDITED_LENGTH], **(details or {})}

    def evaluate() -> Evaluation:
        verify_nothing(candidate)  # what verifying a real name's password costs
        return Evaluation.MISMATCH

    return judge(
        UnknownLoginTally(row, actor, tried, realm.events),
        kind=SecretKind.LOGIN_PASSWORD,
        now=now,
        evaluate=evaluate,
        when_refused=lambda: verify_nothing(candidate),
        uncounted=_never_right,
    )


def lift(
    principal_id: int,
    *,
    actor: audit.Actor,
    subject_user_id: int | None = None,
    contract_id: int | None = None,
    reason: str,
) -> str:
    """Lift a lockout or suspension (利用停止解除): counters start again from zero. Returns what was
    lifted: ``"suspended"``, ``"locked"`` (a lockout still running), or ``""`` (nothing but the
    counts of wrong entries), so that the person who lifted it is told which."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lift must run inside the transaction of the act")
    principal = Principal.objects.select_for_update().get(pk=principal_id)
    if principal.suspended_at is not None:
        lifted = "suspended"
    elif principal.locked_until is not None and principal.locked_until > timezone.now():
        lifted = "locked"
    else:
        lifted = ""
    Principal.objects.filter(pk=principal_id).update(
        locked_until=None, suspended_at=None, consecutive_lockouts=0
    )
    FailureCounter.objects.filter(principal_id=principal_id).update(consecutive_failures=0)
    audit.record(
        "principal.lock_lifted",
        actor=actor,
        subject_user_id=subject_user_id,
        contract_id=contract_id,
        details={"reason": reason, "principal": principal.kind},
    )
    return lifted


def end_sessions(principal_id: int) -> None:
    """Every session of the principal ends at its next request."""
    Principal.objects.filter(pk=principal_id).update(session_epoch=F("session_epoch") + 1)


def verified(
    check: Callable[[], Verdict],
    act: Callable[[], T],
    *,
    refused: Callable[[], DomainError],
    master: bool | Callable[[], bool] = False,
) -> T:
    """Run ``check`` and, if it passed, ``act`` in one durable transaction; if it failed, commit the
    counted failure and only then raise. ``master`` (whether a suspension is told as a master's) may be
    asked only then, when ``check`` itself finds the user."""
    with transaction.atomic(durable=True):
        verdict = check()
        if verdict.ok:
            done = act()
            if verdict.writes:
                verdict.writes.flush()
            return done
    verdict.raise_if_refused(refused=refused, master=master() if callable(master) else master)
    raise AssertionError("unreachable")  # pragma: no cover

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
from typing import TypedDict, TypeVar

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
from corpbank.identity.models import FailureCounter, Principal, Secret, SecretKind, UnknownLoginFailure

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


def refusal_of(principal: Principal, now: datetime) -> Verdict | None:
    """Why a principal may not try any secret now, or None."""
    if principal.is_suspended:
        return Verdict(ok=False, suspended=True)
    if principal.is_locked(now):
        return Verdict(ok=False, locked_until=principal.locked_until)
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
    """The mechanism itself: lock the principal, refuse a locked one unevaluated, evaluate, count.

    ``evaluate`` runs under the principal's row lock (so it may also move state of its own, such as
    an OTP token's last accepted step). ``when_refused`` spends the time an evaluation would have taken.
    ``record_success=False`` leaves the success event to the caller, who records the act it authorised
    (a login) in the same transaction, with the verdict's ``writes``; failures and lockouts are always
    recorded here. ``locked`` is the principal when the caller has already locked its row in this
    transaction and read it under that lock (the login's lookup does both in one statement)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("check_attempt must run inside the transaction of the act it authorises")
    now = timezone.now()
    principal = locked if locked is not None else selectors.principal_for_update(principal_id)
    event = Subject(subject_user_id=subject_user_id, contract_id=contract_id)
    extra = details or {}

    refusal = refusal_of(principal, now)
    if refusal is not None:
        # Not evaluated: a locked principal's guesses tell the guesser nothing and cost nothing.
        when_refused()
        audit.record("secret.refused_while_locked", actor=actor, details={"kind": kind, **extra}, **event)
        return dataclasses.replace(refusal, kind=kind)

    evaluation = evaluate(principal)
    if evaluation is Evaluation.MATCH:
        writes = resets(principal, kind)
        if record_success:
            audit.record(
                "secret.accepted", actor=actor, details={"kind": kind, **extra}, writes=writes, **event
            )
        return Verdict(ok=True, session_epoch=principal.session_epoch, writes=writes)
    if evaluation is Evaluation.SPENT:
        audit.record("secret.spent", actor=actor, details={"kind": kind, **extra}, **event)
        return Verdict(ok=False, kind=kind)

    counter, _ = FailureCounter.objects.get_or_create(principal_id=principal_id, kind=kind)
    FailureCounter.objects.filter(pk=counter.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    failures = FailureCounter.objects.values_list("consecutive_failures", flat=True).get(pk=counter.pk)
    if evaluation is Evaluation.DRIFTED:
        extra = {**extra, "reason": "drift_exceeded"}
    audit.record(
        "secret.rejected",
        actor=actor,
        details={"kind": kind, "consecutive_failures": failures, **extra},
        **event,
    )
    rule = rule_for(kind)
    if failures < rule.max_failures:
        return Verdict(ok=False, kind=kind)
    return dataclasses.replace(
        _lock(principal, kind=kind, rule=rule, now=now, actor=actor, event=event), kind=kind
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
) -> Verdict:
    """Check one stored (Argon2id-hashed) secret of one principal through the mechanism."""

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
        when_refused=lambda: verify_nothing(candidate),
        locked=locked,
    )


def _lock(
    principal: Principal,
    *,
    kind: str,
    rule: LockoutRule,
    now: datetime,
    actor: audit.Actor,
    event: Subject,
) -> Verdict:
    FailureCounter.objects.filter(principal_id=principal.pk, kind=kind).update(consecutive_failures=0)
    lockouts = principal.consecutive_lockouts + 1
    if lockouts >= rule.lockouts_before_suspension:
        Principal.objects.filter(pk=principal.pk).update(
            consecutive_lockouts=F("consecutive_lockouts") + 1,
            suspended_at=now,
            locked_until=None,
            session_epoch=F("session_epoch") + 1,
        )
        audit.record(
            "principal.suspended", actor=actor, details={"kind": kind, "lockouts": lockouts}, **event
        )
        return Verdict(ok=False, suspended=True)
    until = now + rule.lock_duration
    Principal.objects.filter(pk=principal.pk).update(
        consecutive_lockouts=F("consecutive_lockouts") + 1,
        locked_until=until,
        session_epoch=F("session_epoch") + 1,
    )
    audit.record(
        "principal.locked", actor=actor, details={"kind": kind, "lockouts": lockouts, "until": until}, **event
    )
    return Verdict(ok=False, locked_until=until)


# ---------------------------------------------------------------------------------------------------
# Login IDs that name nobody (R-C6)
#
# A real login ID locks after the policy's failures and answers 423 until when; an unknown one must
# answer alike, or the lockout tells which IDs exist. So its failures are counted too, as if the ID
# were a user's: by a keyed hash of the ID (never the ID; no user is created), under a row lock, the
# same limits, the same lock duration and suspension after the same number of lockouts, the same
# dummy Argon2id verification on every path. The table is bounded (the policy's retention and cap).

# The length of an unknown login ID kept in its audit event: the form takes 12 characters; anything
# longer is not a login ID anybody was given.
UNKNOWN_LOGIN_ID_AUDITED_LENGTH = 40
# Rows deleted by one attempt at most, so that the pruning costs every attempt alike.
_PRUNE_BATCH = 20


def unknown_login_key(login_id: str) -> str:
    """The keyed hash (HMAC-SHA256 with SECRET_KEY) an unknown login ID is counted under."""
    return hmac.new(
        f"corpbank.unknown-login-id:{settings.SECRET_KEY}".encode(), login_id.encode(), hashlib.sha256
    ).hexdigest()


def reads_as_master(login_id: str) -> bool:
    """Whether a suspended unknown login ID answers with a master's message or a general user's.

    The two messages differ (who lifts the suspension, R-C3), so always giving one of them would let
    the other tell that an ID exists. About one ID in ten answers as a master does (a contract has one
    master and up to 19 general users), fixed per ID by its keyed hash."""
    return int(unknown_login_key(login_id)[:2], 16) < 26


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


def check_unknown_login(
    *, login_id: str, candidate: str, actor: audit.Actor, details: dict[str, object] | None = None
) -> Verdict:
    """A login password typed for a login ID that names nobody: always refused, and counted so that
    the answers (status, code, message, the time a lockout ends) and their cost are those of a real ID
    (R-C6). Runs inside the transaction of the attempt, which must commit (``verified`` does)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("check_unknown_login must run inside the transaction of the attempt")
    now = timezone.now()
    policy = current_policy()
    rule = policy.secret_lockout
    cutoff = now - policy.unknown_login_retention
    key = unknown_login_key(login_id)
    UnknownLoginFailure.objects.bulk_create(
        [UnknownLoginFailure(key=key, last_attempt_at=now)], ignore_conflicts=True
    )
    row = UnknownLoginFailure.objects.select_for_update().get(key=key)
    _prune_unknown_logins(cutoff, row)
    event: dict[str, object] = {"login_id": login_id[:UNKNOWN_LOGIN_ID_AUDITED_LENGTH], **(details or {})}
    if row.last_attempt_at < cutoff:  # idle past the retention: it starts again, as if deleted
        row.consecutive_failures, row.consecutive_lockouts = 0, 0
        row.locked_until, row.suspended_at = None, None
        UnknownLoginFailure.objects.filter(pk=row.pk).update(
            consecutive_failures=0, consecutive_lockouts=0, locked_until=None, suspended_at=None
        )
    kind = SecretKind.LOGIN_PASSWORD
    if row.suspended_at is not None or (row.locked_until is not None and row.locked_until > now):
        verify_nothing(candidate)
        UnknownLoginFailure.objects.filter(pk=row.pk).update(last_attempt_at=now)
        audit.record("login.unknown_login_id_refused_while_locked", actor=actor, details=event)
        return Verdict(
            ok=False, suspended=row.suspended_at is not None, locked_until=row.locked_until, kind=kind
        )
    verify_nothing(candidate)
    UnknownLoginFailure.objects.filter(pk=row.pk).update(
        consecutive_failures=F("consecutive_failures") + 1, last_attempt_at=now
    )
    failures = row.consecutive_failures + 1  # read under the row lock: nobody else wrote it since
    audit.record("login.unknown_login_id", actor=actor, details={**event, "consecutive_failures": failures})
    if failures < rule.max_failures:
        return Verdict(ok=False, kind=kind)
    lockouts = row.consecutive_lockouts + 1
    if lockouts >= rule.lockouts_before_suspension:
        UnknownLoginFailure.objects.filter(pk=row.pk).update(
            consecutive_failures=0, consecutive_lockouts=lockouts, locked_until=None, suspended_at=now
        )
        audit.record("login.unknown_login_id_suspended", actor=actor, details={**event, "lockouts": lockouts})
        return Verdict(ok=False, suspended=True, kind=kind)
    until = now + rule.lock_duration
    UnknownLoginFailure.objects.filter(pk=row.pk).update(
        consecutive_failures=0, consecutive_lockouts=lockouts, locked_until=until
    )
    audit.record(
        "login.unknown_login_id_locked",
        actor=actor,
        details={**event, "lockouts": lockouts, "until": until},
    )
    return Verdict(ok=False, locked_until=until, kind=kind)


def lift(
    principal_id: int,
    *,
    actor: audit.Actor,
    subject_user_id: int | None = None,
    contract_id: int | None = None,
    reason: str,
) -> None:
    """Lift a lockout or suspension (利用停止解除): counters start again from zero."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lift must run inside the transaction of the act")
    principal = Principal.objects.select_for_update().get(pk=principal_id)
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

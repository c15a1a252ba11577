"""One-time passwords: TOTP per RFC 6238 on HOTP per RFC 4226 (`cryptography`), verified through the
one lockout mechanism with the token as the principal (R-C4, R-C5, R-E1)."""

from __future__ import annotations

import hmac
import logging
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.core import audit, text
from corpbank.core.db import execute, get_row
from corpbank.core.errors import DomainError, TokenRegistrationRequired
from corpbank.core.policy import current_policy
from corpbank.identity import lockout
from corpbank.identity.lockout import Evaluation
from corpbank.identity.models import SecretKind
from corpbank.organizations.models import CustomerUser
from corpbank.tokens import selectors
from corpbank.tokens.models import Token
from corpbank.tokens.seeds import unseal
from corpbank.tokens.totp import hotp, time_step, totp

logger = logging.getLogger(__name__)

__all__ = [
    "check_code",
    "check_for_operation",
    "hotp",
    "match_step",
    "now_seconds",
    "time_step",
    "totp",
    "usability_problem",
]


def now_seconds() -> float:
    """The clock OTPs are checked against: Django's, so that tests can move it."""
    return timezone.now().timestamp()


class TokenNotUsable(DomainError):
    code = "token_not_usable"
    http_status = 403


def usability_problem(token: Token, today: date | None = None) -> TokenNotUsable | None:
    """Why a token cannot be used at all, before any code is looked at (not counted as a failure)."""
    return unusable_because(token.state, token.expires_on, today or timezone.localdate())


def unusable_because(state: str, expires_on: date | None, today: date) -> TokenNotUsable | None:
    if state == Token.State.LOST:
        return TokenNotUsable(_("このパスワード生成機は紛失届が出ているため、ご利用いただけません。"))
    if state == Token.State.REVOKED:
        return TokenNotUsable(_("このトークンは失効しています。"))
    if expires_on is not None and expires_on < today:
        return TokenNotUsable(
            _("このパスワード生成機は有効期限（%(date)s）が過ぎているため、ご利用いただけません。")
            % {"date": text.day(expires_on)}
        )
    return None


def match_step(
    seed: bytes,
    code: str,
    *,
    step_seconds: int,
    drift: int,
    last_step: int | None,
    digits: int = 6,
    algorithm: str = "sha1",
) -> tuple[Evaluation, int, int]:
    """Compare a code with the time steps around the expected one (RFC 6238 §5.2: the policy's window
    around both the clock's step and the step the holder's clock was last seen at). Returns the
    evaluation, the step that matched and the clock's step; a step at or before ``last_step`` is SPENT
    (a code is accepted once); a step further from the clock than the policy's ``otp_max_drift_steps``
    is DRIFTED (counted as a wrong code), so that accepted codes cannot walk a token's window away
    from the clock one window at a time. The customers' tokens and the operators' second factor
    share it."""
    current = time_step(now_seconds(), step_seconds)
    if not (text.is_digits(code) and len(code) == digits):  # never a non-ASCII str to compare_digest
        return Evaluation.MISMATCH, current, current
    policy = current_policy()
    window = policy.otp_window_steps
    # The window around the clock's own step is always allowed (RFC 6238 §5.2); beyond it, a step
    # only as far as the policy lets a clock drift, however far the drift learnt so far has moved.
    max_drift = max(policy.otp_max_drift_steps, window)
    expected = current + drift
    candidates = sorted(
        set(range(expected - window, expected + window + 1))
        | set(range(current - window, current + window + 1)),
        key=lambda step: abs(step - expected),
    )
    for step in candidates:
        if hmac.compare_digest(hotp(seed, step, digits=digits, algorithm=algorithm), code):
            if last_step is not None and step <= last_step:
                return Evaluation.SPENT, step, current
            if abs(step - current) > max_drift:
                return Evaluation.DRIFTED, step, current
            return Evaluation.MATCH, step, current
    return Evaluation.MISMATCH, current, current


# ``Token.objects.filter(pk=…).update(last_step=…, drift=…)``, in plain SQL (issue 13).
_RECORD_STEP = f"UPDATE {Token._meta.db_table} SET last_step = %s, drift = %s WHERE id = %s"  # noqa: S608


def _evaluate(token_id: int, code: str) -> Evaluation:
    """Under the token principal's lock: compare the code with the steps around the expected one."""
    token = get_row(Token, "t.id = %s", [token_id])
    if token is None:
        raise Token.DoesNotExist(token_id)
    if not (text.is_digits(code) and len(code) == token.digits):  # never a non-ASCII str to compare_digest
        return Evaluation.MISMATCH
    evaluation, step, current = match_step(
        unseal(token),
        code,
        step_seconds=token.step_seconds,
        drift=token.drift,
        last_step=token.last_step,
        digits=token.digits,
        algorithm=token.algorithm,
    )
    if evaluation is Evaluation.MATCH:
        execute(_RECORD_STEP, [step, step - current, token.pk])
    log_drift(f"OTP token {token.serial}", evaluation, step=step, current=current, was=token.drift)
    return evaluation


def log_drift(holder: str, evaluation: Evaluation, *, step: int, current: int, was: int) -> None:
    """Say in the log when a clock's drift moves, and when a code is refused for drifting too far
    (``holder``: the token's serial or the operator; never the code). Tokens and operators share it."""
    if evaluation is Evaluation.MATCH and step - current != was:
        logger.info("%s: clock drift now %+d steps (was %+d)", holder, step - current, was)
    elif evaluation is Evaluation.DRIFTED:
        logger.warning(
            "%s: code refused, its step is %+d steps from the clock (the policy allows %d)",
            holder,
            step - current,
            max(current_policy().otp_max_drift_steps, current_policy().otp_window_steps),
        )


def check_code(
    token: Token,
    code: str,
    *,
    actor: audit.Actor,
    subject_user_id: int | None = None,
    contract_id: int | None = None,
) -> lockout.Verdict:
    """Check one OTP inside the act's transaction: accepted once per time step; wrong ones count
    against the token and stop it after the policy's limit (R-C4)."""
    # １２３４５６ typed with the IME on is 123456; an empty code or one with a letter is a message on the
    # field, not a wrong code counted against the token.
    code = text.one_time_password(code)
    return lockout.check_attempt(
        principal_id=token.principal_id,
        kind=SecretKind.OTP,
        evaluate=lambda principal: _evaluate(token.pk, code),
        actor=actor,
        subject_user_id=subject_user_id,
        contract_id=contract_id,
        details={"serial": token.serial},
    )


def check_for_operation(user: CustomerUser, code: str, actor: audit.Actor) -> lockout.Verdict:
    """The one-time password an operation of the table asks for (authorization.operations): a code of
    the token registered to the user. One accepted code authorises this one operation."""
    registration = selectors.registration_in_force(user)
    if registration is None:
        raise TokenRegistrationRequired(
            _("この操作にはワンタイムパスワードが必要です。ワンタイムパスワードの利用登録を行ってください。")
        )
    problem = usability_problem(registration.token)
    if problem is not None:
        raise problem
    return check_code(
        registration.token, code, actor=actor, subject_user_id=user.pk, contract_id=user.contract_id
    )

"""The bank's policy profile: one object, built from settings.

Where the banks in the seeds differ (R-C1 against R-C2), the difference is a setting of one mechanism,
never a second mechanism.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclasses.dataclass(frozen=True)
class LockoutRule:
    """How consecutive failures of one kind of secret are punished (R-C1, R-C2, R-C4).

    ``max_failures`` consecutive failures lock the principal for ``lock_duration``; the
    ``lockouts_before_suspension``-th consecutive lockout suspends it instead. With
    ``lockouts_before_suspension == 1`` the first lockout already suspends (the shinkin variant).
    """

    max_failures: int
    lock_duration: timedelta
    lockouts_before_suspension: int

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.lockouts_before_suspension < 1:
            raise ImproperlyConfigured("lockout limits must be at least 1")


@dataclasses.dataclass(frozen=True)
class PasswordRules:
    """R-B1–R-B3: 6–12 half-width characters, at least one letter and one digit."""

    min_length: int = 6
    max_length: int = 12


@dataclasses.dataclass(frozen=True)
class BankPolicy:
    name: str
    secret_lockout: LockoutRule
    password_rules: PasswordRules
    password_lifetime: timedelta
    password_expiry_warning: timedelta
    session_inactivity: timedelta
    initial_password_validity: timedelta
    max_general_users: int
    # R-C4, R-E10: consecutive wrong OTPs stop the token (利用停止) at once.
    otp_lockout: LockoutRule
    # RFC 6238 §5.2: how many steps before and after the expected one a code may come from.
    otp_window_steps: int
    # R-E7: how long after a revocation the user's next login shows the OTP registration screen.
    token_reregistration_delay: timedelta
    # The most time steps a token's clock may be learnt to run ahead or behind (RFC 6238 §6): an
    # accepted code moves the token's drift by at most the window, and never past this.
    otp_max_drift_steps: int = 10
    # R-C6: failures of login IDs that name nobody are counted like a user's, in a bounded table: a row
    # idle this long starts again from zero and is deleted; above the cap the oldest rows are evicted.
    unknown_login_retention: timedelta = timedelta(hours=24)
    unknown_login_max_rows: int = 100_000


def _lockout(max_failures: int, lockouts_before_suspension: int, hours: int = 1) -> LockoutRule:
    return LockoutRule(max_failures, timedelta(hours=hours), lockouts_before_suspension)


PROFILES: dict[str, LockoutRule] = {
    # 労働金庫: 6 consecutive failures → one hour; 3 consecutive lockouts → 利用停止.
    "rokin": _lockout(6, 3),
    # 信用金庫 in seed 003: 6 consecutive failures → 利用停止 at once.
    "suspend-at-6": _lockout(6, 1),
}


def current_policy() -> BankPolicy:
    """The policy in force, from settings (cheap to build, so tests may change settings freely)."""
    profile = settings.CORPBANK_POLICY
    if profile not in PROFILES:
        raise ImproperlyConfigured(f"CORPBANK_POLICY must be one of {sorted(PROFILES)}, not {profile!r}")
    base = PROFILES[profile]
    tune: dict[str, int] = settings.CORPBANK_POLICY_TUNING
    rule = LockoutRule(
        max_failures=tune.get("LOCKOUT_MAX_FAILURES", base.max_failures),
        lock_duration=timedelta(minutes=tune.get("LOCKOUT_MINUTES", 60)),
        lockouts_before_suspension=tune.get("LOCKOUTS_BEFORE_SUSPENSION", base.lockouts_before_suspension),
    )
    return BankPolicy(
        name=profile,
        secret_lockout=rule,
        password_rules=PasswordRules(),
        password_lifetime=timedelta(days=tune.get("PASSWORD_LIFETIME_DAYS", 90)),
        password_expiry_warning=timedelta(days=tune.get("PASSWORD_WARNING_DAYS", 14)),
        session_inactivity=timedelta(minutes=tune.get("SESSION_INACTIVITY_MINUTES", 10)),
        initial_password_validity=timedelta(days=tune.get("INITIAL_PASSWORD_DAYS", 30)),
        max_general_users=tune.get("MAX_GENERAL_USERS", 19),
        otp_lockout=LockoutRule(
            max_failures=tune.get("OTP_MAX_FAILURES", 10),
            lock_duration=timedelta(0),
            lockouts_before_suspension=1,
        ),
        otp_window_steps=tune.get("OTP_WINDOW_STEPS", 1),
        token_reregistration_delay=timedelta(minutes=tune.get("TOKEN_REREGISTRATION_DELAY_MINUTES", 30)),
        otp_max_drift_steps=tune.get("OTP_MAX_DRIFT_STEPS", 10),
        # Never shorter than a lockout, so that a locked unknown ID stays locked as long as a user.
        unknown_login_retention=max(
            timedelta(hours=tune.get("UNKNOWN_LOGIN_RETENTION_HOURS", 24)), rule.lock_duration
        ),
        unknown_login_max_rows=tune.get("UNKNOWN_LOGIN_MAX_ROWS", 100_000),
    )

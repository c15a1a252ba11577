"""Issue 12, item 9: a token's learnt clock drift is capped (RFC 6238 §6, R-E1). Each accepted code
from the next time step used to move the window one step further, without end: a run of codes read
ahead of time walked it as far as one liked."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from django.db import transaction

from corpbank.core import audit
from corpbank.core.models import AuditEvent
from corpbank.identity.models import FailureCounter
from corpbank.tokens import otp
from corpbank.tokens import services as tokens
from corpbank.tokens.models import Token
from tests.api.test_api import ApiClient
from tests.conftest import MASTER_CONFIRMATION, MASTER_LOGIN_ID, MASTER_PASSWORD, TOKEN_SEED, code_now

BANK = audit.Actor.system("test")


def code_at_step(step: int) -> str:
    return otp.hotp(TOKEN_SEED, step)


def current_step() -> int:
    return otp.time_step(otp.now_seconds(), 60)


def check(token: Token, code: str) -> bool:
    with transaction.atomic():
        return otp.check_code(token, code, actor=BANK).ok


@pytest.fixture
def token(db) -> Token:  # type: ignore[no-untyped-def]
    return tokens.add_to_stock(serial="HW00000009", seed=TOKEN_SEED, actor=BANK, expires_on=date(2030, 4, 30))


def test_r_e1_codes_read_ahead_walk_the_window_only_as_far_as_the_policy_allows(token, clock, caplog):
    caplog.set_level(logging.INFO, logger="corpbank.tokens.otp")
    now = current_step()
    # One step ahead each time, the clock standing still: accepted up to the cap (10 steps).
    for ahead in range(1, 11):
        assert check(token, code_at_step(now + ahead)), ahead
    token.refresh_from_db()
    assert token.drift == 10
    beyond = code_at_step(now + 11)
    assert not check(token, beyond)
    token.refresh_from_db()
    assert token.drift == 10 and token.last_step == now + 10
    # Refused as a wrong code: counted against the token, and audited with the reason.
    assert FailureCounter.objects.get(principal_id=token.principal_id, kind="otp").consecutive_failures == 1
    rejected = AuditEvent.objects.filter(action="secret.rejected").get()
    assert rejected.details["reason"] == "drift_exceeded" and rejected.details["serial"] == "HW00000009"
    # Logged with the serial and the drift, never the code.
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "HW00000009" in warnings[0] and "+11" in warnings[0]
    assert all(beyond not in record.getMessage() for record in caplog.records)
    # Codes up to the last accepted step are spent, so the walk cost the holder at most the cap's
    # ten minutes; then the clock's own step is accepted, and the drift learnt again from it.
    assert not check(token, code_at_step(now + 1))
    clock(11 * 60)
    assert check(token, code_at_step(now + 11))
    token.refresh_from_db()
    assert token.drift == 0


def test_the_cap_is_a_setting_and_never_narrower_than_the_window(token, clock, settings):
    settings.CORPBANK_POLICY_TUNING = {"OTP_MAX_DRIFT_STEPS": 0}
    now = current_step()
    assert check(token, code_at_step(now + 1))  # the window around the clock itself (RFC 6238 §5.2)
    assert not check(token, code_at_step(now + 2))
    settings.CORPBANK_POLICY_TUNING = {"OTP_MAX_DRIFT_STEPS": 3}
    assert check(token, code_at_step(now + 2))
    assert check(token, code_at_step(now + 3))
    assert not check(token, code_at_step(now + 4))


def test_r_e2_an_operation_with_a_code_beyond_the_cap_is_refused_through_the_api(otp_master, clock):
    """Through the HTTP stack: the master's 利用者の追加 asks an OTP (R-E2)."""
    tokens.register_for_user(user=otp_master, serial="HW00000001", code=code_now())
    token = Token.objects.get(serial="HW00000001")
    Token.objects.filter(pk=token.pk).update(drift=10)  # as far as a run of accepted codes may walk it
    api = ApiClient()
    assert api.post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})[0] == 200

    def add(login_id: str, code: str) -> int:
        status, _body = api.post(
            "/users",
            {
                "factors": {"confirmation_password": MASTER_CONFIRMATION, "otp": code},
                "login_id": login_id,
                "name": "一般",
                "login_password": "Init1login",
                "confirmation_password": "Init1conf",
            },
        )
        return status

    assert add("staff001", code_at_step(current_step() + 11)) == 403
    assert FailureCounter.objects.get(principal_id=token.principal_id, kind="otp").consecutive_failures == 1
    assert add("staff001", code_at_step(current_step() + 10)) == 201

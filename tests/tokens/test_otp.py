"""TOTP verification through the one lockout mechanism (R-C4, R-C5, R-E1), seeds sealed at rest."""

from __future__ import annotations

import subprocess
from datetime import date, datetime, timedelta

import pytest
from django.db import DatabaseError, transaction

from corpbank.core import audit
from corpbank.core.errors import ValidationFailed
from corpbank.core.models import AuditEvent
from corpbank.identity.models import FailureCounter, Principal
from corpbank.tokens import otp, seeds
from corpbank.tokens import services as tokens
from corpbank.tokens.models import Token
from tests.conftest import all_at_once

RFC_SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
# RFC 6238 Appendix B: time, then the 8-digit TOTP for SHA-1, SHA-256 and SHA-512 with a 30 s step.
RFC_VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]
SEED = bytes.fromhex("3132333435363738393031323334353637383930")
BANK = audit.Actor.system("test")


@pytest.mark.parametrize("at, sha1, sha256, sha512", RFC_VECTORS)
def test_r_e1_rfc_6238_test_vectors(at, sha1, sha256, sha512):
    for algorithm, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        assert otp.totp(RFC_SEEDS[algorithm], at, step_seconds=30, digits=8, algorithm=algorithm) == expected


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("at", [0, 1_700_000_000, 1_800_000_059, 4_102_444_800])
def test_r_e1_codes_agree_with_oathtool(algorithm, at):
    """An independent implementation: Debian's oathtool, 60-second steps, 6 digits."""
    printed = subprocess.run(
        ["oathtool", f"--totp={algorithm}", "-s", "60s", "-d", "6", "-N", f"@{at}", SEED.hex()],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    assert otp.totp(SEED, at, step_seconds=60, digits=6, algorithm=algorithm) == printed


@pytest.fixture
def token(db) -> Token:
    return tokens.add_to_stock(serial="HW00000001", seed=SEED, actor=BANK, expires_on=date(2030, 4, 30))


def code_at(moment: datetime, token: Token | None = None) -> str:
    return otp.totp(SEED, moment.timestamp(), step_seconds=60, digits=6)


def check(token: Token, code: str):
    with transaction.atomic():
        return otp.check_code(token, code, actor=BANK)


def test_r_e1_a_code_of_the_current_minute_is_accepted_once(token, clock):
    code = code_at(clock())
    assert check(token, code).ok
    assert not check(token, code).ok
    assert AuditEvent.objects.filter(action="secret.spent").count() == 1
    # A replay is refused but not counted against the token.
    assert not FailureCounter.objects.filter(
        principal_id=token.principal_id, consecutive_failures__gt=0
    ).exists()


def test_r_e1_the_next_minute_brings_a_new_code(token, clock):
    assert check(token, code_at(clock())).ok
    assert check(token, code_at(clock(60))).ok


def test_one_step_of_clock_difference_is_tolerated_and_learnt(token, clock):
    ahead = code_at(clock() + timedelta(seconds=60))
    assert check(token, ahead).ok
    token.refresh_from_db()
    assert token.drift == 1
    assert not check(token, code_at(clock() + timedelta(seconds=180))).ok


def test_a_code_two_minutes_old_is_refused(token, clock):
    assert not check(token, code_at(clock() - timedelta(seconds=120))).ok


@pytest.mark.parametrize("code", ["12345", "1234567"])
def test_codes_of_the_wrong_length_are_wrong_codes(token, clock, code):
    assert not check(token, code).ok
    assert FailureCounter.objects.get(principal_id=token.principal_id).consecutive_failures == 1


@pytest.mark.parametrize("code", ["", "abcdef", "12 456", "１２３４５a"])
def test_a_code_that_is_not_digits_is_a_message_on_the_field_not_a_failure(token, clock, code):
    """Issue 12 item 1: what does not fit gets a message; nothing is counted against the token."""
    with pytest.raises(ValidationFailed) as refused:
        check(token, code)
    assert "otp" in refused.value.fields
    assert not FailureCounter.objects.filter(
        principal_id=token.principal_id, consecutive_failures__gt=0
    ).exists()


def test_r_c4_ten_wrong_codes_stop_the_token(token, clock):
    right = code_at(clock())
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(9):
        assert not check(token, wrong).suspended
    assert check(token, wrong).suspended
    assert Principal.objects.get(pk=token.principal_id).is_suspended
    assert not check(token, right).ok  # even the right code, until the bank or the master lifts it


def test_r_c4_the_limit_is_a_setting(token, clock, settings):
    settings.CORPBANK_POLICY_TUNING = {"OTP_MAX_FAILURES": 3}
    for _ in range(2):
        check(token, "000000" if code_at(clock()) != "000000" else "111111")
    assert check(token, "000000" if code_at(clock()) != "000000" else "111111").suspended


def test_r_e4_an_expired_token_is_refused_with_a_clear_message(token):
    problem = otp.usability_problem(token, today=date(2030, 5, 1))
    assert problem is not None and "有効期限（2030/04/30）" in problem.message
    assert otp.usability_problem(token, today=date(2030, 4, 30)) is None


def test_seeds_are_sealed_at_rest_and_bound_to_their_serial(token):
    stored = bytes(Token.objects.get(pk=token.pk).sealed_seed)
    assert SEED not in stored and SEED.hex().encode() not in stored
    assert seeds.unseal(token) == SEED
    token.serial = "HW99999999"  # a sealed seed moved to another row does not open
    with pytest.raises(seeds.SeedUnavailable):
        seeds.unseal(token)


def test_key_rotation_reseals_every_seed_under_the_current_key(token, settings):
    # Seal one under the older key, as if it had been imported before the rotation.
    settings.CORPBANK_SEED_KEYS = ",".join(reversed(settings.CORPBANK_SEED_KEYS.split(",")))
    old = tokens.add_to_stock(serial="HW00000002", seed=SEED, actor=BANK)
    assert old.seed_key_id == "test1"
    settings.CORPBANK_SEED_KEYS = ",".join(reversed(settings.CORPBANK_SEED_KEYS.split(",")))
    assert seeds.rotate_key(actor=BANK) == 1
    old.refresh_from_db()
    assert old.seed_key_id == "test2" and seeds.unseal(old) == SEED


def test_r_e6_the_database_never_lets_a_lost_token_back(token, registered):
    Token.objects.filter(pk=token.pk).update(state=Token.State.LOST, contract=registered.contract)
    with pytest.raises(DatabaseError), transaction.atomic():
        Token.objects.filter(pk=token.pk).update(state=Token.State.IN_USE)


def test_a_duplicate_serial_is_refused(token):
    from corpbank.core.errors import Conflict

    with pytest.raises(Conflict):
        tokens.add_to_stock(serial="HW00000001", seed=SEED, actor=BANK)


def run_parallel(count: int, code: str, token: Token) -> list[bool]:
    def one(_: int) -> bool:
        with transaction.atomic():
            return otp.check_code(token, code, actor=BANK).ok

    return all_at_once(count, one)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_c5_fifty_parallel_submissions_of_one_valid_code_accept_exactly_one():
    token = tokens.add_to_stock(serial="HW00000050", seed=SEED, actor=BANK)
    code = otp.totp(SEED, otp.now_seconds())
    results = run_parallel(50, code, token)
    # If the minute turned during the run the code may belong to the previous step: still one.
    assert results.count(True) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_c5_fifty_parallel_wrong_codes_count_exactly_the_allowed():
    token = tokens.add_to_stock(serial="HW00000051", seed=SEED, actor=BANK)
    now = otp.now_seconds()
    valid = {otp.totp(SEED, now + offset) for offset in (-120, -60, 0, 60, 120)}
    wrong = next(candidate for candidate in ("000000", "111111", "222222") if candidate not in valid)
    results = run_parallel(50, wrong, token)
    assert results.count(True) == 0
    assert AuditEvent.objects.filter(action="secret.rejected", details__serial="HW00000051").count() == 10
    assert AuditEvent.objects.filter(action="secret.refused_while_locked").count() == 40
    assert Principal.objects.get(pk=token.principal_id).is_suspended

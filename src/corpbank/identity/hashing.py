"""Argon2id for every stored secret (R-B5), with OWASP's parameters: m = 19 MiB, t = 2, p = 1."""

from __future__ import annotations

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

HASHER = argon2.PasswordHasher(
    time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=argon2.Type.ID
)
# Verified against when there is nothing to verify (an unknown login ID), so that the answer takes as
# long as a real check and its timing does not tell whether the login ID exists (R-C6).
_EQUALISER = "corpbank-timing-equaliser"
_DUMMY_HASH = HASHER.hash(_EQUALISER)


def use_hasher(hasher: argon2.PasswordHasher) -> argon2.PasswordHasher:
    """Hash and verify with ``hasher`` from now on; return the one in use until now. The unknown-login-ID
    equaliser follows it, so that it still costs what a real check costs (R-C6). For the test suite's
    cheap parameters: the running bank keeps OWASP's above."""
    global HASHER, _DUMMY_HASH
    previous = HASHER
    HASHER, _DUMMY_HASH = hasher, hasher.hash(_EQUALISER)
    return previous


def hash_secret(secret: str) -> str:
    return HASHER.hash(secret)


def verify_hash(stored_hash: str | None, candidate: str) -> bool:
    if stored_hash is None:
        verify_nothing(candidate)
        return False
    try:
        return HASHER.verify(stored_hash, candidate)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_nothing(candidate: str) -> None:
    try:
        HASHER.verify(_DUMMY_HASH, candidate)
    except VerifyMismatchError:
        pass


def needs_rehash(stored_hash: str) -> bool:
    return HASHER.check_needs_rehash(stored_hash)

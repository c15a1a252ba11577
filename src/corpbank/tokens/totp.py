"""TOTP per RFC 6238 on HOTP per RFC 4226, computed by `cryptography`. Pure: no Django, so that the
reference phone app (``corpbank softtoken``) can use it without the bank's settings."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.twofactor.hotp import HOTP


def _hash(algorithm: str) -> hashes.SHA1 | hashes.SHA256 | hashes.SHA512:
    algorithm = algorithm.lower()
    if algorithm == "sha256":
        return hashes.SHA256()
    if algorithm == "sha512":
        return hashes.SHA512()
    if algorithm == "sha1":
        return hashes.SHA1()  # noqa: S303 - HOTP's HMAC-SHA1 (RFC 4226), not a signature
    raise ValueError(f"unknown OTP algorithm {algorithm!r}")


def hotp(seed: bytes, counter: int, *, digits: int = 6, algorithm: str = "sha1") -> str:
    # RFC 4226 allows 128-bit seeds; cryptography insists on 160 unless told not to.
    return HOTP(seed, digits, _hash(algorithm), enforce_key_length=False).generate(counter).decode()


def time_step(at: float, step_seconds: int) -> int:
    return int(at // step_seconds)


def totp(seed: bytes, at: float, *, step_seconds: int = 60, digits: int = 6, algorithm: str = "sha1") -> str:
    return hotp(seed, time_step(at, step_seconds), digits=digits, algorithm=algorithm)

"""Token seeds sealed at rest with AES-256-GCM (`cryptography`), under keys from settings.

Nobody reads a seed back through the UI or the API: only OTP verification (services/otp.py), the
software token's one-time provisioning, and key rotation open one."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction

from corpbank.core import audit, keys
from corpbank.core.keys import Keyring
from corpbank.tokens.models import Token

NONCE_BYTES = 12


def keyring() -> Keyring:
    return keys.parse("CORPBANK_SEED_KEYS", settings.CORPBANK_SEED_KEYS)


def _associated_data(serial: str) -> bytes:
    return b"corpbank-token-seed:" + serial.encode()


def seal(seed: bytes, *, serial: str) -> tuple[str, bytes]:
    """(key id, nonce + ciphertext) for a seed, bound to the token's serial."""
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.keys[ring.current_id]).encrypt(nonce, seed, _associated_data(serial))
    return ring.current_id, nonce + sealed


class SeedUnavailable(Exception):
    """The seed's key is not configured, or the sealed seed was altered or moved to another token."""


def unseal(token: Token) -> bytes:
    return open_sealed(token.seed_key_id, bytes(token.sealed_seed), serial=token.serial)


def open_sealed(key_id: str, blob: bytes, *, serial: str) -> bytes:
    """A seed sealed by :func:`seal` for ``serial``: a token's serial, or the name another holder's
    seed is bound to (an operator's second factor)."""
    key = keyring().keys.get(key_id)
    if key is None:
        raise SeedUnavailable(f"no key {key_id!r} for the seed of {serial}")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(serial))
    except InvalidTag as error:
        raise SeedUnavailable(f"the sealed seed of {serial} does not open") from error


def rotate_key(*, actor: audit.Actor, batch: int = 500) -> int:
    """Re-seal every seed not under the current key; one transaction a batch. Returns how many."""
    ring = keyring()
    moved = 0
    while True:
        with transaction.atomic(durable=True):
            tokens = list(
                Token.objects.select_for_update().exclude(seed_key_id=ring.current_id).order_by("pk")[:batch]
            )
            if not tokens:
                return moved
            for token in tokens:
                key_id, sealed = seal(unseal(token), serial=token.serial)
                Token.objects.filter(pk=token.pk).update(seed_key_id=key_id, sealed_seed=sealed)
            moved += len(tokens)
            audit.record(
                "tokens.seed_key_rotated", actor=actor, details={"tokens": len(tokens), "to": ring.current_id}
            )

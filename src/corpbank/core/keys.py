"""Keyrings kept off the database: "key-id:base64-of-32-bytes" entries separated by commas, from a
setting (the environment, or a file under CORPBANK_VAR_DIR in production). The first key is the
current one; the others only check or open what older keys sealed. Token seeds (tokens/seeds.py) and
the audit chain (core/audit.py) each have their own ring."""

from __future__ import annotations

import base64
import dataclasses
import functools

from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32


@dataclasses.dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: dict[str, bytes]

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]


@functools.cache
def parse(setting: str, configured: str) -> Keyring:
    """The ring that ``configured`` (the value of ``setting``, named in messages) describes."""
    keys: dict[str, bytes] = {}
    order = []
    for entry in configured.split(","):
        key_id, _, encoded = entry.strip().partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError as error:
            raise ImproperlyConfigured(f"{setting}: key {key_id!r} is not base64") from error
        if not key_id or len(key) != KEY_BYTES:
            raise ImproperlyConfigured(f"{setting} entries are 'key-id:base64 of 32 random bytes'")
        keys[key_id] = key
        order.append(key_id)
    return Keyring(order[0], keys)

"""corpbank's WSGI application as bench/login.py serves it: unchanged, except that each worker adds up
the CPU time its threads spend in Argon2id verifications and keeps the running total in a file named
after its pid under BENCH_HASH_DIR. bench/login.py (common.hash_seconds) then says how much of the
server's CPU was the hash itself, a figure measured inside the same requests and so free of the
machine's drift.

Served as ``hashtime:application`` with bench/ on PYTHONPATH; the cost is two clock reads and one
small pwrite per verification."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from corpbank.identity import hashing
from corpbank.wsgi import application

__all__ = ["application"]


class _TimedHasher:
    """The service layer's Argon2id hasher, with the CPU time of each verification added up."""

    def __init__(self, hasher: Any) -> None:
        self._hasher = hasher
        self._lock = threading.Lock()
        self._seconds = 0.0
        self._file: int | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hasher, name)

    def verify(self, stored: str, candidate: str) -> bool:
        started = time.thread_time()
        try:
            return bool(self._hasher.verify(stored, candidate))
        finally:
            spent = time.thread_time() - started
            with self._lock:
                self._seconds += spent
                if self._file is None:  # opened in the worker, after the fork
                    path = Path(os.environ["BENCH_HASH_DIR"]) / str(os.getpid())
                    self._file = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
                os.pwrite(self._file, f"{self._seconds:20.6f}\n".encode(), 0)


hashing.HASHER = _TimedHasher(hashing.HASHER)  # type: ignore[assignment]

"""Shared by the benchmarks: a production server (gunicorn) on a fresh database, on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

BIN = Path(sys.executable).parent
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/corpbank_bench"


def fresh_database_url() -> str:
    """BENCH_DATABASE_URL, or a new PostgreSQL database corpbank_bench (production's engine)."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    if url.startswith("postgres"):
        import psycopg

        name = url.rsplit("/", 1)[1]
        admin = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin.replace("postgres://", "postgresql://"), autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {name}")
    return url


def environment(database_url: str, var_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CORPBANK_VAR_DIR": var_dir,
        "CORPBANK_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijkl",
        "CORPBANK_SEED_KEYS": os.environ.get("CORPBANK_SEED_KEYS", "t:" + "A" * 43 + "="),
        "CORPBANK_DEBUG": "0",
        "CORPBANK_INSECURE_HTTP": "1",  # the benchmark's server is plain http://127.0.0.1
        "CORPBANK_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",  # notices go nowhere
        "DJANGO_SETTINGS_MODULE": "corpbank.settings",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def production_server(
    env: dict[str, str], *, workers: int, threads: int, app: str = "corpbank.wsgi"
) -> Iterator[ServerHandle]:
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                app,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--worker-class",
                os.environ.get("BENCH_WORKER_CLASS", "gthread"),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/login", timeout=2):  # noqa: S310 - loopback only
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    log.seek(0)
                    raise RuntimeError(f"server did not start: {log.read()}") from None
                time.sleep(0.2)
        try:
            yield ServerHandle(base, process.pid)  # type: ignore[misc]
        finally:
            process.terminate()
            process.wait(timeout=30)


class ServerHandle(str):
    """The server's base URL, which also knows the server's processes."""

    def __new__(cls, base: str, master_pid: int) -> ServerHandle:
        handle = super().__new__(cls, base)
        handle.master_pid = master_pid  # type: ignore[attr-defined]
        return handle

    def cpu_seconds(self) -> float:
        """User and system CPU time used so far by the gunicorn master and its workers (Linux /proc)."""
        ticks = os.sysconf("SC_CLK_TCK")
        pids = [self.master_pid]  # type: ignore[attr-defined]
        children = Path(f"/proc/{pids[0]}/task/{pids[0]}/children")
        if children.exists():
            pids += [int(pid) for pid in children.read_text().split()]
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks


def hash_seconds(directory: str) -> float:
    """The CPU seconds the workers of a ``hashtime:application`` server have spent in Argon2id."""
    total = 0.0
    for path in Path(directory).iterdir():
        text = path.read_text().strip()
        total += float(text) if text else 0.0
    return total


def corpbank(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "corpbank"), *args], env=env, check=True, capture_output=True, timeout=600)

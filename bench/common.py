"""Shared by the benchmarks: a production server (gunicorn) on a fresh database, on 127.0.0.1 only."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

BIN = Path(sys.executable).parent
C = TypeVar("C")
DEFAULT_SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")


def parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark takes; each adds its own."""
    options = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument(
        "--postgres",
        default=DEFAULT_SERVER,
        help="the PostgreSQL server (a URL without a database, or with one: it is ignored); the benchmark "
        "creates a database of its own there, with a name no other run uses, and drops only that one "
        "(default: %(default)s, or BENCH_POSTGRES)",
    )
    options.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gunicorn workers")
    options.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker")
    return options


@contextlib.contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """A new database on the PostgreSQL server, named for this run alone (corpbank_bench_<pid>_<random>),
    and dropped at the end, whatever happens: a benchmark never drops a database it did not create."""
    import psycopg

    parts = urllib.parse.urlsplit(server.replace("postgresql://", "postgres://", 1))
    name = f"corpbank_bench_{os.getpid()}_{secrets.token_hex(4)}"
    admin = urllib.parse.urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield urllib.parse.urlunsplit(("postgres", parts.netloc, f"/{name}", "", ""))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            # Ours alone; WITH (FORCE) ends the server's connections to it that are still open.
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def verdict(passed: bool, summary: str) -> int:
    """The last line of every benchmark: PASS or FAIL and what was compared; the exit status follows."""
    print(f"{'PASS' if passed else 'FAIL'}: {summary}")
    return 0 if passed else 1


def environment(database_url: str, var_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CORPBANK_VAR_DIR": var_dir,
        "CORPBANK_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijkl",
        "CORPBANK_SEED_KEYS": os.environ.get("CORPBANK_SEED_KEYS", "t:" + "A" * 43 + "="),
        "CORPBANK_AUDIT_KEYS": os.environ.get("CORPBANK_AUDIT_KEYS", "a:" + "B" * 43 + "="),
        "CORPBANK_DEBUG": "0",
        "CORPBANK_INSECURE_HTTP": "1",  # the benchmark's server is plain http://127.0.0.1
        "CORPBANK_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",  # notices go nowhere
        "DJANGO_SETTINGS_MODULE": "corpbank.settings",
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerDidNotStart(RuntimeError):
    """The server exited, or did not answer in time; the message ends with its log."""


@contextlib.contextmanager
def production_server(
    env: dict[str, str],
    *,
    workers: int,
    threads: int,
    app: str = "corpbank.wsgi",
    gunicorn: Path = BIN / "gunicorn",
    ready: str = "/login",
    start_seconds: float = 60,
) -> Iterator[ServerHandle]:
    """``app`` served by ``gunicorn`` (corpbank's by default; a peer's from its own virtualenv) on a free
    port of 127.0.0.1, once GET ``ready`` answers; stopped at the end."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [
                str(gunicorn),
                app,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--worker-class",
                os.environ.get("BENCH_WORKER_CLASS", "gthread"),
                # gunicorn's control socket is one path per user: a second server would share it.
                "--no-control-socket",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                with urllib.request.urlopen(f"{base}{ready}", timeout=5):  # noqa: S310 - loopback only
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    log.seek(0)
                    raise ServerDidNotStart(f"{app} did not start: {log.read()[-3000:]}") from None
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


@dataclasses.dataclass(frozen=True)
class Load:
    """What ``closed_loop`` measured: each attempt's latency (seconds), the failures, the wall-clock
    duration and the server's CPU-seconds over it."""

    latencies: list[float]
    failures: int
    seconds: float
    server_cpu: float


def closed_loop(
    server: ServerHandle, clients: list[C], attempt: Callable[[C], bool], *, seconds: float, budget: int
) -> Load:
    """Each client, in a thread of its own, makes ``attempt``s back to back (each True when it
    succeeded) until ``seconds`` have passed or ``budget`` attempts have been made by them all: bounded
    in time and in count. The server's CPU is read before the first and after the last."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    left = [budget]
    stop_at = time.perf_counter() + seconds

    def work(client: C) -> None:
        nonlocal failures
        while time.perf_counter() < stop_at:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            started = time.perf_counter()
            ok = attempt(client)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                failures += not ok

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    cpu_before, started = server.cpu_seconds(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return Load(latencies, failures, time.perf_counter() - started, server.cpu_seconds() - cpu_before)

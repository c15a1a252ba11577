"""Logins per second over real HTTP against the production server (gunicorn, PostgreSQL), at
concurrency 1, 2 and 4, beside the raw Argon2id verify rate measured in the same run.

Limit: per core used, the login rate is at least 0.8 of the raw verify rate (a login is one Argon2id
verification plus its row lock, audit events and session; the rest must stay small).

Each client logs in as its own user (parallel logins of one user are serialised by design, R-C5).
Traffic goes to 127.0.0.1 only; every level is bounded in time and in count and stops by itself."""

from __future__ import annotations

import http.client
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import corpbank, environment, fresh_database_url, production_server

LIMIT = 0.8
SECONDS_PER_LEVEL = float(os.environ.get("BENCH_SECONDS", "8"))
MAX_LOGINS_PER_LEVEL = 5000
LEVELS = (1, 2, 4)
PASSWORD = "Bench1pass"
CORES = os.cpu_count() or 1


def raw_verify_rate(seconds: float = 3.0) -> float:
    from corpbank.services.hashing import HASHER

    stored = HASHER.hash(PASSWORD)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        HASHER.verify(stored, PASSWORD)
        count += 1
    return count / (time.perf_counter() - started)


def create_users(env: dict[str, str], count: int) -> list[str]:
    """Bench users with known passwords, made through the services in a child process."""
    script = f"""
from corpbank.models import CustomerUser, Principal, Contract, SecretKind
from corpbank.services.credentials import store_secret
contract = Contract.objects.get()
for index in range({count}):
    principal = Principal.objects.create(kind="customer_user")
    user = CustomerUser.objects.create(contract=contract, principal=principal, role="general",
                                       login_id=f"bench{{index:03d}}", name="bench")
    store_secret(principal_id=principal.pk, kind=SecretKind.LOGIN_PASSWORD, plain="{PASSWORD}")
    store_secret(principal_id=principal.pk, kind=SecretKind.CONFIRMATION_PASSWORD, plain="Other1pass")
"""
    corpbank(env, "shell", "-c", script)
    return [f"bench{index:03d}" for index in range(count)]


class Client:
    """One keep-alive HTTP connection with its own cookies, logging in over and over."""

    def __init__(self, base: str, login_id: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.login_id = login_id
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict[str, str] | None = None) -> int:
        headers = {"Content-Type": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        self.connection.request(method, path, body=json.dumps(body) if body else None, headers=headers)
        response = self.connection.getresponse()
        response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            match = re.match(r"([^=]+)=([^;]*)", header)
            if match:
                self.cookies[match.group(1)] = match.group(2)
        return response.status

    def log_in(self) -> bool:
        # A login comes from a browser without a session: forget the previous one.
        self.cookies.pop("sessionid", None)
        return (
            self.request("POST", "/api/v1/auth/login", {"login_id": self.login_id, "password": PASSWORD})
            == 200
        )


def run_level(base: str, users: list[str], concurrency: int) -> tuple[float, float, int]:
    clients = [Client(base, login_id) for login_id in users[:concurrency]]
    for client in clients:
        client.request("GET", "/api/v1/csrf")
        client.log_in()  # warm up: connection, worker, caches
    stop_at = time.perf_counter() + SECONDS_PER_LEVEL
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    budget = [MAX_LOGINS_PER_LEVEL]

    def work(client: Client) -> None:
        nonlocal failures
        while time.perf_counter() < stop_at:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            started = time.perf_counter()
            ok = client.log_in()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                failures += not ok

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS_PER_LEVEL + 60)
    duration = time.perf_counter() - started
    return len(latencies) / duration, statistics.median(latencies) * 1000, failures


def main() -> int:
    os.environ.setdefault("CORPBANK_SECRET_KEY", "bench-secret-key-0123456789-abcdefghijkl")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corpbank.settings")
    import django

    django.setup()
    with tempfile.TemporaryDirectory() as var_dir:
        env = environment(fresh_database_url(), var_dir)
        corpbank(env, "migrate", "--noinput", "-v", "0")
        corpbank(env, "loaddemo")
        users = create_users(env, max(LEVELS))
        raw_before = raw_verify_rate()
        print(f"bench/login.py — {CORES} cores, database {env['DATABASE_URL'].split('@')[-1]}")
        results = []
        with production_server(env, workers=CORES, threads=2) as base:
            for concurrency in LEVELS:
                rate, median_ms, failures = run_level(base, users, concurrency)
                results.append((concurrency, rate, median_ms))
                if failures:
                    print(f"{failures} logins failed at concurrency {concurrency}")
                    return 1
        # The machine's speed drifts: the raw rate is the mean of one measurement before and one after.
        raw = (raw_before + raw_verify_rate()) / 2
        print(
            f"raw Argon2id verify rate (one core, m=19 MiB, t=2, p=1): {raw:.1f}/s "
            f"(before {raw_before:.1f}/s)"
        )
        print(
            f"{'concurrency':>11} {'logins/s':>9} {'median ms':>9} {'cores used':>10} {'per core':>9} "
            f"{'ratio':>6} {'limit':>6}"
        )
        worst = float("inf")
        for concurrency, rate, median_ms in results:
            cores_used = min(concurrency, CORES)
            ratio = rate / cores_used / raw
            worst = min(worst, ratio)
            verdict = "ok" if ratio >= LIMIT else "BELOW"
            print(
                f"{concurrency:>11} {rate:>9.1f} {median_ms:>9.1f} {cores_used:>10} "
                f"{rate / cores_used:>9.1f} {ratio:>6.2f} {LIMIT:>6.2f} {verdict}"
            )
        print(f"worst ratio {worst:.2f} against the limit {LIMIT} ({worst / LIMIT:.2f} of it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

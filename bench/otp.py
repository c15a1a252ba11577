"""OTP verifications per second through the service layer and over HTTP (the token registration
endpoint, gunicorn on PostgreSQL), beside the raw TOTP computation rate measured in the same run.

Every verification is of a valid, unused code (a token accepts one code per 60-second step), so each
one walks the whole path: the token principal's row lock, the sealed seed opened, the code compared,
the step recorded, the audit event written. Traffic goes to 127.0.0.1 only; counts are bounded."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import corpbank, environment, fresh_database_url, production_server
from login import ANSWER, Client, create_users

SERVICE_TOKENS = int(os.environ.get("BENCH_OTP_TOKENS", "1000"))
HTTP_USERS = int(os.environ.get("BENCH_OTP_USERS", "200"))


def seed_for(index: int) -> bytes:
    return f"bench-token-seed-{index:08d}".encode()


def raw_totp_rate(seconds: float = 2.0) -> float:
    from corpbank.tokens import otp

    seed, count, started = seed_for(0), 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        otp.totp(seed, time.time())
        count += 1
    return count / (time.perf_counter() - started)


def stock(count: int, prefix: str) -> list[str]:
    from corpbank.core import audit
    from corpbank.tokens import services as tokens

    actor = audit.Actor.system("bench")
    serials = [f"{prefix}{index:07d}" for index in range(count)]
    for index, serial in enumerate(serials):
        tokens.add_to_stock(serial=serial, seed=seed_for(index), actor=actor)
    return serials


def service_rate(serials: list[str]) -> tuple[float, int]:
    from django.db import transaction

    from corpbank.core import audit
    from corpbank.tokens import otp
    from corpbank.tokens.models import Token

    actor = audit.Actor.system("bench")
    by_serial = {token.serial: token for token in Token.objects.filter(serial__in=serials)}
    accepted, started = 0, time.perf_counter()
    for index, serial in enumerate(serials):
        with transaction.atomic():
            accepted += otp.check_code(
                by_serial[serial], otp.totp(seed_for(index), time.time()), actor=actor
            ).ok
    return len(serials) / (time.perf_counter() - started), accepted


# Each user's first login is asked a secret question (the users have them, R-D1) and its answer makes the
# environment recognised; later logins send that environment's cookie (R-D2).
DEVICE_COOKIES: dict[str, str] = {}


def http_rate(base: str, users: list[str], serials: list[str], concurrency: int) -> tuple[float, int]:
    from corpbank.tokens import otp

    clients = [Client(base, login_id) for login_id in users]
    for client in clients:  # setup, not timed: one login each
        client.request("GET", "/api/v1/csrf")
        if client.login_id in DEVICE_COOKIES:
            client.cookies["corpbank_device"] = DEVICE_COOKIES[client.login_id]
        if not client.log_in():
            answered = client.request("POST", "/api/v1/auth/additional-auth", {"answer": ANSWER})
            if answered != 200:
                raise RuntimeError(f"bench user {client.login_id} could not log in")
            DEVICE_COOKIES[client.login_id] = client.cookies["corpbank_device"]
        client.connection.close()
    work = list(enumerate(zip(clients, serials, strict=True)))
    lock, accepted, done = threading.Lock(), [0], [0]

    def run() -> None:
        # One keep-alive connection per load thread, carrying each user's own cookies in turn.
        connection = Client(base, "").connection
        while True:
            with lock:
                if not work:
                    return
                index, (client, serial) = work.pop()
            client.connection = connection
            code = otp.totp(seed_for(index), time.time())
            status = client.request("POST", "/api/v1/me/token-registration", {"serial": serial, "otp": code})
            with lock:
                accepted[0] += status == 204
                done[0] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return done[0] / (time.perf_counter() - started), accepted[0]


def main() -> int:
    with tempfile.TemporaryDirectory() as var_dir:
        env = environment(fresh_database_url(), var_dir)
        corpbank(env, "migrate", "--noinput", "-v", "0")
        corpbank(env, "loaddemo")
        os.environ.update(
            {
                key: env[key]
                for key in ("DATABASE_URL", "CORPBANK_SECRET_KEY", "CORPBANK_SEED_KEYS", "CORPBANK_VAR_DIR")
            }
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corpbank.settings")
        import django

        django.setup()
        from corpbank.organizations.models import Contract
        from corpbank.tokens.models import Token

        raw = raw_totp_rate()
        print(f"bench/otp.py — {os.cpu_count()} cores, database {env['DATABASE_URL'].split('@')[-1]}")
        print(f"raw TOTP computation rate (HMAC-SHA1, one core): {raw:,.0f}/s")
        rate, accepted = service_rate(stock(SERVICE_TOKENS, "SVC"))
        print(
            f"service layer, one thread: {rate:,.1f} verifications/s ({accepted}/{SERVICE_TOKENS} accepted), "
            f"{rate / raw:.4f} of the raw rate"
        )
        users = create_users(env, HTTP_USERS)
        for concurrency, prefix in ((1, "HTA"), (2, "HTB")):
            serials = stock(HTTP_USERS, prefix)
            Token.objects.filter(serial__in=serials).update(
                state=Token.State.SHIPPED, contract=Contract.objects.get(users__login_id="master01")
            )
            with production_server(env, workers=os.cpu_count() or 1, threads=2) as base:
                rate, accepted = http_rate(base, users, serials, concurrency)
            print(
                f"HTTP (token registration), concurrency {concurrency}: {rate:,.1f} verifications/s "
                f"({accepted}/{HTTP_USERS} accepted), {rate / raw:.4f} of the raw rate"
            )
            if accepted != HTTP_USERS:
                print("some registrations were refused: the figure above does not measure verifications")
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

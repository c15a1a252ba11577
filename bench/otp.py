"""OTP verifications per second through the service layer and over HTTP (the token registration
endpoint, gunicorn on PostgreSQL) at 1, 4 and 8 clients, beside the raw TOTP computation rate measured
in the same run.

Every verification is of a valid, unused code (a token accepts one code per 60-second step), so each
one walks the whole path: the token principal's row lock, the sealed seed opened, the code compared,
the step recorded, the audit event written. Traffic goes to 127.0.0.1 only; counts are bounded.

Limit (issue 13): an audited write must not queue behind every other one, so the rate at the most
clients is at least 1.5 times the rate at one client. The last line says PASS or FAIL, and the exit
status with it. The comparison with privacyIDEA (5 times its rate at 1, 4 and 8 clients) needs
bench/peers/, which is not built yet: it is not claimed here."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import corpbank, environment, fresh_database, parser, production_server, verdict
from login import ANSWER, Client, create_users

SCALING_LIMIT = 1.5


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
    options = parser(__doc__ or "")
    options.add_argument("--tokens", type=int, default=1000, help="verifications through the service layer")
    options.add_argument("--users", type=int, default=200, help="verifications over HTTP at each level")
    options.add_argument(
        "--levels", type=int, nargs="+", default=[1, 4, 8], help="the concurrencies, clients at once"
    )
    arguments = options.parse_args()
    levels = sorted(set(arguments.levels))
    with tempfile.TemporaryDirectory() as var_dir, fresh_database(arguments.postgres) as database_url:
        env = environment(database_url, var_dir)
        corpbank(env, "migrate", "--noinput", "-v", "0")
        corpbank(env, "loaddemo")
        os.environ.update(
            {
                key: env[key]
                for key in (
                    "DATABASE_URL",
                    "CORPBANK_SECRET_KEY",
                    "CORPBANK_SEED_KEYS",
                    "CORPBANK_AUDIT_KEYS",
                    "CORPBANK_VAR_DIR",
                    "CORPBANK_INSECURE_HTTP",
                )
            }
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corpbank.settings")
        import django

        django.setup()
        from django.db import connections

        from corpbank.organizations.models import Contract
        from corpbank.tokens.models import Token

        raw = raw_totp_rate()
        print(f"bench/otp.py — {os.cpu_count()} cores, database {database_url.split('@')[-1]}")
        print(f"raw TOTP computation rate (HMAC-SHA1, one core): {raw:,.0f}/s")
        rate, accepted = service_rate(stock(arguments.tokens, "SVC"))
        print(
            f"service layer, one thread: {rate:,.1f} verifications/s ({accepted}/{arguments.tokens} "
            f"accepted), {rate / raw:.4f} of the raw rate"
        )
        users = create_users(env, arguments.users)
        rates: dict[int, float] = {}
        for level, concurrency in enumerate(levels):
            serials = stock(arguments.users, f"HT{level}")
            Token.objects.filter(serial__in=serials).update(
                state=Token.State.SHIPPED, contract=Contract.objects.get(users__login_id="master01")
            )
            with production_server(env, workers=arguments.workers, threads=arguments.threads) as base:
                rate, accepted = http_rate(base, users, serials, concurrency)
            print(
                f"HTTP (token registration), concurrency {concurrency}: {rate:,.1f} verifications/s "
                f"({accepted}/{arguments.users} accepted), {rate / raw:.4f} of the raw rate"
            )
            if accepted != arguments.users:
                return verdict(
                    False, "some registrations were refused: the figures do not measure verifications"
                )
            rates[concurrency] = rate
        connections.close_all()  # before the database is dropped
    scaling = rates[levels[-1]] / rates[levels[0]]
    return verdict(
        scaling >= SCALING_LIMIT,
        f"audited writes at {levels[-1]} clients are {scaling:.2f} times the rate at {levels[0]}, limit "
        f"{SCALING_LIMIT} ({scaling / SCALING_LIMIT:.2f} of it)",
    )


if __name__ == "__main__":
    sys.exit(main())

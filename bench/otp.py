"""OTP verifications per second through the service layer and over HTTP at 1, 4 and 8 clients, for
corpbank (the token registration endpoint) and for privacyIDEA 3.14 (``POST /validate/check``), both on
gunicorn and PostgreSQL, in the same run, beside the raw TOTP computation rate.

Every verification is of a valid, unused code, so each one walks the whole path. In corpbank (a token
accepts one code per 60-second step, so every request registers a fresh token shipped to the contract):
the token principal's row lock, the sealed seed opened, the code compared, the step recorded, the
registration and its audit event written. In privacyIDEA (HOTP, each client its own token, the codes
in counter order): the token read, its seed decrypted, the code compared, the counter stored, its
signed audit row written.

How the comparison is kept fair (privacyIDEA's side is set up by bench/peers/privacyidea.py):
- same machine, same PostgreSQL server, each system on a new database of its own;
- same gunicorn (version, worker class, --workers, --threads), both servers up for the whole run, on
  127.0.0.1; the one not being measured is idle;
- the same load generator (``load``): N threads, each with one keep-alive HTTP connection, its own
  users or token, one JSON POST after another until the time or count bound; codes computed with
  corpbank's own RFC 4226/6238 function; only accepted verifications count (corpbank: 204; privacyIDEA:
  200 with result.value true), and any refusal makes the run FAIL, so a refused request never inflates
  a rate;
- privacyIDEA's defaults (its production configuration, its SQL audit with signed rows, signed
  responses), with its log level lowered to errors;
- a warm-up for both before anything is measured; rounds that alternate which system goes first at
  each level; the verdict on the medians of the rounds. Server CPU per verification (from /proc) is
  printed for both.

Limits (issue 13): corpbank verifies at least 5 times as many OTPs per second as privacyIDEA at each of
1, 4 and 8 clients; and an audited write must not queue behind every other one, so corpbank's rate at
the most clients is at least 1.5 times its rate at one client. If privacyIDEA cannot be installed or
started the run says why and FAILs (``--peer none`` leaves the comparison out, and says so). The last
line says PASS or FAIL, and the exit status with it. Traffic goes to 127.0.0.1 only; every measurement
is bounded in time and in count."""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ServerHandle,
    closed_loop,
    corpbank,
    environment,
    fresh_database,
    parser,
    production_server,
    verdict,
)
from login import ANSWER, Client, create_users
from peers import privacyidea

SCALING_LIMIT = 1.5
PEER_LIMIT = 5.0
PEER_SEEDS = 90_000_000  # the privacyIDEA tokens' seeds, apart from corpbank's


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


@dataclasses.dataclass(frozen=True)
class Measurement:
    rate: float  # accepted verifications per wall-clock second
    accepted: int
    refused: int  # anything else: a refusal, an error status, a false result
    median_ms: float
    cpu_ms: float  # the server's CPU time per accepted verification


# One attempt: (load thread, that thread's attempt number, its connection) -> accepted?
Attempt = Callable[[int, int, http.client.HTTPConnection], bool]


@dataclasses.dataclass
class LoadThread:
    """One thread of the load: its index, its own keep-alive connection, how many attempts it made."""

    index: int
    connection: http.client.HTTPConnection
    number: int = 0


def load(
    server: ServerHandle, concurrency: int, seconds: float, budget: int, attempt: Attempt
) -> Measurement:
    """The one load generator for both systems (common.closed_loop): ``concurrency`` threads, each on
    its own keep-alive connection, one request after another until ``seconds`` have passed or
    ``budget`` requests have been made in all."""
    host, port = server.removeprefix("http://").split(":")
    threads = [
        LoadThread(index, http.client.HTTPConnection(host, int(port), timeout=30))
        for index in range(concurrency)
    ]

    def one(thread: LoadThread) -> bool:
        thread.number += 1
        return attempt(thread.index, thread.number - 1, thread.connection)

    done = closed_loop(server, threads, one, seconds=seconds, budget=budget)
    for thread in threads:
        thread.connection.close()
    accepted = len(done.latencies) - done.failures
    return Measurement(
        rate=accepted / done.seconds,
        accepted=accepted,
        refused=done.failures,
        median_ms=statistics.median(done.latencies) * 1000 if done.latencies else float("nan"),
        cpu_ms=done.server_cpu / accepted * 1000 if accepted else float("nan"),
    )


def signed_in(base: str, users: list[str]) -> list[Client]:
    """Each bench user logged in once (setup, not timed): the first login answers the secret question
    (the users have them, R-D1); the session then registers token after token."""
    clients = [Client(base, login_id) for login_id in users]
    for client in clients:
        client.request("GET", "/api/v1/csrf")
        if not client.log_in():
            answered = client.request("POST", "/api/v1/auth/additional-auth", {"answer": ANSWER})
            if answered != 200:
                raise RuntimeError(f"bench user {client.login_id} could not log in")
        client.connection.close()
    return clients


class Corpbank:
    """corpbank's side: tokens shipped to the contract, each registered once by one of the thread's own
    users with the code it shows now."""

    def __init__(self, base: ServerHandle, users: list[str]) -> None:
        self.server = base
        self.clients = signed_in(base, users)
        self.batches = 0

    def attempt_for(self, count: int, concurrency: int) -> Attempt:
        from corpbank.core import audit
        from corpbank.organizations.models import Contract
        from corpbank.tokens import otp
        from corpbank.tokens.models import Token

        serials = stock(count, f"HT{self.batches:03d}")
        self.batches += 1
        Token.objects.filter(serial__in=serials).update(
            state=Token.State.SHIPPED, contract=Contract.objects.get(users__login_id="master01")
        )
        # The bench process's own audit events (the stocking) sealed now, not during the measurement.
        audit.sealer.drain()
        pool = list(enumerate(serials))
        lock = threading.Lock()

        def attempt(thread: int, number: int, connection: http.client.HTTPConnection) -> bool:
            own = self.clients[thread::concurrency]
            client = own[number % len(own)]
            with lock:
                index, serial = pool.pop()
            client.connection = connection
            code = otp.totp(seed_for(index), time.time())
            return (
                client.request("POST", "/api/v1/me/token-registration", {"serial": serial, "otp": code})
                == 204
            )

        return attempt


class PrivacyIdea:
    """privacyIDEA's side: load thread N uses token N, its codes in counter order (HOTP)."""

    def __init__(self, peer: privacyidea.Peer) -> None:
        self.server = peer.server
        self.serials = peer.serials
        self.counters = [0] * len(peer.serials)

    def attempt_for(self, count: int, concurrency: int) -> Attempt:
        from corpbank.tokens.totp import hotp

        def attempt(thread: int, number: int, connection: http.client.HTTPConnection) -> bool:
            counter = self.counters[thread]
            # The next code whatever the answer: privacyIDEA looks ahead 10 codes (its default window).
            self.counters[thread] += 1
            code = hotp(seed_for(PEER_SEEDS + thread), counter)
            return privacyidea.validate_check(connection, self.serials[thread], code)

        return attempt


def measure(system: Corpbank | PrivacyIdea, concurrency: int, seconds: float, budget: int) -> Measurement:
    return load(system.server, concurrency, seconds, budget, system.attempt_for(budget, concurrency))


def main() -> int:
    options = parser(__doc__ or "")
    options.add_argument("--tokens", type=int, default=1000, help="verifications through the service layer")
    options.add_argument(
        "--users", type=int, default=16, help="corpbank users registering tokens (at least the most clients)"
    )
    options.add_argument(
        "--levels", type=int, nargs="+", default=[1, 4, 8], help="the concurrencies, clients at once"
    )
    options.add_argument("--seconds", type=float, default=5.0, help="how long each measurement runs")
    options.add_argument(
        "--max-verifications", type=int, default=400, help="at most this many requests per measurement"
    )
    options.add_argument("--rounds", type=int, default=3, help="how many times the series runs (medians)")
    options.add_argument(
        "--peer",
        choices=["privacyidea", "none"],
        default="privacyidea",
        help="the system compared with (default: %(default)s, installed into bench/peers/.venv-privacyidea "
        "on first use); none leaves the 5-times goal out of the verdict",
    )
    arguments = options.parse_args()
    levels = sorted(set(arguments.levels))
    if arguments.users < levels[-1]:
        options.error("--users must be at least the most clients")
    if arguments.peer == "privacyidea":
        try:
            privacyidea.install()
        except privacyidea.PeerUnavailable as error:
            print(error)
            return verdict(False, f"privacyIDEA {privacyidea.VERSION} could not be installed: no comparison")
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

        raw = raw_totp_rate()
        print(
            f"bench/otp.py — {os.cpu_count()} cores, database {database_url.split('@')[-1]}, gunicorn "
            f"{arguments.workers} workers × {arguments.threads} threads, {arguments.rounds} rounds of "
            f"{arguments.seconds:g} s (at most {arguments.max_verifications} requests) per system and level"
        )
        print(f"raw TOTP computation rate (HMAC-SHA1, one core): {raw:,.0f}/s")
        rate, accepted = service_rate(stock(arguments.tokens, "SVC"))
        print(
            f"service layer, one thread: {rate:,.1f} verifications/s ({accepted}/{arguments.tokens} "
            f"accepted), {rate / raw:.4f} of the raw rate"
        )
        users = create_users(env, arguments.users)
        peer_seeds = [seed_for(PEER_SEEDS + thread) for thread in range(levels[-1])]
        results: dict[str, dict[int, list[Measurement]]] = {}
        try:
            with (
                production_server(env, workers=arguments.workers, threads=arguments.threads) as base,
                (
                    privacyidea.serve(
                        arguments.postgres, peer_seeds, workers=arguments.workers, threads=arguments.threads
                    )
                    if arguments.peer == "privacyidea"
                    else contextlib.nullcontext()
                ) as peer,
            ):
                systems: dict[str, Corpbank | PrivacyIdea] = {"corpbank": Corpbank(base, users)}
                if peer is not None:
                    systems["privacyIDEA"] = PrivacyIdea(peer)
                results = {name: {level: [] for level in levels} for name in systems}
                for system in systems.values():  # warm-up, not counted
                    measure(system, levels[-1], 2.0, 4 * levels[-1])
                for round_number in range(arguments.rounds):
                    order = list(systems.items())
                    if round_number % 2:
                        order.reverse()
                    for concurrency in levels:
                        for name, system in order:
                            results[name][concurrency].append(
                                measure(system, concurrency, arguments.seconds, arguments.max_verifications)
                            )
        except privacyidea.PeerUnavailable as error:
            print(error)
            return verdict(False, f"privacyIDEA {privacyidea.VERSION} could not be set up: no comparison")
        finally:
            from corpbank.core import audit

            audit.sealer.stop()  # this process's sealer seals what is left, before the database is dropped
            connections.close_all()
    return report(results, levels)


def report(results: dict[str, dict[int, list[Measurement]]], levels: list[int]) -> int:
    print(
        f"{'system':>11} {'clients':>7} {'verif./s':>8} {'(spread)':>13} {'median ms':>9} "
        f"{'CPU ms/verif.':>13} {'accepted':>8} {'refused':>7}"
    )
    medians: dict[str, dict[int, float]] = {}
    refused = 0
    for name, by_level in results.items():
        medians[name] = {}
        for concurrency, rounds in by_level.items():
            rates = [measurement.rate for measurement in rounds]
            medians[name][concurrency] = statistics.median(rates)
            refused += sum(measurement.refused for measurement in rounds)
            print(
                f"{name:>11} {concurrency:>7} {medians[name][concurrency]:>8.1f} "
                f"{f'({min(rates):.1f}–{max(rates):.1f})':>13} "
                f"{statistics.median(m.median_ms for m in rounds):>9.1f} "
                f"{statistics.median(m.cpu_ms for m in rounds):>13.1f} "
                f"{sum(m.accepted for m in rounds):>8} {sum(m.refused for m in rounds):>7}"
            )
    ours = medians["corpbank"]
    scaling = ours[levels[-1]] / ours[levels[0]]
    summary = (
        f"corpbank's rate at {levels[-1]} clients is {scaling:.2f} times its rate at {levels[0]}, limit "
        f"{SCALING_LIMIT}"
    )
    passed = scaling >= SCALING_LIMIT
    if "privacyIDEA" in medians:
        ratios = {level: ours[level] / medians["privacyIDEA"][level] for level in levels}
        for level, ratio in ratios.items():
            print(
                f"clients {level}: corpbank / privacyIDEA = {ratio:.2f}, limit {PEER_LIMIT} "
                + ("ok" if ratio >= PEER_LIMIT else "BELOW")
            )
        passed = passed and min(ratios.values()) >= PEER_LIMIT
        summary += (
            f"; corpbank / privacyIDEA {privacyidea.VERSION} at "
            + ", ".join(f"{level}: {ratio:.2f}" for level, ratio in ratios.items())
            + f" clients, limit {PEER_LIMIT}"
        )
    else:
        summary += "; the comparison with privacyIDEA was not run (--peer none), so it is not claimed"
    print(
        "Medians of the rounds (spread: the lowest and the highest round); CPU ms/verif.: the server's\n"
        "processes' CPU time (from /proc) per accepted verification; accepted and refused: all rounds."
    )
    if refused:
        return verdict(False, f"{refused} requests were refused: the figures do not measure verifications")
    return verdict(passed, summary)


if __name__ == "__main__":
    sys.exit(main())

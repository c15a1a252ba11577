"""Same-bank transfers per second through the ledger's service layer (``ledger.services.post``: the
accounts' rows locked, the running balances continued, the legs and the posting written and checked by
the database's triggers, the act's audit event written in the same statement) on PostgreSQL, at 1 and
8 concurrent clients, against the same run's pgbench (its built-in TPC-B-like script: three updates, an
insert and a select per transaction) on the same server with the same number of clients.

Limit (issue 14): at each client count our rate is at least 0.5 times pgbench's. Printed for
information: the worst case, every client debiting the same account (they queue on its row); the audit
event's share of a transfer's cost (the same loop without the event); the database's side alone (a
transfer's statements, as ours sends them, sent by pgbench's C client on our database, ``-M prepared``
as ours binds them, its audit events sealed before the next measurement); and after every measurement
``corpbank ledger verify`` must pass and the customers' balances must still add up to what was
deposited, or the run FAILs.

Method. A database made for the run, with a name of its own, dropped at its end; --accounts customer
accounts each given --opening yen by a counter deposit. Each client is a process of its own (Python's
threads would share one core's worth of interpreter), with its own connection, sending one transfer
after another between two accounts it picks at random (a fixed seed per client), each in its own
transaction, for --seconds or --max-transfers, whichever comes first. pgbench runs on a second database
of its own, initialised at scale --scale (at least the most clients, so that its branches' rows do not
serialise it), with -c and -j the client count, for the same --seconds. The rounds alternate which goes
first; each figure is the median of --rounds. Traffic goes to 127.0.0.1 only."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import DEFAULT_SERVER, corpbank, environment, fresh_database, verdict

LIMIT = 0.5
TODAY = date(2026, 12, 1)


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(
        {key: value for key, value in env.items() if key.startswith(("CORPBANK_", "DATABASE_URL"))}
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "corpbank.settings"
    import django

    django.setup()


def open_accounts(count: int, opening: int) -> list[int]:
    from django.db import transaction

    from corpbank.ledger import services
    from corpbank.ledger.models import LedgerAccount, Posting
    from corpbank.organizations.models import Branch

    branch = Branch.objects.create(code="101", name="本店営業部")
    cash = LedgerAccount.objects.create(kind=LedgerAccount.Kind.INTERNAL, purpose=LedgerAccount.Purpose.CASH)
    accounts = LedgerAccount.objects.bulk_create(
        LedgerAccount(
            kind=LedgerAccount.Kind.CUSTOMER,
            branch=branch,
            type="1",
            number=f"{index:07d}",
            holder_kana="ﾍﾞﾝﾁ",
        )
        for index in range(1, count + 1)
    )
    ids = [account.pk for account in accounts]
    for account_id in ids:
        with transaction.atomic():
            services.post(
                kind=Posting.Kind.CASH_DEPOSIT,
                value_date=TODAY,
                entries=[services.Entry(account_id, opening), services.Entry(cash.pk, -opening)],
            )
    return ids


def client(args: tuple[list[int], int, float, int, bool, bool, int]) -> tuple[int, int, float]:
    """One client process: transfers until the deadline or the budget; (done, refused, CPU-seconds)."""
    ids, seed, deadline, budget, audited, one_source, _spare = args
    from django.db import connections, transaction

    from corpbank.core import audit
    from corpbank.ledger import services
    from corpbank.ledger.models import Posting

    connections.close_all()  # the parent's connection is not this process's
    rng = random.Random(seed)
    actor = audit.Actor.system("bench/transfers.py")
    done = refused = 0
    started = time.process_time()
    while time.time() < deadline and done < budget:
        source = ids[0] if one_source else rng.choice(ids)
        target = rng.choice(ids)
        while target == source:
            target = rng.choice(ids)
        amount = rng.randint(1, 1000)
        act = audit.Act("bench.transfer", actor, details={"amount_yen": amount}) if audited else None
        try:
            with transaction.atomic():
                services.post(
                    kind=Posting.Kind.TRANSFER,
                    value_date=TODAY,
                    entries=[services.Entry(source, -amount, "ﾌﾘｺﾐ"), services.Entry(target, amount, "ﾌﾘｺﾐ")],
                    act=act,
                )
            done += 1
        except services.InsufficientFunds:
            refused += 1
    cpu = time.process_time() - started
    connections.close_all()
    return done, refused, cpu


def ours(
    ids: list[int], clients: int, seconds: float, budget: int, *, audited: bool, one_source: bool
) -> float:
    from django.db import connections

    # A connection open in this process would be shared with the forked clients, which close theirs.
    connections.close_all()
    deadline = time.time() + seconds
    jobs = [(ids, index, deadline, budget // clients, audited, one_source, 0) for index in range(clients)]
    started = time.time()
    context = multiprocessing.get_context("fork")
    with context.Pool(clients) as pool:
        results = pool.map(client, jobs)
    elapsed = time.time() - started
    return sum(done for done, _refused, _cpu in results) / elapsed


# A transfer's statements as ours sends them (the posting's call with its audit event in one statement,
# the commit), sent by pgbench's C client instead of Python: what the database's side of a transfer costs.
OUR_SQL = """\\set source random(:first, :last)
\\set target random(:first, :last)
\\set amount random(1, 1000)
\\set debit -1 * :amount
BEGIN;
WITH along AS (SELECT posting_id, refused, refused_account FROM corpbank_ledger_post('transfer', '2026-12-01',
    now(), '', NULL, NULL, ARRAY[:source::bigint, :target::bigint], ARRAY[:debit::bigint, :amount::bigint],
    ARRAY['ﾌﾘｺﾐ', 'ﾌﾘｺﾐ'])),
event AS (INSERT INTO corpbank_auditevent (at, action, actor_type, actor_id, actor_label, subject_user_id,
    contract_id, ip_address, details, transaction_id)
    SELECT now(), 'bench.transfer', 'system', NULL, 'pgbench', NULL, NULL, '',
    jsonb_build_object('amount_yen', :amount::bigint) || jsonb_build_object('posting', along.posting_id),
    pg_current_xact_id()::text::bigint FROM along WHERE refused IS NULL RETURNING id, transaction_id)
SELECT along.*, event.id, event.transaction_id FROM along LEFT JOIN event ON true;
COMMIT;
"""


def pgbench(database_url: str, clients: int, seconds: float, *script: str) -> float:
    """pgbench's rate: its built-in TPC-B-like script, or ``script`` (its options: -f and the rest)."""
    run = subprocess.run(
        [
            "pgbench",
            "-n",
            *(script or ("-b", "tpcb-like")),
            "-c",
            str(clients),
            "-j",
            str(clients),
            "-T",
            str(int(seconds)),
            database_url.replace("postgres://", "postgresql://", 1),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 120,
    )
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", run.stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no rate:\n{run.stdout}\n{run.stderr}")
    return float(match.group(1))


def seal_what_pgbench_wrote() -> None:
    """pgbench's audit events sealed now, between measurements, so that our clients' sealers do not
    pay for them in the next one."""
    from django.db import connection

    from corpbank.core import audit

    audit.seal()
    connection.close()


def holds(expected_total: int) -> tuple[bool, str]:
    from django.db import connection

    from corpbank.ledger import verify
    from corpbank.ledger.models import LedgerAccount

    connection.close()
    report = verify.verify()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(l.amount), 0) FROM corpbank_leg l JOIN corpbank_ledgeraccount a"
            " ON a.id = l.account_id WHERE a.kind = %s",
            [LedgerAccount.Kind.CUSTOMER],
        )
        customers = int(cursor.fetchone()[0])
    if not report.intact:
        return False, report.violation
    if customers != expected_total or report.total != 0:
        return False, f"the customers' balances add up to {customers}, not {expected_total}"
    return True, f"ledger intact ({report.postings} postings), customers' total {customers:,} yen unchanged"


def main() -> int:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument(
        "--postgres",
        default=DEFAULT_SERVER,
        help="the PostgreSQL server (a URL; the "
        "benchmark creates two databases of its own there and drops only those)",
    )
    options.add_argument("--levels", type=int, nargs="+", default=[1, 8], help="the concurrent clients")
    options.add_argument("--seconds", type=float, default=5.0, help="how long each measurement runs")
    options.add_argument("--max-transfers", type=int, default=20000, help="at most this many per measurement")
    options.add_argument("--accounts", type=int, default=1000, help="customer accounts")
    options.add_argument("--opening", type=int, default=10_000_000, help="yen deposited into each account")
    options.add_argument("--scale", type=int, default=0, help="pgbench's scale (default: the most clients)")
    options.add_argument("--rounds", type=int, default=3, help="how many times the series runs (medians)")
    arguments = options.parse_args()
    levels = sorted(set(arguments.levels))
    scale = arguments.scale or max(levels)
    with (
        tempfile.TemporaryDirectory() as var_dir,
        fresh_database(arguments.postgres) as database_url,
        fresh_database(arguments.postgres) as peer_url,
    ):
        env = environment(database_url, var_dir)
        corpbank(env, "migrate", "--noinput", "-v", "0")
        subprocess.run(
            ["pgbench", "-i", "-q", "-s", str(scale), peer_url.replace("postgres://", "postgresql://", 1)],
            capture_output=True,
            check=True,
            timeout=600,
        )
        setup_django(env)
        ids = open_accounts(arguments.accounts, arguments.opening)
        expected = arguments.accounts * arguments.opening
        from django.db import connections

        connections.close_all()
        print(
            f"bench/transfers.py — {os.cpu_count()} cores, database {database_url.split('@')[-1]}, "
            f"{arguments.accounts} accounts, {arguments.rounds} rounds of {arguments.seconds:g} s per level; "
            f"pgbench tpcb-like at scale {scale}"
        )
        figures: dict[str, dict[int, list[float]]] = {
            key: {n: [] for n in levels} for key in ("ours", "pgbench", "plain", "one", "sql")
        }
        script = Path(var_dir) / "transfer.sql"
        script.write_text(OUR_SQL)
        if ids != list(range(ids[0], ids[-1] + 1)):
            raise RuntimeError("the accounts' ids are not one run of numbers; pgbench picks among them")
        our_sql = ("-M", "prepared", "-f", str(script), "-D", f"first={ids[0]}", "-D", f"last={ids[-1]}")
        problems: list[str] = []
        for round_number in range(arguments.rounds):
            for clients in levels:
                order = ["ours", "pgbench"] if round_number % 2 == 0 else ["pgbench", "ours"]

                def run(audited: bool, one_source: bool, clients: int = clients) -> float:
                    return ours(
                        ids,
                        clients,
                        arguments.seconds,
                        arguments.max_transfers,
                        audited=audited,
                        one_source=one_source,
                    )

                for which in order:
                    if which == "ours":
                        figures["ours"][clients].append(run(audited=True, one_source=False))
                    else:
                        figures["pgbench"][clients].append(pgbench(peer_url, clients, arguments.seconds))
                figures["plain"][clients].append(run(audited=False, one_source=False))
                figures["one"][clients].append(run(audited=True, one_source=True))
                figures["sql"][clients].append(pgbench(database_url, clients, arguments.seconds, *our_sql))
                seal_what_pgbench_wrote()
                intact, message = holds(expected)
                if not intact:
                    problems.append(message)
        print(
            f"{'clients':>8} {'ours/s':>9} {'pgbench/s':>10} {'ratio':>6} {'limit':>6}   "
            f"{'one account/s':>13} {'without audit/s':>15} {'audit share':>11} {'our SQL by pgbench/s':>20}"
        )
        worst = float("inf")
        for clients in levels:
            mine, peer = (
                statistics.median(figures["ours"][clients]),
                statistics.median(figures["pgbench"][clients]),
            )
            plain, one, sql = (
                statistics.median(figures["plain"][clients]),
                statistics.median(figures["one"][clients]),
                statistics.median(figures["sql"][clients]),
            )
            ratio = mine / peer
            worst = min(worst, ratio)
            share = 1 - mine / plain if plain else 0.0
            print(
                f"{clients:>8} {mine:>9.1f} {peer:>10.1f} {ratio:>6.2f} {LIMIT:>6} "
                f"{'ok' if ratio >= LIMIT else 'BELOW':>5} "
                f"{one:>13.1f} {plain:>15.1f} {share:>11.0%} {sql:>13.1f} ({sql / peer:.2f})"
            )
        print(holds(expected)[1] if not problems else f"ledger check failed: {problems[0]}")
        print(
            "Medians of the rounds. ours/s: transfers per second by the wall clock, with their audit event; "
            "pgbench/s: its transactions per second (without connection time); one account/s: every client "
            "debiting the same account; audit share: the part of a transfer's rate the audit event costs; "
            "our SQL by pgbench/s: a transfer's statements (the posting's call with its audit event, the "
            "commit) "
            "sent by pgbench's C client in place of Python, in brackets its ratio to the TPC-B-like script."
        )
        return verdict(
            worst >= LIMIT and not problems,
            f"worst ratio to pgbench {worst:.2f}, limit {LIMIT}" + (f"; {problems[0]}" if problems else ""),
        )


if __name__ == "__main__":
    sys.exit(main())

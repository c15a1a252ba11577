"""Exactly once and exact limits under real concurrency (R-G6, R-G7; issue 14 items 6 and 7), on
PostgreSQL with real threads and processes: parallel transfers of one contract never together pass its
daily limit, one Idempotency-Key sent in parallel pays once, two workers execute each transfer once, and
a worker killed with ``kill -9`` in the middle of a transfer leaves nothing half-done for the next round
to finish."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from datetime import date

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from corpbank.core.errors import FactorsRejected
from corpbank.ledger import verify
from corpbank.ledger.models import Leg
from corpbank.organizations import services as organizations
from corpbank.organizations.models import UsageLimit
from corpbank.payments import payees, transfers
from corpbank.payments.models import Transfer
from tests.conftest import GENERAL_INITIAL, MASTER_CONFIRMATION, all_at_once, wait_until_blocked_on_a_lock
from tests.money import balance_of
from tests.servers import BIN, server_environment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PIN_FACTORS = {"transfer_pin": "2222", "confirmation_pin": "3333"}


def order(user, amount: str = "10000", day: str = "") -> transfers.TransferInput:  # type: ignore[no-untyped-def]
    return transfers.TransferInput(
        source_account=str(user.contract.accounts.get().pk),
        to="adhoc",
        amount=amount,
        execution_date=day,
        adhoc=payees.PayeeInput(bank_code="2999", branch_code="101", type="1", number="7654321"),
    )


def test_r_g6_parallel_transfers_of_one_contract_never_together_pass_its_daily_limit(payer, other_customer):
    """Eight users of one contract transfer at once (each user's own orders wait for each other at the
    user's row lock, so that only the contract's lock keeps eight users' orders apart)."""
    users = [payer] + [
        organizations.add_general_user(
            master=payer,
            factors={"confirmation_password": MASTER_CONFIRMATION},
            login_id=f"staff{index:03d}",
            name=f"職員{index}",
            permissions=["single_transfer"],
            **GENERAL_INITIAL,
        )
        for index in range(1, 8)
    ]
    UsageLimit.objects.filter(
        contract_id=payer.contract_id, user__isnull=True, kind="single_transfer"
    ).update(per_transaction=10_000, per_day=50_000)

    def attempt(index: int) -> str:
        try:
            transfers.accept(users[index], order(payer), PIN_FACTORS)
            return "paid"
        except transfers.LimitExceeded:
            return "limit"

    outcomes = all_at_once(8, attempt)
    assert sorted(outcomes) == ["limit"] * 3 + ["paid"] * 5
    assert balance_of(other_customer) == 50_000
    assert verify.verify().intact


def test_r_g7_one_idempotency_key_sent_in_parallel_pays_once(payer, other_customer):
    ids = all_at_once(
        6, lambda _: transfers.accept(payer, order(payer), PIN_FACTORS, idempotency_key="same").pk
    )
    assert len(set(ids)) == 1
    assert Transfer.objects.count() == 1 and balance_of(other_customer) == 10_000


def test_r_g7_parallel_orders_with_one_otp_factor_wrong_pay_nothing(payer, other_customer):
    def attempt(index: int) -> str:
        try:
            transfers.accept(payer, order(payer), {"transfer_pin": "0000", "confirmation_pin": "3333"})
        except FactorsRejected:
            return "refused"
        return "paid"

    assert set(all_at_once(4, attempt)) == {"refused"}
    assert balance_of(other_customer) == 0


def test_r_g7_two_workers_execute_each_transfer_exactly_once(payer, other_customer):
    for index in range(12):
        transfers.accept(payer, order(payer, "1000", "2026-11-25"), PIN_FACTORS, idempotency_key=f"w{index}")
    finished = all_at_once(2, lambda _: transfers.execute_due(date(2026, 11, 25)))
    assert sum(finished) == 12
    assert Transfer.objects.filter(status="executed").count() == 12
    assert Leg.objects.filter(account=other_customer).count() == 12
    assert balance_of(other_customer) == 12_000
    assert verify.verify().intact


def worker_environment(tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    default = settings.DATABASES["default"]
    database = (
        f"postgres://{default['USER']}@{default['HOST'] or '127.0.0.1'}:{default['PORT'] or 5432}"
        f"/{connection.settings_dict['NAME']}"
    )
    return server_environment(tmp_path, database)


def test_r_g7_a_worker_killed_in_the_middle_leaves_nothing_half_done(payer, other_customer, tmp_path):
    transfer = transfers.accept(payer, order(payer, "1000", "2026-11-25"), PIN_FACTORS)
    env = worker_environment(tmp_path)
    held, blocked, release = threading.Event(), threading.Event(), threading.Event()

    def hold_the_payees_account() -> None:
        """Another transaction holds the payee's ledger row: the worker, once it has taken the transfer
        and begun its posting (the paying account locked), waits there, in the middle of the transfer."""
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id FROM corpbank_ledgeraccount WHERE id = %s FOR UPDATE", [other_customer.pk]
                )
                held.set()
                wait_until_blocked_on_a_lock(timeout=60)
                blocked.set()
                release.wait(timeout=60)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_payees_account)
    holder.start()
    try:
        assert held.wait(timeout=30)
        worker = subprocess.Popen([str(BIN / "corpbank"), "worker", "--once"], env=env)
        assert blocked.wait(timeout=60), "the worker never reached the transfer"
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        release.set()
        holder.join(timeout=60)
    transfer.refresh_from_db()
    assert transfer.status == "scheduled" and transfer.posting is None
    assert not Leg.objects.filter(account=other_customer).exists()
    assert verify.verify().intact
    subprocess.run([str(BIN / "corpbank"), "worker", "--once"], env=env, check=True, timeout=120)
    transfer.refresh_from_db()
    assert transfer.status == "executed"
    assert balance_of(other_customer) == 1_000
    assert verify.verify().intact

"""The ledger (R-G7, issue 14 item 1): postings of integer yen whose invariants the database enforces on
both engines, and ``corpbank ledger verify`` that names the first violation."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from corpbank.core import audit
from corpbank.core.db import ensure_sqlite_triggers
from corpbank.core.errors import Conflict
from corpbank.core.models import AuditEvent
from corpbank.ledger import selectors, services, verify
from corpbank.ledger.models import LedgerAccount, Leg, Posting
from corpbank.ledger.services import Entry

TODAY = date(2026, 12, 1)


def customer(branch, number: str, holder: str = "ｶ)ｺｰﾌﾟ") -> LedgerAccount:
    return LedgerAccount.objects.create(
        kind=LedgerAccount.Kind.CUSTOMER, branch=branch, type="1", number=number, holder_kana=holder
    )


def internal(purpose: str) -> LedgerAccount:
    return LedgerAccount.objects.create(kind=LedgerAccount.Kind.INTERNAL, purpose=purpose)


@pytest.fixture
def book(branch):
    """Two customers' accounts and the bank's cash, settlement and fee accounts; A holds 100,000 yen."""
    accounts = {
        "a": customer(branch, "1234567"),
        "b": customer(branch, "7654321", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        "cash": internal(LedgerAccount.Purpose.CASH),
        "settlement": internal(LedgerAccount.Purpose.SETTLEMENT),
        "fees": internal(LedgerAccount.Purpose.FEE_INCOME),
    }
    deposit(accounts, "a", 100_000)
    return accounts


def deposit(book, name: str, amount: int) -> Posting:
    with transaction.atomic():
        return services.post(
            kind=Posting.Kind.CASH_DEPOSIT,
            value_date=TODAY,
            entries=[Entry(book[name].pk, amount, "ｹﾞﾝｷﾝ"), Entry(book["cash"].pk, -amount)],
        )


def transfer(book, amount: int, fee: int = 0, source: str = "a", target: str = "b") -> Posting:
    entries = [Entry(book[source].pk, -amount - fee, "ﾌﾘｺﾐ"), Entry(book[target].pk, amount, "ﾌﾘｺﾐ")]
    if fee:
        entries.append(Entry(book["fees"].pk, fee))
    with transaction.atomic():
        return services.post(kind=Posting.Kind.TRANSFER, value_date=TODAY, entries=entries, reference="R1")


def balances(book) -> dict[str, int]:
    return {name: selectors.balance(account.pk) for name, account in book.items()}


def test_r_g7_a_transfer_moves_money_with_its_fee_in_one_posting(book):
    posting = transfer(book, 30_000, fee=440)
    assert balances(book) == {"a": 69_560, "b": 30_000, "cash": -100_000, "settlement": 0, "fees": 440}
    legs = Leg.objects.filter(posting=posting).order_by("id").values_list("seq", "amount", "balance_after")
    assert list(legs) == [(2, -30_440, 69_560), (1, 30_000, 30_000), (1, 440, 440)]
    report = verify.verify()
    assert report.intact and report.total == 0 and (report.postings, report.legs) == (2, 5)


def test_r_g7_a_customer_account_never_goes_below_zero_and_nothing_is_written(book):
    with pytest.raises(services.InsufficientFunds) as refused:
        transfer(book, 100_000, fee=1)
    assert "残高が不足しています" in refused.value.message
    assert refused.value.account_id == book["a"].pk
    assert balances(book)["a"] == 100_000
    assert Posting.objects.count() == 1
    transfer(book, 99_560, fee=440)  # to the last yen
    assert balances(book)["a"] == 0


def test_r_g7_the_bank_s_internal_accounts_may_go_below_zero(book):
    assert balances(book)["cash"] == -100_000


@pytest.mark.parametrize(
    "entries",
    [
        [("a", -100)],  # one leg
        [("a", -100), ("b", 99)],  # does not sum to zero
        [("a", 0), ("b", 0)],  # a zero leg
        [("a", -(10**13)), ("b", 10**13)],  # 14 digits
    ],
)
def test_r_g7_an_unbalanced_or_malformed_posting_is_a_programming_error(book, entries):
    with pytest.raises(ValueError), transaction.atomic():
        services.post(
            kind=Posting.Kind.TRANSFER,
            value_date=TODAY,
            entries=[Entry(book[name].pk, amount) for name, amount in entries],
        )
    assert Posting.objects.count() == 1


def test_r_g7_a_closed_account_takes_no_posting(book):
    LedgerAccount.objects.filter(pk=book["b"].pk).update(closed_at=TODAY.isoformat() + "T00:00:00Z")
    with pytest.raises(services.AccountClosed):
        transfer(book, 1_000)


def test_r_g7_a_posting_names_one_account_twice_and_each_leg_carries_the_balance_after_it(book):
    """One account twice in one posting (the amount and its fee as legs of their own): on PostgreSQL
    the database's corpbank_ledger_post numbers them on, as the SQLite route does in Python."""
    at = timezone.now() - timedelta(days=3)
    with transaction.atomic():
        posting = services.post(
            kind=Posting.Kind.TRANSFER,
            value_date=TODAY,
            entries=[
                Entry(book["a"].pk, -30_000, "ﾌﾘｺﾐ" * 20),
                Entry(book["a"].pk, -440, "ﾃｽｳﾘｮｳ"),
                Entry(book["b"].pk, 30_000),
                Entry(book["fees"].pk, 440),
            ],
            reference="R9",
            posted_at=at,
            idempotency_key="key-1",
        )
    stored = Posting.objects.get(pk=posting.pk)
    assert (stored.kind, stored.value_date, stored.reference, stored.posted_at, stored.legs_count) == (
        Posting.Kind.TRANSFER,
        TODAY,
        "R9",
        at,
        4,
    )
    assert stored.idempotency_key == posting.idempotency_key == "key-1" and not posting._state.adding
    legs = Leg.objects.filter(posting=posting).order_by("id")
    assert [(leg.account_id, leg.seq, leg.amount, leg.balance_after) for leg in legs] == [
        (book["a"].pk, 2, -30_000, 70_000),
        (book["a"].pk, 3, -440, 69_560),
        (book["b"].pk, 1, 30_000, 30_000),
        (book["fees"].pk, 1, 440, 440),
    ]
    assert legs[0].memo == ("ﾌﾘｺﾐ" * 20)[:48]
    assert verify.verify().intact


def test_r_g7_a_posting_to_an_account_that_does_not_exist_is_a_programming_error(book):
    with pytest.raises(ValueError, match="no ledger account"), transaction.atomic():
        services.post(
            kind=Posting.Kind.TRANSFER,
            value_date=TODAY,
            entries=[Entry(book["a"].pk, -100), Entry(10**9, 100)],
        )
    assert Posting.objects.count() == 1 and Leg.objects.count() == 2


def test_r_g7_insufficient_funds_on_the_second_leg_of_one_account_writes_nothing(book):
    with pytest.raises(services.InsufficientFunds) as refused, transaction.atomic():
        services.post(
            kind=Posting.Kind.TRANSFER,
            value_date=TODAY,
            entries=[Entry(book["a"].pk, -99_999), Entry(book["a"].pk, -2), Entry(book["b"].pk, 100_001)],
        )
    assert refused.value.account_id == book["a"].pk
    assert Posting.objects.count() == 1 and Leg.objects.count() == 2


def test_r_g7_both_engines_refuse_for_the_same_reason_first(book):
    """Missing before closed before insufficient, whichever engine writes (PostgreSQL's
    corpbank_ledger_post, SQLite's statements): the same message, the same failure mailed."""
    LedgerAccount.objects.filter(pk=book["b"].pk).update(closed_at=TODAY.isoformat() + "T00:00:00Z")
    overdrawn_then_closed = [Entry(book["a"].pk, -100_001), Entry(book["b"].pk, 100_001)]
    with pytest.raises(services.AccountClosed) as refused, transaction.atomic():
        services.post(kind=Posting.Kind.TRANSFER, value_date=TODAY, entries=overdrawn_then_closed)
    assert refused.value.account_id == book["b"].pk
    missing_and_closed = [Entry(book["b"].pk, -1), Entry(10**9, 1)]
    with pytest.raises(ValueError, match="no ledger account"), transaction.atomic():
        services.post(kind=Posting.Kind.TRANSFER, value_date=TODAY, entries=missing_and_closed)
    assert Posting.objects.count() == 1


def test_r_g7_a_reversal_undoes_a_posting_once(book):
    posting = transfer(book, 30_000, fee=440)
    with transaction.atomic():
        reversal = services.reverse(posting=posting, value_date=TODAY)
    assert reversal.reverses_id == posting.pk and reversal.kind == Posting.Kind.REVERSAL
    assert balances(book) == {"a": 100_000, "b": 0, "cash": -100_000, "settlement": 0, "fees": 0}
    with pytest.raises(Conflict), transaction.atomic():
        services.reverse(posting=posting, value_date=TODAY)
    assert verify.verify().intact


def test_r_g7_a_reversal_of_money_already_spent_is_refused(book):
    posting = transfer(book, 30_000)
    transfer(book, 30_000, source="b", target="a")
    with pytest.raises(services.InsufficientFunds), transaction.atomic():
        services.reverse(posting=posting, value_date=TODAY)


# What the database itself refuses, written past the service layer with the application's own rights.

LEG, POSTING = Leg._meta.db_table, Posting._meta.db_table


def raw(statement: str, parameters: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)


def raw_legs(posting_id: int, legs: list[tuple[int, int, int, int]]) -> None:
    for account_id, seq, amount, balance_after in legs:
        raw(
            f"INSERT INTO {LEG} (posting_id, account_id, seq, amount, balance_after, memo)"
            " VALUES (%s, %s, %s, %s, %s, '')",
            [posting_id, account_id, seq, amount, balance_after],
        )


def raw_posting(posting_id: int, legs_count: int | None = None) -> None:
    raw(
        f"INSERT INTO {POSTING} (id, kind, value_date, posted_at, reference, legs_count)"
        " VALUES (%s, 'transfer', %s, %s, '', %s)",
        [posting_id, TODAY.isoformat(), "2026-12-01T00:00:00+00:00", legs_count],
    )


def refused(write, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DatabaseError, match=message), transaction.atomic():
        write()


def test_r_g7_the_database_refuses_a_posting_whose_legs_do_not_sum_to_zero(book):
    a, b = book["a"].pk, book["b"].pk

    def unbalanced() -> None:
        raw_legs(900, [(a, 2, -100, 99_900), (b, 1, 99, 99)])
        raw_posting(900)

    def single() -> None:
        raw_legs(901, [(b, 1, 100, 100)])
        raw_posting(901)

    refused(unbalanced, "two or more legs summing to zero")
    refused(single, "two or more legs summing to zero")
    refused(lambda: raw_posting(902), "two or more legs summing to zero")


def test_r_g7_the_database_refuses_a_broken_running_balance_or_an_overdraft(book):
    a, b = book["a"].pk, book["b"].pk
    refused(lambda: raw_legs(910, [(a, 2, -100, 100_000)]), "balance after it")  # wrong balance
    refused(lambda: raw_legs(911, [(a, 3, -100, 99_800)]), "balance after it")  # a gap in the chain
    refused(lambda: raw_legs(912, [(a, 2, -100_001, -1)]), "below zero")  # an overdraft
    refused(
        lambda: raw_legs(913, [(b, 1, 5, 5), (b, 1, 5, 5)]), "(?i)unique|duplicate|append-only"
    )  # one place twice


def test_r_g7_the_database_refuses_a_leg_added_to_a_sealed_posting(book):
    sealed = Posting.objects.get()
    refused(lambda: raw_legs(sealed.pk, [(book["b"].pk, 1, 1, 1)]), "sealed")


@pytest.mark.parametrize(
    "change",
    [
        f"UPDATE {LEG} SET amount = 1",
        f"DELETE FROM {LEG}",
        f"UPDATE {POSTING} SET value_date = '2027-01-04'",
        f"DELETE FROM {POSTING}",
    ],
)
def test_r_g7_postings_and_legs_are_never_changed_or_deleted(book, change):
    refused(lambda: raw(change, []), "append-only")


@pytest.mark.django_db(transaction=True)
def test_r_g7_legs_without_their_posting_cannot_commit(branch):
    a = customer(branch, "1111111")
    cash = internal(LedgerAccount.Purpose.CASH)
    with pytest.raises(DatabaseError), transaction.atomic():
        raw_legs(990, [(a.pk, 1, 100, 100), (cash.pk, 1, -100, -100)])
    assert not Leg.objects.exists()


# corpbank ledger verify, against what got past the triggers (here: the triggers disabled).


def without_triggers(statement: str) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign keys' checks still pending
            cursor.execute(f"ALTER TABLE {LEG} DISABLE TRIGGER USER")
            cursor.execute(f"ALTER TABLE {POSTING} DISABLE TRIGGER USER")
            cursor.execute(statement)
            cursor.execute(f"ALTER TABLE {LEG} ENABLE TRIGGER USER")
            cursor.execute(f"ALTER TABLE {POSTING} ENABLE TRIGGER USER")
        else:
            for trigger in ("leg_no_update", "leg_no_delete", "leg_fits"):
                cursor.execute(f"DROP TRIGGER corpbank_{trigger}")
            cursor.execute(statement)
            ensure_sqlite_triggers(connection)


@pytest.mark.parametrize(
    ("tampering", "named"),
    [
        (f"UPDATE {LEG} SET amount = amount + 1 WHERE seq = 1 AND amount = 30000", "sum"),
        (f"UPDATE {LEG} SET balance_after = 1 WHERE amount = 30000", "running balance"),
        (f"DELETE FROM {LEG} WHERE amount = -100000", "sum"),
        # The transfer turned round, every sum and running balance kept: B ends below zero.
        (
            f"UPDATE {LEG} SET amount = -amount,"
            " balance_after = CASE WHEN amount < 0 THEN 130000 ELSE -30000 END WHERE ABS(amount) = 30000",
            "below zero",
        ),
    ],
)
def test_r_g7_verify_names_the_first_violation(book, tampering, named):
    transfer(book, 30_000)
    assert verify.verify().intact
    without_triggers(tampering)
    report = verify.verify()
    assert not report.intact
    assert named in report.violation
    with pytest.raises(CommandError, match="ledger broken"):
        call_command("ledger", "verify")


def test_r_g7_verify_command_reports_an_intact_ledger(book, capsys):
    transfer(book, 1_000, fee=110)
    call_command("ledger", "verify")
    assert "ledger intact: 2 postings, 5 legs, 5 accounts" in capsys.readouterr().out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_g7_parallel_debits_of_one_account_never_overdraw_it(branch):
    """Eight threads, each with its own connection, debit 3,000 yen at once from an account holding
    10,000: exactly three succeed, the rest are refused, and the ledger holds."""
    book = {
        "a": customer(branch, "2222222"),
        "b": customer(branch, "3333333"),
        "cash": internal(LedgerAccount.Purpose.CASH),
        "fees": internal(LedgerAccount.Purpose.FEE_INCOME),
    }
    deposit(book, "a", 10_000)
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def debit() -> None:
        try:
            start.wait(timeout=10)
            transfer(book, 3_000)
            outcomes.append("paid")
        except services.InsufficientFunds:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=debit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["paid"] * 3 + ["refused"] * 5
    assert selectors.balance(book["a"].pk) == 1_000
    assert selectors.balance(book["b"].pk) == 9_000
    report = verify.verify()
    assert report.intact and report.total == 0


# The review's holes, closed (migration 0020).


def test_r_g7_a_posting_seals_exactly_the_legs_it_counts(book):
    a, b = book["a"].pk, book["b"].pk

    def miscounted() -> None:
        raw_legs(920, [(a, 2, -100, 99_900), (b, 1, 100, 100)])
        raw_posting(920, legs_count=3)

    refused(miscounted, "two or more legs summing to zero")


def test_r_g7_an_account_is_never_deleted_renamed_into_another_or_reopened(book):
    table = LedgerAccount._meta.db_table
    a, b = book["a"].pk, book["b"].pk
    refused(
        lambda: raw(f"UPDATE {table} SET kind = 'internal', purpose = 'suspense' WHERE id = %s", [a]),
        "never changes",
    )
    refused(lambda: raw(f"UPDATE {table} SET number = '7777777' WHERE id = %s", [a]), "never changes")
    refused(
        lambda: raw(f"UPDATE {table} SET closed_at = %s WHERE id = %s", ["2026-12-01T00:00:00+00:00", a]),
        "empty",
    )
    refused(lambda: raw(f"DELETE FROM {table} WHERE id = %s", [b]), "never deleted")
    raw(f"UPDATE {table} SET closed_at = %s WHERE id = %s", ["2026-12-01T00:00:00+00:00", b])  # empty: closes
    refused(lambda: raw(f"UPDATE {table} SET closed_at = NULL WHERE id = %s", [b]), "never changes")
    raw(f"UPDATE {table} SET holder_kana = %s WHERE id = %s", ["ｺｰﾌﾟ ｼﾝﾒｲｷﾞ", a])  # 名義変更 is allowed


def test_r_g7_sqlite_s_insert_or_replace_replaces_nothing_and_amounts_are_whole_yen(book):
    if connection.vendor != "sqlite":
        pytest.skip("INSERT OR REPLACE and fractional numbers in an integer column are SQLite's")
    sealed = Posting.objects.get()
    refused(
        lambda: raw(
            f"INSERT OR REPLACE INTO {POSTING} (id, kind, value_date, posted_at, reference, legs_count)"
            " VALUES (%s, 'opening', '2026-01-01', '2026-01-01T00:00:00', 'X', 2)",
            [sealed.pk],
        ),
        "two or more legs",
    )
    leg = Leg.objects.filter(posting=sealed).first()
    refused(
        lambda: raw(
            f"INSERT OR REPLACE INTO {LEG} (id, posting_id, account_id, seq, amount, balance_after, memo)"
            " VALUES (%s, 999, %s, 1, 5, 5, '')",
            [leg.pk, book["b"].pk],
        ),
        "append-only",
    )
    refused(lambda: raw_legs(930, [(book["b"].pk, 1, 0.5, 0.5)]), "whole yen")  # type: ignore[list-item]
    assert verify.verify().intact


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_r_g7_a_leg_slipped_into_a_posting_another_transaction_has_not_committed_is_refused(branch):
    """Two connections, the application's rights: B adds a leg to A's posting while A has not
    committed (B cannot see it to be refused at once); at B's commit the deferred check refuses it."""
    import psycopg
    from django.db import connection as django_connection

    a = customer(branch, "4444444")
    x = customer(branch, "5555555")
    cash = internal(LedgerAccount.Purpose.CASH)
    params = django_connection.get_connection_params()
    params.pop("cursor_factory", None), params.pop("context", None)
    first, second = psycopg.connect(**params), psycopg.connect(**params)
    try:
        with first.cursor() as cursor:
            cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{POSTING}', 'id'))")
            posting_id = cursor.fetchone()[0]
            for account, amount in ((a.pk, 100), (cash.pk, -100)):
                cursor.execute(
                    f"INSERT INTO {LEG} (posting_id, account_id, seq, amount, balance_after, memo)"
                    " VALUES (%s, %s, 1, %s, %s, '')",
                    [posting_id, account, amount, amount],
                )
            cursor.execute(
                f"INSERT INTO {POSTING} (id, kind, value_date, posted_at, reference, legs_count)"
                " VALUES (%s, 'transfer', '2026-12-01', now(), '', 2)",
                [posting_id],
            )
        with second.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {LEG} (posting_id, account_id, seq, amount, balance_after, memo)"
                " VALUES (%s, %s, 1, 1000000, 1000000, 'slipped in')",
                [posting_id, x.pk],
            )
        first.commit()
        with pytest.raises(psycopg.errors.CheckViolation, match="sealed it"):
            second.commit()
    finally:
        first.close(), second.close()
    assert Leg.objects.filter(account=x).count() == 0
    assert verify.verify().intact


def test_r_i4_a_posting_and_the_event_of_its_act_are_written_together(book):
    """``post(act=…)``: the act's audit event carries the posting's id, is sealed into an intact chain,
    and on PostgreSQL goes to the database in the same statement as the posting (one round trip)."""
    heard = []

    def hear(sender, event, **_):  # type: ignore[no-untyped-def]
        heard.append(event)

    audit.recorded.connect(hear, weak=False)
    act = audit.Act("ledger.cash_deposit", actor=audit.Actor.system("test"), details={"amount_yen": 5_000})
    try:
        with transaction.atomic(), CaptureQueriesContext(connection) as statements:
            posting = services.post(
                kind=Posting.Kind.CASH_DEPOSIT,
                value_date=TODAY,
                entries=[Entry(book["b"].pk, 5_000), Entry(book["cash"].pk, -5_000)],
                act=act,
            )
    finally:
        audit.recorded.disconnect(hear)
    event = AuditEvent.objects.get(action="ledger.cash_deposit")
    assert event.details == {"amount_yen": 5_000, "posting": posting.pk}
    assert [heard_event.details for heard_event in heard] == [event.details] and heard[0].pk == event.pk
    if connection.vendor == "postgresql":
        assert len(statements) == 1, [query["sql"] for query in statements]
    audit.seal()
    report = audit.verify_chain()
    assert report.intact and report.awaiting == 0, report


def test_r_i4_a_refused_posting_writes_no_event(book):
    act = audit.Act("transfer.executed", actor=audit.Actor.system("test"))
    with pytest.raises(services.InsufficientFunds), transaction.atomic():
        services.post(
            kind=Posting.Kind.TRANSFER,
            value_date=TODAY,
            entries=[Entry(book["a"].pk, -100_001), Entry(book["b"].pk, 100_001)],
            act=act,
        )
    assert not AuditEvent.objects.filter(action="transfer.executed").exists()
    if connection.vendor == "postgresql":  # the statement alone, inside a savepoint that goes on
        with transaction.atomic():
            row, event = audit.record_with(
                act,
                "SELECT 'insufficient'::text AS refused, NULL::bigint AS posting_id",
                [],
                when="refused IS NULL",
                adds={"posting": "posting_id"},
            )
            assert (row, event) == (("insufficient", None), None)
            assert not AuditEvent.objects.filter(action="transfer.executed").exists()


def test_r_i3_record_with_takes_column_names_only(db):
    act = audit.Act("x", actor=audit.Actor.system())
    with transaction.atomic():
        if connection.vendor != "postgresql":
            with pytest.raises(RuntimeError):
                audit.record_with(act, "SELECT 1 AS one", [], when="true", adds={})
        else:
            with pytest.raises(ValueError):
                audit.record_with(act, "SELECT 1 AS one", [], when="true", adds={"a": "one); DROP"})

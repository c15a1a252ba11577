"""振込振替 through the service layer (R-G2, R-G6, R-G7, R-I1, R-I3, R-I4; issue 14 items 5–7, 9): the
fee in the same posting, today before the cut-off or a later business day, limits to the yen, the same
key never paying twice, the worker's round, cancellation, and bad input answered, never a 500."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.db import transaction
from django.utils import translation

from corpbank.backoffice import services as backoffice
from corpbank.backoffice.services import AccountInput
from corpbank.calendar import days
from corpbank.calendar import services as calendar
from corpbank.core import audit
from corpbank.core.errors import Conflict, ContractNotActive, FactorsRejected, ValidationFailed
from corpbank.core.models import AuditEvent
from corpbank.identity.models import FailureCounter
from corpbank.ledger import selectors as ledger_selectors
from corpbank.ledger import services as ledger_services
from corpbank.ledger import verify
from corpbank.ledger.models import LedgerAccount, Leg
from corpbank.ledger.services import InsufficientFunds
from corpbank.organizations.models import Account, Contract, Organization, UsageLimit
from corpbank.payments import payees, transfers
from corpbank.payments.models import FeeRule, Transfer
from tests.conftest import register_contract
from tests.money import balance_of, pay_in

PIN_FACTORS = {"transfer_pin": "2222", "confirmation_pin": "3333"}


def to_other_customer(amount: str = "10000", **overrides: object) -> transfers.TransferInput:
    values: dict[str, object] = {
        "source_account": "",
        "to": "adhoc",
        "amount": amount,
        "adhoc": payees.PayeeInput(bank_code="2999", branch_code="101", type="1", number="7654321"),
    }
    values.update(overrides)
    return transfers.TransferInput(**values)  # type: ignore[arg-type]


def source_id(user) -> str:  # type: ignore[no-untyped-def]
    return str(user.contract.accounts.get().pk)


def test_r_g2_same_bank_transfer_before_the_cutoff_executes_at_once_with_its_fee(payer, other_customer):
    typed = to_other_customer("３０，０００", source_account=source_id(payer))  # full width, commas
    quoted = transfers.quote(payer, typed)
    assert (quoted.amount, quoted.fee, quoted.execution_date, quoted.immediate) == (
        30_000,
        0,
        date(2026, 11, 24),
        True,
    )
    assert quoted.holder_kana == "ﾔﾏﾀﾞ ﾊﾅｺ"  # 口座名義照会: the bank's, not typed
    transfer = transfers.accept(payer, typed, PIN_FACTORS)
    assert transfer.status == Transfer.Status.EXECUTED
    assert len(transfer.reception_number) == 10
    assert balance_of(payer.contract.accounts.get()) == 970_000
    assert balance_of(other_customer) == 30_000
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="transfer.")] == [
        "transfer.accepted",
        "transfer.executed",
    ]
    assert verify.verify().intact


def test_r_g2_fee_from_the_table_is_charged_in_the_same_posting(payer, other_customer, branch):
    # Another branch of the bank: 110 yen (migration 0021's table).
    other_branch = type(branch).objects.create(code="102", name="新宿支店")
    held = LedgerAccount.objects.create(
        kind="customer", branch=other_branch, type="1", number="1111111", holder_kana="ｽｽﾞｷ ｲﾁﾛｳ"
    )
    typed = to_other_customer(
        "40000",
        source_account=source_id(payer),
        adhoc=payees.PayeeInput(bank_code="2999", branch_code="102", type="1", number="1111111"),
    )
    transfer = transfers.accept(payer, typed, PIN_FACTORS)
    assert transfer.fee == 110
    legs = Leg.objects.filter(posting=transfer.posting).order_by("id")
    assert sum(leg.amount for leg in legs) == 0
    assert balance_of(payer.contract.accounts.get()) == 1_000_000 - 40_000 - 110
    assert balance_of(held) == 40_000
    assert ledger_selectors.balance(ledger_selectors.internal_account("fee_income").pk) == 110


def test_r_g2_payee_bears_the_fee_and_an_interbank_transfer_goes_to_settlement(payer):
    typed = to_other_customer(
        "20000",
        source_account=source_id(payer),
        fee_bearer="payee",
        adhoc=payees.PayeeInput(
            bank_code="0001", branch_code="001", type="1", number="0000001", holder="ﾐｽﾞﾎ ﾀﾛｳ"
        ),
    )
    transfer = transfers.accept(payer, typed, {**PIN_FACTORS})
    assert (transfer.destination, transfer.fee, transfer.credited) == ("other_bank", 330, 19_670)
    assert balance_of(payer.contract.accounts.get()) == 980_000
    assert ledger_selectors.balance(ledger_selectors.internal_account("settlement").pk) == 19_670


def test_r_g2_after_the_cutoff_the_transfer_waits_for_the_next_business_day_and_the_worker_runs_it(
    payer, other_customer, clock
):
    clock(6 * 3600)  # 16:00 in Tokyo
    transfer = transfers.accept(payer, to_other_customer(source_account=source_id(payer)), PIN_FACTORS)
    assert (transfer.status, transfer.execution_date) == ("scheduled", date(2026, 11, 25))
    assert balance_of(other_customer) == 0
    assert transfers.execute_due(date(2026, 11, 24)) == 0
    assert transfers.execute_due(date(2026, 11, 25)) == 1
    transfer.refresh_from_db()
    assert transfer.status == "executed" and transfer.posting.value_date == date(2026, 11, 25)
    assert balance_of(other_customer) == 10_000
    assert transfers.execute_due(date(2026, 11, 25)) == 0  # exactly once


def test_r_g7_the_same_idempotency_key_pays_once_and_another_order_under_it_is_refused(payer, other_customer):
    typed = to_other_customer(source_account=source_id(payer))
    first = transfers.accept(payer, typed, PIN_FACTORS, idempotency_key="k-1")
    again = transfers.accept(
        payer, typed, {"transfer_pin": "", "confirmation_pin": ""}, idempotency_key="k-1"
    )
    assert again.pk == first.pk
    assert balance_of(other_customer) == 10_000
    with pytest.raises(Conflict):
        transfers.accept(
            payer,
            to_other_customer("20000", source_account=source_id(payer)),
            PIN_FACTORS,
            idempotency_key="k-1",
        )
    assert Transfer.objects.count() == 1


def test_r_g6_limits_per_transaction_and_per_day_to_the_yen(payer, other_customer):
    UsageLimit.objects.filter(contract_id=payer.contract_id, kind="single_transfer").update(
        per_transaction=300_000, per_day=500_000
    )
    with pytest.raises(transfers.LimitExceeded, match="1回あたり"):
        transfers.quote(payer, to_other_customer("300001", source_account=source_id(payer)))
    transfers.accept(payer, to_other_customer("300000", source_account=source_id(payer)), PIN_FACTORS)
    with pytest.raises(transfers.LimitExceeded, match="ご利用可能額：200,000円"):
        transfers.accept(payer, to_other_customer("200001", source_account=source_id(payer)), PIN_FACTORS)
    transfers.accept(payer, to_other_customer("200000", source_account=source_id(payer)), PIN_FACTORS)
    assert balance_of(other_customer) == 500_000


def test_r_a4_a_general_users_own_limit_and_permission(payer, general, other_customer):
    with pytest.raises(Exception, match="振込振替の業務権限"):
        transfers.quote(general, to_other_customer(source_account=source_id(payer)))
    general.permissions.create(permission="single_transfer")
    UsageLimit.objects.create(
        contract_id=payer.contract_id,
        user=general,
        kind="single_transfer",
        per_transaction=5_000,
        per_day=5_000,
    )
    with pytest.raises(transfers.LimitExceeded, match="ご利用者さま"):
        transfers.quote(general, to_other_customer("5001", source_account=source_id(payer)))
    assert (
        transfers.quote(general, to_other_customer("5000", source_account=source_id(payer))).amount == 5_000
    )


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "1円以上"),
        ("-5", "円単位の数字"),
        ("12345678901234", "13桁以内"),
        ("1,00", "円単位の数字"),
        ("", "振込金額を入力"),
        ("abc", "円単位の数字"),
    ],
)
def test_bad_amounts_are_refused_on_their_field(payer, other_customer, amount, message):
    with pytest.raises(ValidationFailed) as refused:
        transfers.quote(payer, to_other_customer(amount, source_account=source_id(payer)))
    assert message in refused.value.fields["amount"]


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("2026/11/23", "過去の日付"),  # yesterday
        ("2026/11/28", "営業日"),  # a Saturday
        ("2026/12/31", "営業日"),
        ("2027/02/11", "営業日"),  # 建国記念の日
        ("2027/03/01", "60日先まで"),
        ("2026/13/01", "振込指定日"),
    ],
)
def test_r_i1_the_execution_day_is_a_business_day_within_reach(payer, other_customer, day, message):
    with pytest.raises(ValidationFailed) as refused:
        transfers.quote(payer, to_other_customer(source_account=source_id(payer), execution_date=day))
    assert message in refused.value.fields["execution_date"]


def test_r_i1_today_after_the_cutoff_is_refused_with_the_first_day_named(payer, other_customer, clock):
    clock(6 * 3600)
    with pytest.raises(ValidationFailed) as refused:
        transfers.quote(
            payer, to_other_customer(source_account=source_id(payer), execution_date="2026-11-24")
        )
    assert "2026/11/25以降" in refused.value.fields["execution_date"]


def test_a_foreign_or_unknown_account_is_refused(payer, other_customer, operators, branch):
    other = register_contract(
        operators,
        organization_name="他団体",
        organization_name_kana="ﾀﾀﾞﾝﾀｲ",
        accounts=[AccountInput("101", "1", "2222222")],
    )
    foreign = str(other.contract.accounts.get().pk)
    with pytest.raises(ValidationFailed) as refused:
        transfers.quote(payer, to_other_customer(source_account=foreign))
    assert "source_account" in refused.value.fields
    unknown = payees.PayeeInput(bank_code="2999", branch_code="101", type="1", number="0000009")
    with pytest.raises(ValidationFailed) as refused:
        transfers.quote(payer, to_other_customer(source_account=source_id(payer), adhoc=unknown))
    assert "当金庫にありません" in refused.value.fields["number"]
    nowhere = payees.PayeeInput(bank_code="0002", branch_code="001", type="1", number="0000009", holder="ｱ")
    with pytest.raises(ValidationFailed) as refused:
        transfers.quote(payer, to_other_customer(source_account=source_id(payer), adhoc=nowhere))
    assert "金融機関コード" in refused.value.fields["bank_code"]


def test_insufficient_funds_refuses_the_whole_order_and_writes_nothing(payer, other_customer):
    with pytest.raises(InsufficientFunds):
        transfers.accept(payer, to_other_customer("1000001", source_account=source_id(payer)), PIN_FACTORS)
    assert not Transfer.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="transfer.").exists()


def test_r_c2_a_wrong_pin_is_counted_and_nothing_is_paid(payer, other_customer):
    with pytest.raises(FactorsRejected):
        transfers.accept(
            payer,
            to_other_customer(source_account=source_id(payer)),
            {"transfer_pin": "9999", "confirmation_pin": "3333"},
        )
    assert FailureCounter.objects.filter(
        principal_id=payer.principal_id, kind="transfer_pin", consecutive_failures=1
    ).exists()
    assert balance_of(other_customer) == 0 and not Transfer.objects.exists()


def test_r_g2_a_scheduled_transfer_can_be_cancelled_until_it_executes(payer, other_customer):
    transfer = transfers.accept(
        payer, to_other_customer(source_account=source_id(payer), execution_date="2026/12/01"), PIN_FACTORS
    )
    assert transfer.status == "scheduled"
    cancelled = transfers.cancel(payer, transfer.pk)
    assert cancelled.status == "cancelled"
    assert transfers.execute_due(date(2026, 12, 1)) == 0
    with pytest.raises(Conflict, match="すでに取り消されています"):
        transfers.cancel(payer, transfer.pk)
    done = transfers.accept(payer, to_other_customer(source_account=source_id(payer)), PIN_FACTORS)
    with pytest.raises(Conflict, match="すでに実行済み"):
        transfers.cancel(payer, done.pk)


def test_r_i4_insufficient_funds_at_execution_fails_the_transfer_as_a_whole_and_mails(
    payer, other_customer, django_capture_on_commit_callbacks
):
    Organization.objects.filter(contracts__pk=payer.contract_id).update(
        notification_email="kumiai@example.jp"
    )
    with django_capture_on_commit_callbacks(execute=True):
        transfer = transfers.accept(
            payer,
            to_other_customer("900000", source_account=source_id(payer), execution_date="2026/11/25"),
            PIN_FACTORS,
        )
        transfers.accept(payer, to_other_customer("200000", source_account=source_id(payer)), PIN_FACTORS)
    assert [m.subject for m in mail.outbox] == [
        "【コープ労働金庫】振込振替の受付のお知らせ",
        "【コープ労働金庫】振込振替の完了のお知らせ",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert transfers.execute_due(date(2026, 11, 25)) == 1
    transfer.refresh_from_db()
    assert transfer.status == "failed" and "残高が不足" in transfer.failure
    assert balance_of(payer.contract.accounts.get()) == 800_000
    assert mail.outbox[-1].subject == "【コープ労働金庫】振込振替ができなかったお知らせ"
    assert "900,000円" in mail.outbox[-1].body
    assert AuditEvent.objects.filter(action="transfer.failed").count() == 1
    pay_in(payer.contract.accounts.get(), 1)
    assert verify.verify().intact


def test_r_i1_a_day_closed_later_moves_execution_to_the_next_business_day(payer, other_customer):
    transfer = transfers.accept(
        payer, to_other_customer(source_account=source_id(payer), execution_date="2026/11/25"), PIN_FACTORS
    )
    assert days.is_business_day(date(2026, 11, 25))
    assert transfers.execute_due(date(2026, 11, 28)) == 0  # a Saturday: the worker waits
    assert transfers.execute_due(date(2026, 11, 30)) == 1
    transfer.refresh_from_db()
    assert transfer.status == "executed"


def test_r_g7_a_retry_after_the_cutoff_or_at_the_limit_answers_with_the_first_transfer(
    payer, other_customer, clock
):
    UsageLimit.objects.filter(contract_id=payer.contract_id, kind="single_transfer").update(
        per_transaction=10_000, per_day=10_000
    )
    typed = to_other_customer(source_account=source_id(payer))
    first = transfers.accept(payer, typed, PIN_FACTORS, idempotency_key="late")
    clock(6 * 3600)  # 16:00: the same order would now be quoted for tomorrow, and today's limit is spent
    again = transfers.accept(payer, typed, PIN_FACTORS, idempotency_key="late")
    assert again.pk == first.pk and Transfer.objects.count() == 1


def test_r_g2_the_payee_bearing_the_fee_pays_the_band_of_what_it_receives(payer):
    mizuho = payees.PayeeInput(
        bank_code="0001", branch_code="001", type="1", number="0000001", holder="ﾐｽﾞﾎ ﾀﾛｳ"
    )
    quoted = transfers.quote(
        payer, to_other_customer("30000", source_account=source_id(payer), fee_bearer="payee", adhoc=mizuho)
    )
    assert (quoted.fee, quoted.credited) == (330, 29_670)  # 30,000 less 550 would be under 30,000
    quoted = transfers.quote(
        payer, to_other_customer("40000", source_account=source_id(payer), fee_bearer="payee", adhoc=mizuho)
    )
    assert (quoted.fee, quoted.credited) == (550, 39_450)


def test_the_paying_account_itself_is_no_payee_and_interbank_amounts_fit_the_file(payer):
    own = payer.contract.accounts.get()
    itself = payees.PayeeInput(bank_code="2999", branch_code="101", type="1", number=own.number)
    with pytest.raises(ValidationFailed) as refused:
        transfers.quote(payer, to_other_customer(source_account=source_id(payer), adhoc=itself))
    assert "同じ口座" in refused.value.fields["number"]
    UsageLimit.objects.filter(contract_id=payer.contract_id).update(per_transaction=10**14, per_day=10**14)
    mizuho = payees.PayeeInput(bank_code="0001", branch_code="001", type="1", number="0000001", holder="ﾐｽﾞﾎ")
    with pytest.raises(ValidationFailed) as refused:
        transfers.quote(
            payer, to_other_customer("10000000000", source_account=source_id(payer), adhoc=mizuho)
        )
    assert "9,999,999,999円まで" in refused.value.fields["amount"]


def test_r_g7_a_key_too_long_is_refused_not_cut(payer, other_customer):
    typed = to_other_customer(source_account=source_id(payer))
    with pytest.raises(ValidationFailed, match="80文字以内"):
        transfers.accept(payer, typed, PIN_FACTORS, idempotency_key="k" * 81)
    assert transfers.accept(payer, typed, PIN_FACTORS, idempotency_key="k" * 80).status == "executed"


def test_r_g2_what_was_confirmed_must_still_hold_at_acceptance(payer, clock):
    mizuho = payees.PayeeInput(bank_code="0001", branch_code="001", type="1", number="0000001", holder="ﾐｽﾞﾎ")
    typed = to_other_customer("40000", source_account=source_id(payer), adhoc=mizuho)
    shown = transfers.quote(payer, typed).fingerprint()
    FeeRule.objects.filter(destination="other_bank", band="from").update(fee=880)
    with pytest.raises(transfers.QuoteChanged):
        transfers.accept(payer, typed, PIN_FACTORS, confirmed=shown)
    FeeRule.objects.filter(destination="other_bank", band="from").update(fee=550)
    clock(6 * 3600)  # past the cut-off: no longer today
    with pytest.raises(transfers.QuoteChanged):
        transfers.accept(payer, typed, PIN_FACTORS, confirmed=shown)
    assert not Transfer.objects.exists()


def test_the_amount_in_words_in_english_is_figures():
    with translation.override("en"):
        assert transfers.yen_in_words(12_345_678) == "¥12,345,678"
    with translation.override("ja"):
        assert transfers.yen_in_words(12_345_678) == "1,234万5,678円"


def test_r_f6_termination_cancels_scheduled_transfers_and_releases_accounts_with_history(
    payer, other_customer, operators
):
    done = transfers.accept(payer, to_other_customer(source_account=source_id(payer)), PIN_FACTORS)
    waiting = transfers.accept(
        payer, to_other_customer(source_account=source_id(payer), execution_date="2026/12/01"), PIN_FACTORS
    )
    entered = backoffice.enter_contract_termination(operators[0], payer.contract_id, reason="解約届")
    backoffice.approve(operators[1], entered.pk)
    waiting.refresh_from_db()
    done.refresh_from_db()
    assert waiting.status == "cancelled" and "解約" in waiting.failure
    assert done.status == "executed" and done.source_id is None and done.source_account_id is not None
    assert transfers.execute_due(date(2026, 12, 1)) == 0
    assert balance_of(other_customer) == 10_000
    event = AuditEvent.objects.get(action="contract.terminated")
    assert event.details["transfers_cancelled"] == [waiting.reception_number]


def test_r_g2_transfer_between_the_contracts_own_accounts_is_free(payer, branch):
    first = source_id(payer)
    other_branch = type(branch).objects.create(code="102", name="新宿支店")
    second = Account.objects.create(contract=payer.contract, branch=other_branch, type="2", number="7777777")
    with transaction.atomic():
        ledger_services.open_customer_account(branch=other_branch, type="2", number="7777777", holder="ｺｰﾌﾟ")
    quoted = transfers.quote(
        payer,
        transfers.TransferInput(
            source_account=first, to="own", amount="50000", target_account=str(second.pk)
        ),
    )
    assert (quoted.destination, quoted.fee) == ("other_branch", 0)


def test_r_f5_a_scheduled_transfer_of_an_emergency_stopped_contract_is_not_executed(
    payer, other_customer, operators
):
    transfer = transfers.accept(
        payer, to_other_customer(source_account=source_id(payer), execution_date="2026/11/25"), PIN_FACTORS
    )
    entered = backoffice.enter_emergency_stop(operators[0], payer.contract_id, reason="不正利用の疑い")
    backoffice.approve(operators[1], entered.pk)
    assert transfers.execute_due(date(2026, 11, 25)) == 1
    transfer.refresh_from_db()
    assert transfer.status == "failed" and "緊急停止" in transfer.failure
    assert balance_of(other_customer) == 0


def test_r_f5_no_order_is_accepted_on_a_contract_stopped_since_its_quote(payer, other_customer):
    typed = to_other_customer(source_account=source_id(payer))
    transfers.quote(payer, typed)
    Contract.objects.filter(pk=payer.contract_id).update(status="emergency_stopped")
    with pytest.raises(ContractNotActive):
        transfers.accept(payer, typed, PIN_FACTORS)
    assert not Transfer.objects.exists() and balance_of(other_customer) == 0


@pytest.mark.parametrize(
    ("closed", "today", "runs"),
    [
        ([date(2026, 12, 4)], date(2026, 12, 3), date(2026, 12, 7)),  # a Friday closed: the Monday
        ([date(2026, 12, 4)], date(2026, 12, 5), date(2026, 12, 7)),  # still told on the Saturday
        ([date(2026, 12, 4), date(2026, 12, 7)], date(2026, 12, 7), date(2026, 12, 8)),  # two closed
        ([], date(2026, 12, 3), None),  # its own day
    ],
)
def test_r_i1_a_scheduled_transfer_whose_day_closes_tells_the_day_it_runs(
    payer, other_customer, monkeypatch, closed, today, runs
):
    transfer = transfers.accept(
        payer, to_other_customer(source_account=source_id(payer), execution_date="2026/12/04"), PIN_FACTORS
    )
    for day in closed:
        calendar.add_closed_day(day=day, reason="システム更改", actor=audit.Actor.system("test"))
    monkeypatch.setattr(days, "today", lambda: today)
    assert transfers.runs_on(transfer) == runs
    assert transfers.runs_on(transfer, days.Calendar(today)) == runs  # a list's one calendar

"""照会 (R-G1, issue 14 item 3) over the API: the inquiry PIN once per session, balances, history by
date range and page, CSV for Excel; the inquiry permission (R-A4); another contract's account is not
found."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import transaction

from corpbank.backoffice.services import AccountInput
from corpbank.calendar import days
from corpbank.core.errors import Forbidden
from corpbank.core.models import AuditEvent
from corpbank.ledger import selectors as ledger_selectors
from corpbank.ledger import services as ledger
from corpbank.ledger.models import LedgerAccount, Posting
from corpbank.organizations.models import Permission, UserPermission
from corpbank.payments import inquiry
from tests.api.test_api import customer
from tests.conftest import register_contract


@pytest.fixture
def funded(master):
    """The master's contract account with 1,000,000 yen paid in 60 days ago, then 59 daily debits."""
    account = master.contract.accounts.get()
    held = ledger_selectors.customer_account(account.branch_id, account.type, account.number)
    cash = LedgerAccount.objects.create(kind=LedgerAccount.Kind.INTERNAL, purpose=LedgerAccount.Purpose.CASH)
    start = days.today() - timedelta(days=60)
    with transaction.atomic():
        ledger.post(
            kind=Posting.Kind.CASH_DEPOSIT,
            value_date=start,
            entries=[ledger.Entry(held.pk, 1_000_000, "ｹﾞﾝｷﾝ"), ledger.Entry(cash.pk, -1_000_000)],
            reference="R0",
        )
        for day in range(1, 60):
            ledger.post(
                kind=Posting.Kind.TRANSFER,
                value_date=start + timedelta(days=day),
                entries=[ledger.Entry(held.pk, -1_000, "ﾌﾘｺﾐ ﾃｽﾄ"), ledger.Entry(cash.pk, 1_000)],
                reference=f"R{day}",
            )
    return account


def authorized(login_id=None, password=None):  # type: ignore[no-untyped-def]
    client = customer() if login_id is None else customer(login_id, password)
    status, body = client.post("/inquiry/authorization", {"inquiry_pin": "１１１１"})  # full-width digits
    assert status == 204, body
    return client


def test_r_g1_inquiry_asks_the_inquiry_pin_once_per_session(funded):
    client = customer()
    status, body = client.get("/accounts")
    assert (status, body["error"]["code"]) == (403, "inquiry_pin_required")
    status, body = client.post("/inquiry/authorization", {"inquiry_pin": "9999"})
    assert (status, body["error"]["code"]) == (403, "factors_rejected")
    assert AuditEvent.objects.filter(action="secret.rejected", details__kind="inquiry_pin").exists()
    assert client.post("/inquiry/authorization", {"inquiry_pin": "1111"})[0] == 204
    assert AuditEvent.objects.filter(action="inquiry.authorized").exists()
    status, body = client.get("/accounts")
    assert status == 200
    assert body == [
        {
            "id": funded.pk,
            "branch_code": "101",
            "branch_name": "本店営業部",
            "type": "1",
            "type_label": "普通",
            "number": "1234567",
            "holder_kana": "ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ",
            "balance": 941_000,
        }
    ]
    # A new login is a new session: the PIN again.
    assert customer().get("/accounts")[0] == 403


def test_r_g1_history_by_period_and_page(funded):
    client = authorized()
    status, body = client.get(f"/accounts/{funded.pk}/transactions")  # the last 30 days by default
    assert status == 200, body
    assert (body["count"], body["pages"], len(body["entries"])) == (30, 1, 30)
    assert body["entries"][0]["withdrawal"] == 1_000 and body["entries"][0]["deposit"] is None
    assert body["entries"][-1]["balance_after"] == 941_000
    start = (days.today() - timedelta(days=60)).strftime("%Y/%m/%d")
    status, body = client.get(f"/accounts/{funded.pk}/transactions?date_from={start}&page=2")
    assert (status, body["count"], body["pages"], body["page"]) == (200, 60, 2, 2)
    assert [entry["seq"] for entry in body["entries"]] == list(range(51, 61))
    first = client.get(f"/accounts/{funded.pk}/transactions?date_from={start}")[1]["entries"][0]
    assert (first["deposit"], first["memo"], first["reference"]) == (1_000_000, "ｹﾞﾝｷﾝ", "R0")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=2026/13/01", "date_from"),
        ("date_from=あした", "date_from"),
        ("date_to=2999-01-01", "date_to"),
        ("date_from=2026-12-01&date_to=2026-11-01", "date_from"),
        ("date_from=2000-01-01", "date_from"),
        ("page=9", "page"),
        ("date_to=0001/01/05", "date_to"),  # the default start would be before the year 1
        ("date_from=2026-12-31", "date_from"),  # a future start, told as such (API probe D10)
    ],
)
def test_r_g1_a_bad_period_or_page_is_told_on_its_field(funded, query, field):
    status, body = authorized().get(f"/accounts/{funded.pk}/transactions?{query}")
    assert status == 422, body
    assert field in body["error"]["fields"]


def test_r_g1_full_width_dates_are_read(funded):
    today = days.today()
    typed = today.strftime("%Y/%m/%d").translate(str.maketrans("0123456789/", "０１２３４５６７８９／"))
    status, body = authorized().get(f"/accounts/{funded.pk}/transactions?date_from={typed}")
    assert status == 200 and body["date_from"] == today.isoformat()


def test_r_g1_history_as_csv_for_excel(funded):
    client = authorized()
    start = (days.today() - timedelta(days=60)).isoformat()
    response = client.client.get(f"/api/v1/accounts/{funded.pk}/transactions.csv?date_from={start}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "meisai_101_1234567.csv" in response["Content-Disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert rows[0] == list(inquiry.CSV_HEADER)
    assert len(rows) == 61
    assert rows[1][1:] == ["ｹﾞﾝｷﾝ", "", "1000000", "1000000", "R0"]
    assert rows[-1][2:5] == ["1000", "", "941000"]
    assert b"\r\n" in response.content


def test_r_a4_a_general_user_needs_the_inquiry_permission(funded, general):
    """The conftest's general user holds no permission; the master grants 照会 and the same call passes."""
    with pytest.raises(Forbidden, match="照会の業務権限がありません"):
        inquiry.authorize(user=general, inquiry_pin="1111")
    with pytest.raises(Forbidden):
        inquiry.balances(general)
    UserPermission.objects.create(user=general, permission=Permission.INQUIRY)
    inquiry.authorize(user=general, inquiry_pin="1111")
    assert [found.balance for found in inquiry.balances(general)] == [941_000]


def test_r_g1_another_contract_s_account_is_not_found(funded, operators):
    other = register_contract(
        operators, accounts=[AccountInput(branch_code="101", type="1", number="7777777")]
    )
    foreign = other.contract.accounts.get()
    assert foreign.contract_id != funded.contract_id
    client = authorized()
    assert client.get(f"/accounts/{foreign.pk}/transactions")[0] == 404
    assert client.client.get(f"/api/v1/accounts/{foreign.pk}/transactions.csv").status_code == 404


def test_r_g1_a_csv_cell_is_never_a_formula(funded):
    held = ledger_selectors.customer_account(funded.branch_id, funded.type, funded.number)
    cash = LedgerAccount.objects.get(kind=LedgerAccount.Kind.INTERNAL)
    with transaction.atomic():
        ledger.post(
            kind=Posting.Kind.TRANSFER,
            value_date=days.today(),
            entries=[ledger.Entry(held.pk, 5, "=HYPERLINK(1)"), ledger.Entry(cash.pk, -5)],
            reference="+1",
        )
    response = authorized().client.get(f"/api/v1/accounts/{funded.pk}/transactions.csv")
    last = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))[-1]
    assert (last[1], last[5]) == ("'=HYPERLINK(1)", "'+1")


def test_r_g1_a_future_start_is_told_as_a_future_day(funded):
    status, body = authorized().get(f"/accounts/{funded.pk}/transactions?date_from=2026-12-31")
    assert status == 422 and body["error"]["fields"] == {"date_from": "本日以前の日付を指定してください。"}


def test_r_g1_an_empty_inquiry_pin_is_told_on_its_own_field(funded):
    """The review of stop 22: the flat body's PIN was named factors.inquiry_pin."""
    status, body = customer().post("/inquiry/authorization", {"inquiry_pin": ""})
    assert status == 422 and set(body["error"]["fields"]) == {"inquiry_pin"}

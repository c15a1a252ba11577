"""The back office's money screens (issue 14 item 8): 窓口入金, the fee table, the cut-off and a closed day
edited from 為替・入出金; 振込の検索 and the day's interbank file from its page; bad input told, never a
500; an administrator (who does not enter procedures) kept out."""

from __future__ import annotations

import re
from datetime import date

from corpbank.calendar import days
from corpbank.calendar.models import ClosedDay
from corpbank.payments import payees, transfers, zengin
from corpbank.payments.models import FeeRule
from tests.conftest import Client, make_operator, operator_signed_in
from tests.money import balance_of, to_mizuho


def clerk() -> Client:
    return operator_signed_in(Client(), "clerk1")  # type: ignore[return-value]


def test_cash_fee_cutoff_and_closed_day_from_the_money_page(payer, operators):
    client = clerk()
    page = client.get("/backoffice/money").content.decode()
    assert 'id="fees"' in page and "他行あて" in page and 'value="15:00"' in page
    assert "金庫職員専用" in page and "ヘルプデスク" not in page  # the staff's footer, not the customers'
    response = client.post(
        "/backoffice/money/cash",
        {"branch_code": "101", "type": "1", "number": "１２３４５６７", "amount": "１０，０００"},
    )
    assert response["Location"] == "/backoffice/money"
    assert "記帳しました" in client.get("/backoffice/money").content.decode()
    assert balance_of(payer.contract.accounts.get()) == 1_010_000
    client.post(
        "/backoffice/money/cash", {"branch_code": "101", "type": "1", "number": "1234567", "amount": "0"}
    )
    assert "1円以上" in client.get("/backoffice/money").content.decode()
    typed = {
        "branch_code": "101",
        "type": "1",
        "number": "1234567",
        "amount": "99,999,999",
        "withdrawal": "1",
    }
    client.post("/backoffice/money/cash", typed)
    refused = client.get("/backoffice/money").content.decode()
    # What was typed comes back, 出金 still chosen: a clerk who corrects the amount posts no deposit.
    assert "残高が不足しています" in refused and 'value="99,999,999"' in refused
    assert '<option value="1" selected>' in refused and 'value="1234567"' in refused
    assert 'value="99,999,999"' not in client.get("/backoffice/money").content.decode()  # once
    client.post("/backoffice/money/fee", {"destination": "other_bank", "band": "under", "fee": "２２０"})
    assert FeeRule.objects.get(destination="other_bank", band="under").fee == 220
    client.post("/backoffice/money/settings", {"transfer_cutoff": "14:30", "max_days_ahead": "30"})
    assert days.service_settings().max_days_ahead == 30
    client.post("/backoffice/money/settings", {"transfer_cutoff": "25時", "max_days_ahead": "30"})
    assert "締切時刻" in client.get("/backoffice/money").content.decode()
    client.post("/backoffice/money/closed-day", {"day": "2026/12/28", "reason": "システム更改"})
    assert ClosedDay.objects.filter(day=date(2026, 12, 28)).exists()
    client.post("/backoffice/money/closed-day", {"day": "2026-12-28", "remove": "1"})
    assert not ClosedDay.objects.exists()
    make_operator("admin9", role="admin")
    assert operator_signed_in(Client(), "admin9").get("/backoffice/money").status_code == 403


def test_transfer_search_and_the_interbank_file_from_the_screen(payer, operators):
    transfer = transfers.accept(
        payer,
        transfers.TransferInput(
            source_account=str(payer.contract.accounts.get().pk),
            to="adhoc",
            amount="12345",
            adhoc=payees.PayeeInput("0001", "001", "1", "0000001", "ﾐｽﾞﾎ ﾀﾛｳ"),
        ),
        {"transfer_pin": "2222", "confirmation_pin": "3333"},
    )
    client = clerk()
    reversed_range = client.get(
        "/backoffice/transfers?date_from=2026/11/30&date_to=2026/11/24"
    ).content.decode()
    assert "（から）と同じか後の日付" in reversed_range  # told, not an empty list
    page = client.get("/backoffice/transfers?date_from=2026/11/24&other_banks_only=1").content.decode()
    assert transfer.reception_number in page and "ﾐｽﾞﾎ ﾀﾛｳ" in page
    bad = client.get("/backoffice/transfers?date_from=2026/13/01")
    assert bad.status_code == 422 and "存在する日付" in bad.content.decode()
    download = client.post("/backoffice/transfers/outgoing", {"day": "２０２６／１１／２４"})
    assert download.status_code == 200
    _header, records, _trailer = zengin.read(download.content)
    assert [record.amount for record in records] == [12_345]
    assert client.get("/backoffice/transfers/outgoing?day=nope")["Location"] == "/backoffice/transfers"
    # A lost file is made again from the day's list, with exactly its transfers.
    listed = client.get("/backoffice/transfers?file_day=2026/11/24").content.decode()
    link = re.search(r'href="(/backoffice/transfers/outgoing\?day=[^"]+)"', listed).group(1)  # type: ignore[union-attr]
    again = client.get(link.replace("&amp;", "&"))
    assert [record.amount for record in zengin.read(again.content)[1]] == [12_345]


def test_r_g7_a_double_click_on_the_cash_form_pays_once(payer, operators):
    client = clerk()
    page = client.get("/backoffice/money").content.decode()
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    typed = {"branch_code": "101", "type": "1", "number": "1234567", "amount": "5000", "token": token}
    client.post("/backoffice/money/cash", typed)
    client.post("/backoffice/money/cash", typed)
    assert balance_of(payer.contract.accounts.get()) == 1_005_000
    assert "すでに記帳済みです" in client.get("/backoffice/money").content.decode()


def test_a_closed_day_over_scheduled_transfers_says_when_they_run_and_an_empty_file_is_told(payer, operators):
    transfers.accept(
        payer,
        to_mizuho(payer, "1000", execution_date="2026/12/02"),
        {"transfer_pin": "2222", "confirmation_pin": "3333"},
    )
    client = clerk()
    client.post("/backoffice/money/closed-day", {"day": "2026/12/02", "reason": "システム更改"})
    page = client.get("/backoffice/money").content.decode()
    assert "予約中の振込が1件" in page and "2026/12/03" in page
    assert (
        "休業日のため2026/12/03に実行"
        in client.get("/backoffice/transfers?status=scheduled").content.decode()
    )
    assert transfers.execute_due(date(2026, 12, 2)) == 0 and transfers.execute_due(date(2026, 12, 3)) == 1
    response = client.post("/backoffice/transfers/outgoing", {"day": "2026/11/24"})
    assert response["Location"].startswith("/backoffice/transfers")
    assert "未送信の他行あて振込はありません" in client.get(response["Location"]).content.decode()
    client.post(
        "/backoffice/money/cash", {"branch_code": "101", "type": "1", "number": "1234567", "amount": "3000"}
    )
    assert "入金 3,000円を記帳しました" in client.get("/backoffice/money").content.decode()


def test_a_refused_money_form_keeps_what_was_typed_and_says_which_form(payer, operators):
    """A back-office walk: the cut-off, closed-day and fee forms came back as before the refusal, under
    one message that named no form."""
    client = clerk()
    client.post("/backoffice/money/settings", {"transfer_cutoff": "25:00", "max_days_ahead": "90"})
    page = client.get("/backoffice/money").content.decode()
    assert 'value="25:00"' in page and 'value="90"' in page
    assert "当日扱いの締切時刻・予約可能日数:" in page
    client.post("/backoffice/money/closed-day", {"day": "2026/02/30", "reason": "棚卸"})
    page = client.get("/backoffice/money").content.decode()
    assert 'value="2026/02/30"' in page and 'value="棚卸"' in page and "臨時休業日:" in page
    client.post("/backoffice/money/fee", {"destination": "other_bank", "band": "from", "fee": "-1"})
    page = client.get("/backoffice/money").content.decode()
    assert re.search(r'value="-1"[^>]*id="fee_other_bank_from"', page)
    # Once: the next visit shows what is stored (the fee row's -1 was the last kept).
    assert 'value="-1"' not in client.get("/backoffice/money").content.decode()

"""The back office's 窓口入金・出金 and calendar over the API (issue 14 item 8, R-I1): amounts as a teller
types them, refusals on their field, roles, audit, and an intact ledger after."""

from __future__ import annotations

import pytest

from corpbank.calendar import days
from corpbank.core.models import AuditEvent
from corpbank.ledger import verify
from corpbank.ledger.models import Posting
from tests.api.test_api import operator
from tests.conftest import make_operator

ACCOUNT = {"branch_code": "101", "type": "1", "number": "1234567"}  # the registered contract's


def test_r_g7_cash_paid_in_and_out_at_the_counter(registered, operators):
    clerk = operator("clerk1")
    status, body = clerk.post("/backoffice/ledger/cash", {**ACCOUNT, "amount": "１，０００，０００円"})
    assert status == 201, body
    assert body["balance"] == 1_000_000 and body["account"] == "101 普通 1234567"
    status, body = clerk.post(
        "/backoffice/ledger/cash",
        {**ACCOUNT, "number": "１２３４５６７", "amount": "30000", "withdrawal": True},
    )
    assert (status, body["balance"]) == (201, 970_000)
    status, body = clerk.post("/backoffice/ledger/cash", {**ACCOUNT, "amount": "970,001", "withdrawal": True})
    assert (status, body["error"]["code"]) == (409, "insufficient_funds")
    assert "残高が不足しています" in body["error"]["message"]
    assert AuditEvent.objects.filter(action="ledger.cash_deposit", details__amount_yen=1_000_000).exists()
    assert AuditEvent.objects.filter(action="ledger.cash_withdrawal", details__amount_yen=30_000).exists()
    report = verify.verify()
    assert report.intact and report.total == 0


@pytest.mark.parametrize("typed", ["", "0", "０", "-5", "1,00", "1.5", "12345678901234", "abc", "1 000"])
def test_r_g7_an_amount_a_teller_cannot_mean_is_told_on_its_field(registered, operators, typed):
    status, body = operator("clerk1").post("/backoffice/ledger/cash", {**ACCOUNT, "amount": typed})
    assert status == 422, body
    assert "amount" in body["error"]["fields"]


def test_r_g7_an_unknown_or_malformed_account_and_a_role_that_does_not_enter(registered, operators):
    clerk = operator("clerk1")
    status, body = clerk.post("/backoffice/ledger/cash", {**ACCOUNT, "number": "7777777", "amount": "100"})
    assert status == 404 and "当金庫にありません" in body["error"]["message"]
    status, body = clerk.post("/backoffice/ledger/cash", {**ACCOUNT, "number": "123", "amount": "100"})
    assert status == 422 and "account" in body["error"]["fields"]
    make_operator("admin9", role="admin")
    status, body = operator("admin9").post("/backoffice/ledger/cash", {**ACCOUNT, "amount": "100"})
    assert status == 403


def test_r_i1_closed_days_and_the_cut_off_in_the_back_office(operators):
    clerk = operator("clerk1")
    day = days.add_business_days(days.today(), 5)
    typed = day.strftime("%Y/%m/%d").translate(str.maketrans("0123456789/", "０１２３４５６７８９／"))
    status, body = clerk.post("/backoffice/calendar/closed-days", {"day": typed, "reason": "システム更改"})
    assert status == 201, body
    assert body["closed_days"] == [{"day": day.isoformat(), "reason": "システム更改", "added_by": "clerk1"}]
    assert not days.is_business_day(day)
    status, body = clerk.post("/backoffice/calendar/closed-days", {"day": "2026-02-30", "reason": "x"})
    assert status == 422 and "day" in body["error"]["fields"]
    status, body = clerk.post(f"/backoffice/calendar/closed-days/{day.isoformat()}/delete")
    assert (status, body["closed_days"]) == (200, [])
    status, body = clerk.call(
        "put", "/backoffice/calendar/settings", {"transfer_cutoff": "１６：００", "max_days_ahead": 30}
    )
    assert (status, body["transfer_cutoff"], body["max_days_ahead"]) == (200, "16:00", 30)
    status, body = clerk.call(
        "put", "/backoffice/calendar/settings", {"transfer_cutoff": "25:00", "max_days_ahead": 30}
    )
    assert status == 422 and "transfer_cutoff" in body["error"]["fields"]


def test_r_g7_cash_retried_with_its_idempotency_key_is_paid_once(registered, operators):
    clerk = operator("clerk1")
    headers = {"Idempotency-Key": "counter-0001"}
    first = clerk.call("post", "/backoffice/ledger/cash", {**ACCOUNT, "amount": "50000"}, headers=headers)
    again = clerk.call("post", "/backoffice/ledger/cash", {**ACCOUNT, "amount": "50000"}, headers=headers)
    assert first[0] == again[0] == 201 and first[1] == again[1]
    assert again[1]["balance"] == 50_000
    status, body = clerk.call(
        "post", "/backoffice/ledger/cash", {**ACCOUNT, "amount": "60000"}, headers=headers
    )
    assert (status, body["error"]["code"]) == (409, "conflict")
    other_clerk = operator("clerk2")  # another teller's key of the same name is another key
    status, body = other_clerk.call(
        "post", "/backoffice/ledger/cash", {**ACCOUNT, "amount": "1000"}, headers=headers
    )
    assert (status, body["balance"]) == (201, 51_000)
    assert verify.verify().intact


def test_r_g1_the_tellers_key_is_not_shown_to_the_customer(master, operators):
    clerk = operator("clerk1")
    clerk.call(
        "post", "/backoffice/ledger/cash", {**ACCOUNT, "amount": "5000"}, headers={"Idempotency-Key": "k-1"}
    )
    posting = Posting.objects.get(kind="cash_deposit")
    assert posting.reference == "" and posting.idempotency_key == f"C{operators[0].pk}:k-1"

"""What a person types into issue 14's new fields, in 全角, with a NUL byte, empty and at 10,000
characters: a message on the field (or the edge guard's 422), a wrong PIN counted as one, never a 500
(R-G1, R-G7, R-I1)."""

from __future__ import annotations

import pytest

from corpbank.calendar import days
from tests.api.test_api import customer, operator

# (what is typed, the inquiry PIN's answer, a free-text reason's answer)
TYPED = {
    "empty": ("", 422, 422),
    "nul": ("\u0000", 422, 422),
    "nul-inside": ("12\u00003", 422, 422),
    "10000": ("１" * 10_000, 403, 422),  # read as digits: a wrong PIN, counted; a reason too long
    "fullwidth-letters": ("ａｂｃ", 403, 201),  # a wrong PIN; a reason may be written so
    "ideographic-space": ("　", 403, 422),  # a PIN of one blank is wrong; a reason of blanks is none
}


@pytest.mark.parametrize("name", TYPED)
def test_r_g1_the_inquiry_pin_history_dates_and_page(master, name):
    typed, pin_status, _reason = TYPED[name]
    client = customer()
    assert client.post("/inquiry/authorization", {"inquiry_pin": typed})[0] == pin_status
    assert client.post("/inquiry/authorization", {"inquiry_pin": "１１１１"})[0] == 204
    account = master.contract.accounts.get()
    blank = typed.strip("\u3000 ") == ""
    expected = 200 if blank else 422  # a blank date (全角 blanks too) is the default
    for query in (f"date_from={typed}", f"date_to={typed}"):
        assert client.get(f"/accounts/{account.pk}/transactions?{query}")[0] == expected, query[:20]
        response = client.client.get(f"/api/v1/accounts/{account.pk}/transactions.csv?{query}")
        assert response.status_code == expected, query[:20]
    # The API's page is a number: anything else, empty included, is told (422).
    assert client.get(f"/accounts/{account.pk}/transactions?page={typed}")[0] == 422
    # The screen's page: empty is the first, anything else is told.
    signed_in = client.client
    page = signed_in.get(f"/inquiry/accounts/{account.pk}?page={typed}")
    assert page.status_code == (200 if blank else 422)


@pytest.mark.parametrize("name", TYPED)
def test_r_g7_r_i1_the_back_office_s_cash_and_calendar_fields(registered, operators, name):
    typed, _pin, reason_status = TYPED[name]
    clerk = operator("clerk1")
    account = {"branch_code": "101", "type": "1", "number": "1234567", "amount": "100"}
    for field in account:
        assert clerk.post("/backoffice/ledger/cash", {**account, field: typed})[0] == 422, field
    day = days.add_business_days(days.today(), 5).isoformat()
    assert clerk.post("/backoffice/calendar/closed-days", {"day": typed, "reason": "臨時"})[0] == 422
    assert clerk.post("/backoffice/calendar/closed-days", {"day": day, "reason": typed})[0] == reason_status
    settings = {"transfer_cutoff": typed, "max_days_ahead": 30}
    assert clerk.call("put", "/backoffice/calendar/settings", settings)[0] == 422

"""明細照会's screens (R-G1, issue 14 item 3): the PIN first and back to where the user was going (never
to another site), another contract's account, and a page number or a date typed wrong. (The inquiry
permission: tests/payments/test_inquiry.py.)"""

from __future__ import annotations

import pytest
from django.test import Client

from corpbank.backoffice.services import AccountInput
from tests.conftest import ANSWER, MASTER_LOGIN_ID, MASTER_PASSWORD, register_contract


@pytest.fixture
def signed_in(master) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    response = client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    if response["Location"] == "/login/additional":  # this test client's environment is new (R-D2)
        response = client.post("/login/additional", {"answer": ANSWER})
    assert response.status_code == 302 and response["Location"] == "/", response.content.decode()
    return client


def test_r_g1_the_pin_comes_first_then_the_page_asked_for(signed_in, master):
    account = master.contract.accounts.get()
    wanted = f"/inquiry/accounts/{account.pk}?date_from=2026/11/01"
    response = signed_in.get(wanted)
    assert response.status_code == 302 and response["Location"].startswith("/inquiry/pin?next=")
    page = signed_in.get(response["Location"]).content.decode()
    assert 'id="id_inquiry_pin"' in page and "照会用暗証番号" in page
    wrong = signed_in.post(response["Location"], {"inquiry_pin": "0000"})
    assert wrong.status_code == 403 and "入力された認証情報に誤りがあります" in wrong.content.decode()
    right = signed_in.post(response["Location"], {"inquiry_pin": "1111"})
    assert right.status_code == 302 and right["Location"] == wanted
    assert signed_in.get("/inquiry/balances").status_code == 200


@pytest.mark.parametrize("elsewhere", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_r_g1_after_the_pin_never_to_another_site(signed_in, elsewhere):
    response = signed_in.post(f"/inquiry/pin?next={elsewhere}", {"inquiry_pin": "1111"})
    assert response.status_code == 302 and response["Location"] == "/inquiry/balances"


def test_r_g1_another_contract_s_account_and_a_bad_page(signed_in, master, operators):
    signed_in.post("/inquiry/pin", {"inquiry_pin": "1111"})
    other = register_contract(
        operators, accounts=[AccountInput(branch_code="101", type="1", number="7777777")]
    )
    foreign = other.contract.accounts.get()
    response = signed_in.get(f"/inquiry/accounts/{foreign.pk}")
    assert response.status_code == 404 and "指定された口座は見つかりません" in response.content.decode()
    assert signed_in.get(f"/inquiry/accounts/{foreign.pk}?date_from=2026/02/30").status_code == 404
    assert signed_in.get(f"/inquiry/accounts/{foreign.pk}/csv").status_code == 404
    own = master.contract.accounts.get()
    assert signed_in.get(f"/inquiry/accounts/{own.pk}?page=abc").status_code == 422
    response = signed_in.get(f"/inquiry/accounts/{own.pk}?date_from=2026/02/30")
    assert response.status_code == 422 and "存在する日付" in response.content.decode()
    csv = signed_in.get(f"/inquiry/accounts/{own.pk}/csv")
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())

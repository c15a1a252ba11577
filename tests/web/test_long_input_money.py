"""What a person types into the money screens and the API (振込振替, 振込先管理, the bank search, the back
office's 為替・入出金 and 振込の検索), at 10,000 characters, in 全角, empty and with a NUL byte: a message or
a refusal, never a 500, and nothing ordered or registered (issue 14's bad input; tests/web/
test_long_input.py does the same for the credentials' forms)."""

from __future__ import annotations

import pytest

from corpbank.ledger.models import Posting
from corpbank.payments.models import Payee, Transfer
from tests.api.test_api import customer, operator
from tests.conftest import Client, operator_signed_in
from tests.web.test_long_input import TYPED
from tests.web.test_transfer_pages import sign_in, typed_transfer

PAYEE_FORM = {
    "bank_code": "0001",
    "branch_code": "001",
    "type": "1",
    "number": "1234567",
    "holder": "ﾐｽﾞﾎ",
    "nickname": "",
}


@pytest.mark.parametrize("typed", TYPED)
def test_every_field_of_the_transfer_and_payee_forms_answers_never_a_500(payer, other_customer, typed):
    browser = sign_in()
    for field in [*typed_transfer(payer), "payee_id", "target_account"]:
        page = browser.post("/transfers/new", {**typed_transfer(payer), field: typed})
        assert page.status_code < 500, (field, page.status_code)
    for field in PAYEE_FORM:
        page = browser.post("/payees/new", {**PAYEE_FORM, field: typed})
        assert page.status_code < 500, (field, page.status_code)
    assert browser.get("/payees/banks", {"q": typed}).status_code < 500
    assert browser.get("/payees/banks", {"bank": typed, "q": typed}).status_code < 500
    assert browser.get("/transfers/new", {"from": typed, "payee": typed}).status_code < 500
    # 金融機関・支店の検索 from the input screens: each field kept as a draft, then every parameter of
    # the search and of the way back typed too.
    for form, path in ((typed_transfer(payer), "/transfers/new"), (PAYEE_FORM, "/payees/new")):
        for field in form:
            page = browser.post(path, {**form, field: typed, "search_bank": typed or "1"})
            assert page.status_code < 500, (path, field, page.status_code)
            if page.status_code == 302:
                assert browser.get(page["Location"], {"q": typed, "bank": "0001"}).status_code < 500
        assert browser.get("/payees/banks", {"for": typed, "draft": typed, "bank": "0001"}).status_code < 500
        back = {"draft": typed, "bank_code": typed, "branch_code": typed}
        assert browser.get(path, back).status_code < 500
    assert browser.get(f"/transfers/confirm/{typed[:200] or 'x'}").status_code < 500
    assert not Transfer.objects.exists() and not Payee.objects.exists()


@pytest.mark.parametrize("typed", TYPED)
def test_every_field_of_the_transfer_and_payee_api_answers_never_a_500(payer, other_customer, typed):
    client = customer()
    order = {
        "source_account_id": str(payer.contract.accounts.get().pk),
        "to": "adhoc",
        "amount": "1000",
        "adhoc": {"bank_code": "2999", "branch_code": "101", "type": "1", "number": "7654321"},
    }
    for field in ["source_account_id", "to", "amount", "execution_date", "fee_bearer", "payee_id"]:
        status, _body = client.post("/transfers/quote", {**order, field: typed})
        assert status < 500, field
    for field in PAYEE_FORM:
        status, _body = client.post("/payees/check", {**PAYEE_FORM, field: typed})
        assert status < 500, field
    status, _body = client.call(
        "post",
        "/transfers",
        {**order, "factors": {"transfer_pin": typed, "confirmation_pin": "3333"}},
        headers={"Idempotency-Key": typed.replace("\x00", "")[:8000] or "k"},
    )
    assert status < 500
    assert client.get(f"/banks?q={typed[:2000]}")[0] < 500
    assert not Transfer.objects.exists()


@pytest.mark.parametrize("typed", TYPED)
def test_the_back_offices_money_forms_answer_never_a_500(payer, operators, typed):
    clerk = operator_signed_in(Client(), "clerk1")
    cash = {"branch_code": "101", "type": "1", "number": "1234567", "amount": "1000", "token": ""}
    postings = Posting.objects.count()
    for field in cash:
        assert clerk.post("/backoffice/money/cash", {**cash, field: typed}).status_code < 500, field
        # A refused entry comes back as typed (kept up to 60 characters), 全角 included.
        assert clerk.get("/backoffice/money").status_code < 500, field
    assert Posting.objects.count() == postings + (1 if typed == "" else 0)  # an empty token: no key, posted
    for form, path in [
        ({"destination": "other_bank", "band": "under", "fee": typed}, "/backoffice/money/fee"),
        ({"transfer_cutoff": typed, "max_days_ahead": typed}, "/backoffice/money/settings"),
        ({"day": typed, "reason": typed}, "/backoffice/money/closed-day"),
        ({"day": "2026/12/28", "reason": typed}, "/backoffice/money/closed-day"),
        ({"day": typed}, "/backoffice/transfers/outgoing"),
    ]:
        assert clerk.post(path, form).status_code < 500, path
        assert clerk.get("/backoffice/money").status_code < 500, path  # the refused form, kept
    for query in ["date_from", "date_to", "status", "contract_number", "reception_number", "file_day"]:
        assert clerk.get("/backoffice/transfers", {query: typed}).status_code < 500, query
    assert (
        clerk.get("/backoffice/transfers/outgoing", {"day": "2026/11/24", "batch": typed}).status_code < 500
    )
    api = operator("clerk2")
    status, _body = api.post("/backoffice/ledger/cash", {**cash, "amount": typed})
    assert status < 500
    assert api.call("put", "/backoffice/fees/other_bank/under", {"fee": typed})[0] < 500

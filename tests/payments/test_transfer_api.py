"""振込先管理 and 振込振替 over the API (R-G2, R-G4, R-G6, R-G7; issue 14 items 4, 5, 7, 10): banks found by
code and name, payees registered with the factors, a transfer quoted then ordered with an
Idempotency-Key, retried without paying twice, cancelled; another contract's rows are not found."""

from __future__ import annotations

from datetime import date, time

import pytest

from corpbank.calendar import services as calendar
from corpbank.core import audit
from corpbank.core.models import AuditEvent
from corpbank.payments.models import FeeRule, Payee, Transfer
from tests.api.test_api import customer
from tests.conftest import MASTER_CONFIRMATION
from tests.money import balance_of

FACTORS = {"transfer_pin": "２２２２", "confirmation_pin": "3333"}  # full-width PIN digits are read


def order(source_id: int, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "source_account_id": str(source_id),
        "to": "adhoc",
        "amount": "12,000",
        "adhoc": {"bank_code": "2999", "branch_code": "101", "type": "1", "number": "7654321"},
    }
    body.update(overrides)
    return body


def test_r_g4_banks_and_branches_are_found_by_code_and_by_name(payer):
    client = customer()
    status, found = client.get("/banks?q=みずほ")
    assert status == 200 and found[0] == {"code": "0001", "name": "みずほ", "kana": "ﾐｽﾞﾎ"}
    assert client.get("/banks?q=０００５")[1][0]["code"] == "0005"  # full-width digits
    assert client.get("/banks?q=2999")[1][0] == {"code": "2999", "name": "コープ労働金庫", "kana": "ｺ-ﾌﾟﾛｳｷﾝ"}
    status, branches = client.get("/banks/0001/branches?q=とうきよう")
    assert status == 200 and {"code": "001", "name": "東京営業部", "kana": "ﾄｳｷﾖｳ"} in branches
    assert client.get("/banks/2999/branches")[1] == [{"code": "101", "name": "本店営業部", "kana": ""}]
    assert client.get("/banks/9998/branches")[1] == []


def test_r_g4_payee_registration_checks_the_account_and_asks_the_confirmation_password(payer, other_customer):
    client = customer()
    account = {
        "bank_code": "2999",
        "branch_code": "101",
        "type": "1",
        "number": "７６５４３２１",
        "holder": "ちがう",
    }
    status, checked = client.post("/payees/check", account)
    assert status == 200 and checked["holder_kana"] == "ﾔﾏﾀﾞ ﾊﾅｺ"  # 口座名義照会, not what was typed
    status, body = client.post("/payees", {**account, "factors": {"confirmation_password": "wrong"}})
    assert (status, body["error"]["code"]) == (403, "factors_rejected")
    status, payee = client.post(
        "/payees", {**account, "factors": {"confirmation_password": MASTER_CONFIRMATION}}
    )
    assert status == 201 and payee["holder_kana"] == "ﾔﾏﾀﾞ ﾊﾅｺ" and payee["number"] == "7654321"
    status, body = client.post(
        "/payees", {**account, "factors": {"confirmation_password": MASTER_CONFIRMATION}}
    )
    assert status == 422 and "すでに振込先に登録" in body["error"]["fields"]["number"]
    other_bank = {
        "bank_code": "0001",
        "branch_code": "001",
        "type": "1",
        "number": "1234567",
        "holder": "ｶ)ﾐﾗｲしょうじ",
    }
    status, changed = client.call(
        "put",
        f"/payees/{payee['id']}",
        {**other_bank, "factors": {"confirmation_password": MASTER_CONFIRMATION}},
    )
    assert status == 200 and changed["holder_kana"] == "ｶ)ﾐﾗｲｼﾖｳｼﾞ"  # hiragana converted, small kana large
    assert [p["bank_name"] for p in client.get("/payees")[1]] == ["みずほ"]
    status, _ = client.post(
        f"/payees/{payee['id']}/delete", {"factors": {"confirmation_password": MASTER_CONFIRMATION}}
    )
    assert status == 204 and not Payee.objects.exists()
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="payee.")] == [
        "payee.registered",
        "payee.changed",
        "payee.deleted",
    ]


@pytest.mark.parametrize(
    ("account", "field", "message"),
    [
        ({"bank_code": "0000"}, "bank_code", "金融機関コード"),
        ({"bank_code": "0001", "branch_code": "999"}, "branch_code", "支店コード"),
        ({"number": "12345678"}, "number", "7桁"),
        ({"type": "9"}, "type", "預金種目"),
        ({"bank_code": "0001", "branch_code": "001", "holder": "山田"}, "holder", "使えない文字「山」"),
        ({"bank_code": "0001", "branch_code": "001", "holder": ""}, "holder", "入力してください"),
        ({"bank_code": "0001", "branch_code": "001", "holder": "ｱ" * 31}, "holder", "30文字以内"),
    ],
)
def test_r_g4_bad_payee_input_is_named_on_its_field(payer, account, field, message):
    typed = {
        "bank_code": "2999",
        "branch_code": "101",
        "type": "1",
        "number": "7654321",
        "holder": "ｱ",
        **account,
    }
    status, body = customer().post("/payees/check", typed)
    assert status == 422 and message in body["error"]["fields"][field], body


def test_r_g7_an_order_retried_with_its_idempotency_key_pays_once(payer, other_customer):
    client = customer()
    source = payer.contract.accounts.get().pk
    status, quoted = client.post("/transfers/quote", order(source))
    assert status == 200, quoted
    assert (
        quoted["factors"] == ["transfer_pin", "confirmation_pin"]
        and quoted["amount_in_words"] == "1万2,000円"
    )
    headers = {"Idempotency-Key": "order-1"}
    status, first = client.call("post", "/transfers", {**order(source), "factors": FACTORS}, headers=headers)
    assert status == 201 and first["status"] == "executed", first
    status, again = client.call("post", "/transfers", {**order(source), "factors": FACTORS}, headers=headers)
    assert status == 201 and again["id"] == first["id"]
    assert balance_of(other_customer) == 12_000
    status, body = client.call(
        "post", "/transfers", {**order(source, amount="13000"), "factors": FACTORS}, headers=headers
    )
    assert (status, body["error"]["code"]) == (409, "conflict")
    assert Transfer.objects.count() == 1


def test_r_g2_a_future_transfer_is_listed_and_cancelled_and_foreign_ones_are_not_found(payer, other_customer):
    client = customer()
    source = payer.contract.accounts.get().pk
    status, transfer = client.post(
        "/transfers", {**order(source, execution_date="２０２６－１２－０１"), "factors": FACTORS}
    )
    assert status == 201 and transfer["status"] == "scheduled" and transfer["execution_date"] == "2026-12-01"
    assert transfer["runs_on"] is None
    assert [t["id"] for t in client.get("/transfers?status=scheduled")[1]] == [transfer["id"]]
    calendar.add_closed_day(day=date(2026, 12, 1), reason="システム更改", actor=audit.Actor.system("test"))
    moved = client.get(f"/transfers/{transfer['id']}")[1]
    assert (moved["execution_date"], moved["runs_on"]) == ("2026-12-01", "2026-12-02")  # R-I1
    status, cancelled = client.post(f"/transfers/{transfer['id']}/cancel")
    assert status == 200 and cancelled["status_label"] == "取消済"
    status, body = client.post(f"/transfers/{transfer['id']}/cancel")
    assert status == 409 and "すでに取り消されています" in body["error"]["message"]
    assert client.get("/transfers/999999")[0] == 404


def test_bad_transfer_input_answers_422_never_500(payer, other_customer):
    client = customer()
    source = payer.contract.accounts.get().pk
    for body, field in [
        (order(source, amount="０"), "amount"),
        (order(source, amount="99999999999999"), "amount"),
        (order(source, execution_date="2026-11-28"), "execution_date"),
        (order(source, to="nowhere"), "to"),
        (order("x"), "source_account_id"),
        (order(source, to="payee", payee_id="abc"), "payee_id"),
        (order(source, fee_bearer="them"), "fee_bearer"),
    ]:
        status, answer = client.post("/transfers/quote", body)
        assert status == 422 and field in answer["error"]["fields"], (body, answer)


def test_r_g2_an_order_with_its_quote_id_is_refused_when_the_quote_changed(payer, other_customer):
    client = customer()
    source = payer.contract.accounts.get().pk
    body = order(
        source,
        amount="40000",
        adhoc={"bank_code": "0001", "branch_code": "001", "type": "1", "number": "1234567", "holder": "ﾐｽﾞﾎ"},
    )
    quoted = client.post("/transfers/quote", body)[1]
    FeeRule.objects.filter(destination="other_bank", band="from").update(fee=880)
    status, answer = client.post("/transfers", {**body, "factors": FACTORS, "quote_id": quoted["quote_id"]})
    assert (status, answer["error"]["code"]) == (409, "quote_changed")
    requoted = client.post("/transfers/quote", body)[1]
    status, answer = client.post("/transfers", {**body, "factors": FACTORS, "quote_id": requoted["quote_id"]})
    assert status == 201 and answer["fee"] == 880
    status, answer = client.call(
        "post", "/transfers", {**body, "factors": FACTORS}, headers={"Idempotency-Key": "x" * 81}
    )
    assert status == 422 and "80文字以内" in answer["error"]["message"]


def test_r_i1_service_hours_per_operation_follow_the_cutoff(payer):
    hours = {row["operation"]: row["hours"] for row in customer().get("/service-hours")[1]}
    assert hours["transfer_same_day"] == "営業日 0:00～15:00" and hours["helpdesk"] == "営業日 9:00～18:00"
    calendar.change_service_settings(
        transfer_cutoff=time(14, 30), max_days_ahead=30, actor=audit.Actor.system("test")
    )
    hours = {row["operation"]: row["hours"] for row in customer().get("/service-hours")[1]}
    assert hours["transfer_same_day"] == "営業日 0:00～14:30" and "30日先" in hours["transfer_scheduled"]


def test_refused_fields_are_named_by_their_paths_in_the_body(payer, other_customer):
    """issue 14's API probe (D6): a client can tell which input was wrong: the factors under
    ``factors.``, the ad-hoc payee's under ``adhoc.``, the accounts by the ids' names."""
    client = customer()
    source = payer.contract.accounts.get().pk
    status, body = client.post("/transfers", {**order(source), "factors": {"transfer_pin": "", "otp": ""}})
    assert status == 422 and set(body["error"]["fields"]) == {
        "factors.transfer_pin",
        "factors.confirmation_pin",
    }
    mizuho = {"bank_code": "0001", "branch_code": "001", "type": "1", "number": "1234567", "holder": "漢字"}
    status, body = client.post("/transfers/quote", order(source, adhoc=mizuho))
    assert status == 422 and set(body["error"]["fields"]) == {"adhoc.holder"}, body
    status, body = client.post("/transfers/quote", order(999999))
    assert status == 422 and "source_account_id" in body["error"]["fields"]
    status, body = client.post("/transfers/quote", order(source, to="own", target_account_id="999999"))
    assert status == 422 and set(body["error"]["fields"]) == {"target_account_id"}


def test_the_ids_get_answers_with_are_taken_as_numbers_too(payer, other_customer):
    """issue 14's API probe: GET /accounts answers integer ids; the quote takes them as they came."""
    client = customer()
    source = payer.contract.accounts.get().pk
    status, quoted = client.post("/transfers/quote", {**order(source), "source_account_id": source})
    assert status == 200, quoted
    status, body = client.post("/transfers/quote", {**order(source), "source_account_id": True})
    assert status == 422 and "source_account_id" in body["error"]["fields"]


def test_a_payee_that_is_the_paying_account_is_told_on_the_payee(payer):
    """The review of stop 22: with to=payee, the refusal named ``number`` (or ``adhoc.number`` when
    the body also held an ignored adhoc object), which the body has not."""
    client = customer()
    paying = payer.contract.accounts.select_related("branch").get()
    payee = Payee.objects.create(
        contract=payer.contract,
        bank_code="2999",
        bank_name="コープ労働金庫",
        branch_code=paying.branch.code,
        branch_name=paying.branch.name,
        type=paying.type,
        number=paying.number,
        holder_kana="ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ",
    )
    for body in (
        order(paying.pk, to="payee", payee_id=str(payee.pk)),
        {**order(paying.pk), "to": "payee", "payee_id": payee.pk},
    ):
        status, answer = client.post("/transfers/quote", body)
        assert status == 422 and set(answer["error"]["fields"]) == {"payee_id"}, answer

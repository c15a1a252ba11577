"""振込振替 and 振込先管理's screens (R-G2, R-G4, R-G7; issue 14 items 4, 5, 7, 10): 入力 → 確認 → 完了,
the confirmation's token making a second 確定 (a double click, the back button) give back the same
transfer, a reloaded completion ordering nothing, errors shown on their fields, the payee's holder
shown from the bank's records before registering, and the bank search."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from corpbank.calendar import services as calendar
from corpbank.core import audit
from corpbank.organizations.models import UsageLimit
from corpbank.payments.models import Payee, Transfer
from tests.conftest import ANSWER, MASTER_CONFIRMATION, MASTER_LOGIN_ID, MASTER_PASSWORD
from tests.money import balance_of


@pytest.fixture
def signed_in(payer) -> Client:  # type: ignore[no-untyped-def]
    return sign_in()


def sign_in() -> Client:
    client = Client()
    response = client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    if response["Location"] == "/login/additional":
        response = client.post("/login/additional", {"answer": ANSWER})
    assert response["Location"] == "/", response.content.decode()
    return client


def mizuho_payee(payer, **overrides: str) -> Payee:  # type: ignore[no-untyped-def]
    """A payee at another bank (みずほ 東京営業部), registered directly."""
    values = {
        "bank_code": "0001",
        "bank_name": "みずほ",
        "branch_code": "001",
        "branch_name": "東京営業部",
        "type": "1",
        "number": "1234567",
        "holder_kana": "ﾐｽﾞﾎ ﾀﾛｳ",
        **overrides,
    }
    return Payee.objects.create(contract_id=payer.contract_id, **values)


def typed_transfer(payer, **overrides: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    values = {
        "source_account": str(payer.contract.accounts.get().pk),
        "to": "adhoc",
        "bank_code": "２９９９",
        "branch_code": "101",
        "type": "1",
        "number": "7654321",
        "amount": "５０，０００",
        "execution_date": "",
        "fee_bearer": "payer",
    }
    values.update(overrides)
    return values


def test_r_g2_input_confirm_complete_and_a_second_confirm_pays_nothing_more(signed_in, payer, other_customer):
    menu = signed_in.get("/transfers").content.decode()
    assert "振込振替（新規）" in menu and 'href="/transfers"' in menu
    response = signed_in.post("/transfers/new", typed_transfer(payer))
    assert response.status_code == 302 and response["Location"].startswith("/transfers/confirm/")
    confirm = response["Location"]
    page = signed_in.get(confirm).content.decode()
    assert "ﾔﾏﾀﾞ ﾊﾅｺ" in page and "50,000円（5万円）" in page and "2026/11/24" in page
    assert re.findall(r'name="(transfer_pin|confirmation_pin|otp)"', page) == [
        "transfer_pin",
        "confirmation_pin",
    ]
    wrong = signed_in.post(confirm, {"transfer_pin": "0000", "confirmation_pin": "3333"})
    assert wrong.status_code == 403 and not Transfer.objects.exists()
    done = signed_in.post(confirm, {"transfer_pin": "2222", "confirmation_pin": "3333"})
    assert done.status_code == 302
    again = signed_in.post(confirm, {"transfer_pin": "2222", "confirmation_pin": "3333"})  # double click
    assert again["Location"] == done["Location"]
    result = signed_in.get(done["Location"]).content.decode()
    assert "振込振替が完了しました" in result and Transfer.objects.get().reception_number in result
    signed_in.get(done["Location"])  # reloaded
    assert Transfer.objects.count() == 1 and balance_of(other_customer) == 50_000
    back = signed_in.get(confirm)  # the back button to the confirmation: the transfer it made
    assert back.status_code == 302 and back["Location"] == done["Location"]
    assert "すでに受け付けています" in signed_in.get(back["Location"]).content.decode()


def test_r_g2_the_balance_is_not_told_before_the_pins(signed_in, payer, other_customer):
    """An amount the account does not cover is quoted like any other: telling it at the input would let
    a user with the transfer permission find the balance out by quoting amounts, without the
    inquiry's permission and PIN (an independent review found that). 確定, after both PINs, refuses it
    and writes nothing."""
    confirm = signed_in.post("/transfers/new", typed_transfer(payer, amount="1,000,001"))
    assert confirm.status_code == 302 and confirm["Location"].startswith("/transfers/confirm/")
    signed_in.get(confirm["Location"])
    refused = signed_in.post(confirm["Location"], {"transfer_pin": "2222", "confirmation_pin": "3333"})
    assert "残高が不足しています" in refused.content.decode() and not Transfer.objects.exists()


def test_r_g2_errors_are_shown_on_their_fields(signed_in, payer, other_customer):
    page = signed_in.post(
        "/transfers/new", typed_transfer(payer, amount="0", execution_date="2026/11/28", number="12")
    )
    assert page.status_code == 422
    text = page.content.decode()
    assert 'id="error_amount"' in text and "1円以上" in text
    assert 'id="error_execution_date"' in text and "営業日" in text
    assert 'id="error_number"' in text


def test_r_g2_a_future_transfer_is_cancelled_from_its_page(signed_in, payer, other_customer):
    confirm = signed_in.post("/transfers/new", typed_transfer(payer, execution_date="2026/12/01"))["Location"]
    signed_in.get(confirm)
    done = signed_in.post(confirm, {"transfer_pin": "2222", "confirmation_pin": "3333"})["Location"]
    assert "予約を受け付けました" in signed_in.get(done).content.decode()
    signed_in.post(f"{done}/cancel")
    assert "取り消されました" in signed_in.get(done).content.decode()
    assert Transfer.objects.get().status == "cancelled"


def test_r_i1_a_transfer_whose_day_the_bank_closes_says_when_it_runs(signed_in, payer, other_customer):
    """A 臨時休業日 registered over a 予約中 transfer: the customer's list and the transfer's page say the
    day it runs (the next business day, as the worker runs it), and keep the day they chose."""
    confirm = signed_in.post("/transfers/new", typed_transfer(payer, execution_date="2026/12/01"))["Location"]
    signed_in.get(confirm)
    done = signed_in.post(confirm, {"transfer_pin": "2222", "confirmation_pin": "3333"})["Location"]
    assert 'id="postponed"' not in signed_in.get(done).content.decode()
    calendar.add_closed_day(day=date(2026, 12, 1), reason="システム更改", actor=audit.Actor.system("test"))
    page = signed_in.get(done).content.decode()
    assert "2026/12/01 (火)" in page and "休業日となったため、2026/12/02 (水)に実行します" in page
    assert "本店営業部" in page  # the paying account with its branch's name, as on the input screen
    assert "休業日のため2026/12/02に実行" in signed_in.get("/transfers").content.decode()


def test_r_g4_payee_registration_shows_the_banks_holder_then_asks_the_factors(
    signed_in, payer, other_customer
):
    response = signed_in.post(
        "/payees/new",
        {
            "bank_code": "2999",
            "branch_code": "101",
            "type": "1",
            "number": "7654321",
            "holder": "",
            "nickname": "山田さん",
        },
    )
    confirm = response["Location"]
    page = signed_in.get(confirm).content.decode()
    assert "ﾔﾏﾀﾞ ﾊﾅｺ" in page and "当金庫の登録名義" in page and 'name="confirmation_password"' in page
    assert signed_in.post(confirm, {"confirmation_password": "wrong"}).status_code == 403
    assert signed_in.post(confirm, {"confirmation_password": MASTER_CONFIRMATION})["Location"] == "/payees"
    payee = Payee.objects.get()
    listed = signed_in.get("/payees").content.decode()
    assert "山田さん" in listed and f"/transfers/new?payee={payee.pk}" in listed
    form = signed_in.get(f"/transfers/new?payee={payee.pk}").content.decode()
    assert f'<option value="{payee.pk}" selected>' in form


def test_r_g4_a_holder_in_kanji_is_refused_on_its_field(signed_in, payer):
    page = signed_in.post(
        "/payees/new",
        {"bank_code": "0001", "branch_code": "001", "type": "1", "number": "1234567", "holder": "山田"},
    )
    assert page.status_code == 422 and "使えない文字「山」" in page.content.decode()
    dotted = signed_in.post(
        "/payees/new",
        {
            "bank_code": "0001",
            "branch_code": "001",
            "type": "1",
            "number": "1234567",
            "holder": "ヤマダ・ハナコ",
        },
    )
    # Named as typed (the full-width middle dot), not as the half-width 「･」 it would become.
    assert dotted.status_code == 422 and "使えない文字「・」" in dotted.content.decode()


def test_r_g4_banks_and_branches_are_searched_by_name(signed_in):
    page = signed_in.get("/payees/banks?q=ゆうちょ").content.decode()
    assert "9900" in page
    page = signed_in.get("/payees/banks?bank=0001&q=とうきよう").content.decode()
    assert "東京営業部" in page


def test_another_contracts_transfer_is_not_found(signed_in, payer, other_customer):
    assert signed_in.get("/transfers/999999").status_code == 404


def test_r_g7_a_second_confirm_after_the_first_spent_the_days_limit_shows_the_first(
    signed_in, payer, other_customer
):
    UsageLimit.objects.filter(contract_id=payer.contract_id, kind="single_transfer").update(
        per_transaction=50_000, per_day=50_000
    )
    confirm = signed_in.post("/transfers/new", typed_transfer(payer))["Location"]
    signed_in.get(confirm)
    first = signed_in.post(confirm, {"transfer_pin": "2222", "confirmation_pin": "3333"})
    second = signed_in.post(confirm, {"transfer_pin": "2222", "confirmation_pin": "3333"})
    assert second["Location"] == first["Location"] and Transfer.objects.count() == 1


def test_r_g2_a_confirmation_shown_before_the_cutoff_is_not_accepted_after_it_unseen(
    payer, other_customer, clock
):
    clock(4 * 3600 + 59 * 60)  # 14:59 in Tokyo
    browser = sign_in()
    confirm = browser.post("/transfers/new", typed_transfer(payer))["Location"]
    assert "（本日実行）" in browser.get(confirm).content.decode()
    clock(2 * 60)  # 15:01
    page = browser.post(confirm, {"transfer_pin": "2222", "confirmation_pin": "3333"})
    assert page.status_code == 409 and "確認画面の表示後に内容" in page.content.decode()
    assert "2026/11/25" in page.content.decode() and not Transfer.objects.exists()
    browser.post(confirm, {"transfer_pin": "2222", "confirmation_pin": "3333"})  # confirmed as shown now
    assert Transfer.objects.get().execution_date.isoformat() == "2026-11-25"


def test_a_confirmation_never_shown_orders_nothing(signed_in, payer, other_customer):
    confirm = signed_in.post("/transfers/new", typed_transfer(payer))["Location"]
    page = signed_in.post(confirm, {"transfer_pin": "2222", "confirmation_pin": "3333"})
    assert page.status_code == 409 and not Transfer.objects.exists()


def test_r_a4_payee_pages_need_the_payee_permission(payer, general, client):
    payee = mizuho_payee(payer)
    general.permissions.create(permission="single_transfer")
    from corpbank.payments import payees

    with pytest.raises(Exception, match="振込先管理の業務権限"):
        payees.require_management(general)
    assert payees.payee_of(general, payee.pk) == payee  # to transfer to it
    general.permissions.all().delete()
    with pytest.raises(Exception, match="業務権限"):
        payees.payee_of(general, payee.pk)


def test_ux_review_fixes_on_the_customer_screens(signed_in, payer, other_customer):
    # A payee already registered is told at input, with the reason; a short number is zero-padded.
    account = {"bank_code": "2999", "branch_code": "101", "type": "1", "number": "7654321", "holder": ""}
    confirm = signed_in.post("/payees/new", account)["Location"]
    signed_in.post(confirm, {"confirmation_password": MASTER_CONFIRMATION})
    again = signed_in.post("/payees/new", {**account, "number": "７６５４３２１"})
    assert again.status_code == 422 and "すでに振込先に登録されています" in again.content.decode()
    # 修正: back from the confirmation keeps what was typed.
    confirm = signed_in.post("/transfers/new", typed_transfer(payer, amount="12,345"))["Location"]
    page = signed_in.get(confirm).content.decode()
    back = re.search(r'id="back-to-input" href="([^"]+)"|href="([^"]+)" id="back-to-input"', page)
    assert back is not None
    form = signed_in.get((back.group(1) or back.group(2)).replace("&amp;", "&")).content.decode()
    assert 'value="12,345"' in form
    # A holder typed for this bank's account that is not the bank's is flagged.
    confirm = signed_in.post("/transfers/new", typed_transfer(payer, holder="ﾔﾏﾀﾞ ﾀﾛｳ"))["Location"]
    assert 'id="holder-differs"' in signed_in.get(confirm).content.decode()
    # Cancelling a scheduled transfer asks once more.
    confirm = signed_in.post("/transfers/new", typed_transfer(payer, execution_date="2026/12/01"))["Location"]
    signed_in.get(confirm)
    done = signed_in.post(confirm, {"transfer_pin": "2222", "confirmation_pin": "3333"})["Location"]
    asked = signed_in.get(f"{done}/cancel").content.decode()
    assert (
        'id="cancel-confirm"' in asked
        and Transfer.objects.get(pk=int(done.rsplit("/", 1)[1])).status == "scheduled"
    )
    signed_in.post(f"{done}/cancel")
    assert Transfer.objects.get(pk=int(done.rsplit("/", 1)[1])).status == "cancelled"


def test_the_english_screens_write_brackets_and_colons_in_half_width(signed_in, payer, other_customer):
    """A name with its detail, a label with its error: Japanese writes （） and ：, English ( ) and ': '."""
    mizuho_payee(payer, holder_kana="ﾐﾗｲｼﾖｳｼﾞ", nickname="未来商事")
    home = signed_in.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'\([^（]+ / Login ID: <span id="login-id">', home) and "（" not in home
    japanese = signed_in.get("/payees").content.decode()
    assert "みずほ（0001）" in japanese and "東京営業部（001）" in japanese
    english = signed_in.get("/payees", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "みずほ (0001)" in english and "東京営業部 (001)" in english and "（" not in english
    form = signed_in.get("/transfers/new", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "未来商事 (みずほ 東京営業部 1234567)" in form
    confirm = signed_in.post("/transfers/new", typed_transfer(payer), HTTP_ACCEPT_LANGUAGE="en")["Location"]
    shown = signed_in.get(confirm, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "(2999)" in shown and "(101)" in shown and "（" not in shown and "）" not in shown
    assert "（2999）" in signed_in.get(confirm).content.decode()
    refused = signed_in.post("/transfers/new", typed_transfer(payer, amount="0"), HTTP_ACCEPT_LANGUAGE="en")
    summary = refused.content.decode()
    assert refused.status_code == 422 and re.search(r'<a href="#id_amount">[^<：]+: ', summary), summary


def test_r_g4_a_branch_chosen_in_the_search_comes_back_to_the_input_with_what_was_typed(signed_in, payer):
    """金融機関・支店の検索 from the input screen, without a script: what was typed is kept, each branch
    found can be chosen, and the screen comes back with the codes filled in and 都度指定 chosen."""
    typed = typed_transfer(
        payer, to="payee", bank_code="", branch_code="", number="1234567", amount="１２，３４５"
    )
    search = signed_in.post("/transfers/new", {**typed, "search_bank": "1"})["Location"]
    assert search.startswith("/payees/banks?for=transfer&draft=")
    draft = parse_qs(urlsplit(search).query)["draft"][0]
    found = signed_in.get(search + "&q=みずほ").content.decode()
    assert f"?bank=0001&amp;for=transfer&amp;draft={draft}" in found
    branches = signed_in.get(
        f"/payees/banks?bank=0001&q=東京営業部&for=transfer&draft={draft}"
    ).content.decode()
    chosen = re.search(r'<a class="choose" href="([^"]+)"', branches)
    assert chosen is not None
    back = chosen.group(1).replace("&amp;", "&")
    assert back == f"/transfers/new?draft={draft}&bank_code=0001&branch_code=001"
    form = signed_in.get(back).content.decode()
    assert 'id="id_bank_code" name="bank_code" type="text" value="0001"' in form
    assert 'name="branch_code" type="text" value="001"' in form and 'value="１２，３４５"' in form
    assert '<option value="adhoc" selected>' in form and 'value="1234567"' in form
    # A draft is not an order: its token confirms nothing, and a forged one chooses nowhere.
    assert signed_in.get(f"/transfers/confirm/{draft}")["Location"] == "/transfers/new"
    forged = signed_in.get("/payees/banks?bank=0001&q=東京営業部&for=transfer&draft=forged").content.decode()
    assert 'class="choose"' not in forged
    assert "（" not in signed_in.get(back, HTTP_ACCEPT_LANGUAGE="en").content.decode().split("<form")[1]


def test_r_g4_a_payee_being_changed_comes_back_to_its_change_screen(signed_in, payer):
    payee = mizuho_payee(payer)
    typed = {"bank_code": "", "branch_code": "", "type": "1", "number": "7777777", "holder": "ﾐ" * 10_000}
    search = signed_in.post(f"/payees/{payee.pk}/change", {**typed, "search_bank": "1"})["Location"]
    draft = parse_qs(urlsplit(search).query)["draft"][0]
    branches = signed_in.get(f"/payees/banks?bank=0005&for=payee&draft={draft}").content.decode()
    chosen = re.search(r'<a class="choose" href="([^"]+)"', branches)
    assert chosen is not None and chosen.group(1).startswith(f"/payees/{payee.pk}/change?draft={draft}&amp;")
    form = signed_in.get(chosen.group(1).replace("&amp;", "&")).content.decode()
    assert 'value="0005"' in form and 'value="7777777"' in form
    assert f'value="{"ﾐ" * 100}"' in form  # a value not checked yet is kept cut, never swelling the session

"""Back-office screens through the HTTP stack: four-eyes, the letter, the audit search (R-A1, R-B7, R-I3)."""

from __future__ import annotations

import html
import re

from corpbank.approvals.models import PendingAction
from corpbank.organizations.models import Contract
from tests.conftest import OPERATOR_PASSWORD, PINS, Client, operator_signed_in


def operator_client(login_name: str) -> Client:
    return operator_signed_in(Client(), login_name)  # type: ignore[return-value]


APPLICATION = {
    "organization_name": "テスト労働組合",
    "organization_name_kana": "ﾃｽﾄﾛｳﾄﾞｳｸﾐｱｲ",
    "branch_code": "101",
    "master_name": "試験 太郎",
    "login_method": "password",
    # Two rows of the form's accounts (店番, 科目, 口座番号); the third is left empty.
    "account_rows": "3",
    "account_0_branch": "101",
    "account_0_type": "1",
    "account_0_number": "2345678",
    "account_1_branch": "101",
    "account_1_type": "2",
    "account_1_number": "3456789",
    **PINS,
}


def test_r_a1_r_b7_register_approve_and_print_the_letter_then_first_registration(branch, operators):
    first, second = operator_client("clerk1"), operator_client("clerk2")
    assert first.post("/backoffice/contracts/new", APPLICATION).status_code == 302
    action = PendingAction.objects.get()
    # The entrant sees no approve button for their own entry, and cannot approve by posting either.
    assert f"/backoffice/actions/{action.pk}/approve" not in first.get("/backoffice/").content.decode()
    first.post(f"/backoffice/actions/{action.pk}/approve")
    assert not Contract.objects.exists()
    letter = second.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    assert letter["Cache-Control"] == "no-store"
    page = letter.content.decode()
    number = re.search(r'id="letter-contract-number">(\d+)<', page).group(1)
    initial = re.search(r'id="letter-initial-password"[^>]*>([^<]+)<', page).group(1)
    customer = Client()
    response = customer.post(
        "/register",
        {
            "contract_number": number,
            "initial_password": initial,
            "login_id": "union001",
            "login_password": "Union1pass",
            "login_password_again": "Union1pass",
            "confirmation_password": "Union1conf",
            "confirmation_password_again": "Union1conf",
        },
    )
    assert response.status_code == 302


def test_bad_application_shows_errors_and_queues_nothing(branch, operators):
    client = operator_client("clerk1")
    response = client.post(
        "/backoffice/contracts/new",
        {**APPLICATION, "organization_name_kana": "漢字名", "inquiry_pin": "12ab"},
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert 'id="error_organization_name_kana"' in page and 'id="error_inquiry_pin"' in page
    assert not PendingAction.objects.exists()


def test_r_f5_emergency_stop_through_the_screens(master, operators):
    first, second = operator_client("clerk1"), operator_client("clerk2")
    first.post(f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": "PC紛失"})
    action = PendingAction.objects.get(kind="emergency_stop")
    second.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    assert Contract.objects.get(pk=master.contract_id).status == "emergency_stopped"


def test_r_i3_operators_search_the_audit_log(master, operators):
    client = operator_client("clerk1")
    page = client.get("/backoffice/audit", {"contract_number": master.contract.number}).content.decode()
    assert 'data-action="master.registered"' in page and 'data-action="contract.registered"' in page
    page = client.get("/backoffice/audit", {"action": "operator.login"}).content.decode()
    assert 'data-action="operator.login"' in page and 'data-action="master.registered"' not in page


def test_customers_cannot_reach_the_back_office(master):
    customer = Client()
    customer.post("/login", {"login_id": "master01", "password": "Login1pass"})
    for url in ("/backoffice/", "/backoffice/audit", "/backoffice/contracts/new"):
        response = customer.get(url)
        assert response.status_code == 302 and response["Location"] == "/backoffice/login"


def test_operators_are_not_customers(operators):
    client = operator_client("clerk1")
    assert client.get("/")["Location"] == "/login"


def test_no_pin_or_password_reaches_any_log(master, operators, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    client = operator_client("clerk1")
    client.post(f"/backoffice/contracts/{master.contract_id}/pins", {"transfer_pin": "8642"})
    client.post("/backoffice/contracts/new", {**APPLICATION, "inquiry_pin": "9753"})
    Client().post("/backoffice/login", {"login_name": "clerk2", "password": "Wrong1oper"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("8642", "9753", "Wrong1oper", OPERATOR_PASSWORD):
        assert secret not in logged


def test_r_e1_start_otp_and_ship_tokens_through_the_screens(master, operators):
    from corpbank.core import audit
    from corpbank.organizations.models import Contract
    from corpbank.tokens import services as tokens
    from corpbank.tokens.models import Token

    tokens.add_to_stock(serial="HW00000009", seed=b"0123456789abcdef0123", actor=audit.Actor.system("test"))
    first, second = operator_client("clerk1"), operator_client("clerk2")
    first.post(f"/backoffice/contracts/{master.contract_id}/start-otp")
    response = first.post(
        f"/backoffice/contracts/{master.contract_id}/tokens", {"serials": "HW00000009\nHW404"}
    )
    assert response.status_code == 422 and "HW404" in response.content.decode()
    first.post(
        f"/backoffice/contracts/{master.contract_id}/tokens",
        {"serials": "hw00000009", "fee_reason": "additional"},
    )
    for action in PendingAction.objects.filter(status="pending"):
        second.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    assert Contract.objects.get(pk=master.contract_id).otp_required
    assert Token.objects.get(serial="HW00000009").state == Token.State.SHIPPED
    from corpbank.tokens.models import TokenFee

    assert TokenFee.objects.get(token__serial="HW00000009").reason == "additional"  # R-E3
    page = first.get(f"/backoffice/contracts/{master.contract_id}").content.decode()
    assert "HW00000009" in page and "発送済" in page


def test_the_customers_letter_and_the_queue_are_japanese_whatever_the_operators_language(branch, operators):
    """A back-office walk: an approver working in English printed the customer's initial-password
    letter in English (once only), and an entry made in English showed in the Japanese queue as
    「PIN change」."""
    english = Client()
    english.cookies["django_language"] = "en"
    first = operator_signed_in(english, "clerk1")
    second = Client()
    second.cookies["django_language"] = "en"
    second = operator_signed_in(second, "clerk2")
    first.post("/backoffice/contracts/new", {**APPLICATION, "organization_name_kana": "きゃっしゅ ﾛｳｸﾐ"})
    action = PendingAction.objects.get()
    assert action.summary.startswith("契約の新規登録")  # the bank's record, in the bank's language
    letter = second.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"}).content.decode()
    assert "御中" in letter and "To:" not in letter and "Mr./Ms." not in letter
    # The kana name as bank records hold names: small kana written large.
    assert Contract.objects.get().organization.name_kana == "ｷﾔﾂｼﾕ ﾛｳｸﾐ"


def test_a_kana_name_refused_names_the_character(branch, operators):
    page = (
        operator_client("clerk1")
        .post("/backoffice/contracts/new", {**APPLICATION, "organization_name_kana": "ﾃｽﾄ・ﾛｳｸﾐ"})
        .content.decode()
    )
    assert "（「・」は使えません）" in html.unescape(page)


def test_every_problem_of_an_application_is_told_at_once(branch, operators):
    """A back-office walk: with a bad limit, only the limits were told; the empty master name, the bad
    PIN and account came one round later, each round retyping four PINs."""
    page = (
        operator_client("clerk1")
        .post(
            "/backoffice/contracts/new",
            {
                **APPLICATION,
                "master_name": "",
                "inquiry_pin": "12345",
                "account_0_number": "12",
                "limit_single_transfer": "abc",
                "limit_single_transfer_per_day": "1000",
            },
        )
        .content.decode()
    )
    for field in ("limit_single_transfer", "master_name", "inquiry_pin"):
        assert f'id="error_{field}"' in page, field
    assert not PendingAction.objects.exists()

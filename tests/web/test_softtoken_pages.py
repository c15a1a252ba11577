"""Software-token screens through the HTTP stack, in seed 004's order (R-E9, R-E10, R-E11)."""

from __future__ import annotations

import re

from django.core import mail

from corpbank.tokens.models import SoftwareTokenEnrolment
from tests.conftest import (
    MASTER_CONFIRMATION,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    Client,
    code_of_secret,
    operator_signed_in,
)

ISSUE = {
    "mail_address": "phone@example.jp",
    "activation_password": "Start1app",
    "activation_password_again": "Start1app",
}


def log_in(client: Client) -> str:
    return client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})["Location"]


def issue(client: Client, django_capture_on_commit_callbacks) -> SoftwareTokenEnrolment:
    assert client.post("/otp/issue", ISSUE)["Location"] == "/otp/issue/confirm"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/otp/issue/confirm", {"confirmation_password": MASTER_CONFIRMATION})
    assert response["Location"] == "/otp/issue/done"
    return SoftwareTokenEnrolment.objects.get()


def set_up_phone(enrolment: SoftwareTokenEnrolment, service_id: str) -> str:
    """The phone's browser on the page from the mail; returns the seed it shows."""
    phone = Client(enforce_csrf_checks=False)
    page = phone.post(
        "/softtoken/",
        {"service_id": service_id, "user_id": enrolment.token_user_id, "activation_password": "Start1app"},
    )
    assert page.status_code == 200
    return re.search(r'id="secret">([A-Z2-7]+)<', page.content.decode()).group(1)


def test_r_e9_login_leads_to_the_software_token_menu(softtoken_master, client, settings):
    assert log_in(client) == "/otp"
    assert client.get("/")["Location"] == "/otp"
    assert client.get("/admin/users")["Location"] == "/otp"
    page = client.get("/otp").content.decode()
    assert "ワンタイムパスワード申請内容選択" in page and "未発行" in page and "トークン発行" in page
    assert settings.DEFAULT_FROM_EMAIL in page  # R-E11: the screens name the sender


def test_r_e9_the_whole_flow_on_the_pc_and_the_phone(
    softtoken_master, client, settings, django_capture_on_commit_callbacks
):
    log_in(client)
    assert settings.DEFAULT_FROM_EMAIL in client.get("/otp/issue").content.decode()
    enrolment = issue(client, django_capture_on_commit_callbacks)
    done = client.get("/otp/issue/done").content.decode()
    assert "トークン発行（ソフトウェアトークン発行完了）" in done
    assert enrolment.token_user_id in done and settings.CORPBANK_SOFTTOKEN_SERVICE_ID in done
    assert "phone@example.jp" in done and settings.DEFAULT_FROM_EMAIL in done
    assert [message.to for message in mail.outbox] == [["phone@example.jp"]]
    assert settings.CORPBANK_SOFTTOKEN_APP_URL in mail.outbox[0].body
    secret = set_up_phone(enrolment, settings.CORPBANK_SOFTTOKEN_SERVICE_ID)
    assert "ワンタイムパスワード利用開始" in client.get("/otp").content.decode()
    wrong = client.post("/otp/activate", {"otp": "12345"})
    assert wrong.status_code == 401
    response = client.post("/otp/activate", {"otp": code_of_secret(secret)})
    assert response["Location"] == "/otp"
    assert "サービス利用中" in client.get("/otp").content.decode()
    assert client.get("/").status_code == 200


def test_r_e9_the_activation_password_is_not_kept_in_the_session(
    softtoken_master, client, django_capture_on_commit_callbacks
):
    log_in(client)
    client.post("/otp/issue", ISSUE)
    assert "Start1app" not in str(dict(client.session))
    confirm = client.get("/otp/issue/confirm").content.decode()
    assert "phone@example.jp" in confirm and "確認用パスワード" in confirm


def test_r_e9_bad_input_is_shown_by_field_and_nothing_is_issued(softtoken_master, client):
    log_in(client)
    response = client.post("/otp/issue", {**ISSUE, "mail_address": "phone", "activation_password_again": "x"})
    page = response.content.decode()
    assert response.status_code == 422
    assert 'id="error_mail_address"' in page and 'value="phone"' in page
    assert "Start1app" not in page
    client.post("/otp/issue", ISSUE)
    wrong = client.post("/otp/issue/confirm", {"confirmation_password": "Wrong1conf"})
    assert wrong.status_code in (401, 403)
    assert not SoftwareTokenEnrolment.objects.exists()


def test_r_e9_the_phone_page_hands_out_the_seed_once_with_a_qr_code(
    softtoken_master, client, settings, django_capture_on_commit_callbacks
):
    log_in(client)
    enrolment = issue(client, django_capture_on_commit_callbacks)
    phone = Client()
    form = {
        "service_id": settings.CORPBANK_SOFTTOKEN_SERVICE_ID,
        "user_id": enrolment.token_user_id,
        "activation_password": "Start1app",
    }
    page = phone.post("/softtoken/", form)
    html = page.content.decode()
    assert "<svg" in html and 'href="otpauth://totp/' in html
    assert "no-store" in page["Cache-Control"]
    again = phone.post("/softtoken/", form)
    assert again.status_code == 401 and "<svg" not in again.content.decode()


def test_r_e9_contracts_without_software_tokens_have_no_menu(master, client):
    log_in(client)
    assert client.get("/otp").status_code == 409
    assert "ワンタイムパスワード申請" not in client.get("/").content.decode()


def test_r_e10_the_bank_stops_it_on_the_contract_screen(
    softtoken_master, client, operators, django_capture_on_commit_callbacks
):
    log_in(client)
    enrolment = issue(client, django_capture_on_commit_callbacks)
    clerks = [Client(), Client()]
    for clerk, operator in zip(clerks, operators, strict=True):
        operator_signed_in(clerk, operator.login_name)
    contract_page = f"/backoffice/contracts/{softtoken_master.contract_id}"
    assert enrolment.token_user_id in clerks[0].get(contract_page).content.decode()
    clerks[0].post(f"{contract_page}/stop-software-token", {"token_user_id": enrolment.token_user_id})
    action = softtoken_master.contract.pending_actions.get(kind="stop_software_token")
    clerks[1].post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    enrolment.refresh_from_db()
    assert enrolment.state == "stopped"
    page = client.get("/otp").content.decode()
    assert "利用停止" in page and 'id="issue"' in page  # the user may issue a new one


def test_r_e9_the_menu_in_english(softtoken_master, client, settings):
    log_in(client)
    client.post("/i18n/setlang/", {"language": "en", "next": "/otp"})
    page = client.get("/otp").content.decode()
    assert "One-time password menu" in page and "Not issued" in page
    assert f"Our mail comes from {settings.DEFAULT_FROM_EMAIL}" in page

"""The OTP registration screen and the OTP field of 利用者管理, through the HTTP stack (R-E2, R-E7)."""

from __future__ import annotations

from corpbank.organizations.models import CustomerUser
from corpbank.tokens.models import TokenRegistration
from tests.conftest import MASTER_CONFIRMATION, MASTER_LOGIN_ID, MASTER_PASSWORD, code_now


def log_in(client):
    return client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})


def test_r_e7_login_leads_to_the_registration_screen_and_nothing_else(otp_master, client):
    assert log_in(client)["Location"] == "/settings/otp/register"
    assert client.get("/")["Location"] == "/settings/otp/register"
    page = client.get("/settings/otp/register").content.decode()
    assert "ワンタイムパスワード利用登録" in page and "シリアル番号" in page
    wrong = client.post("/settings/otp/register", {"serial": "HW00000001", "otp": "12345"})
    assert wrong.status_code == 401
    assert "シリアル番号またはワンタイムパスワードに誤りがあります" in wrong.content.decode()
    response = client.post("/settings/otp/register", {"serial": "HW00000001", "otp": code_now()})
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert TokenRegistration.objects.filter(user=otp_master, ended_at__isnull=True).exists()


def test_r_e2_the_user_form_asks_for_the_otp(otp_master, client, clock):
    log_in(client)
    client.post("/settings/otp/register", {"serial": "HW00000001", "otp": code_now()})
    clock(60)
    page = client.get("/admin/users/new").content.decode()
    assert 'name="otp"' in page
    form = {
        "login_id": "staff001",
        "name": "一般",
        "login_password": "Init1login",
        "user_confirmation_password": "Init1conf",
        "confirmation_password": MASTER_CONFIRMATION,
    }
    missing = client.post("/admin/users/new", {**form, "otp": ""})
    assert missing.status_code == 422 and 'id="error_otp"' in missing.content.decode()  # asked, not counted
    wrong = "000000" if code_now() != "000000" else "111111"
    assert client.post("/admin/users/new", {**form, "otp": wrong}).status_code == 403
    assert client.post("/admin/users/new", {**form, "otp": code_now()})["Location"] == "/admin/users"
    assert CustomerUser.objects.filter(login_id="staff001").exists()


def test_contracts_without_otp_have_no_otp_field(master, client):
    log_in(client)
    assert 'name="otp"' not in client.get("/admin/users/new").content.decode()

"""追加認証 through the HTTP stack (R-D1, R-D2, R-D3): the question page, the environment cookie, the
questions page, the master's reset and the bank's."""

from __future__ import annotations

from corpbank.authentication import risk
from corpbank.authentication.models import SecretQuestion
from tests.api.test_risk_api import forget_questions
from tests.conftest import (
    ANSWER,
    GENERAL_FIRST_CHANGE,
    GENERAL_LOGIN_ID,
    MASTER_CONFIRMATION,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    Client,
    operator_signed_in,
)

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def log_in(client: Client, login_id: str = MASTER_LOGIN_ID, password: str = MASTER_PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/login", {"login_id": login_id, "password": password})


def test_r_d2_an_unknown_browser_answers_before_the_session_starts(master, settings):
    browser = Client(recognised=False)
    assert log_in(browser)["Location"] == "/login/additional"
    assert browser.get("/")["Location"] == "/login"  # no session yet
    page = browser.get("/login/additional").content.decode()
    question = SecretQuestion.objects.get(
        user=master, position=browser.session["corpbank.additional_auth"]["position"]
    )
    assert question.get_question_display() in page and 'type="password"' in page
    wrong = browser.post("/login/additional", {"answer": "ちがう"})
    assert wrong.status_code == 401 and "合言葉の回答に誤りがあります" in wrong.content.decode()
    assert "ちがう" not in wrong.content.decode()
    right = browser.post("/login/additional", {"answer": ANSWER})
    assert right["Location"] == "/"
    cookie = right.cookies[risk.DEVICE_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and int(cookie["max-age"]) >= 365 * 86400
    assert not cookie["secure"]
    assert browser.get("/").status_code == 200
    browser.post("/logout")
    assert log_in(browser)["Location"] == "/"  # recognised now


def test_r_d2_the_environment_cookie_is_secure_over_https(master, settings):
    settings.SESSION_COOKIE_SECURE = True
    browser = Client(recognised=False)
    log_in(browser)
    assert browser.post("/login/additional", {"answer": ANSWER}).cookies[risk.DEVICE_COOKIE]["secure"]


def test_r_d2_a_changed_browser_is_asked_even_with_the_cookie(master, client):
    assert log_in(client)["Location"] == "/"
    client.defaults["HTTP_USER_AGENT"] = FIREFOX
    assert log_in(client)["Location"] == "/login/additional"


def test_r_d2_the_question_page_without_a_waiting_login_goes_back_to_login(db):
    assert Client(recognised=False).get("/login/additional")["Location"] == "/login"


def test_r_d1_a_new_general_user_registers_questions_after_the_passwords(general, client):
    forget_questions(general)  # as a new user: no questions yet
    assert log_in(client, GENERAL_LOGIN_ID, "Init1login")["Location"] == "/settings/password"
    assert client.post("/settings/password", GENERAL_FIRST_CHANGE)["Location"] == "/settings/questions"
    assert client.get("/")["Location"] == "/settings/questions"
    page = client.get("/settings/questions").content.decode()
    assert "追加認証（合言葉）の登録" in page and page.count("<select") == 3
    bad = client.post(
        "/settings/questions",
        {
            "question_1": "first_pet",
            "answer_1": "ポチ",
            "question_2": "first_pet",
            "answer_2": "タマ",
            "question_3": "teacher",
            "answer_3": "山",
        },
    )
    assert bad.status_code == 422 and 'id="error_question_2"' in bad.content.decode()
    assert "ポチ" not in bad.content.decode()
    done = client.post(
        "/settings/questions",
        {
            "question_1": "first_pet",
            "answer_1": "ポチ",
            "question_2": "birthplace",
            "answer_2": "横浜",
            "question_3": "teacher",
            "answer_3": "山田",
        },
    )
    assert done["Location"] == "/"
    assert risk.DEVICE_COOKIE in done.cookies
    assert client.get("/").status_code == 200


def test_r_d3_the_master_resets_a_general_users_questions_on_a_screen(master, general, client):
    log_in(client)
    assert f"/admin/users/{general.pk}/questions-reset" in client.get("/admin/users").content.decode()
    refused = client.post(
        f"/admin/users/{general.pk}/questions-reset", {"confirmation_password": "Wrong1conf"}
    )
    assert refused.status_code == 403
    done = client.post(
        f"/admin/users/{general.pk}/questions-reset", {"confirmation_password": MASTER_CONFIRMATION}
    )
    assert done["Location"] == "/admin/users"
    assert not SecretQuestion.objects.filter(user=general).exists()


def test_r_d3_the_bank_resets_the_masters_questions(master, operators):
    clerks = [Client(), Client()]
    for clerk, operator in zip(clerks, operators, strict=True):
        operator_signed_in(clerk, operator.login_name)
    page = clerks[0].get(f"/backoffice/contracts/{master.contract_id}").content.decode()
    assert "マスターユーザの追加認証(合言葉認証)の初期化" in page
    clerks[0].post(f"/backoffice/contracts/{master.contract_id}/reset-master-questions")
    action = master.contract.pending_actions.get(kind="reset_master_questions")
    clerks[1].post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    assert not SecretQuestion.objects.filter(user=master).exists()
    customer = Client(recognised=False)
    assert log_in(customer)["Location"] == "/settings/questions"  # nothing to ask: register anew


def test_the_client_address_comes_from_x_real_ip_only_behind_a_trusted_proxy(master, settings):
    from corpbank.core.models import AuditEvent

    browser = Client(HTTP_X_REAL_IP="198.51.100.23")
    log_in(browser)
    assert AuditEvent.objects.filter(action="login.succeeded").last().ip_address == "127.0.0.1"
    settings.CORPBANK_TRUSTED_PROXIES = ["127.0.0.0/8"]
    # Now the proxy's header counts, and the network is another: the environment changed (R-D2).
    assert log_in(browser)["Location"] == "/login/additional"
    assert (
        AuditEvent.objects.filter(action="login.additional_auth_required").last().ip_address
        == "198.51.100.23"
    )

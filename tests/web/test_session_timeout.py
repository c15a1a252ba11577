"""A session that ended for inactivity says so, and keeps what was typed (R-A5, issue 12 item 11): the
login page says 「一定時間操作がなかったため、ログアウトしました」, the API answers
``session_timed_out``, and the non-secret fields of a form sent too late come back, once, to the same
person on the same page after the next login. Secrets never are kept."""

from __future__ import annotations

from django.contrib.sessions.models import Session

from corpbank.backoffice.services import AccountInput
from corpbank.organizations.models import CustomerUser
from corpbank.web.drafts import DRAFT, FORM_MARKER
from tests.api.test_api import customer, operator
from tests.conftest import (
    MASTER_CONFIRMATION,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    Client,
    activate_master,
    register_contract,
)
from tests.web.test_backoffice_pages import operator_client

TIMED_OUT = "一定時間操作がなかったため、ログアウトしました"
INACTIVITY = 11 * 60  # past the policy's 10 minutes
TYPED = {
    # What the one form template sends: the names of its fields that are no secret.
    FORM_MARKER: "login_id name permissions limit_single_transfer limit_single_transfer_per_day",
    "login_id": "newbie01",
    "name": "新人 花子",
    "login_password": "Typed1login",
    "user_confirmation_password": "Typed1conf",
    "permissions": ["inquiry", "payee_management"],
    "limit_single_transfer": "50000",
    "limit_single_transfer_per_day": "100000",
    "confirmation_password": MASTER_CONFIRMATION,
}


def log_in(client: Client, login_id: str = MASTER_LOGIN_ID, password: str = MASTER_PASSWORD) -> str:
    """Log in; where the login sends the browser."""
    response = client.post("/login", {"login_id": login_id, "password": password})
    assert response.status_code == 302 and response["Location"] != "/login", response.content.decode()
    return str(response["Location"])


def test_r_a5_the_login_page_says_why_whenever_the_user_comes_back(master, client, clock):
    """Minutes or hours later: the server still knows that this session ended for inactivity."""
    for pause in (INACTIVITY, 3 * 3600):
        log_in(client)
        clock(pause)
        response = client.get("/admin/users")
        assert response.status_code == 302 and response["Location"] == "/login"
        page = client.get("/login").content.decode()
        assert TIMED_OUT in page and 'role="alert"' in page
        assert client.get("/admin/users").status_code == 302
        assert TIMED_OUT not in client.get("/login").content.decode()  # said once


def test_r_a5_a_form_sent_too_late_says_why_and_comes_back_without_its_secrets(master, client, clock):
    log_in(client)
    clock(INACTIVITY)
    response = client.post("/admin/users/new", TYPED)
    assert response.status_code == 302 and response["Location"] == "/login"
    assert not CustomerUser.objects.filter(login_id="newbie01").exists()
    login_page = client.get("/login").content.decode()
    assert TIMED_OUT in login_page and "入力中の内容" in login_page
    stored = "".join(str(row.get_decoded()) for row in Session.objects.all())
    assert "newbie01" in stored
    for secret in ("Typed1login", "Typed1conf", MASTER_CONFIRMATION):
        assert secret not in stored  # R-B5: never kept, not even in the server's session store

    # The login goes back to the form, as the message promised (a browser walk found the top page).
    assert log_in(client) == "/admin/users/new"
    home = client.get("/").content.decode()
    assert 'id="draft-waiting"' in home and 'href="/admin/users/new"' in home
    form = client.get("/admin/users/new").content.decode()
    assert 'id="restored"' in form
    assert 'name="login_id" type="text" value="newbie01"' in form
    assert 'value="新人 花子"' in form
    assert 'value="inquiry" checked' in form and 'value="payee_management" checked' in form
    assert 'name="limit_single_transfer" type="number" value="50000"' in form
    assert 'name="login_password" type="password" value=""' in form
    assert 'name="confirmation_password" type="password" value=""' in form
    # Once: the next visit is a blank form, and the top page no longer points to it.
    assert 'value="newbie01"' not in client.get("/admin/users/new").content.decode()
    assert 'id="draft-waiting"' not in client.get("/").content.decode()


def test_r_a5_another_person_on_the_same_pc_never_sees_the_draft(master, operators, client, clock):
    """R-A5: several people share one PC. The draft is this master's: another organization's master
    logging in next on the same browser drops it, and never sees it on the same page."""
    accounts = [AccountInput(branch_code="101", type="1", number="7654321")]
    other = activate_master(register_contract(operators, accounts=accounts), login_id="master02")
    log_in(client)
    clock(INACTIVITY)
    client.post("/admin/users/new", TYPED)
    assert client.session.get(DRAFT) is not None
    assert log_in(client, other.login_id) == "/"  # not to the other master's form
    assert client.session.get(DRAFT) is None
    assert 'value="newbie01"' not in client.get("/admin/users/new").content.decode()


def test_r_a5_a_draft_is_for_its_own_page_only(master, general, client, clock):
    log_in(client)
    clock(INACTIVITY)
    client.post(
        f"/admin/users/{general.pk}", {FORM_MARKER: "name", "name": "改名 次郎", "confirmation_password": "x"}
    )
    log_in(client)
    assert "改名 次郎" not in client.get("/admin/users/new").content.decode()
    assert 'value="改名 次郎"' in client.get(f"/admin/users/{general.pk}").content.decode()


def test_r_a5_a_logout_drops_the_draft(master, client, clock):
    log_in(client)
    clock(INACTIVITY)
    client.post("/admin/users/new", TYPED)
    log_in(client)
    assert client.session.get(DRAFT) is not None
    client.post("/logout")
    assert client.session.get(DRAFT) is None
    log_in(client)
    assert 'value="newbie01"' not in client.get("/admin/users/new").content.decode()


def test_r_a5_the_api_says_session_timed_out(master, clock):
    api = customer()
    assert api.get("/me")[0] == 200
    clock(INACTIVITY)
    status, body = api.get("/me")
    assert status == 401 and body["error"]["code"] == "session_timed_out"
    assert TIMED_OUT in body["error"]["message"]
    status, body = api.get("/me")
    assert status == 401 and body["error"]["code"] == "not_authenticated"


def test_r_a5_the_api_answers_in_english_too(master, clock):
    api = customer()
    api.client.cookies["django_language"] = "en"
    clock(INACTIVITY)
    status, body = api.get("/me")
    assert status == 401 and body["error"]["code"] == "session_timed_out"
    assert (
        body["error"]["message"] == "You were logged out after a period of inactivity. Please log in again."
    )


def test_r_a5_the_back_office_says_why_too(operators, clock):
    client = operator_client("clerk1")
    assert client.get("/backoffice/").status_code == 200
    clock(INACTIVITY)
    response = client.get("/backoffice/")
    assert response.status_code == 302 and response["Location"] == "/backoffice/login"
    assert TIMED_OUT in client.get("/backoffice/login").content.decode()
    api = operator("clerk2")
    clock(INACTIVITY)
    status, body = api.get("/backoffice/actions")
    assert status == 401 and body["error"]["code"] == "session_timed_out"


def test_r_a5_a_button_sent_too_late_keeps_nothing(operators, clock):
    """An approval's button is no form to come back to: the next login does not point to it."""
    client = operator_client("clerk1")
    clock(INACTIVITY)
    response = client.post("/backoffice/actions/1/approve", {"confirmed": "1"})
    assert response.status_code == 302 and response["Location"] == "/backoffice/login"
    assert not any(DRAFT in row.get_decoded() for row in Session.objects.all())


def test_r_a5_in_english_too(master, client, clock):
    client.cookies["django_language"] = "en"
    log_in(client)
    clock(INACTIVITY)
    client.post("/admin/users/new", TYPED)
    page = client.get("/login").content.decode()
    assert "You were logged out after a period of inactivity." in page
    assert "What you were typing (except passwords, PINs and one-time passwords) has been kept." in page
    log_in(client)
    assert "You have unfinished input from before you were logged out." in client.get("/").content.decode()
    assert "has been filled in again" in client.get("/admin/users/new").content.decode()


def test_r_a5_a_draft_keeps_only_what_the_form_named_as_no_secret(master, client, clock):
    """The form names its non-secret fields (pages.Field.is_secret); anything else posted is not kept,
    whatever its name, and a secret's name is never kept even if named."""
    log_in(client)
    page = client.get("/admin/users/new").content.decode()
    assert 'name="corpbank_form" value="login_id name permissions' in page
    assert "confirmation_password" not in page.split('name="corpbank_form" value="')[1].split('"')[0]
    clock(INACTIVITY)
    client.post(
        "/admin/users/new",
        {
            FORM_MARKER: "name login_password",
            "name": "新人",
            "code": "123456",
            "login_password": "Typed1login",
        },
    )
    kept = client.session[DRAFT]["values"]
    assert kept == {"name": ["新人"]}


def test_a_session_the_bank_ended_says_so_on_the_login_page(master, client, clock):
    """A browser walk: locked out while signed in (six wrong current passwords at パスワード変更), or
    deleted, the user landed on the login page without a word."""
    from corpbank.identity import lockout

    log_in(client)
    lockout.end_sessions(master.principal_id)
    response = client.get("/admin/users")
    assert response.status_code == 302 and response["Location"] == "/login"
    page = client.get("/login").content.decode()
    assert "パスワードの再設定などのため、ログアウトしました" in page
    said = "パスワードの再設定などのため、ログアウトしました"
    assert said not in client.get("/login").content.decode()  # said once


def test_the_login_page_of_somebody_signed_in_goes_to_the_top_page(master, client):
    """A browser walk: /login showed the form under the signed-in header; logging in there replaced
    the session without a word. Log out first (R-A5: a shared PC)."""
    log_in(client)
    response = client.get("/login")
    assert response.status_code == 302 and response["Location"] == "/"
    assert "ログアウトしてください" in client.get("/").content.decode()

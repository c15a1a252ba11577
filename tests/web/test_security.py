"""CSRF on every state-changing screen, and no organization reaching another's users."""

from __future__ import annotations

import pytest

from corpbank.backoffice.services import AccountInput
from tests.conftest import (
    MASTER_CONFIRMATION,
    MASTER_PASSWORD,
    OPERATOR_PASSWORD,
    Client,
    activate_master,
    operator_code,
    register_contract,
)

CUSTOMER_POSTS = [
    "/logout",
    "/settings/password",
    "/admin/users/new",
    "/admin/users/{user}",
    "/admin/users/{user}/reset",
    "/admin/users/{user}/unlock",
    "/admin/users/{user}/delete",
    "/admin/users/{user}/questions-reset",
    "/settings/questions",
    "/otp/issue",
    "/otp/issue/confirm",
    "/otp/activate",
]
OPERATOR_POSTS = [
    "/backoffice/logout",
    "/backoffice/contracts/new",
    "/backoffice/contracts/{contract}/pins",
    "/backoffice/contracts/{contract}/emergency-stop",
    "/backoffice/actions/1/approve",
    "/backoffice/actions/1/reject",
    "/backoffice/contracts/{contract}/reset-master-questions",
    "/backoffice/tokens/stock",
]
ANONYMOUS_POSTS = [
    "/login",
    "/login/additional",
    "/register",
    "/softtoken/",
    "/backoffice/login",
    "/i18n/setlang/",
]


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.mark.parametrize("url", ANONYMOUS_POSTS)
def test_csrf_is_enforced_before_login(db, url):
    assert csrf_client().post(url, {}).status_code == 403


@pytest.mark.parametrize("url", CUSTOMER_POSTS)
def test_csrf_is_enforced_on_customer_screens(master, general, url):
    client = csrf_client()
    client.get("/login")
    token = client.cookies["csrftoken"].value
    client.post("/login", {"login_id": "master01", "password": MASTER_PASSWORD, "csrfmiddlewaretoken": token})
    assert client.get("/").status_code == 200
    assert client.post(url.format(user=general.pk), {}).status_code == 403


@pytest.mark.parametrize("url", OPERATOR_POSTS)
def test_csrf_is_enforced_on_backoffice_screens(master, operators, url):
    client = csrf_client()
    client.get("/backoffice/login")
    # The back office's own CSRF cookie (web/backoffice_site.py), rotated at each step of the login.
    token = client.cookies["corpbank_bo_csrftoken"].value
    client.post(
        "/backoffice/login",
        {"login_name": "clerk1", "password": OPERATOR_PASSWORD, "csrfmiddlewaretoken": token},
    )
    token = client.cookies["corpbank_bo_csrftoken"].value
    client.post(
        "/backoffice/login/second-factor", {"otp": operator_code("clerk1"), "csrfmiddlewaretoken": token}
    )
    assert client.get("/backoffice/").status_code == 200
    assert client.post(url.format(contract=master.contract_id), {}).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users/{user}",
        "/admin/users/{user}/reset",
        "/admin/users/{user}/unlock",
        "/admin/users/{user}/delete",
    ],
)
def test_a_master_cannot_see_or_touch_another_organizations_user(master, general, operators, path):
    activate_master(
        register_contract(operators, accounts=[AccountInput("101", "1", "7777777")]), login_id="other001"
    )
    intruder = Client()
    intruder.post("/login", {"login_id": "other001", "password": MASTER_PASSWORD})
    url = path.format(user=general.pk)
    assert intruder.get(url).status_code == 404
    response = intruder.post(
        url,
        {
            "confirmation_password": MASTER_CONFIRMATION,
            "name": "乗っ取り",
            "login_password": "Evil1pass",
            "user_confirmation_password": "Evil1conf",
        },
    )
    assert response.status_code == 404
    general.refresh_from_db()
    assert general.name == "一般" and general.status == "active"
    assert "staff001" not in intruder.get("/admin/users").content.decode()


def test_a_csrf_refusal_is_the_banks_page_in_the_users_language(master, general):
    """A browser walk found Django's own 403 page (naming DEBUG) after another user's login in a
    second tab of the same browser: the refusal stays, on a page of the bank's."""
    client = csrf_client()
    client.get("/login")
    token = client.cookies["csrftoken"].value
    client.post("/login", {"login_id": "master01", "password": MASTER_PASSWORD, "csrfmiddlewaretoken": token})
    answer = client.post(f"/admin/users/{general.pk}/unlock", {"csrfmiddlewaretoken": "stale"})
    page = answer.content.decode()
    assert answer.status_code == 403
    assert "操作を受け付けられませんでした" in page and "DEBUG" not in page and "トップページへ" in page
    english = client.post(
        f"/admin/users/{general.pk}/unlock", {"csrfmiddlewaretoken": "stale"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.status_code == 403 and "could not be accepted" in english.content.decode()


def test_a_csrf_refusal_on_the_back_office_is_the_back_offices_page(master, operators):
    from tests.web.test_backoffice_pages import operator_client

    clerk = operator_client("clerk1")
    clerk.handler.enforce_csrf_checks = True
    answer = clerk.post(f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": "PC紛失"})
    page = answer.content.decode()
    assert answer.status_code == 403 and "操作を受け付けられませんでした" in page
    assert "事務センターのトップへ" in page and "事務センター（金庫職員用）" in page

"""Customer screens through Django's whole HTTP stack (R-A5, R-B6, R-B7, R-C6, R-I3)."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from corpbank.core import audit
from corpbank.identity.models import Secret
from corpbank.organizations import services as users
from tests.conftest import (
    ANSWER,
    GENERAL_FIRST_CHANGE,
    MASTER_CONFIRMATION,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    Client,
)


def log_in(client: Client, login_id: str = MASTER_LOGIN_ID, password: str = MASTER_PASSWORD):
    return client.post("/login", {"login_id": login_id, "password": password})


def test_login_page_is_japanese_first(db, client):
    page = client.get("/login").content.decode()
    assert "ログインID" in page and "ログインパスワード" in page
    assert "当金庫の職員がログインパスワード" in page


def test_english_is_available(db, client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/login"})
    page = client.get("/login").content.decode()
    assert "Login ID" in page


def test_login_and_top_page(master, client):
    response = log_in(client)
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/").content.decode()
    assert "トップページ" in page and MASTER_LOGIN_ID in page


def test_r_c6_wrong_password_and_unknown_id_look_the_same(master, client):
    wrong = log_in(client, password="Wrong1pass")
    unknown = log_in(client, login_id="nobody99", password="Wrong1pass")
    assert wrong.status_code == unknown.status_code == 401
    assert "ログインIDまたはパスワードに誤りがあります" in wrong.content.decode()
    assert "ログインIDまたはパスワードに誤りがあります" in unknown.content.decode()


def test_r_c6_lockout_page_says_until_when(master, client):
    for _ in range(6):
        response = log_in(client, password="Wrong1pass")
    assert response.status_code == 423
    assert "までご利用いただけません" in response.content.decode()


def test_session_key_rotates_at_login(master, client):
    client.get("/login")
    client.session.save()
    before = client.session.session_key
    log_in(client)
    assert client.session.session_key != before


def test_cookie_flags(master, client):
    response = log_in(client)
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


COOKIE_SETTINGS = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
)


def production_settings(**environment: str) -> dict[str, object]:
    """The cookie settings corpbank.settings gives under ``environment`` (README, configuration): the
    module imported afresh in a Python of its own, with none of the HTTPS variables but these."""
    import json
    import os
    import subprocess
    import sys

    env = {
        name: value
        for name, value in os.environ.items()
        if name
        not in {
            "CORPBANK_HTTPS",
            "CORPBANK_INSECURE_HTTP",
            "CORPBANK_SECURE_COOKIES",
            "CORPBANK_DEBUG",
            "DJANGO_SETTINGS_MODULE",
        }
    }
    names = json.dumps(COOKIE_SETTINGS)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import json, corpbank.settings as s; print(json.dumps({{n: getattr(s, n) for n in {names}}}))",
        ],
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("environment", "secure"),
    [
        ({}, True),  # production fails closed
        ({"CORPBANK_INSECURE_HTTP": "1"}, False),
        ({"CORPBANK_DEBUG": "1"}, False),
        ({"CORPBANK_HTTPS": "1"}, True),
        ({"CORPBANK_INSECURE_HTTP": "1", "CORPBANK_SECURE_COOKIES": "1"}, True),
        ({"CORPBANK_HTTPS": "1", "CORPBANK_SECURE_COOKIES": "0"}, False),
        ({"CORPBANK_HTTPS": "1", "CORPBANK_DEBUG": "1"}, True),
    ],
)
def test_cookies_are_secure_when_served_over_https(master, client, settings, environment, secure):
    produced = production_settings(**environment)
    assert produced["SESSION_COOKIE_SECURE"] is secure and produced["CSRF_COOKIE_SECURE"] is secure
    for name, value in produced.items():
        setattr(settings, name, value)
    csrf = client.get("/login").cookies["csrftoken"]
    session = log_in(client).cookies["sessionid"]
    assert bool(session["secure"]) is secure and bool(csrf["secure"]) is secure
    assert session["httponly"] and session["samesite"] == "Lax"


def test_r_a5_session_ends_after_inactivity(master, client, settings):
    log_in(client)
    session = client.session
    session["corpbank.last_seen"] = (timezone.now() - timedelta(minutes=11)).isoformat()
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/login"
    assert "一定時間操作がなかったため" in client.get("/login").content.decode()


def test_r_a5_activity_keeps_the_session(master, client):
    log_in(client)
    session = client.session
    session["corpbank.last_seen"] = (timezone.now() - timedelta(minutes=9)).isoformat()
    session.save()
    assert client.get("/").status_code == 200


def test_logout_ends_the_session(master, client):
    log_in(client)
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_r_b6_expiry_warning_on_the_top_page(master, client):
    Secret.objects.filter(principal_id=master.principal_id, kind="login_password").update(
        change_due_at=timezone.now() + timedelta(days=5)
    )
    log_in(client)
    assert "ログインパスワード有効期限が迫っております" in client.get("/").content.decode()


def test_r_b6_expired_password_forces_the_change_before_anything_else(master, client):
    Secret.objects.filter(principal_id=master.principal_id, kind="login_password").update(
        change_due_at=timezone.now() - timedelta(days=1)
    )
    assert log_in(client)["Location"] == "/settings/password"
    assert client.get("/admin/users")["Location"] == "/settings/password"
    response = client.post(
        "/settings/password",
        {
            "current_login_password": MASTER_PASSWORD,
            "current_confirmation_password": MASTER_CONFIRMATION,
            "new_login_password": "Fresh1pass",
            "new_login_password_again": "Fresh1pass",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/admin/users").status_code == 200


def test_r_b7_master_first_registration_page(registered, client):
    response = client.post(
        "/register",
        {
            "contract_number": registered.contract.number,
            "initial_password": registered.initial_password,
            "login_id": "first001",
            "login_password": "First1pass",
            "login_password_again": "First1pass",
            "confirmation_password": "First1conf",
            "confirmation_password_again": "First1conf",
        },
    )
    assert response.status_code == 302
    # R-D1: right after choosing the login ID and passwords, the secret questions.
    assert log_in(client, "first001", "First1pass")["Location"] == "/settings/questions"


def test_r_b7_registration_errors_name_the_field(registered, client):
    response = client.post(
        "/register",
        {
            "contract_number": registered.contract.number,
            "initial_password": registered.initial_password,
            "login_id": "short",
            "login_password": "First1pass",
            "login_password_again": "Other1pass",
            "confirmation_password": "First1conf",
            "confirmation_password_again": "First1conf",
        },
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert 'id="error_login_id"' in page and 'id="error_login_password_again"' in page


def history_rows(page: str) -> list[tuple[str, str]]:
    """(what, from where) of each row of the login history table, newest first."""
    table = page.split('<table id="login-history">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td></tr>", table)
    return [(what.strip(), where.strip()) for what, where in rows]


def test_r_i3_users_see_their_own_login_history(master, general, client):
    other = Client(REMOTE_ADDR="198.51.100.7")
    log_in(other, "staff001", "Wrong1pass")
    log_in(other, "staff001", "Init1login")
    with transaction.atomic():
        audit.record(
            "logout", actor=audit.Actor.customer(general, "198.51.100.7"), subject_user_id=general.pk
        )
    log_in(client, password="Wrong1pass")
    log_in(client)
    page = client.get("/settings/login-history").content.decode()
    assert history_rows(page) == [("ログイン", "127.0.0.1"), ("ログイン失敗", "127.0.0.1")]
    assert "198.51.100.7" not in page


def test_general_user_cannot_reach_master_functions(master, general, client):
    log_in(client, "staff001", "Init1login")
    client.post("/settings/password", GENERAL_FIRST_CHANGE)
    assert client.get("/").status_code == 200
    for url in ("/admin/users", "/admin/users/new", f"/admin/users/{master.pk}"):
        assert client.get(url).status_code == 403


def test_no_password_reaches_any_log(master, client, caplog):
    caplog.set_level(logging.DEBUG)
    log_in(client, password="Wrong1pass")
    log_in(client)
    client.post(
        "/settings/password",
        {
            "current_login_password": MASTER_PASSWORD,
            "current_confirmation_password": MASTER_CONFIRMATION,
            "new_login_password": "Fresh1pass",
            "new_login_password_again": "Fresh1pass",
        },
    )
    unknown = Client(recognised=False)
    log_in(unknown)
    unknown.post("/login/additional", {"answer": "Wrong1answer"})
    unknown.post("/login/additional", {"answer": ANSWER})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in ("Wrong1pass", MASTER_PASSWORD, "Fresh1pass", MASTER_CONFIRMATION, "Wrong1answer", ANSWER):
        assert secret not in logged


def test_r_a5_several_users_at_once_each_with_an_own_session(master, general, client):
    other = Client()
    log_in(client)
    log_in(other, "staff001", "Init1login")
    assert client.get("/").status_code == 200
    assert other.get("/settings/password").status_code == 200
    client.post("/logout")
    assert client.get("/").status_code == 302
    assert other.get("/settings/password").status_code == 200


def test_a_reset_by_the_master_ends_the_users_open_sessions(master, general, client):
    user = general
    log_in(client, "staff001", "Init1login")
    assert client.get("/settings/password").status_code == 200
    users.reset_general_user_credentials(
        master=master,
        factors={"confirmation_password": MASTER_CONFIRMATION},
        user_id=user.pk,
        login_password="Reset1pw",
        confirmation_password="Reset1cf",
    )
    assert client.get("/settings/password")["Location"] == "/login"

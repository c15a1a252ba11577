"""The back office as a site of its own, through the HTTP stack (issue 12 item 7): its own cookies, its
host and networks, the login with the authenticator app's code, the roles on its screens, and 解約
(item 10) entered and approved on its screens."""

from __future__ import annotations

import base64
import re

import pytest

from corpbank.approvals.models import PendingAction
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator
from corpbank.organizations.models import Contract
from corpbank.tokens import otp
from tests.conftest import (
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    OPERATOR_PASSWORD,
    OPERATOR_TOTP_SEED,
    Client,
    make_operator,
    operator_code,
    operator_signed_in,
)


def customer_signed_in() -> Client:
    client = Client()
    response = client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/", response.content.decode()
    return client


# ---------------------------------------------------------------------------------------------------
# Its own cookies


def test_the_back_office_sets_only_its_own_cookies_on_its_own_path(operators):
    client = Client()
    response = client.post("/backoffice/login", {"login_name": "clerk1", "password": OPERATOR_PASSWORD})
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
    session = response.cookies["corpbank_bo_session"]
    assert session["path"] == "/backoffice/" and session["httponly"] and session["samesite"] == "Lax"
    assert response.cookies["corpbank_bo_csrftoken"]["path"] == "/backoffice/"
    response = client.post("/backoffice/login/second-factor", {"otp": operator_code("clerk1")})
    assert response["Location"] == "/backoffice/"
    assert response.cookies["corpbank_bo_session"].value != session.value  # a new key at login
    assert "sessionid" not in client.cookies
    assert client.get("/backoffice/").status_code == 200
    ended = client.post("/backoffice/logout")
    assert ended.cookies["corpbank_bo_session"]["max-age"] == 0
    assert ended.cookies["corpbank_bo_session"]["path"] == "/backoffice/"
    assert client.get("/backoffice/")["Location"] == "/backoffice/login"


def test_a_customers_session_never_signs_in_to_the_back_office(master, operators):
    customer = customer_signed_in()
    assert customer.get("/backoffice/")["Location"] == "/backoffice/login"
    # Even the customer's session key carried in the back office's cookie signs in nobody there.
    customer.cookies["corpbank_bo_session"] = customer.cookies["sessionid"].value
    assert customer.get("/backoffice/")["Location"] == "/backoffice/login"
    assert customer.get("/api/v1/backoffice/actions").status_code == 401
    assert customer.get("/").status_code == 200  # and the customer is still signed in


def test_an_operators_session_never_signs_in_to_the_customers_site(master, operators):
    operator = operator_signed_in(Client(), "clerk1")
    assert operator.get("/")["Location"] == "/login"
    operator.cookies["sessionid"] = operator.cookies["corpbank_bo_session"].value
    assert operator.get("/")["Location"] == "/login"
    assert "窓口 一郎" not in operator.get("/login").content.decode()  # nobody signed in on this site
    assert operator.get("/api/v1/me").status_code == 401
    assert operator.get("/backoffice/").status_code == 200


def test_the_back_offices_forms_check_its_own_csrf_cookie(operators):
    client = Client(enforce_csrf_checks=True)
    client.get("/login")
    client.get("/backoffice/login")
    customer_token = client.cookies["csrftoken"].value
    own_token = client.cookies["corpbank_bo_csrftoken"].value
    assert customer_token != own_token
    login = {"login_name": "clerk1", "password": OPERATOR_PASSWORD}
    assert (
        client.post("/backoffice/login", {**login, "csrfmiddlewaretoken": customer_token}).status_code == 403
    )
    assert client.post("/backoffice/login", {**login, "csrfmiddlewaretoken": own_token}).status_code == 302
    # The language switch of the back office's pages posts to the back office's own path.
    token = client.cookies["corpbank_bo_csrftoken"].value
    switched = client.post("/backoffice/language", {"language": "en", "csrfmiddlewaretoken": token})
    assert switched.status_code == 302
    page = client.get("/backoffice/login").content.decode()
    assert 'action="/backoffice/language"' in page
    # In English from then on (locale/en).
    page = client.get("/backoffice/login/second-factor").content.decode()
    assert "Enter the 6-digit one-time password shown by your authenticator app." in page


# ---------------------------------------------------------------------------------------------------
# Its host and networks


def test_with_its_own_host_the_back_office_answers_there_only(operators, settings):
    settings.ALLOWED_HOSTS = ["ib.example-rokin.jp", "backoffice.rokin.internal"]
    settings.CORPBANK_BACKOFFICE_HOST = "backoffice.rokin.internal"
    public, internal = Client(HTTP_HOST="ib.example-rokin.jp"), Client(HTTP_HOST="backoffice.rokin.internal")
    for path in ("/backoffice/login", "/backoffice/", "/api/v1/backoffice/csrf"):
        assert public.get(path).status_code == 404
    assert public.post("/backoffice/login", {"login_name": "clerk1"}).status_code == 404
    assert public.get("/login").status_code == 200
    assert internal.get("/backoffice/login").status_code == 200
    assert internal.get("/api/v1/backoffice/csrf").status_code == 200
    for path in ("/login", "/", "/api/v1/csrf", "/ca/crl"):
        assert internal.get(path).status_code == 404
    operator_signed_in(internal, "clerk1")
    assert internal.get("/backoffice/").status_code == 200


def test_with_its_networks_the_back_office_answers_their_clients_only(operators, settings):
    settings.CORPBANK_BACKOFFICE_NETWORKS = ["10.20.0.0/16"]
    assert Client().get("/backoffice/login").status_code == 404  # 127.0.0.1
    assert Client(REMOTE_ADDR="10.20.3.4").get("/backoffice/login").status_code == 200
    assert Client().get("/login").status_code == 200
    # Behind a trusted proxy, the client is the one its X-Real-IP names.
    settings.CORPBANK_TRUSTED_PROXIES = ["127.0.0.1"]
    assert Client(HTTP_X_REAL_IP="10.20.3.4").get("/backoffice/login").status_code == 200
    assert Client(HTTP_X_REAL_IP="192.0.2.1").get("/backoffice/login").status_code == 404


# ---------------------------------------------------------------------------------------------------
# The login


def test_the_second_factor_page_needs_the_password_first(operators):
    assert Client().get("/backoffice/login/second-factor")["Location"] == "/backoffice/login"
    response = Client().post("/backoffice/login/second-factor", {"otp": operator_code("clerk1")})
    assert response["Location"] == "/backoffice/login"


def test_the_password_alone_does_not_sign_in(operators):
    client = Client()
    client.post("/backoffice/login", {"login_name": "clerk1", "password": OPERATOR_PASSWORD})
    assert client.get("/backoffice/")["Location"] == "/backoffice/login"
    assert client.get("/api/v1/backoffice/actions").status_code == 401


def test_a_wrong_or_replayed_code_is_refused_on_the_page(operators, clock):
    operator_signed_in(Client(), "clerk1")
    used = otp.hotp(OPERATOR_TOTP_SEED, _last_step("clerk1"))  # the code that was just accepted
    client = Client()
    client.post("/backoffice/login", {"login_name": "clerk1", "password": OPERATOR_PASSWORD})
    response = client.post("/backoffice/login/second-factor", {"otp": used})
    assert response.status_code == 401 and "ワンタイムパスワードに誤りがあります" in response.content.decode()
    response = client.post("/backoffice/login/second-factor", {"otp": "12a456"})
    assert response.status_code == 422  # not digits: said, not counted
    assert client.get("/backoffice/")["Location"] == "/backoffice/login"


def _last_step(login_name: str) -> int:
    from corpbank.backoffice.models import OperatorTotp

    step = OperatorTotp.objects.get(operator__login_name=login_name).last_step
    assert step is not None
    return step


def test_a_new_operator_registers_the_app_at_the_first_login_from_a_qr_code_shown_once(operators, clock):
    admin = make_operator("kanri", role="admin")
    backoffice.create_operator(
        login_name="new1", display_name="新人", password=OPERATOR_PASSWORD, role="clerk", by=admin
    )
    client = Client()
    response = client.post("/backoffice/login", {"login_name": "new1", "password": OPERATOR_PASSWORD})
    page = client.get(response["Location"])
    assert "no-store" in page["Cache-Control"]
    text = page.content.decode()
    assert "<svg" in text and 'id="qr"' in text
    key = re.search(r'id="secret">([A-Z2-7]+)<', text).group(1)
    again = client.get("/backoffice/login/second-factor").content.decode()
    assert key not in again  # a new key each time it is shown: the first is never shown again
    key = re.search(r'id="secret">([A-Z2-7]+)<', again).group(1)
    seed = base64.b32decode(key + "=" * (-len(key) % 8))
    wrong = client.post("/backoffice/login/second-factor", {"otp": "000000"})
    assert wrong.status_code == 401 and 'id="secret"' not in wrong.content.decode()
    code = otp.totp(seed, otp.now_seconds(), step_seconds=30)
    assert client.post("/backoffice/login/second-factor", {"otp": code})["Location"] == "/backoffice/"
    assert client.get("/backoffice/").status_code == 200
    # The next login asks for the code only.
    other = Client()
    other.post("/backoffice/login", {"login_name": "new1", "password": OPERATOR_PASSWORD})
    assert 'id="qr"' not in other.get("/backoffice/login/second-factor").content.decode()


# ---------------------------------------------------------------------------------------------------
# Roles on the screens


def test_a_clerk_sees_no_approval_and_is_refused_with_a_clear_message(master, operators):
    clerk_operator = make_operator("uketsuke", role="clerk")
    clerk = operator_signed_in(Client(), "uketsuke")
    clerk.post(f"/backoffice/contracts/{master.contract_id}/emergency-stop", {"reason": "PC紛失"})
    action = PendingAction.objects.get(kind="emergency_stop", entered_by=clerk_operator)
    approver = operator_signed_in(Client(), "clerk2")
    assert "承認者の承認待ち" not in approver.get("/backoffice/").content.decode()
    other_clerk = make_operator("uketsuke2", role="clerk")
    assert other_clerk.role == "clerk"
    second_clerk = operator_signed_in(Client(), "uketsuke2")
    home = second_clerk.get("/backoffice/").content.decode()
    assert "承認者の承認待ち" in home
    refused = second_clerk.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    assert refused.status_code == 403 and "承認者の職員のみ" in refused.content.decode()
    assert second_clerk.post(f"/backoffice/actions/{action.pk}/reject").status_code == 403
    assert PendingAction.objects.get(pk=action.pk).status == "pending"
    assert second_clerk.get("/backoffice/operators").status_code == 403


def test_an_administrator_manages_operators_and_nothing_else(master, operators):
    make_operator("kanri", role="admin")
    admin = operator_signed_in(Client(), "kanri")
    menu = admin.get("/backoffice/").content.decode()
    assert "/backoffice/operators" in menu and "/backoffice/contracts/new" not in menu
    for path in ("/backoffice/contracts/new", "/backoffice/tokens/stock"):
        refused = admin.get(path)
        assert refused.status_code == 403 and "受付担当または承認者" in refused.content.decode()
    response = admin.post(
        "/backoffice/operators/new",
        {"login_name": "new1", "display_name": "新人", "role": "approver", "password": OPERATOR_PASSWORD},
    )
    assert response.status_code == 302
    created = Operator.objects.get(login_name="new1")
    assert created.role == "approver" and not backoffice.has_second_factor(created)
    bad = admin.post(
        "/backoffice/operators/new", {"login_name": "new1", "display_name": "x", "password": "x"}
    )
    assert bad.status_code in (409, 422) and 'id="error_' in bad.content.decode()
    page = admin.get("/backoffice/operators").content.decode()
    assert 'data-operator="new1"' in page
    admin.post(f"/backoffice/operators/{created.pk}/role", {"role": "clerk"})
    assert Operator.objects.get(pk=created.pk).role == "clerk"
    admin.post(f"/backoffice/operators/{operators[0].pk}/reset-second-factor")
    assert not backoffice.has_second_factor(operators[0])
    admin.post(f"/backoffice/operators/{created.pk}/deactivate")
    assert not Operator.objects.get(pk=created.pk).is_active
    assert admin.post(f"/backoffice/operators/{created.pk}/promote").status_code == 302  # unknown: said
    clerk = operator_signed_in(Client(), "clerk2")
    assert clerk.post(f"/backoffice/operators/{created.pk}/role", {"role": "admin"}).status_code == 403


def test_an_administrator_lifts_an_operators_suspension(operators, clock):
    make_operator("kanri", role="admin")
    client = Client()
    client.post("/backoffice/login", {"login_name": "clerk1", "password": OPERATOR_PASSWORD})
    for _ in range(10):
        response = client.post("/backoffice/login/second-factor", {"otp": "000000"})
    assert response.status_code == 423 and "管理者に利用停止の解除" in response.content.decode()
    admin = operator_signed_in(Client(), "kanri")
    assert "利用停止中" in admin.get("/backoffice/operators").content.decode()
    admin.post(f"/backoffice/operators/{operators[0].pk}/unlock")
    operator_signed_in(Client(), "clerk1")


# ---------------------------------------------------------------------------------------------------
# 解約 on the screens (item 10)


def test_r_f6_termination_entered_and_approved_on_the_screens(master, operators):
    first, second = operator_signed_in(Client(), "clerk1"), operator_signed_in(Client(), "clerk2")
    page = first.get(f"/backoffice/contracts/{master.contract_id}").content.decode()
    assert f'action="/backoffice/contracts/{master.contract_id}/terminate"' in page
    first.post(f"/backoffice/contracts/{master.contract_id}/terminate", {"reason": "団体解散"})
    action = PendingAction.objects.get(kind="terminate_contract")
    assert Contract.objects.get(pk=master.contract_id).status == Contract.Status.ACTIVE
    second.post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    assert Contract.objects.get(pk=master.contract_id).status == Contract.Status.TERMINATED
    page = first.get(f"/backoffice/contracts/{master.contract_id}").content.decode()
    assert 'id="terminated"' in page and "/terminate" not in page
    refused = Client().post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert "解約" in refused.content.decode()


@pytest.mark.parametrize("role", ["admin", "clerk"])
def test_entering_termination_takes_the_entry_role(master, operators, role):
    make_operator("someone", role=role)
    client = operator_signed_in(Client(), "someone")
    response = client.post(f"/backoffice/contracts/{master.contract_id}/terminate", {"reason": "x"})
    if role == "admin":
        assert response.status_code == 403
        assert not PendingAction.objects.filter(kind="terminate_contract").exists()
    else:
        assert response.status_code == 302
        assert PendingAction.objects.filter(kind="terminate_contract").exists()

"""The JSON API through the HTTP stack, with CSRF checks on (R-B6, R-B7, R-B8, R-C3, R-C6, R-A1, R-I3)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from corpbank.organizations.models import CustomerUser
from tests.conftest import (
    GENERAL_FIRST_CHANGE,
    MASTER_CONFIRMATION,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    OPERATOR_PASSWORD,
    PINS,
    Client,
    operator_code,
    register_questions,
)


class ApiClient:
    """A client that behaves like a browser's fetch(): cookies, and X-CSRFToken from the cookie."""

    def __init__(self) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.client.get("/api/v1/csrf")

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        csrf: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        headers = dict(headers or {})
        # The back office has a CSRF cookie of its own (web/backoffice_site.py).
        cookie = "corpbank_bo_csrftoken" if path.startswith("/backoffice/") else "csrftoken"
        if csrf and cookie in self.client.cookies:
            headers["X-CSRFToken"] = self.client.cookies[cookie].value
        response = getattr(self.client, method)(
            f"/api/v1{path}",
            data=json.dumps(body) if body is not None else None,
            content_type="application/json",
            headers=headers,
        )
        return response.status_code, (response.json() if response.content else None)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        return self.call("post", path, body if body is not None else {}, **kwargs)

    def get(self, path: str) -> tuple[int, Any]:
        return self.call("get", path)


def customer(login_id: str = MASTER_LOGIN_ID, password: str = MASTER_PASSWORD) -> ApiClient:
    client = ApiClient()
    status, body = client.post("/auth/login", {"login_id": login_id, "password": password})
    assert status == 200, body
    return client


def operator(login_name: str) -> ApiClient:
    client = ApiClient()
    client.get("/backoffice/csrf")
    status, body = client.post(
        "/backoffice/auth/login",
        {"login_name": login_name, "password": OPERATOR_PASSWORD, "otp": operator_code(login_name)},
    )
    assert status == 200, body
    return client


def test_openapi_schema_is_published(db):
    schema = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/auth/login" in schema["paths"]
    assert "/api/v1/backoffice/actions/{action_id}/approve" in schema["paths"]


def test_login_me_logout(master):
    client = customer()
    status, me = client.get("/me")
    assert status == 200 and me["login_id"] == MASTER_LOGIN_ID and me["role"] == "master"
    assert client.post("/auth/logout")[0] == 204
    assert client.get("/me")[0] == 401


def test_r_c6_errors_have_one_stable_shape_and_say_nothing_about_which(master):
    client = ApiClient()
    wrong = client.post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": "Wrong1pass"})
    unknown = client.post("/auth/login", {"login_id": "nobody99", "password": "Wrong1pass"})
    assert wrong == unknown
    assert wrong[0] == 401 and wrong[1]["error"]["code"] == "invalid_credentials"
    for _ in range(5):
        status, body = client.post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": "Wrong1pass"})
    assert status == 423 and body["error"]["code"] == "locked_out"


def test_malformed_bodies_get_the_same_error_shape(db):
    status, body = ApiClient().post("/auth/login", {"login_id": 5})
    assert status == 422
    assert body["error"]["code"] == "validation_failed"
    assert "password" in body["error"]["fields"]


@pytest.mark.parametrize("path", ["/auth/login", "/auth/register-master", "/backoffice/auth/login"])
def test_csrf_is_enforced_before_login(db, path):
    status, body = ApiClient().post(path, {}, csrf=False)
    assert status == 403 and body["error"]["code"] == "csrf_failed"


@pytest.fixture
def new_general(master):
    """A general user the master has just added through the API: initial passwords, no questions."""
    client = customer()
    status, body = client.post(
        "/users",
        {
            "factors": {"confirmation_password": MASTER_CONFIRMATION},
            "login_id": "staff001",
            "name": "一般",
            "login_password": "Init1login",
            "confirmation_password": "Init1conf",
            "permissions": ["inquiry"],
            "limits": [{"kind": "single_transfer", "per_transaction": 1000, "per_day": 2000}],
        },
    )
    assert status == 201, body
    return CustomerUser.objects.get(pk=body["id"])


@pytest.fixture
def general(new_general):
    """The same user with the secret questions registered from the test client."""
    register_questions(new_general)
    return new_general


CUSTOMER_WRITES = [
    ("post", "/auth/logout"),
    ("post", "/me/passwords"),
    ("post", "/users"),
    ("put", "/users/{user}"),
    ("post", "/users/{user}/delete"),
    ("post", "/users/{user}/reset-credentials"),
    ("post", "/users/{user}/lift-lock"),
]


@pytest.mark.parametrize("method, path", CUSTOMER_WRITES)
def test_csrf_is_enforced_on_every_customer_write(master, general, method, path):
    client = customer()
    status, body = client.call(method, path.format(user=general.pk), {}, csrf=False)
    assert status == 403 and body["error"]["code"] == "csrf_failed"


def test_r_b8_r_d1_general_user_changes_passwords_then_registers_questions_before_anything_else(new_general):
    client = customer("staff001", "Init1login")
    status, me = client.get("/me")
    assert me["must_change"] == ["login_password", "confirmation_password"]
    assert me["must_register_questions"] is True
    status, body = client.get("/me/login-history")
    assert status == 403 and body["error"]["code"] == "password_change_required"
    status, body = client.post("/me/passwords", GENERAL_FIRST_CHANGE)
    assert status == 204, body
    status, body = client.get("/me/login-history")
    assert status == 403 and body["error"]["code"] == "secret_questions_required"
    choices = [choice["question"] for choice in client.get("/secret-questions")[1]]
    questions = [{"question": question, "answer": "こたえ"} for question in choices[:3]]
    assert client.post("/me/secret-questions", {"questions": questions})[0] == 204
    assert client.get("/me/login-history")[0] == 200


MASTER_ENDPOINTS = [
    ("get", "/users"),
    ("post", "/users"),
    ("get", "/users/{user}"),
    ("put", "/users/{user}"),
    ("post", "/users/{user}/delete"),
    ("post", "/users/{user}/reset-credentials"),
    ("post", "/users/{user}/lift-lock"),
]


@pytest.mark.parametrize("method, path", MASTER_ENDPOINTS)
def test_a_general_user_cannot_reach_master_endpoints(general, method, path):
    client = customer("staff001", "Init1login")
    client.post("/me/passwords", GENERAL_FIRST_CHANGE)
    status, body = client.call(method, path.format(user=general.pk), {} if method != "get" else None)
    assert status == 403 and body["error"]["code"] == "forbidden"


@pytest.mark.parametrize("method, path", MASTER_ENDPOINTS[2:])
def test_a_master_cannot_reach_another_organizations_user(general, operators, method, path):
    from corpbank.backoffice.services import AccountInput
    from tests.conftest import activate_master, register_contract

    activate_master(
        register_contract(operators, accounts=[AccountInput("101", "1", "7777777")]), login_id="other001"
    )
    intruder = customer("other001")
    body = {
        "factors": {"confirmation_password": MASTER_CONFIRMATION},
        "name": "x",
        "login_password": "Evil1pass",
        "confirmation_password": "Evil1conf",
    }
    status, answer = intruder.call(method, path.format(user=general.pk), body if method != "get" else None)
    assert status == 404 and answer["error"]["code"] == "not_found"
    assert general.login_id not in json.dumps(intruder.get("/users")[1])


def test_r_c3_master_lifts_lock_and_resets_through_the_api(general):
    for _ in range(6):
        ApiClient().post("/auth/login", {"login_id": "staff001", "password": "Wrong1pass"})
    master = customer()
    status, user = master.get(f"/users/{general.pk}")
    assert user["locked_until"] is not None
    factors = {"confirmation_password": MASTER_CONFIRMATION}
    assert master.post(f"/users/{general.pk}/lift-lock", {"factors": factors})[0] == 204
    assert master.get(f"/users/{general.pk}")[1]["locked_until"] is None
    status, body = master.post(
        f"/users/{general.pk}/reset-credentials",
        {"factors": factors, "login_password": "Reset1pw", "confirmation_password": "Reset1cf"},
    )
    assert status == 204, body
    assert customer("staff001", "Reset1pw").get("/me")[1]["must_change"] == [
        "login_password",
        "confirmation_password",
    ]


def test_wrong_confirmation_password_is_refused_vaguely(general):
    status, body = customer().post(
        f"/users/{general.pk}/delete", {"factors": {"confirmation_password": "Nope1234"}}
    )
    assert status == 403 and body["error"]["code"] == "factors_rejected"


def test_r_a1_r_b7_contract_registration_four_eyes_and_first_registration(branch, operators):
    first, second = operator("clerk1"), operator("clerk2")
    status, action = first.post(
        "/backoffice/contracts",
        {
            "organization_name": "API労働組合",
            "organization_name_kana": "APIﾛｳﾄﾞｳｸﾐｱｲ",
            "branch_code": "101",
            "master_name": "API 太郎",
            "accounts": [{"branch_code": "101", "type": "1", "number": "5555555"}],
            "pins": PINS,
        },
    )
    assert status == 202, action
    status, body = first.post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, decision = second.post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})
    assert status == 200 and decision["action"]["status"] == "approved"
    letter = decision["letter"]
    status, body = ApiClient().post(
        "/auth/register-master",
        {
            "contract_number": letter["contract_number"],
            "initial_password": letter["initial_password"],
            "login_id": "apimaster1",
            "login_password": "Api1login",
            "login_password_again": "Api1login",
            "confirmation_password": "Api1conf",
            "confirmation_password_again": "Api1conf",
        },
    )
    assert status == 201, body
    assert customer("apimaster1", "Api1login").get("/me")[1]["organization"] == "API労働組合"


def test_backoffice_procedures_and_audit_search(master, operators):
    first, second = operator("clerk1"), operator("clerk2")
    status, action = first.post(
        f"/backoffice/contracts/{master.contract_id}/procedures/emergency-stop", {"reason": "PC紛失"}
    )
    assert status == 202, action
    second.post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})
    status, body = ApiClient().post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert status == 403 and body["error"]["code"] == "contract_not_active"
    status, events = first.get(f"/backoffice/audit?contract_number={master.contract.number}&action=contract.")
    assert status == 200 and {e["action"] for e in events} >= {
        "contract.registered",
        "contract.emergency_stopped",
    }


def test_customers_cannot_use_backoffice_endpoints(master):
    client = customer()
    assert client.get("/backoffice/actions")[0] == 401
    assert client.get("/backoffice/audit")[0] == 401


def test_r_e7_token_registration_through_the_api(otp_master):
    from tests.conftest import code_now

    client = customer()
    status, me = client.get("/me")
    assert me["must_register_token"] is True
    status, body = client.get("/me/login-history")
    assert status == 403 and body["error"]["code"] == "token_registration_required"
    status, body = client.post("/me/token-registration", {"serial": "HW00000001", "otp": "000001"})
    assert status == 401 and body["error"]["code"] == "invalid_credentials"
    assert client.post("/me/token-registration", {"serial": "HW00000001", "otp": code_now()})[0] == 204
    assert client.get("/me/login-history")[0] == 200


def test_r_e6_r_e7_token_management_through_the_api(otp_master, operators, clock):
    from corpbank.tokens.models import Token
    from tests.conftest import code_now

    client = customer()
    client.post("/me/token-registration", {"serial": "HW00000001", "otp": code_now()})
    status, rows = client.get("/otp")
    assert status == 200 and rows[0]["serial"] == "HW00000001"
    clock(60)
    factors = {"confirmation_password": MASTER_CONFIRMATION, "otp": code_now()}
    assert client.post(f"/users/{otp_master.pk}/token/revoke", {"factors": factors})[0] == 204
    assert client.get("/otp")[1][0]["serial"] is None
    bank = operator("clerk1")
    assert bank.post("/backoffice/tokens/HW00000002/lost")[0] == 204
    assert Token.objects.get(serial="HW00000002").state == Token.State.LOST


def test_me_tells_the_password_change_due_date_the_login_told(master):
    """issue 14's API probe (D9): GET /me said null where the login had said the date."""
    client = ApiClient()
    status, logged_in = client.post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert status == 200 and logged_in["password_change_due_at"]
    assert client.get("/me")[1]["password_change_due_at"] == logged_in["password_change_due_at"]

"""The back office's API (issue 12 items 7 and 10): the login with the authenticator app's code, its
registration, the roles, 職員管理 (with an initial password in two halves, one for each administrator),
its own CSRF cookie, and 解約; and the takeover paths of the security review, refused."""

from __future__ import annotations

import base64

from corpbank.backoffice.models import Operator
from corpbank.organizations.models import Contract
from corpbank.tokens import otp
from tests.api.test_api import ApiClient, operator
from tests.conftest import MASTER_LOGIN_ID, MASTER_PASSWORD, OPERATOR_PASSWORD, make_operator, operator_code

LOGIN = "/backoffice/auth/login"


def fresh() -> ApiClient:
    client = ApiClient()
    client.get("/backoffice/csrf")
    return client


def test_the_login_needs_the_apps_code(operators, clock):
    client = fresh()
    status, body = client.post(LOGIN, {"login_name": "clerk1", "password": OPERATOR_PASSWORD})
    assert status == 401 and body["error"]["code"] == "second_factor_required"
    status, body = client.post(LOGIN, {"login_name": "clerk1", "password": OPERATOR_PASSWORD, "otp": "12a4"})
    assert status == 422 and "otp" in body["error"]["fields"]
    assert client.get("/backoffice/actions")[0] == 401
    status, body = client.post(
        LOGIN, {"login_name": "clerk1", "password": OPERATOR_PASSWORD, "otp": operator_code("clerk1")}
    )
    assert status == 200 and body["role"] == "approver"
    assert client.get("/backoffice/actions")[0] == 200


def test_the_back_office_api_checks_its_own_csrf_cookie(operators):
    client = ApiClient()  # the customers' csrftoken only
    response = client.client.post(
        "/api/v1/backoffice/auth/login",
        data={"login_name": "clerk1", "password": OPERATOR_PASSWORD},
        content_type="application/json",
        headers={"X-CSRFToken": client.client.cookies["csrftoken"].value},
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "csrf_failed"
    client.get("/backoffice/csrf")
    assert client.client.cookies["corpbank_bo_csrftoken"]["path"] == "/api/v1/backoffice/"
    status, _body = client.post(LOGIN, {"login_name": "clerk1", "password": OPERATOR_PASSWORD})
    assert status == 401  # past the CSRF check, asking for the code


def test_a_new_operator_changes_the_initial_password_then_registers_an_app(operators, clock):
    """職員の登録 through the API: one administrator enters, another approves and alone receives the
    generated initial password, once; the operator changes it, then registers an app (R-A1)."""
    make_operator("kanri", role="admin"), make_operator("kanri2", role="admin")
    client, other = operator("kanri"), operator("kanri2")
    status, action = client.post(
        "/backoffice/operators",
        # A password sent along is not the entrant's to choose: it is ignored.
        {"login_name": "new1", "display_name": "新人", "role": "clerk", "password": OPERATOR_PASSWORD},
    )
    assert status == 202 and action["kind"] == "operator_register" and action["contract_id"] is None
    assert not Operator.objects.filter(login_name="new1").exists()
    status, body = client.post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})
    assert status == 403 and "別の管理者" in body["error"]["message"]
    assert [a["id"] for a in other.get("/backoffice/actions")[1]] == [action["id"]]
    assert action["id"] not in [a["id"] for a in operator("clerk2").get("/backoffice/actions")[1]]
    status, decided = other.post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})
    assert status == 200 and decided["letter"] is None
    letter = decided["operator_letter"]
    assert letter["login_name"] == "new1" and letter["half"] == "second" and "initial_password" not in letter
    assert other.post(f"/backoffice/actions/{action['id']}/password-half")[0] == 404  # not the approver's
    status, first_half = client.post(f"/backoffice/actions/{action['id']}/password-half")
    assert (
        status == 200
        and first_half["half"] == "first"
        and first_half["other_administrator"].startswith("kanri2")
    )
    assert client.post(f"/backoffice/actions/{action['id']}/password-half")[0] == 404  # once
    initial = first_half["password_half"] + letter["password_half"]
    newcomer = fresh()
    for alone in (OPERATOR_PASSWORD, letter["password_half"], first_half["password_half"]):
        status, body = newcomer.post(LOGIN, {"login_name": "new1", "password": alone})
        assert status == 401  # the password the entrant typed is nobody's, and no half is the password
    status, body = newcomer.post(LOGIN, {"login_name": "new1", "password": initial, "otp": "123456"})
    assert status == 403 and body["error"]["code"] == "password_change_required"
    status, body = newcomer.post(
        "/backoffice/auth/second-factor", {"login_name": "new1", "password": initial}
    )
    assert status == 403 and body["error"]["code"] == "password_change_required"
    change = {
        "login_name": "new1",
        "password": initial,
        "new_password": initial,
        "new_password_again": initial,
    }
    status, body = newcomer.post("/backoffice/auth/password", change)
    assert status == 422 and "new_password" in body["error"]["fields"]
    change |= {"new_password": "Mine4pass", "new_password_again": "Mine4pass"}
    assert newcomer.post("/backoffice/auth/password", change)[0] == 204
    assert newcomer.post("/backoffice/auth/password", change)[0] == 401  # the initial one is gone
    status, body = newcomer.post(LOGIN, {"login_name": "new1", "password": "Mine4pass", "otp": "123456"})
    assert status == 403 and body["error"]["code"] == "second_factor_enrolment_required"
    status, enrolment = newcomer.post(
        "/backoffice/auth/second-factor", {"login_name": "new1", "password": "Mine4pass"}
    )
    assert (
        status == 201 and enrolment["otpauth_uri"].startswith("otpauth://totp/") and enrolment["period"] == 30
    )
    seed = base64.b32decode(enrolment["secret"] + "=" * (-len(enrolment["secret"]) % 8))
    code = otp.totp(seed, otp.now_seconds(), step_seconds=30)
    status, body = newcomer.post(LOGIN, {"login_name": "new1", "password": "Mine4pass", "otp": code})
    assert status == 200 and body["login_name"] == "new1"
    status, body = newcomer.post(
        "/backoffice/auth/second-factor", {"login_name": "new1", "password": "Mine4pass"}
    )
    assert status == 409
    status, listed = client.get("/backoffice/operators")
    assert status == 200 and {o["login_name"]: o["second_factor"] for o in listed}["new1"] is True
    status, body = newcomer.post(
        "/backoffice/password",
        {"current_password": "Mine4pass", "new_password": "Mine5pass", "new_password_again": "Mine5pass"},
    )
    assert status == 204


def test_the_reviewed_takeover_is_refused_through_the_api(operators, clock):
    """admin1 reset clerk2's second factor and enrolled a key with the password: now the reset waits
    for another administrator, and the enrolment finds clerk2's app still registered."""
    make_operator("admin1", role="admin")
    admin = operator("admin1")
    status, action = admin.post(f"/backoffice/operators/{operators[1].pk}/reset-second-factor")
    assert status == 202 and action["status"] == "pending"
    assert admin.post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})[0] == 403
    status, body = fresh().post(
        "/backoffice/auth/second-factor", {"login_name": "clerk2", "password": OPERATOR_PASSWORD}
    )
    assert status == 409
    status, body = fresh().post(LOGIN, {"login_name": "clerk2", "password": OPERATOR_PASSWORD})
    assert status == 401 and body["error"]["code"] == "second_factor_required"


def test_roles_are_refused_with_a_clear_403(master, operators):
    make_operator("uketsuke", role="clerk")
    make_operator("kanri", role="admin")
    clerk, admin = operator("uketsuke"), operator("kanri")
    status, action = clerk.post(
        f"/backoffice/contracts/{master.contract_id}/procedures/emergency-stop", {"reason": "PC紛失"}
    )
    assert status == 202
    make_operator("uketsuke2", role="clerk")
    status, body = operator("uketsuke2").post(
        f"/backoffice/actions/{action['id']}/approve", {"confirmed": True}
    )
    assert status == 403 and body["error"]["code"] == "forbidden" and "承認者" in body["error"]["message"]
    status, body = admin.post(f"/backoffice/contracts/{master.contract_id}/procedures/emergency-stop", {})
    assert status == 403 and "受付担当または承認者" in body["error"]["message"]
    status, body = admin.post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})
    assert status == 403
    status, body = admin.post("/backoffice/tokens/HW00000001/lost")
    assert status == 403
    status, body = clerk.get("/backoffice/operators")
    assert status == 403 and "管理者" in body["error"]["message"]
    status, body = clerk.post(
        "/backoffice/operators",
        {"login_name": "x1", "display_name": "x", "role": "admin", "password": OPERATOR_PASSWORD},
    )
    assert status == 403 and not Operator.objects.filter(login_name="x1").exists()
    assert (
        operator("clerk2").post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})[0] == 200
    )


def test_administrators_manage_operators(operators):
    make_operator("kanri", role="admin"), make_operator("kanri2", role="admin")
    admin, other = operator("kanri"), operator("kanri2")
    target = operators[0].pk

    def approve(action: dict) -> dict:
        status, body = other.post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})
        assert status == 200, body
        return body

    status, action = admin.post(f"/backoffice/operators/{target}/role", {"role": "clerk"})
    assert status == 202 and action["kind"] == "operator_role"
    approve(action)
    assert Operator.objects.get(pk=target).role == "clerk"
    status, body = admin.post(f"/backoffice/operators/{target}/role", {"role": "boss"})
    assert status == 422
    approve(admin.post(f"/backoffice/operators/{target}/unlock")[1])
    status, action = admin.post(f"/backoffice/operators/{target}/reset-password")
    assert status == 202
    letter = approve(action)["operator_letter"]
    assert letter["login_name"] == "clerk1" and letter["password_half"]
    initial = admin.post(f"/backoffice/actions/{action['id']}/password-half")[1]["password_half"]
    initial += letter["password_half"]
    status, body = admin.post(f"/backoffice/operators/{target}/reset-second-factor")
    assert status == 409  # the password is an initial one again: never both unknown to clerk1
    assert admin.post(f"/backoffice/operators/{target}/promote")[0] == 404
    assert admin.post("/backoffice/operators/99999/deactivate")[0] == 404
    approve(admin.post(f"/backoffice/operators/{target}/deactivate")[1])
    assert admin.post(f"/backoffice/operators/{target}/deactivate")[0] == 409
    status, body = fresh().post(LOGIN, {"login_name": "clerk1", "password": initial})
    assert status == 401 and body["error"]["code"] == "invalid_credentials"


def test_r_f6_termination_through_the_api(master, operators):
    first, second = operator("clerk1"), operator("clerk2")
    status, action = first.post(
        f"/backoffice/contracts/{master.contract_id}/procedures/terminate", {"reason": "団体解散"}
    )
    assert status == 202 and action["kind"] == "terminate_contract"
    status, body = second.post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})
    assert status == 200 and body["action"]["status"] == "approved"
    status, contract = first.get(f"/backoffice/contracts/{master.contract_id}")
    assert contract["status"] == Contract.Status.TERMINATED
    status, body = ApiClient().post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert status == 403 and body["error"]["code"] == "contract_not_active"
    status, body = first.post(f"/backoffice/contracts/{master.contract_id}/procedures/terminate", {})
    assert status == 409


# ---------------------------------------------------------------------------------------------------
# The security review's takeover paths (/tmp/secrev/chain_reset.py, chain_ghost.py)


def test_review_finding_1_an_initial_password_is_not_changed_without_the_operators_code(operators, clock):
    """chain_reset.py: admin1 enters a password reset for clerk2, admin2 approves; whoever puts the
    password together (here both halves) cannot replace it without clerk2's code, so the second-factor
    reset stays refused and clerk2's account stays clerk2's."""
    make_operator("admin1", role="admin"), make_operator("admin2", role="admin")
    a1, a2 = operator("admin1"), operator("admin2")
    victim = operators[1]
    status, action = a1.post(f"/backoffice/operators/{victim.pk}/reset-password")
    assert status == 202
    second = a2.post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})[1]["operator_letter"]
    first = a1.post(f"/backoffice/actions/{action['id']}/password-half")[1]
    initial = first["password_half"] + second["password_half"]
    anonymous = fresh()
    change = {
        "login_name": "clerk2",
        "password": initial,
        "new_password": "Evil1pass",
        "new_password_again": "Evil1pass",
    }
    status, body = anonymous.post("/backoffice/auth/password", change)
    assert status == 401 and body["error"]["code"] == "second_factor_required"
    status, body = anonymous.post("/backoffice/auth/password", {**change, "otp": "000000"})
    assert status == 401 and body["error"]["code"] == "invalid_credentials"
    status, body = anonymous.post(LOGIN, {"login_name": "clerk2", "password": initial})
    assert status == 401 and body["error"]["code"] == "second_factor_required"  # the code first
    assert a1.post(f"/backoffice/operators/{victim.pk}/reset-second-factor")[0] == 409
    status, body = anonymous.post(
        "/backoffice/auth/second-factor", {"login_name": "clerk2", "password": initial}
    )
    assert status == 409  # an app is registered: no second one, whatever the password
    # clerk2, with the app: the code, then the change, then the session.
    status, body = anonymous.post(
        LOGIN, {"login_name": "clerk2", "password": initial, "otp": operator_code("clerk2")}
    )
    assert status == 403 and body["error"]["code"] == "password_change_required"
    assert anonymous.get("/backoffice/actions")[0] == 401
    assert anonymous.post("/backoffice/auth/password", {**change, "otp": operator_code("clerk2")})[0] == 204
    status, body = anonymous.post(
        LOGIN, {"login_name": "clerk2", "password": "Evil1pass", "otp": operator_code("clerk2")}
    )
    assert status == 200 and body["login_name"] == "clerk2"


def test_review_finding_2_the_approver_of_a_registration_cannot_make_a_ghost_administrator(operators, clock):
    """chain_ghost.py: admin2 approved the registration of "ghost" and, knowing its whole password,
    signed in as it to approve its own entries. Now admin2 knows the second half only."""
    make_operator("admin1", role="admin"), make_operator("admin2", role="admin")
    a1, a2 = operator("admin1"), operator("admin2")
    status, action = a1.post(
        "/backoffice/operators", {"login_name": "ghost", "display_name": "新任 五郎", "role": "admin"}
    )
    assert status == 202
    letter = a2.post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})[1]["operator_letter"]
    anonymous = fresh()
    for guess in (letter["password_half"], letter["password_half"] * 2):
        status, body = anonymous.post(
            "/backoffice/auth/password",
            {
                "login_name": "ghost",
                "password": guess,
                "new_password": "Ghost1pw",
                "new_password_again": "Ghost1pw",
            },
        )
        assert status == 401 and body["error"]["code"] == "invalid_credentials"
        enrol = anonymous.post("/backoffice/auth/second-factor", {"login_name": "ghost", "password": guess})
        assert enrol[0] == 401
    assert a2.post(f"/backoffice/actions/{action['id']}/password-half")[0] == 404


def test_review_finding_7_only_administrators_read_an_operator_procedure(operators):
    make_operator("admin1", role="admin"), make_operator("admin2", role="admin")
    status, action = operator("admin1").post(f"/backoffice/operators/{operators[0].pk}/unlock")
    assert status == 202
    assert operator("admin2").get(f"/backoffice/actions/{action['id']}")[0] == 200
    missing = operator("clerk2").get("/backoffice/actions/999999")
    refused = operator("clerk2").get(f"/backoffice/actions/{action['id']}")
    assert refused[0] == missing[0] == 404 and refused[1]["error"]["code"] == missing[1]["error"]["code"]
    assert (
        operator("clerk1").post(f"/backoffice/actions/{action['id']}/approve", {"confirmed": True})[0] == 404
    )


def test_review_finding_6_the_login_takes_the_name_in_any_case(operators, clock):
    status, body = fresh().post(
        LOGIN, {"login_name": "CLERK1", "password": OPERATOR_PASSWORD, "otp": operator_code("clerk1")}
    )
    assert status == 200 and body["login_name"] == "clerk1"
    make_operator("admin1", role="admin")
    status, body = operator("admin1").post(
        "/backoffice/operators", {"login_name": "Clerk2", "display_name": "x"}
    )
    assert status == 409 and "login_name" in body["error"]["fields"]


def test_a_wrong_back_office_login_names_the_login_name(operators):
    """Operators sign in with a ログイン名 (API probe D10), told alike for an unknown name (R-C6)."""
    for name in ("clerk1", "nobody"):
        status, body = fresh().post(LOGIN, {"login_name": name, "password": "Wrong1pass"})
        assert status == 401 and body["error"]["message"] == "ログイン名またはパスワードに誤りがあります。"


def test_the_audit_search_refuses_a_reversed_period(operators):
    status, body = operator("clerk1").get("/backoffice/audit?date_from=2026-11-30&date_to=2026-11-01")
    assert status == 422 and set(body["error"]["fields"]) == {"date_to"}


def test_r_f5_an_emergency_stop_says_why_and_no_reason_is_cut(master, operators):
    """An API probe: 緊急停止 was entered with an empty reason, and a long reason was cut at 200."""
    clerk = operator("clerk1")
    path = f"/backoffice/contracts/{master.contract_id}/procedures/"
    status, body = clerk.post(path + "emergency-stop", {"reason": "　"})
    assert status == 422 and set(body["error"]["fields"]) == {"reason"}
    for procedure in ("emergency-stop", "terminate"):
        status, body = clerk.post(path + procedure, {"reason": "長" * 201})
        assert status == 422 and "200文字以内" in body["error"]["fields"]["reason"], procedure
    status, action = clerk.post(path + "emergency-stop", {"reason": "長" * 200})
    assert status == 202
    details = operator("clerk2").get(f"/backoffice/actions/{action['id']}")[1]["details"]
    assert {"name": "reason", "value": "長" * 200}.items() <= next(
        d for d in details if d["name"] == "reason"
    ).items()

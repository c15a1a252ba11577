"""Software tokens through the JSON API, and the phone app's provisioning endpoint (R-E9, R-E11)."""

from __future__ import annotations

import json

from tests.api.test_api import customer
from tests.conftest import MASTER_CONFIRMATION, Client, code_of_secret

ISSUE = {
    "mail_address": "phone@example.jp",
    "activation_password": "Start1app",
    "activation_password_again": "Start1app",
    "confirmation_password": MASTER_CONFIRMATION,
}


def provision(body: dict[str, str]) -> tuple[int, dict]:
    """As the phone app calls it: no cookies, no CSRF token."""
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/softtoken/provision", data=json.dumps(body), content_type="application/json"
    )
    return response.status_code, response.json()


def test_r_e9_issue_provision_activate(softtoken_master, settings):
    client = customer()
    status, state = client.get("/me/software-token")
    assert status == 200 and state["state"] is None and state["state_label"] == "未発行"
    assert state["sender"] == settings.DEFAULT_FROM_EMAIL  # R-E11
    assert client.get("/me")[0] == 200
    assert client.get("/users")[1]["error"]["code"] == "token_registration_required"
    status, issued = client.post("/me/software-token", ISSUE)
    assert status == 201 and issued["state"] == "issued" and issued["mail_address"] == "phone@example.jp"
    status, seed = provision(
        {
            "service_id": issued["service_id"],
            "user_id": issued["token_user_id"],
            "activation_password": "Start1app",
        }
    )
    assert status == 200, seed
    assert (
        seed["otpauth_uri"].startswith("otpauth://totp/")
        and f"secret={seed['secret']}" in seed["otpauth_uri"]
    )
    assert (seed["digits"], seed["period"], seed["algorithm"]) == (6, 60, "SHA1")
    status, active = client.post("/me/software-token/activate", {"otp": code_of_secret(seed["secret"])})
    assert status == 200 and active["state_label"] == "サービス利用中"
    assert client.get("/users")[0] == 200


def test_r_e9_provisioning_refuses_wrong_passwords_through_the_lockout(softtoken_master):
    client = customer()
    _, issued = client.post("/me/software-token", ISSUE)
    wrong = {
        "service_id": issued["service_id"],
        "user_id": issued["token_user_id"],
        "activation_password": "x1",
    }
    for _ in range(5):
        status, body = provision(wrong)
        assert status == 401 and body["error"]["code"] == "invalid_credentials"
    status, body = provision(wrong)
    assert status == 423
    status, _ = provision({**wrong, "activation_password": "Start1app"})
    assert status == 423


def test_r_e9_issuing_needs_the_confirmation_password_and_valid_input(softtoken_master):
    client = customer()
    status, body = client.post("/me/software-token", {**ISSUE, "confirmation_password": "Wrong1conf"})
    assert status in (401, 403) and body["error"]["code"]
    status, body = client.post("/me/software-token", {**ISSUE, "mail_address": "phone"})
    assert status == 422 and "mail_address" in body["error"]["fields"]
    assert client.get("/me/software-token")[1]["state"] is None


def test_r_e9_issuing_needs_csrf(softtoken_master):
    client = customer()
    assert client.post("/me/software-token", ISSUE, csrf=False)[0] == 403


def test_r_f5_an_emergency_stopped_contract_hands_out_no_seed(softtoken_master, operators):
    from corpbank.backoffice.services import approve, enter_emergency_stop
    from corpbank.tokens.models import SoftwareTokenEnrolment

    _, issued = customer().post("/me/software-token", ISSUE)
    approve(
        operators[1], enter_emergency_stop(operators[0], softtoken_master.contract_id, reason="PC紛失").pk
    )
    body = {
        "service_id": issued["service_id"],
        "user_id": issued["token_user_id"],
        "activation_password": "Start1app",
    }
    status, refused = provision(body)
    assert status == 403 and "緊急停止中または解約済み" in refused["error"]["message"], refused
    assert SoftwareTokenEnrolment.objects.get().state == SoftwareTokenEnrolment.State.ISSUED


def test_r_e9_an_empty_confirmation_password_is_told_on_its_field(softtoken_master):
    """issue 14's API probe (S6): it answered factors_rejected, counted."""
    client = customer()
    status, body = client.post("/me/software-token", {**ISSUE, "confirmation_password": ""})
    assert status == 422 and set(body["error"]["fields"]) == {"confirmation_password"}
    assert client.post("/me/software-token", ISSUE)[0] == 201

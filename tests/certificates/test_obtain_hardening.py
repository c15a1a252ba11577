"""Issue 12, item 6: 電子証明書の取得 asks at least what a login from the same environment asks — the
login password through the lockout, the secret question from an environment the bank does not
recognise (R-D2), the one-time password on a contract that uses OTP — and checks and issues in one
transaction (R-F3, R-C6)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from django.db import transaction

from corpbank.certificates import services as certificates
from corpbank.certificates.models import CertificateIssuance, ClientCertificate
from corpbank.core import audit
from corpbank.core.models import AuditEvent
from corpbank.identity.models import FailureCounter
from corpbank.tokens import services as tokens
from corpbank.tokens.models import Token
from tests.conftest import (
    ANSWER,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    Client,
    activate_master,
    code_now,
    register_contract,
    ship_tokens,
)

BANK = audit.Actor.system("bank")


def enable(user: Any) -> None:
    with transaction.atomic():
        certificates.enable_issuance(user, actor=BANK)


@pytest.fixture
def master(branch, operators):  # type: ignore[no-untyped-def]
    """A master of a contract of the certificate method, issuance enabled, the bank's CA in place."""
    certificates.init_ca(common_name="test CA", actor=BANK)
    user = activate_master(register_contract(operators, login_method="certificate"))
    enable(user)
    return user


@pytest.fixture
def otp_master(branch, operators, clock):  # type: ignore[no-untyped-def]
    """The same on a contract that uses OTP, the master's token HW00000001 registered."""
    certificates.init_ca(common_name="test CA", actor=BANK)
    registered = register_contract(operators, login_method="certificate", otp_required=True)
    ship_tokens(operators, registered.contract, "HW00000001")
    user = activate_master(registered)
    tokens.register_for_user(user=user, serial="HW00000001", code=code_now())
    clock(60)  # the registration's code is spent; the next minute brings a new one
    enable(user)
    return user


def obtain(client: Client, password: str = MASTER_PASSWORD) -> Any:
    return client.post("/certificate/obtain", {"login_id": MASTER_LOGIN_ID, "password": password})


def pkcs12_of(page: Any) -> Any:
    html = page.content.decode()
    password = html.split('id="pkcs12-password">')[1].split("<")[0]
    data = html.split("data:application/x-pkcs12;base64,")[1].split('"')[0]
    return pkcs12.load_key_and_certificates(base64.b64decode(data), password.encode())


def failures(user: Any, kind: str) -> int:
    counter = FailureCounter.objects.filter(principal_id=user.principal_id, kind=kind).first()
    return counter.consecutive_failures if counter else 0


def test_r_d2_from_an_unrecognised_environment_the_question_comes_before_the_certificate(master):
    pc = Client(recognised=False)
    response = obtain(pc)
    assert response.status_code == 302 and response["Location"] == "/certificate/obtain/verify"
    assert not ClientCertificate.objects.exists()  # the password alone obtains nothing
    page = pc.get("/certificate/obtain/verify").content.decode()
    assert 'name="answer"' in page and 'name="otp"' not in page
    wrong = pc.post("/certificate/obtain/verify", {"answer": "ちがう"})
    assert wrong.status_code == 403 and "入力された認証情報に誤りがあります" in wrong.content.decode()
    assert failures(master, "secret_answer") == 1  # counted like a wrong answer at login
    assert not ClientCertificate.objects.exists()
    done = pc.post("/certificate/obtain/verify", {"answer": ANSWER})
    key, cert, _ = pkcs12_of(done)
    assert done.status_code == 200 and key is not None and "no-store" in done["Cache-Control"]
    assert ClientCertificate.objects.get(user=master).serial_number == f"{cert.serial_number:x}"
    assert failures(master, "secret_answer") == 0
    # Done: the waiting step is gone, and the issuance is spent.
    assert pc.get("/certificate/obtain/verify")["Location"] == "/certificate/obtain"
    assert obtain(Client(recognised=False)).status_code == 409


def test_r_d2_a_recognised_environment_without_otp_obtains_at_once(master):
    response = obtain(Client())
    assert response.status_code == 200 and pkcs12_of(response)[1] is not None


def test_r_e2_an_otp_contract_asks_the_code_and_refuses_without_it(otp_master):
    pc = Client()
    assert obtain(pc)["Location"] == "/certificate/obtain/verify"
    page = pc.get("/certificate/obtain/verify").content.decode()
    assert 'name="otp"' in page and 'name="answer"' not in page  # a recognised environment
    token = Token.objects.get(serial="HW00000001")
    empty = pc.post("/certificate/obtain/verify", {"otp": ""})
    assert empty.status_code == 422 and 'id="error_otp"' in empty.content.decode()  # asked, not counted
    for typed in ("000000" if code_now() != "000000" else "111111", "12345"):
        refused = pc.post("/certificate/obtain/verify", {"otp": typed})
        assert refused.status_code == 403
    assert failures(token, "otp") == 2  # counted against the token (R-C4)
    assert not ClientCertificate.objects.exists()
    done = pc.post("/certificate/obtain/verify", {"otp": code_now()})
    assert done.status_code == 200 and pkcs12_of(done)[1] is not None
    assert AuditEvent.objects.filter(action="certificate.verification_required").count() == 1


def test_r_e2_from_an_unrecognised_environment_an_otp_contract_asks_both(otp_master):
    pc = Client(recognised=False)
    obtain(pc)
    page = pc.get("/certificate/obtain/verify").content.decode()
    assert 'name="otp"' in page and 'name="answer"' in page
    # A right answer with a wrong code: refused, and the answer's success resets nothing.
    refused = pc.post("/certificate/obtain/verify", {"answer": ANSWER, "otp": "12345"})
    assert refused.status_code == 403 and not ClientCertificate.objects.exists()
    done = pc.post("/certificate/obtain/verify", {"answer": ANSWER, "otp": code_now()})
    assert done.status_code == 200


def test_the_api_answers_202_with_what_must_be_proved(otp_master):
    client = Client(recognised=False, enforce_csrf_checks=True)
    client.get("/api/v1/csrf")

    def post(path: str, body: dict[str, str]) -> Any:
        return client.post(
            f"/api/v1{path}",
            data=json.dumps(body),
            content_type="application/json",
            headers={"X-CSRFToken": client.cookies["csrftoken"].value},
        )

    first = post("/certificate/obtain", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    body = first.json()
    assert first.status_code == 202 and body["otp_required"] is True and body["question"]
    assert body["question_label"] and "no-store" in first["Cache-Control"]
    malformed = post("/certificate/obtain/verify", {"answer": ANSWER, "otp": "000000x"})
    assert malformed.status_code == 422 and "otp" in malformed.json()["error"]["fields"]
    wrong = post(
        "/certificate/obtain/verify",
        {"answer": ANSWER, "otp": "000000" if code_now() != "000000" else "111111"},
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "factors_rejected"
    done = post("/certificate/obtain/verify", {"answer": ANSWER, "otp": code_now()})
    assert done.status_code == 201
    obtained = done.json()
    _, cert, _ = pkcs12.load_key_and_certificates(
        base64.b64decode(obtained["pkcs12"]), obtained["password"].encode()
    )
    assert f"{cert.serial_number:x}" == obtained["serial_number"]
    again = post("/certificate/obtain/verify", {"answer": ANSWER, "otp": code_now()})
    assert again.status_code == 401 and again.json()["error"]["code"] == "additional_auth_expired"


def test_check_and_issuance_are_one_transaction(master, settings):
    """An issuance that fails after the right password leaves nothing behind: no certificate, the
    issuance still open, and the password's earlier failures not reset by its success."""
    pc = Client()
    assert obtain(pc, "Wrong1pass").status_code == 401
    events = AuditEvent.objects.count()
    settings.CORPBANK_CA_PASSPHRASE = ""  # the CA's key cannot be opened: the issuance fails
    response = obtain(pc)
    assert response.status_code == 503
    assert failures(master, "login_password") == 1
    assert not ClientCertificate.objects.exists()
    assert CertificateIssuance.objects.filter(user=master, used_at__isnull=True).exists()
    assert AuditEvent.objects.count() == events  # nothing of the attempt was committed


def test_r_c6_unknown_login_ids_lock_at_the_obtaining_too(master):
    def status(login_id: str) -> int:
        return (
            Client().post("/certificate/obtain", {"login_id": login_id, "password": "Wrong1pass"}).status_code
        )

    answers = [(status(MASTER_LOGIN_ID), status("nobody42")) for _attempt in range(6)]
    assert answers == [(401, 401)] * 5 + [(423, 423)]
    event = AuditEvent.objects.filter(action="login.unknown_login_id").last()
    assert event is not None and event.details["purpose"] == "certificate_obtain"


def test_the_verification_step_without_a_waiting_obtaining_sends_back(db):
    response = Client().get("/certificate/obtain/verify")
    assert response.status_code == 302 and response["Location"] == "/certificate/obtain"
    assert Client().post("/certificate/obtain/verify", {"answer": "x"}).status_code == 302


@pytest.mark.parametrize("answer", [ANSWER, "まちがい"])
def test_a_malformed_code_says_so_whether_the_answer_was_right_or_not(otp_master, answer):
    """The code's form is checked before the answer: the same 422 for a right and a wrong answer, so
    that it cannot tell, uncounted, which answers are right (R-C6)."""
    pc = Client(recognised=False)
    obtain(pc)
    refused = pc.post("/certificate/obtain/verify", {"answer": answer, "otp": "12a456"})
    assert refused.status_code == 422 and 'id="error_otp"' in refused.content.decode()
    assert failures(Token.objects.get(serial="HW00000001"), "otp") == 0
    assert not ClientCertificate.objects.exists()

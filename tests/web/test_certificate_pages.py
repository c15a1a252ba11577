"""Certificate administration through the HTTP stack (R-F3, R-F4): the master enables issuance and
revokes, the user's PC obtains its certificate once, the bank enables the master's and revokes on paper."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from corpbank.certificates import services as certificates
from corpbank.certificates.models import ClientCertificate
from corpbank.core import audit
from tests.api.test_api import ApiClient
from tests.conftest import (
    GENERAL_LOGIN_ID,
    MASTER_CONFIRMATION,
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    Client,
    activate_master,
    obtain_certificate,
    operator_signed_in,
    register_contract,
    register_questions,
)


@pytest.fixture
def master(branch, operators):
    """A master of a contract of the certificate method, with the bank's CA in place."""
    certificates.init_ca(common_name="test CA", actor=audit.Actor.system("test"))
    return activate_master(register_contract(operators, login_method="certificate"))


@pytest.fixture
def staff(master):
    from corpbank.organizations import services as users

    user = users.add_general_user(
        master=master,
        factors={"confirmation_password": MASTER_CONFIRMATION},
        login_id=GENERAL_LOGIN_ID,
        name="一般",
        login_password="Init1login",
        confirmation_password="Init1conf",
    )
    register_questions(user)
    return user


def obtain_page(login_id: str, password: str):  # type: ignore[no-untyped-def]
    return Client().post("/certificate/obtain", {"login_id": login_id, "password": password})


def test_r_f3_the_master_enables_and_the_pc_obtains_once(master, staff, client):
    client.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    # A certificate contract's master logs in only with a certificate (R-F1).
    assert client.get("/").status_code == 302
    refused = obtain_page(GENERAL_LOGIN_ID, "Init1login")
    assert refused.status_code == 409 and "発行が許可されていません" in refused.content.decode()
    certificates.enable_by_master(
        master=master, factors={"confirmation_password": MASTER_CONFIRMATION}, user_id=staff.pk
    )
    page = obtain_page(GENERAL_LOGIN_ID, "Init1login")
    html = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    password = html.split('id="pkcs12-password">')[1].split("<")[0]
    data = html.split("data:application/x-pkcs12;base64,")[1].split('"')[0]
    key, cert, _ = pkcs12.load_key_and_certificates(base64.b64decode(data), password.encode())
    assert key is not None and cert is not None
    assert ClientCertificate.objects.get(user=staff).serial_number == f"{cert.serial_number:x}"
    assert obtain_page(GENERAL_LOGIN_ID, "Init1login").status_code == 409  # once
    assert obtain_page(GENERAL_LOGIN_ID, "Wrong1pass").status_code == 401


def test_r_f1_a_certificate_contract_refuses_a_login_without_the_certificate(master):
    response = Client().post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert response.status_code == 403
    assert "電子証明書を選択して" in response.content.decode()


def test_r_f1_a_certificate_presented_through_a_trusted_proxy_logs_in(master, settings):
    from django.db import transaction

    with transaction.atomic():
        certificates.enable_issuance(master, actor=audit.Actor.system("bank"))
    obtained = obtain_certificate(master)
    _, cert, _ = pkcs12.load_key_and_certificates(obtained.pkcs12, obtained.password.encode())
    from cryptography.hazmat.primitives import serialization

    header = ":" + base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode() + ":"
    untrusted = Client(HTTP_CLIENT_CERT=header)
    assert 'name="login_id"' in untrusted.get("/login").content.decode()  # believed from nowhere
    settings.CORPBANK_TRUSTED_PROXIES = ["127.0.0.1"]
    proxied = Client(HTTP_CLIENT_CERT=header)
    page = proxied.get("/login").content.decode()
    assert 'id="certificate-holder"' in page and 'name="login_id"' not in page
    assert proxied.post("/login", {"password": MASTER_PASSWORD})["Location"] == "/"
    with transaction.atomic():
        certificates.revoke(
            certificates.active_certificate(master), actor=audit.Actor.system("bank"), reason="t"
        )
    revoked = Client(HTTP_CLIENT_CERT=header).post("/login", {"password": MASTER_PASSWORD})
    assert revoked.status_code == 403 and "失効" in revoked.content.decode()
    garbage = Client(HTTP_CLIENT_CERT=":not base64!:")
    assert 'name="login_id"' in garbage.get("/login").content.decode()


def test_r_f3_the_master_revokes_through_the_api_and_the_bank_on_paper(master, staff, operators):
    from django.db import transaction

    with transaction.atomic():
        certificates.enable_issuance(staff, actor=audit.Actor.system("bank"))
    obtain_certificate(staff)
    api = ApiClient()  # no certificate: the contract refuses the login (R-F1)
    status, body = api.post("/auth/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})
    assert status == 403 and body["error"]["code"] == "certificate_required"
    factors = {"confirmation_password": MASTER_CONFIRMATION}
    certificates.revoke_by_master(master=master, factors=factors, user_id=staff.pk)
    assert certificates.active_certificate(staff) is None
    with pytest.raises(Exception, match="有効な電子証明書"):
        certificates.revoke_by_master(master=master, factors=factors, user_id=staff.pk)
    # The master's own issuance: the bank, four-eyes (R-F4).
    clerks = [Client(), Client()]
    for clerk, operator in zip(clerks, operators, strict=True):
        operator_signed_in(clerk, operator.login_name)
    contract_page = f"/backoffice/contracts/{master.contract_id}"
    assert "マスターユーザの電子証明書発行" in clerks[0].get(contract_page).content.decode()
    clerks[0].post(f"{contract_page}/enable-master-certificate")
    action = master.contract.pending_actions.get(kind="enable_master_certificate")
    clerks[1].post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    obtained = obtain_certificate(master)
    clerks[0].post(f"{contract_page}/revoke-certificate", {"login_id": MASTER_LOGIN_ID})
    action = master.contract.pending_actions.get(kind="revoke_certificate")
    clerks[1].post(f"/backoffice/actions/{action.pk}/approve", {"confirmed": "1"})
    obtained.certificate.refresh_from_db()
    assert obtained.certificate.status == "revoked"


def test_the_obtain_endpoint(master):
    from django.db import transaction

    with transaction.atomic():
        certificates.enable_issuance(master, actor=audit.Actor.system("bank"))
    client = Client(enforce_csrf_checks=True)
    client.get("/api/v1/csrf")
    response = client.post(
        "/api/v1/certificate/obtain",
        data=json.dumps({"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD}),
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    body = response.json()
    _, cert, _ = pkcs12.load_key_and_certificates(base64.b64decode(body["pkcs12"]), body["password"].encode())
    assert f"{cert.serial_number:x}" == body["serial_number"]


def test_r_f7_under_the_id_password_method_another_pc_needs_no_procedure(registered, operators):
    from tests.conftest import ANSWER

    activate_master(registered)  # a contract of the ID/password method
    another_pc = Client(recognised=False)
    assert (
        another_pc.post("/login", {"login_id": MASTER_LOGIN_ID, "password": MASTER_PASSWORD})["Location"]
        == "/login/additional"
    )  # only the additional authentication's question (R-D2)
    assert another_pc.post("/login/additional", {"answer": ANSWER})["Location"] == "/"


def test_r_f2_the_top_page_offers_renewal_near_the_end_and_renews(master, settings):
    from datetime import timedelta

    from cryptography.hazmat.primitives import serialization
    from django.db import transaction
    from django.utils import timezone

    with transaction.atomic():
        certificates.enable_issuance(master, actor=audit.Actor.system("bank"))
    old = obtain_certificate(master, now=timezone.now() - timedelta(days=350))
    _, cert, _ = pkcs12.load_key_and_certificates(old.pkcs12, old.password.encode())
    settings.CORPBANK_TRUSTED_PROXIES = ["127.0.0.1"]
    header = ":" + base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode() + ":"
    pc = Client(HTTP_CLIENT_CERT=header)
    assert pc.post("/login", {"password": MASTER_PASSWORD})["Location"] == "/"
    home = pc.get("/").content.decode()
    assert 'id="certificate-renewal"' in home and "/settings/certificate/renew" in home
    page = pc.post("/settings/certificate/renew")
    assert page.status_code == 200 and "pkcs12-password" in page.content.decode()
    assert ClientCertificate.objects.filter(user=master, status="active").count() == 1
    assert ClientCertificate.objects.get(pk=old.certificate.pk).status == "revoked"

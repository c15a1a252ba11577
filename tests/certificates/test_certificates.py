"""The bank's CA and client certificates, in the service layer (R-F2, R-F3, R-F4, R-F5, R-F6)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from corpbank.backoffice import services as backoffice
from corpbank.certificates import services as certificates
from corpbank.certificates.models import CertificateAuthority, ClientCertificate
from corpbank.core import audit
from corpbank.core.errors import Conflict, ValidationFailed
from corpbank.core.models import AuditEvent
from corpbank.organizations.models import Contract
from tests.conftest import Client, activate_master, obtain_certificate, operator_signed_in, register_contract

BANK = audit.Actor.system("bank")


@pytest.fixture
def master(branch, operators):
    """This module's master: of a contract of the certificate method (R-F1)."""
    return activate_master(register_contract(operators, login_method="certificate"))


@pytest.fixture
def ca(db):
    return certificates.init_ca(common_name="test client CA", actor=BANK)


def enable(user) -> None:
    with transaction.atomic():
        certificates.enable_issuance(user, actor=BANK)


def issued(user) -> certificates.Obtained:
    enable(user)
    return obtain_certificate(user)


def opened(obtained: certificates.Obtained):
    return pkcs12.load_key_and_certificates(obtained.pkcs12, obtained.password.encode())


def test_the_ca_key_is_kept_only_encrypted(ca, master, settings):
    assert "ENCRYPTED PRIVATE KEY" in ca.encrypted_key_pem
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(ca.encrypted_key_pem.encode(), password=None)
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(ca.encrypted_key_pem.encode(), password=b"wrong")
    cert = certificates.ca_certificate(ca)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    with pytest.raises(Conflict):
        certificates.init_ca(common_name="again", actor=BANK)
    settings.CORPBANK_CA_PASSPHRASE = ""  # without it nothing can be signed
    enable(master)
    with pytest.raises(certificates.CaNotReady):
        obtain_certificate(master)


def test_r_f3_a_certificate_only_after_issuance_was_enabled(ca, master):
    with pytest.raises(Conflict):
        obtain_certificate(master)
    assert not ClientCertificate.objects.exists()


def test_r_f2_the_pc_receives_a_pkcs12_under_a_one_time_password(ca, master, settings):
    obtained = issued(master)
    key, cert, extra = opened(obtained)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    cert.verify_directly_issued_by(certificates.ca_certificate())
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage
    assert cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value == master.login_id
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=settings.CORPBANK_CERTIFICATE_DAYS) <= lifetime <= timedelta(days=366)
    assert [c.subject for c in extra] == [certificates.ca_certificate().subject]
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(obtained.pkcs12, b"wrong password")
    assert obtained.password not in repr(obtained)
    stored = ClientCertificate.objects.get()
    assert stored.serial_number == f"{cert.serial_number:x}"
    assert certificates.verify(cert.public_bytes(serialization.Encoding.DER)).user == master
    with pytest.raises(Conflict):  # the issuance is spent
        obtain_certificate(master)


def test_r_f4_reissue_revokes_the_old_certificate_and_lists_it_in_the_crl(ca, master):
    first = opened(issued(master))[1]
    second = opened(issued(master))[1]
    assert ClientCertificate.objects.filter(status="active").count() == 1
    crl = x509.load_der_x509_crl(certificates.current_crl_der())
    assert crl.get_revoked_certificate_by_serial_number(first.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(second.serial_number) is None
    assert crl.is_signature_valid(certificates.ca_certificate().public_key())
    with pytest.raises(certificates.CertificateRefused, match="失効"):
        certificates.verify(first.public_bytes(serialization.Encoding.DER))


def test_revocation_resigns_the_crl_at_once(ca, master):
    cert = opened(issued(master))[1]
    before = CertificateAuthority.objects.get().crl_number
    with transaction.atomic():
        certificates.revoke(certificates.active_certificate(master), actor=BANK, reason="pc_disposed")
    assert CertificateAuthority.objects.get().crl_number == before + 1
    crl = x509.load_der_x509_crl(certificates.current_crl_der())
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    assert AuditEvent.objects.filter(action="certificate.revoked").exists()


def test_a_certificate_from_another_ca_is_refused(ca, master):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "master01")])
    now = timezone.now()
    foreign = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(certificates.ca_certificate().subject)  # claims our CA's name
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(certificates.CertificateRefused, match="当金庫が発行した"):
        certificates.verify(foreign.public_bytes(serialization.Encoding.DER))


def test_an_expired_certificate_is_refused(ca, master):
    der = opened(issued(master))[1].public_bytes(serialization.Encoding.DER)
    with pytest.raises(certificates.CertificateRefused, match="有効期限"):
        certificates.verify(der, now=timezone.now() + timedelta(days=400))


def test_r_f5_r_f6_a_stopped_or_terminated_contract_refuses_its_certificates(ca, master, operators):
    der = opened(issued(master))[1].public_bytes(serialization.Encoding.DER)
    entered = backoffice.enter_procedure(operators[0], master.contract_id, "emergency-stop", reason="PC紛失")
    backoffice.approve(operators[1], entered.pk)
    with pytest.raises(certificates.CertificateRefused, match="ご契約"):
        certificates.verify(der)
    # 解約, through the bank's procedure (four-eyes): the certificate is revoked with the contract.
    entered = backoffice.enter_contract_termination(operators[0], master.contract_id, reason="解約届")
    backoffice.approve(operators[1], entered.pk)
    assert Contract.objects.get(pk=master.contract_id).status == Contract.Status.TERMINATED
    with pytest.raises(certificates.CertificateRefused, match="失効"):
        certificates.verify(der)


def test_the_crl_and_the_ca_certificate_are_published(ca, master):
    client = Client()
    response = client.get("/ca/crl")
    assert response["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    assert crl.is_signature_valid(certificates.ca_certificate().public_key())
    pem = client.get("/ca/certificate.pem").content
    assert x509.load_pem_x509_certificate(pem) == certificates.ca_certificate()


def test_the_ca_command(db, tmp_path):
    out = io.StringIO()
    call_command("ca", "init", "--name", "command CA", stdout=out)
    assert "command CA" in out.getvalue()
    target = tmp_path / "crl.pem"
    call_command("ca", "crl", "--out", str(target), stdout=io.StringIO())
    assert x509.load_pem_x509_crl(target.read_bytes()).issuer == certificates.ca_certificate().subject


def test_r_f2_renewal_before_expiry_from_the_pc_that_holds_it(ca, master, general):
    enable(master)
    old = obtain_certificate(master, now=timezone.now() - timedelta(days=350))
    der = opened(old)[1].public_bytes(serialization.Encoding.DER)
    assert certificates.renewal_due(old.certificate)
    with pytest.raises(certificates.CertificateRefused):
        certificates.renew(master, presented=None)
    with pytest.raises(certificates.CertificateRefused):
        certificates.renew(general, presented=der)  # somebody else's
    renewed = certificates.renew(master, presented=der)
    old.certificate.refresh_from_db()
    assert old.certificate.status == "revoked" and renewed.certificate.status == "active"
    fresh = opened(renewed)[1].public_bytes(serialization.Encoding.DER)
    with pytest.raises(Conflict, match="日前から"):  # a year to go: not yet
        certificates.renew(master, presented=fresh)


def test_r_f1_a_bank_may_offer_the_certificate_method_only(branch, operators, settings, client):
    from tests.conftest import application

    settings.CORPBANK_LOGIN_METHODS = ["certificate"]
    with pytest.raises(ValidationFailed) as refused:
        backoffice.enter_contract_registration(operators[0], application(login_method="password"))
    assert "login_method" in refused.value.fields
    backoffice.enter_contract_registration(operators[0], application(login_method="certificate"))
    operator_signed_in(client, "clerk1")
    form = client.get("/backoffice/contracts/new").content.decode()
    assert 'value="certificate"' in form and 'value="password"' not in form

"""解約 (cancellation), four-eyes (R-A1, R-F6, issue 12 item 10): one transaction ends the contract, revokes
its certificates onto the CRL, ends its sessions and its tokens, and releases its accounts; a new contract
for the same organization never honours the old certificates or token registrations."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from django.db import transaction

from corpbank.approvals.models import PendingAction
from corpbank.backoffice import services as backoffice
from corpbank.certificates import services as certificates
from corpbank.certificates.models import ClientCertificate
from corpbank.core import audit
from corpbank.core.errors import Conflict, ContractNotActive, Forbidden, InvalidCredentials
from corpbank.core.models import AuditEvent
from corpbank.organizations.models import Account, Contract, CustomerUser
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens
from corpbank.tokens.models import Token
from tests.conftest import (
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    Registered,
    across_migration,
    activate_master,
    code_now,
    log_in,
    make_operator,
    obtain_certificate,
    register_contract,
    ship_tokens,
)

BANK = audit.Actor.system("bank")
ACCOUNT = {"branch_code": "101", "type": "1", "number": "1234567"}


def certificate_of(user: CustomerUser) -> bytes:
    """The DER certificate the user's PC obtained."""
    with transaction.atomic():
        certificates.enable_issuance(user, actor=BANK)
    obtained = obtain_certificate(user)
    _key, cert, _chain = pkcs12.load_key_and_certificates(obtained.pkcs12, obtained.password.encode())
    assert cert is not None
    return cert.public_bytes(serialization.Encoding.DER)


def crl_serials() -> set[int]:
    crl = x509.load_der_x509_crl(certificates.current_crl_der())
    assert crl.is_signature_valid(certificates.ca_certificate().public_key())
    return {revoked.serial_number for revoked in crl}


@pytest.fixture
def ca(db):
    return certificates.init_ca(common_name="test client CA", actor=BANK)


@pytest.fixture
def certificate_master(branch, operators, ca, clock):
    """The master of a contract of the certificate method that uses OTP, with a certificate and a
    registered token."""
    registered = register_contract(operators, login_method="certificate", otp_required=True)
    ship_tokens(operators, registered.contract, "HW00000001", "HW00000002")
    master = activate_master(registered)
    tokens.register_for_user(user=master, serial="HW00000001", code=code_now())
    return master


def terminate(operators, contract_id: int, reason: str = "解約届") -> PendingAction:
    entered = backoffice.enter_contract_termination(operators[0], contract_id, reason=reason)
    return backoffice.approve(operators[1], entered.pk).action


def test_r_f6_termination_takes_effect_only_on_a_second_operators_approval(master, operators):
    entered = backoffice.enter_contract_termination(operators[0], master.contract_id, reason="解約届")
    assert Contract.objects.get(pk=master.contract_id).status == Contract.Status.ACTIVE
    with pytest.raises(Forbidden):
        backoffice.approve(operators[0], entered.pk)
    clerk = make_operator("uketsuke", role="clerk")
    with pytest.raises(Forbidden):
        backoffice.approve(clerk, entered.pk)
    assert log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD).user == master
    backoffice.approve(operators[1], entered.pk)
    assert Contract.objects.get(pk=master.contract_id).status == Contract.Status.TERMINATED
    with pytest.raises(ContractNotActive, match="解約"):
        log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD)


def test_r_f6_one_transaction_revokes_certificates_onto_the_crl_and_ends_sessions_and_tokens(
    certificate_master, operators, clock
):
    master = certificate_master
    der = certificate_of(master)
    serial = x509.load_der_x509_certificate(der).serial_number
    assert certificates.verify(der).user == master and serial not in crl_serials()
    terminate(operators, master.contract_id)
    assert serial in crl_serials()
    assert ClientCertificate.objects.get(serial_number=format(serial, "x")).status == "revoked"
    with pytest.raises(certificates.CertificateRefused, match="失効"):
        certificates.verify(der)
    assert token_selectors.registration_in_force(master) is None
    assert set(Token.objects.filter(contract=master.contract).values_list("state", flat=True)) == {"revoked"}
    assert not Account.objects.filter(contract=master.contract).exists()
    event = AuditEvent.objects.get(action="contract.terminated")
    assert event.details["certificates_revoked"] == [format(serial, "x")]
    assert event.details["accounts_released"] == [{"branch": "101", "type": "1", "number": "1234567"}]
    assert event.details["reason"] == "解約届"


def test_r_f6_a_failing_effect_leaves_nothing_half_done(certificate_master, operators, settings):
    der = certificate_of(certificate_master)
    entered = backoffice.enter_contract_termination(operators[0], certificate_master.contract_id)
    settings.CORPBANK_CA_PASSPHRASE = ""  # the CRL cannot be signed: the whole approval fails
    with pytest.raises(certificates.CaNotReady):
        backoffice.approve(operators[1], entered.pk)
    assert Contract.objects.get(pk=certificate_master.contract_id).status == Contract.Status.ACTIVE
    assert PendingAction.objects.get(pk=entered.pk).status == "pending"
    assert Account.objects.filter(contract=certificate_master.contract).exists()
    assert token_selectors.registration_in_force(certificate_master) is not None
    settings.CORPBANK_CA_PASSPHRASE = "test-only-ca-passphrase"
    assert certificates.verify(der).user == certificate_master


def test_r_f6_a_new_contract_for_the_same_organization_never_honours_the_old_ones(
    certificate_master, operators, clock
):
    old = certificate_master
    der = certificate_of(old)
    terminate(operators, old.contract_id)
    # The same organization applies again, with the same account: it is free again.
    renewed: Registered = register_contract(
        operators,
        organization_name=old.contract.organization.name,
        login_method="certificate",
        otp_required=True,
    )
    assert renewed.contract.pk != old.contract_id
    assert Account.objects.get(number=ACCOUNT["number"]).contract == renewed.contract
    new_master = activate_master(renewed, login_id="master02")
    # The old contract's certificate is refused (revoked, and its user and contract are the old ones).
    with pytest.raises(certificates.CertificateRefused):
        certificates.verify(der)
    # The old tokens cannot be registered on the new contract, nor does the old registration count.
    with pytest.raises(tokens.RegistrationRefused):
        tokens.register_for_user(user=new_master, serial="HW00000001", code=code_now())
    with pytest.raises(tokens.RegistrationRefused):
        tokens.register_for_user(user=new_master, serial="HW00000002", code=code_now())
    assert token_selectors.registration_in_force(new_master) is None
    assert token_selectors.registration_in_force(old) is None


def test_nothing_more_is_entered_or_approved_on_a_terminated_contract(master, operators):
    pending = backoffice.enter_master_initialization(operators[0], master.contract_id)
    terminate(operators, master.contract_id)
    with pytest.raises(Conflict, match="解約済み"):
        backoffice.approve(operators[1], pending.pk)
    backoffice.reject(operators[1], pending.pk)  # a rejection is always possible
    for enter in (
        lambda: backoffice.enter_master_initialization(operators[0], master.contract_id),
        lambda: backoffice.enter_pin_change(operators[0], master.contract_id, {"transfer_pin": "9876"}),
        lambda: backoffice.enter_contract_termination(operators[0], master.contract_id),
    ):
        with pytest.raises(Conflict, match="解約済み"):
            enter()


def test_an_emergency_stopped_contract_can_be_terminated(master, operators):
    stop = backoffice.enter_emergency_stop(operators[0], master.contract_id, reason="PC紛失")
    backoffice.approve(operators[1], stop.pk)
    terminate(operators, master.contract_id)
    assert Contract.objects.get(pk=master.contract_id).status == Contract.Status.TERMINATED


def test_the_approver_reads_what_termination_will_do(master, operators):
    from corpbank.approvals import engine

    entered = backoffice.enter_contract_termination(operators[0], master.contract_id, reason="解散のため")
    rows = {row.name: row for row in engine.procedure_for(entered.kind).details(entered)}
    assert rows["status"].before == "利用中" and rows["status"].value == "解約"
    assert rows["reason"].value == "解散のため"
    assert "1口座" in rows["accounts"].value


def test_r_f6_the_letter_of_a_terminated_contract_opens_nothing(branch, operators):
    """A contract terminated before its master registered: the initial password of its letter is
    refused with the answer a wrong contract number gets, and nothing is registered."""
    registered = register_contract(operators)
    terminate(operators, registered.contract.pk)
    with pytest.raises(InvalidCredentials) as refused:
        activate_master(registered)
    assert "契約番号または初期パスワードに誤りがあるか" in refused.value.message
    assert (
        CustomerUser.objects.get(pk=registered.master.pk).status == CustomerUser.Status.AWAITING_REGISTRATION
    )


def test_a_second_termination_is_refused_while_the_first_awaits_approval(master, operators):
    """Three clicks on 解約 made three entries, two of which could only fail at approval and stayed in
    the queue: a contract-wide procedure is entered once until it is decided."""
    first = backoffice.enter_contract_termination(operators[0], master.contract_id, reason="解約届")
    with pytest.raises(Conflict, match=f"受付番号 {first.pk}"):
        backoffice.enter_contract_termination(operators[1], master.contract_id, reason="解約届")
    backoffice.reject(operators[1], first.pk)
    again = backoffice.enter_contract_termination(operators[1], master.contract_id, reason="解約届")
    assert PendingAction.objects.filter(kind="terminate_contract", status="pending").get() == again


@pytest.mark.parametrize("procedure", ["emergency_stop", "emergency_stop_lifted", "termination"])
def test_r_f5_r_f6_a_stopped_or_terminated_contract_signs_its_users_out_at_their_next_request(
    master, operators, procedure
):
    """By the contract's session epoch, read with the user on every request: stopping a contract locks
    no user's row (tests/organizations/test_lock_order.py). A session idle through a stop and its lift
    (a lost PC left on) does not come back."""
    from tests.web.test_transfer_pages import sign_in

    client = sign_in()
    assert client.get("/").status_code == 200 and client.get("/api/v1/me").status_code == 200
    if procedure == "termination":
        terminate(operators, master.contract_id)
    else:
        stop = backoffice.enter_emergency_stop(operators[0], master.contract_id, reason="PC紛失")
        backoffice.approve(operators[1], stop.pk)
    if procedure == "emergency_stop_lifted":
        lift = backoffice.enter_emergency_stop_lift(operators[1], master.contract_id)
        backoffice.approve(operators[0], lift.pk)
    page = client.get("/")
    assert page.status_code == 302 and page["Location"].startswith("/login")
    assert client.get("/api/v1/me").status_code == 401
    if procedure == "emergency_stop_lifted":  # a new login is welcome
        assert sign_in().get("/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_migration_0023_starts_stopped_contracts_at_epoch_one():
    """Migration 0023's data step: a contract stopped or terminated when it runs starts at epoch 1, so
    that the sessions of before (which know no epoch, read as 0) do not come back when a 緊急停止 is
    lifted; a contract in use starts at 0, and its users' sessions go on."""
    with across_migration("0022_ledger_post_function", "0023_contract_session_epoch") as migration:
        branch = migration.old.get_model("corpbank", "Branch").objects.create(code="901", name="移行支店")
        organization = migration.old.get_model("corpbank", "Organization").objects.create(
            name="移行組合", name_kana="ｲｺｳｸﾐｱｲ"
        )
        contracts = migration.old.get_model("corpbank", "Contract").objects
        for number, status in (
            ("9000000001", "active"),
            ("9000000002", "emergency_stopped"),
            ("9000000003", "terminated"),
        ):
            contracts.create(number=number, organization=organization, branch=branch, status=status)
        after = migration.forward().get_model("corpbank", "Contract").objects.filter(number__startswith="9")
        assert dict(after.values_list("status", "session_epoch")) == {
            "active": 0,
            "emergency_stopped": 1,
            "terminated": 1,
        }

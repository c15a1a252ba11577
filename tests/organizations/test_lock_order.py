"""Stopping a contract locks no user's row, and acts that need the contract unchanged hold its status.

緊急停止 and 解約 lock the contract's row FOR UPDATE (backoffice.services.paper.stop_holding). Their
users' sessions end at the next request, which reads the contract's session epoch (web/sessions),
instead of by bumping each principal's ``session_epoch``. Acts that check a user's secret lock that
user's principal and may then need the contract: the master's first registration, a certificate's
obtaining (organizations.selectors.contract_status_held, FOR KEY SHARE, which a transfer's lock does
not block), a master's acts on the general users. Had the stop also locked the principals, it and such
an act could each wait for the other, and PostgreSQL would end one of them with a deadlock error. Real
threads on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from corpbank.backoffice import services as backoffice
from corpbank.backoffice.services.paper import stop_holding
from corpbank.core.errors import DomainError
from corpbank.identity.models import Principal
from corpbank.organizations.models import Contract, CustomerUser
from tests.backoffice.test_cancellation import terminate
from tests.conftest import activate_master, register_contract, wait_until_blocked_on_a_lock
from tests.web.test_transfer_pages import sign_in

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def holding_the_principal(principal_id: int, stop) -> None:  # type: ignore[no-untyped-def]
    """What an act that checked the user's secret holds: the principal's row lock, while ``stop``
    (緊急停止 or 解約, approved in this thread) runs; the stop must not wait for it."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Principal.objects.select_for_update().get(pk=principal_id)
                held.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")  # a wait for the principal fails here, not hangs
        try:
            stop()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    finally:
        release.set()
        holder.join(30)


@pytest.mark.parametrize("procedure", ["emergency_stop", "termination"])
def test_r_f5_r_f6_stopping_a_contract_does_not_wait_for_its_users_rows_and_still_ends_their_sessions(
    master, operators, procedure
):
    client = sign_in()
    assert client.get("/").status_code == 200

    def stop() -> None:
        if procedure == "termination":
            terminate(operators, master.contract_id)
        else:
            entered = backoffice.enter_emergency_stop(operators[0], master.contract_id, reason="PC紛失")
            backoffice.approve(operators[1], entered.pk)

    holding_the_principal(master.principal_id, stop)
    stopped = Contract.objects.get(pk=master.contract_id).status
    assert stopped != Contract.Status.ACTIVE
    page = client.get("/")
    assert page.status_code == 302 and page["Location"].startswith("/login")
    assert client.get("/api/v1/me").status_code == 401


def test_r_f6_the_masters_first_registration_waits_for_a_termination_and_is_refused(branch, operators):
    registered = register_contract(operators)
    master = CustomerUser.objects.get(contract=registered.contract, role=CustomerUser.Role.MASTER)
    outcome: list[str] = []

    def register() -> None:
        try:
            activate_master(registered, questions=False)
            outcome.append("done")
        except DomainError as refused:
            outcome.append(type(refused).__name__)
        finally:
            connections.close_all()

    with transaction.atomic():
        # What 解約 does (backoffice.services.paper.stop_holding): the contract's row FOR UPDATE, then
        # its status; nothing of its users.
        stop_holding(registered.contract)
        Contract.objects.filter(pk=registered.contract.pk).update(status=Contract.Status.TERMINATED)
        registering = threading.Thread(target=register)
        registering.start()
        wait_until_blocked_on_a_lock()  # the initial password proved, it waits for the contract
    registering.join(30)
    assert outcome == ["InvalidCredentialsForRegistration"]
    master.refresh_from_db()
    assert master.status == CustomerUser.Status.AWAITING_REGISTRATION


@pytest.mark.parametrize("holder", ["transfer", "approval"])
def test_r_f2_r_g2_the_masters_certificate_is_obtained_while_a_transfer_or_an_approval_holds_the_contract(
    branch, operators, holder
):
    """A transfer, and every paper approval, lock the contract (FOR NO KEY UPDATE; a transfer in
    payments.transfers, an approval in PaperProcedure.admissible) and then a principal (the transfer's
    user's; a lifted lockout's or a re-initialized master's). Obtaining a certificate by password locks
    the principal and then holds the contract's status (FOR KEY SHARE), which neither lock blocks: the
    two never wait for each other. With FOR NO KEY UPDATE in place of FOR KEY SHARE, or FOR UPDATE in
    admissible, they deadlocked."""
    from corpbank.authentication import certificate
    from corpbank.backoffice.services.masters import LiftMasterLock
    from corpbank.certificates import services as certificates
    from corpbank.certificates.models import ClientCertificate
    from corpbank.core import audit
    from corpbank.identity.selectors import principal_for_update
    from corpbank.organizations.selectors import contract_status_for_update
    from tests.conftest import MASTER_LOGIN_ID, MASTER_PASSWORD, recognised_environment

    master = activate_master(register_contract(operators, login_method="certificate"))
    certificates.init_ca(common_name="test client CA", actor=audit.Actor.system("bank"))
    with transaction.atomic():
        certificates.enable_issuance(master, actor=audit.Actor.system("bank"))
    outcome: list[str] = []

    def obtain() -> None:
        try:
            certificate.obtain_certificate(
                login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD, environment=recognised_environment()
            )
            outcome.append("done")
        except Exception as error:
            outcome.append(repr(error))
        finally:
            connections.close_all()

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '5s'")
        if holder == "transfer":
            assert contract_status_for_update(master.contract_id) == Contract.Status.ACTIVE
        else:
            LiftMasterLock().admissible(master.contract)
        obtaining = threading.Thread(target=obtain)
        obtaining.start()
        obtaining.join(30)  # it never waits for the contract's lock held here
        principal_for_update(master.principal_id)  # the holder's next lock, free again
    assert outcome == ["done"]
    assert ClientCertificate.objects.filter(user=master, status="active").exists()

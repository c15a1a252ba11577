"""One order of row locks everywhere: the contract's, then a principal's
(organizations.selectors.contract_status_for_update). 解約 takes the contract's row and then ends its
users' sessions (their principals' rows); the master's first registration and the obtaining of a
certificate check a secret (which locks the principal) and need the contract unchanged. Were they to
take the principal first, each would wait for the other and PostgreSQL would end one of them with a
deadlock error (a 500 for the customer, or a failed 解約). Real threads on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connections, transaction

from corpbank.authentication import certificate
from corpbank.certificates import services as certificates
from corpbank.certificates.models import ClientCertificate
from corpbank.core import audit
from corpbank.core.errors import DomainError
from corpbank.identity import lockout
from corpbank.organizations.models import Contract, CustomerUser
from tests.conftest import (
    MASTER_LOGIN_ID,
    MASTER_PASSWORD,
    activate_master,
    recognised_environment,
    register_contract,
    wait_until_blocked_on_a_lock,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def while_terminating(contract_id: int, principal_id: int, act: Callable[[], object]) -> list[str]:
    """What 解約's execution does, in its order, with ``act`` coming in between: the contract's row
    (its status) first; ``act`` starts and waits; then the user's principal (end_sessions). The
    outcome of ``act``: the error's class, or 'done'."""
    outcome: list[str] = []

    def run() -> None:
        try:
            act()
            outcome.append("done")
        except DomainError as refused:
            outcome.append(type(refused).__name__)
        except Exception as error:  # a deadlock, which the test reports
            outcome.append(repr(error))
        finally:
            connections.close_all()

    with transaction.atomic():
        Contract.objects.filter(pk=contract_id).update(status=Contract.Status.TERMINATED)
        acting = threading.Thread(target=run)
        acting.start()
        wait_until_blocked_on_a_lock()
        lockout.end_sessions(principal_id)
    acting.join(30)
    assert not acting.is_alive()
    return outcome


def test_the_masters_first_registration_waits_for_a_termination_and_is_refused(branch, operators):
    registered = register_contract(operators)
    master = CustomerUser.objects.get(contract=registered.contract, role=CustomerUser.Role.MASTER)
    outcome = while_terminating(
        registered.contract.pk, master.principal_id, lambda: activate_master(registered, questions=False)
    )
    assert outcome == ["InvalidCredentialsForRegistration"]
    master.refresh_from_db()
    assert master.status == CustomerUser.Status.AWAITING_REGISTRATION


def test_a_certificate_is_not_obtained_while_its_contract_is_terminated(branch, operators):
    master = activate_master(register_contract(operators, login_method="certificate"))
    certificates.init_ca(common_name="test client CA", actor=audit.Actor.system("bank"))
    with transaction.atomic():
        certificates.enable_issuance(master, actor=audit.Actor.system("bank"))

    def obtain() -> None:
        certificate.obtain_certificate(
            login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD, environment=recognised_environment()
        )

    outcome = while_terminating(master.contract_id, master.principal_id, obtain)
    assert outcome == ["CertificateRefused"]  # the terminated contract, read after its lock
    assert not ClientCertificate.objects.filter(user=master).exists()

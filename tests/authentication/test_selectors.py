"""The login's one read (R-C5, R-D2, R-E7): the user with everything the login decides on, in one
statement, and the principal's row lock with it."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from corpbank.authentication import selectors
from corpbank.authentication.models import KnownEnvironment
from corpbank.identity.models import Secret, SecretKind
from corpbank.organizations.models import CustomerUser
from corpbank.tokens.selectors import RegistrationState
from tests.conftest import MASTER_LOGIN_ID

PASSWORDS = (SecretKind.LOGIN_PASSWORD, SecretKind.CONFIRMATION_PASSWORD)


def test_login_secrets_is_one_statement_with_user_contract_and_organization(
    master, django_assert_num_queries
):
    expected = CustomerUser.objects.select_related("principal", "contract__organization").get(pk=master.pk)
    with django_assert_num_queries(1):
        rows = selectors.login_secrets(MASTER_LOGIN_ID, PASSWORDS)
        assert sorted(secret.kind for secret in rows.secrets) == sorted(PASSWORDS)
        principal = rows.secrets[0].principal
        assert all(secret.principal is principal for secret in rows.secrets)
        user = principal.customer_user
        assert user.principal is principal
        assert (user.pk, user.login_id, principal.session_epoch) == (
            expected.pk,
            expected.login_id,
            expected.principal.session_epoch,
        )
        assert user.contract.organization.name == expected.contract.organization.name
        assert user.contract.created_at == expected.contract.created_at  # an aware datetime
        assert rows.secrets[0].set_at.tzinfo is not None
    assert rows.has_questions is True  # the master registered them (tests.conftest.activate_master)
    assert rows.known_environment is None
    assert rows.registrations == RegistrationState(None, None, None)


def test_r_d1_login_secrets_says_whether_the_user_has_secret_questions(master):
    Secret.objects.filter(principal_id=master.principal_id, kind=SecretKind.SECRET_ANSWER).delete()
    assert selectors.login_secrets(MASTER_LOGIN_ID, PASSWORDS).has_questions is False


def test_login_secrets_finds_nobody_for_an_unknown_or_deleted_user(master):
    assert selectors.login_secrets("nobody99", PASSWORDS) == selectors.LoginRows([], has_questions=False)
    CustomerUser.objects.filter(pk=master.pk).update(status=CustomerUser.Status.DELETED)
    assert selectors.login_secrets(MASTER_LOGIN_ID, PASSWORDS).secrets == []


def test_r_d2_login_secrets_reads_the_environment_of_this_device_only(master):
    seen = timezone.now() - timedelta(days=1)
    KnownEnvironment.objects.create(
        user=master, device_id="other", browser="Firefox", os="Linux", languages="en", network="10.0.0.0"
    )
    known = KnownEnvironment.objects.create(
        user=master,
        device_id="this",
        browser="Chrome",
        os="Windows",
        languages="ja",
        network="192.0.2.0",
        last_seen_at=seen,
    )
    rows = selectors.login_secrets(MASTER_LOGIN_ID, PASSWORDS, device_id="this")
    assert rows.known_environment == selectors.KnownEnvironmentRow(
        known.pk, seen, "Chrome", "Windows", "ja", "192.0.2.0"
    )
    assert selectors.login_secrets(MASTER_LOGIN_ID, PASSWORDS, device_id="new").known_environment is None


def test_r_c5_login_secrets_locks_the_principal_row_only(master):
    """FOR UPDATE OF the principal (PostgreSQL); nothing on SQLite, whose transaction locks the database."""
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        rows = selectors.login_secrets(MASTER_LOGIN_ID, PASSWORDS, lock=True)
    assert rows.secrets
    (statement,) = (query["sql"] for query in captured.captured_queries if "SELECT" in query["sql"])
    print(statement)
    if connection.features.has_select_for_update_of:
        assert statement.endswith('FOR UPDATE OF "corpbank_principal"')
    else:
        assert "FOR UPDATE" not in statement

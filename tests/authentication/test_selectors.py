"""The login's one read (R-C5, R-D2, R-E7): the user with everything the login decides on, in one
statement, and the principal's row lock with it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from corpbank.authentication import selectors
from corpbank.authentication.models import KnownEnvironment
from corpbank.core import audit
from corpbank.core.models import AuditEvent
from corpbank.identity.models import Principal, Secret, SecretKind
from corpbank.organizations.models import CustomerUser
from corpbank.tokens import services as tokens
from corpbank.tokens.models import TokenRegistration
from corpbank.tokens.selectors import REGISTRATION_FIELDS, RegistrationState, registration_subqueries
from tests.conftest import MASTER_LOGIN_ID, code_now

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
        assert statement.endswith("FOR UPDATE OF p")  # p: the principal's row
    else:
        assert "FOR UPDATE" not in statement


def as_the_orm_reads(login_id: str, kinds: tuple[str, ...], device_id: str) -> selectors.LoginRows:
    """The login's read as Django's QuerySet API writes it (until issue 13 the code itself): the
    reference the plain statement is held to."""
    user_path = "principal__customer_user"
    secrets = list(
        Secret.objects.select_related(f"{user_path}__contract__organization")
        .annotate(
            has_questions=Exists(
                Secret.objects.filter(principal=OuterRef("principal"), kind=SecretKind.SECRET_ANSWER)
            ),
            **registration_subqueries(user_path),
            known=FilteredRelation(
                f"{user_path}__known_environments",
                condition=Q(**{f"{user_path}__known_environments__device_id": device_id}),
            ),
            **{f"known_{column}": F(f"known__{column}") for column in selectors._KNOWN_ENVIRONMENT_COLUMNS},
        )
        .filter(kind__in=kinds, **{f"{user_path}__login_id": login_id})
        .exclude(**{f"{user_path}__status": CustomerUser.Status.DELETED})
    )
    if not secrets:
        return selectors.LoginRows([], has_questions=False)
    first = secrets[0]
    return selectors.LoginRows(
        secrets,
        has_questions=first.has_questions,
        known_environment=selectors.KnownEnvironmentRow.of(
            [getattr(first, f"known_{column}") for column in selectors._KNOWN_ENVIRONMENT_COLUMNS]
        ),
        registrations=RegistrationState.of([getattr(first, name) for name in REGISTRATION_FIELDS]),
    )


def columns(instance: Any) -> dict[str, tuple[Any, type]]:
    return {
        field.attname: (getattr(instance, field.attname), type(getattr(instance, field.attname)))
        for field in instance._meta.concrete_fields
    }


def assert_same(ours: selectors.LoginRows, theirs: selectors.LoginRows) -> None:
    assert (ours.has_questions, ours.known_environment, ours.registrations) == (
        theirs.has_questions,
        theirs.known_environment,
        theirs.registrations,
    )
    by_id = {secret.pk: secret for secret in theirs.secrets}
    assert sorted(by_id) == sorted(secret.pk for secret in ours.secrets)
    for secret in ours.secrets:
        reference = by_id[secret.pk]
        user, expected = secret.principal.customer_user, reference.principal.customer_user
        for mine, orms in [
            (secret, reference),
            (secret.principal, reference.principal),
            (user, expected),
            (user.contract, expected.contract),
            (user.contract.organization, expected.contract.organization),
        ]:
            assert columns(mine) == columns(orms)


def test_login_secrets_reads_what_the_querysets_read(otp_master, clock):
    """A user in every state the login decides on: questions, a known environment of this device and
    of another, a token registration ended and one in force (R-D1, R-D2, R-E7), a lock in the past."""
    kinds = (SecretKind.LOGIN_PASSWORD, SecretKind.CONFIRMATION_PASSWORD, SecretKind.SECRET_ANSWER)
    login_id = otp_master.login_id
    assert_same(selectors.login_secrets(login_id, kinds, "this"), as_the_orm_reads(login_id, kinds, "this"))
    KnownEnvironment.objects.create(
        user=otp_master, device_id="this", browser="Chrome", os="Windows", languages="ja", network="192.0.2.0"
    )
    KnownEnvironment.objects.create(
        user=otp_master, device_id="that", browser="Firefox", os="Linux", languages="en", network="10.0.0.0"
    )
    tokens.register_for_user(user=otp_master, serial="HW00000001", code=code_now())
    TokenRegistration.objects.filter(user=otp_master).update(ended_at=timezone.now() - timedelta(days=2))
    clock(60)
    tokens.register_for_user(user=otp_master, serial="HW00000002", code=code_now())
    Principal.objects.filter(pk=otp_master.principal_id).update(
        locked_until=timezone.now() - timedelta(hours=1)
    )
    for device in ("this", "that", "none"):
        ours = selectors.login_secrets(login_id, kinds, device)
        assert_same(ours, as_the_orm_reads(login_id, kinds, device))
    assert ours.registrations is not None and ours.registrations.in_force_state is not None
    assert ours.registrations.last_ended_at is not None


def test_r_i3_login_history_in_plain_sql_is_what_the_queryset_gives(master, general):
    """The top page's 前回までのログイン read by one plain statement (issue 13): the user's own login
    events, newest first, without other users' events or other kinds of rejected secrets."""
    from_rows = [
        ("login.succeeded", master.pk, {}),
        ("secret.rejected", master.pk, {"kind": "login_password"}),
        ("secret.rejected", master.pk, {"kind": "confirmation_password"}),
        ("token.registered", master.pk, {}),
        ("logout", general.pk, {}),
        ("logout", master.pk, {}),
    ]
    with transaction.atomic():
        for action, user_id, details in from_rows:
            audit.record(action, actor=audit.Actor.system(), subject_user_id=user_id, details=details)
    expected = [
        event
        for event in AuditEvent.objects.filter(
            subject_user_id=master.pk, action__in=selectors.LOGIN_ACTIONS
        ).order_by("-id")
        if event.action != "secret.rejected" or event.details.get("kind") == "login_password"
    ]
    ours = selectors.login_history(master)
    assert [event.pk for event in ours] == [event.pk for event in expected]
    assert [event.action for event in ours][:3] == ["logout", "secret.rejected", "login.succeeded"]
    assert [
        {field.attname: getattr(event, field.attname) for field in AuditEvent._meta.concrete_fields}
        for event in ours
    ] == [
        {field.attname: getattr(event, field.attname) for field in AuditEvent._meta.concrete_fields}
        for event in expected
    ]
    assert ours[0].at.tzinfo is not None
    assert [event.pk for event in selectors.login_history(master, limit=2)] == [e.pk for e in expected[:2]]

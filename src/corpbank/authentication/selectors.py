"""Reads for the login: the user, secrets and what the login decides after the password."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.transaction import TransactionManagementError

from corpbank.authentication.models import KnownEnvironment
from corpbank.core.db import column_datetime, columns, from_row, select, take_row
from corpbank.core.models import AuditEvent
from corpbank.identity.models import Principal, Secret, SecretKind
from corpbank.organizations.models import Contract, CustomerUser, Organization
from corpbank.tokens.selectors import REGISTRATION_FIELDS, RegistrationState, registration_columns

LOGIN_ACTIONS = (
    "login.succeeded",
    "logout",
    "secret.rejected",
    "principal.locked",
    "principal.suspended",
    "login.refused_contract_not_active",
)


@dataclasses.dataclass(frozen=True)
class KnownEnvironmentRow:
    """An environment the bank recognises for a user (R-D2), as the risk check compares it."""

    id: int
    last_seen_at: datetime
    browser: str
    os: str
    languages: str
    network: str

    @classmethod
    def of(cls, values: Sequence[Any]) -> KnownEnvironmentRow | None:
        pk, last_seen_at, browser, os, languages, network = values
        if pk is None:
            return None
        return cls(pk, column_datetime(last_seen_at), browser, os, languages, network)


# The secret, principal, user, contract and organization, joined, with their aliases in the statement.
_JOINED = ((Secret, "s"), (Principal, "p"), (CustomerUser, "u"), (Contract, "c"), (Organization, "o"))
# The known environment's columns, read after the joined models' and the annotations.
_KNOWN_ENVIRONMENT_COLUMNS = ("id", "last_seen_at", "browser", "os", "languages", "network")


@functools.cache
def _login_statement(kinds: int, vendor: str) -> str:
    """The login's one statement for ``kinds`` kinds of secret. What it reads is what
    ``Secret.objects.select_related("principal__customer_user__contract__organization")`` reads, with
    whether the user has secret questions (R-D1), the token registrations (R-E7,
    ``tokens.selectors.registration_columns``) and the environment of the browser's device ID (R-D2);
    on PostgreSQL it locks the principal's row (``FOR UPDATE OF``; SQLite's IMMEDIATE transaction holds
    the database). Plain SQL (issue 13): the ORM compiled it at more CPU than the database ran it;
    tests/authentication/test_selectors.py compares the two on both databases."""
    columns = ", ".join(
        f"{alias}.{field.column}" for model, alias in _JOINED for field in model._meta.concrete_fields
    )
    secret, principal, user, contract, organization = (model._meta.db_table for model, _alias in _JOINED)
    known = KnownEnvironment._meta.db_table
    lock = " FOR UPDATE OF p" if vendor == "postgresql" else ""
    return (
        f"SELECT {columns},"  # noqa: S608 - names from the models' metadata; every value is a parameter
        f" EXISTS (SELECT 1 FROM {secret} q WHERE q.principal_id = s.principal_id AND q.kind = %s),"
        f" {registration_columns('u')},"
        f" {', '.join(f'k.{column}' for column in _KNOWN_ENVIRONMENT_COLUMNS)}"
        f" FROM {secret} s JOIN {principal} p ON p.id = s.principal_id"
        f" JOIN {user} u ON u.principal_id = p.id"
        f" JOIN {contract} c ON c.id = u.contract_id JOIN {organization} o ON o.id = c.organization_id"
        f" LEFT JOIN {known} k ON k.user_id = u.id AND k.device_id = %s"
        f" WHERE s.kind IN ({', '.join(['%s'] * kinds)}) AND u.login_id = %s AND u.status <> %s{lock}"
    )


@dataclasses.dataclass(frozen=True)
class LoginRows:
    secrets: list[Secret]
    has_questions: bool
    known_environment: KnownEnvironmentRow | None = None
    registrations: RegistrationState | None = None


def login_secrets(
    login_id: str, kinds: tuple[str, ...], device_id: str = "", *, lock: bool = False
) -> LoginRows:
    """The user with ``login_id`` (not deleted), with the secrets of ``kinds``, each Secret carrying its
    principal, user, contract and organization, as select_related gives them (one principal shared by
    every secret); whether the user has registered secret questions; the environment of ``device_id``
    the user is recognised from; and the state of the user's token registrations. With ``lock``,
    inside the caller's transaction, the principal's row is locked as lockout.check_attempt locks it
    (``FOR UPDATE OF`` the principal; on SQLite no row lock, the IMMEDIATE transaction holds the
    database's write lock), and the principal is read as that lock leaves it; the rest is read as it
    was when the statement began (it may have waited).

    One statement, since it runs on every login (bench/login.py, ``_login_statement``)."""
    connection = transaction.get_connection()
    if lock and not connection.in_atomic_block:
        raise TransactionManagementError("login_secrets(lock=True) must run inside a transaction")
    statement = _login_statement(len(kinds), connection.vendor if lock else "")
    parameters = [SecretKind.SECRET_ANSWER, device_id, *kinds, login_id, CustomerUser.Status.DELETED]
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)
        rows = cursor.fetchall()
    if not rows:
        return LoginRows([], has_questions=False)
    # One row per secret; the principal, user, contract and organization are the same in each.
    values = list(rows[0])
    secret, principal, user = (
        take_row(Secret, values),
        take_row(Principal, values),
        take_row(CustomerUser, values),
    )
    contract, organization = take_row(Contract, values), take_row(Organization, values)
    contract.organization = organization
    user.contract, user.principal = contract, principal  # also the principal's customer_user
    secrets = [secret]
    for row in rows[1:]:
        secrets.append(from_row(Secret, row[: len(Secret._meta.concrete_fields)]))
    for each in secrets:
        each.principal = principal
    has_questions, *rest = values
    registrations, known = rest[: len(REGISTRATION_FIELDS)], rest[len(REGISTRATION_FIELDS) :]
    return LoginRows(
        secrets,
        has_questions=bool(has_questions),
        known_environment=KnownEnvironmentRow.of(known),
        registrations=RegistrationState.of(registrations),
    )


def login_history(user: CustomerUser, *, limit: int = 50) -> list[AuditEvent]:
    """A user's own login history (R-I3): logins, logouts and failed login attempts."""
    statement = _login_history_statement()
    rows = select(statement, [user.pk, *LOGIN_ACTIONS, limit * 2], AuditEvent)
    return [
        event
        for (event,) in rows
        if event.action != "secret.rejected" or event.details.get("kind") == "login_password"
    ][:limit]


@functools.cache
def _login_history_statement() -> str:
    """``AuditEvent.objects.filter(subject_user_id=…, action__in=LOGIN_ACTIONS).order_by("-id")[:n]``
    as plain SQL: the top page reads it on every visit (issue 13; tests/authentication/
    test_selectors.py holds the two equal)."""
    actions = ", ".join(["%s"] * len(LOGIN_ACTIONS))
    return (
        f"SELECT {columns((AuditEvent, 'e'))} FROM {AuditEvent._meta.db_table} e"  # noqa: S608 - names
        f" WHERE e.subject_user_id = %s AND e.action IN ({actions}) ORDER BY e.id DESC LIMIT %s"
    )


def password_change_due_at(user: CustomerUser) -> datetime | None:
    """When the user's login password must be changed by (the policy's lifetime), or None: what the
    login told, told again by ``GET /me``."""
    due: datetime | None = (
        Secret.objects.filter(principal_id=user.principal_id, kind=SecretKind.LOGIN_PASSWORD)
        .values_list("change_due_at", flat=True)
        .first()
    )
    return due

"""Reads for the login: the user, secrets and what the login decides after the password."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, QuerySet

from corpbank.core.db import column_datetime
from corpbank.core.models import AuditEvent
from corpbank.identity.models import Secret, SecretKind
from corpbank.organizations.models import CustomerUser
from corpbank.tokens.selectors import REGISTRATION_FIELDS, RegistrationState, registration_subqueries

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


_USER = "principal__customer_user"
# The known environment's columns, annotated on each secret as known_<column>.
_KNOWN_ENVIRONMENT_COLUMNS = ("id", "last_seen_at", "browser", "os", "languages", "network")


@functools.cache
def _annotated_secrets() -> QuerySet[Secret]:
    """Secrets with their principal, user, contract and organization, and what the login decides with
    them that depends on no argument. Built once and only ever refined (never evaluated): resolving the
    subqueries is most of the ORM's work on this query."""
    return Secret.objects.select_related(f"{_USER}__contract__organization").annotate(
        # Whether the user has registered secret questions (R-D1), without fetching the answers.
        has_questions=Exists(
            Secret.objects.filter(principal=OuterRef("principal"), kind=SecretKind.SECRET_ANSWER)
        ),
        # The token registrations (R-E7): what the login decides after the password, read with it.
        **registration_subqueries(_USER),
    )


def _login_query(login_id: str, kinds: tuple[str, ...], device_id: str, lock: bool) -> QuerySet[Secret]:
    secrets = (
        _annotated_secrets()
        .filter(kind__in=kinds, **{f"{_USER}__login_id": login_id})
        .exclude(**{f"{_USER}__status": CustomerUser.Status.DELETED})
        .annotate(
            # The environment of this device ID the user is recognised from (R-D2).
            known=FilteredRelation(
                f"{_USER}__known_environments",
                condition=Q(**{f"{_USER}__known_environments__device_id": device_id}),
            ),
            **{f"known_{column}": F(f"known__{column}") for column in _KNOWN_ENVIRONMENT_COLUMNS},
        )
    )
    return secrets.select_for_update(of=("principal",)) if lock else secrets


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

    One statement, since it runs on every login (bench/login.py)."""
    secrets = list(_login_query(login_id, kinds, device_id, lock))
    if not secrets:
        return LoginRows([], has_questions=False)
    # One row per secret; the user, principal, contract and organization are the same in each.
    first = secrets[0]
    for secret in secrets[1:]:
        secret.principal = first.principal
    return LoginRows(
        secrets,
        has_questions=getattr(first, "has_questions"),  # noqa: B009 - an annotation, unknown to mypy
        known_environment=KnownEnvironmentRow.of(
            [getattr(first, f"known_{column}") for column in _KNOWN_ENVIRONMENT_COLUMNS]
        ),
        registrations=RegistrationState.of([getattr(first, name) for name in REGISTRATION_FIELDS]),
    )


def login_history(user: CustomerUser, *, limit: int = 50) -> list[AuditEvent]:
    """A user's own login history (R-I3): logins, logouts and failed login attempts."""
    events = AuditEvent.objects.filter(subject_user_id=user.pk, action__in=LOGIN_ACTIONS).order_by("-id")
    return [
        event
        for event in events[: limit * 2]
        if event.action != "secret.rejected" or event.details.get("kind") == "login_password"
    ][:limit]

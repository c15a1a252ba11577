"""Reads for the login: the user, secrets and what the login decides after the password."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from django.db import connection
from django.db.models import Model

from corpbank.authentication.models import KnownEnvironment
from corpbank.core import rows
from corpbank.core.db import column_datetime, for_update
from corpbank.core.models import AuditEvent
from corpbank.identity.models import Secret, SecretKind
from corpbank.organizations.models import CustomerUser
from corpbank.organizations.selectors import CUSTOMER_JOINS, CUSTOMER_MODELS, customer_of_row
from corpbank.tokens.selectors import RegistrationState, registration_columns

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


_KNOWN_ENVIRONMENT_COLUMNS = ("id", "last_seen_at", "browser", "os", "languages", "network")


_LOGIN_MODELS: list[tuple[type[Model], str]] = [(Secret, "s"), *CUSTOMER_MODELS]


@functools.cache
def _login_query(kinds: int, lock: bool) -> tuple[str, list[rows.Part]]:
    selected, parts = rows.parts(_LOGIN_MODELS)
    # Names come from the models' metadata; every value is a parameter.
    t = rows.tables(_LOGIN_MODELS)
    t["k"] = KnownEnvironment._meta.db_table
    sql = " ".join(
        [
            "SELECT",
            ", ".join(selected),
            # Whether the user has registered secret questions (R-D1), without fetching the answers.
            f", EXISTS (SELECT 1 FROM {t['s']} a WHERE a.principal_id = p.id AND a.kind = %s),",  # noqa: S608
            # The environment of this device ID the user is recognised from (R-D2), and the token
            # registrations (R-E7): what the login decides after the password, read with it.
            ", ".join(f"k.{column}" for column in _KNOWN_ENVIRONMENT_COLUMNS) + ",",
            ", ".join(registration_columns("u.id")),
            f"FROM {t['s']} s JOIN {t['p']} p ON p.id = s.principal_id",
            CUSTOMER_JOINS.format(**t),
            f"LEFT JOIN {t['k']} k ON k.user_id = u.id AND k.device_id = %s",
            "WHERE u.login_id = %s AND u.status <> %s AND s.kind IN (" + ", ".join(["%s"] * kinds) + ")",
        ]
    )
    return sql + (for_update(of="p") if lock else ""), parts


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
    principal, user, contract and organization, as select_related would give them; whether the user
    has registered secret questions; the environment of ``device_id`` the user is recognised from; and
    the state of the user's token registrations. With ``lock``, inside the caller's transaction, the
    principal's row is locked as lockout.check_attempt locks it, and the principal is read as that
    lock leaves it; the rest is read as it was when the statement began (it may have waited).

    Plain SQL (built from the models' own table and column names, with the ORM's converters) because it
    runs on every login: the ORM spent about 2 ms of CPU compiling and assembling it, a tenth of the
    login's budget beside the Argon2id verification (bench/login.py)."""
    sql, parts = _login_query(len(kinds), lock)
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [SecretKind.SECRET_ANSWER, device_id, login_id, CustomerUser.Status.DELETED, *kinds]
        )
        rows = cursor.fetchall()
    if not rows:
        return LoginRows([], has_questions=False)
    # One row per secret; the user, principal, contract and organization are the same in each.
    first = rows[0]
    principal = customer_of_row(first, parts[1:]).principal
    secrets: list[Secret] = []
    for row in rows:
        secret = cast(Secret, parts[0].instance(row))
        Secret.principal.field.set_cached_value(secret, principal)  # type: ignore[attr-defined]
        secrets.append(secret)
    extra = first[parts[-1].columns.stop :]
    return LoginRows(
        secrets,
        has_questions=bool(extra[0]),
        known_environment=KnownEnvironmentRow.of(extra[1:7]),
        registrations=RegistrationState.of(extra[7:10]),
    )


def login_history(user: CustomerUser, *, limit: int = 50) -> list[AuditEvent]:
    """A user's own login history (R-I3): logins, logouts and failed login attempts."""
    events = AuditEvent.objects.filter(subject_user_id=user.pk, action__in=LOGIN_ACTIONS).order_by("-id")
    return [
        event
        for event in events[: limit * 2]
        if event.action != "secret.rejected" or event.details.get("kind") == "login_password"
    ][:limit]

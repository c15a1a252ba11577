"""Reads: what screens and API endpoints show. Writes live in services/."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, cast

from django.db import connection
from django.db.models import Count, Model, Q, QuerySet

from corpbank.approvals.models import PendingAction
from corpbank.authentication.models import KnownEnvironment
from corpbank.core.db import column_date, column_datetime, for_update
from corpbank.core.models import AuditEvent
from corpbank.identity.models import Principal, Secret, SecretKind
from corpbank.organizations.models import Contract, CustomerUser, Organization
from corpbank.tokens.models import SoftwareTokenEnrolment, Token, TokenRegistration

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


@dataclasses.dataclass(frozen=True)
class RegistrationState:
    """A user's token registrations as the registration screen's rule needs them (R-E7): the state and
    expiry of the token in force, if any, and when the last registration ended, if any did."""

    in_force_state: str | None
    in_force_expires_on: date | None
    last_ended_at: datetime | None

    @classmethod
    def of(cls, values: Sequence[Any]) -> RegistrationState:
        state, expires_on, last_ended_at = values
        return cls(state, column_date(expires_on), column_datetime(last_ended_at) if last_ended_at else None)


def _registration_columns(user: str) -> list[str]:
    """The three columns of a RegistrationState for the user whose id is the SQL expression ``user``."""
    r, t = TokenRegistration._meta.db_table, Token._meta.db_table
    in_force = f"FROM {r} r JOIN {t} t ON t.id = r.token_id WHERE r.user_id = {user} AND r.ended_at IS NULL"
    return [
        f"(SELECT t.state {in_force})",
        f"(SELECT t.expires_on {in_force})",
        f"(SELECT MAX(e.ended_at) FROM {r} e WHERE e.user_id = {user})",  # noqa: S608
    ]


def registration_state(user_id: int) -> RegistrationState:
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(_registration_columns("%s")), [user_id] * 3)
        row = cursor.fetchone()
    return RegistrationState.of(row)


_LOGIN_MODELS: list[tuple[type[Model], str]] = [
    (Secret, "s"),
    (Principal, "p"),
    (CustomerUser, "u"),
    (Contract, "c"),
    (Organization, "o"),
]
Converter = Callable[[Any, Any, Any], Any]


@dataclasses.dataclass(frozen=True)
class _Part:
    """One model's columns in the login query, with the backend's converters of each (what the ORM
    applies to a column: time zones on SQLite, for instance)."""

    model: type[Model]
    names: list[str]
    converters: list[tuple[Any, list[Converter]]]
    columns: slice  # where they are in a row

    def instance(self, row: Sequence[Any]) -> Model:
        converted = []
        for value, (column, converters) in zip(row[self.columns], self.converters, strict=True):
            for convert in converters:
                value = convert(value, column, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, self.names, converted)


def _parts(models: list[tuple[type[Model], str]]) -> tuple[list[str], list[_Part]]:
    """The selected columns of ``models`` (each under its alias), and how to make instances of them."""
    parts: list[_Part] = []
    selected: list[str] = []
    for model, alias in models:
        fields = model._meta.concrete_fields
        converters = []
        for field in fields:
            column = field.get_col(alias)
            converters.append(
                (column, connection.ops.get_db_converters(column) + field.get_db_converters(connection))
            )
        columns = slice(len(selected), len(selected) + len(fields))
        parts.append(_Part(model, [field.attname for field in fields], converters, columns))
        selected += [f'{alias}."{field.column}"' for field in fields]
    return selected, parts


def _tables(models: list[tuple[type[Model], str]]) -> dict[str, str]:
    return {alias: model._meta.db_table for model, alias in models}


# A customer user with principal, contract and organization (aliases u, p, c, o).
_CUSTOMER_JOINS = (
    "JOIN {u} u ON u.principal_id = p.id JOIN {c} c ON c.id = u.contract_id"
    " JOIN {o} o ON o.id = c.organization_id"
)


def _customer(row: Sequence[Any], parts: list[_Part]) -> CustomerUser:
    """The user of ``row`` (parts: principal, user, contract, organization), its relations cached as
    select_related would leave them."""
    principal, user, contract, organization = (part.instance(row) for part in parts)
    Principal.customer_user.related.set_cached_value(principal, user)  # type: ignore[attr-defined]
    CustomerUser.principal.field.set_cached_value(user, principal)  # type: ignore[attr-defined]
    CustomerUser.contract.field.set_cached_value(user, contract)  # type: ignore[attr-defined]
    Contract.organization.field.set_cached_value(contract, organization)  # type: ignore[attr-defined]
    return cast(CustomerUser, user)


@functools.cache
def _principal_query() -> tuple[str, _Part]:
    selected, parts = _parts([(Principal, "p")])
    return f"SELECT {', '.join(selected)} FROM {Principal._meta.db_table} p WHERE p.id = %s", parts[0]  # noqa: S608


def principal_for_update(principal_id: int) -> Principal:
    """Lock a principal's row (inside the caller's transaction) and read it as the lock leaves it.

    Plain SQL because every check of a secret runs it: the ORM spends more CPU compiling it than the
    database spends running it (bench/login.py). It reads nothing but the locked row: on PostgreSQL,
    what else one statement reads is as it was before the statement waited for the lock."""
    sql, part = _principal_query()
    with connection.cursor() as cursor:
        cursor.execute(sql + for_update(of="p"), [principal_id])
        row = cursor.fetchone()
    if row is None:
        raise Principal.DoesNotExist(principal_id)
    return cast(Principal, part.instance(row))


@functools.cache
def _login_query(kinds: int, lock: bool) -> tuple[str, list[_Part]]:
    selected, parts = _parts(_LOGIN_MODELS)
    # Names come from the models' metadata; every value is a parameter.
    t = _tables(_LOGIN_MODELS)
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
            ", ".join(_registration_columns("u.id")),
            f"FROM {t['s']} s JOIN {t['p']} p ON p.id = s.principal_id",
            _CUSTOMER_JOINS.format(**t),
            f"LEFT JOIN {t['k']} k ON k.user_id = u.id AND k.device_id = %s",
            "WHERE u.login_id = %s AND u.status <> %s AND s.kind IN (" + ", ".join(["%s"] * kinds) + ")",
        ]
    )
    return sql + (for_update(of="p") if lock else ""), parts


_CUSTOMER_MODELS: list[tuple[type[Model], str]] = _LOGIN_MODELS[1:]


@functools.cache
def _active_customer_query() -> tuple[str, list[_Part]]:
    selected, parts = _parts(_CUSTOMER_MODELS)
    t = _tables(_CUSTOMER_MODELS)
    joins = _CUSTOMER_JOINS.format(**t)
    sql = f"SELECT {', '.join(selected)} FROM {t['p']} p {joins} WHERE u.id = %s AND u.status = %s"  # noqa: S608
    return sql, parts


def active_customer(user_id: int) -> CustomerUser | None:
    """The active customer user ``user_id`` with principal, contract and organization, for every
    request of a session (web/sessions.load). Plain SQL like the login lookup: the ORM spent about
    1 ms of CPU compiling this select_related on every page."""
    sql, parts = _active_customer_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, CustomerUser.Status.ACTIVE])
        row = cursor.fetchone()
    return _customer(row, parts) if row else None


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
    principal = _customer(first, parts[1:]).principal
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


def software_token(user: CustomerUser) -> SoftwareTokenEnrolment | None:
    """The user's software token: the live one, else the last one the bank stopped or cancelled."""
    enrolments = SoftwareTokenEnrolment.objects.filter(user=user).select_related("token__principal")
    live = enrolments.filter(state__in=SoftwareTokenEnrolment.LIVE_STATES).first()
    return live or enrolments.order_by("-issued_at", "-pk").first()


def hardware_token_counts() -> list[tuple[str, int]]:
    """How many hardware tokens are in each state, for the stock screen."""
    counted = dict(
        Token.objects.filter(type=Token.Type.HARDWARE)
        .values_list("state")
        .annotate(count=Count("pk"))
        .values_list("state", "count")
    )
    return [(str(label), counted.get(state, 0)) for state, label in Token.State.choices]


def general_users(master: CustomerUser) -> QuerySet[CustomerUser]:
    return (
        CustomerUser.objects.filter(contract_id=master.contract_id, role=CustomerUser.Role.GENERAL)
        .exclude(status=CustomerUser.Status.DELETED)
        .select_related("principal")
        .prefetch_related("permissions", "limits")
        .order_by("login_id")
    )


def contracts(query: str = "") -> QuerySet[Contract]:
    found = Contract.objects.select_related("organization", "branch").order_by("number")
    if query:
        found = found.filter(
            Q(number__startswith=query)
            | Q(organization__name__icontains=query)
            | Q(organization__name_kana__icontains=query)
        )
    return found


def pending_actions() -> QuerySet[PendingAction]:
    return (
        PendingAction.objects.filter(status=PendingAction.Status.PENDING)
        .select_related("entered_by", "contract", "contract__organization")
        .order_by("entered_at")
    )


def search_audit(
    *,
    action: str = "",
    contract_number: str = "",
    login_id: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 200,
) -> list[AuditEvent]:
    """The bank's search over every audit event (R-I3)."""
    events = AuditEvent.objects.order_by("-id")
    if action:
        events = events.filter(action__startswith=action)
    if contract_number:
        contract_ids = list(Contract.objects.filter(number=contract_number).values_list("pk", flat=True))
        events = events.filter(contract_id__in=contract_ids)
    if login_id:
        user_ids = list(CustomerUser.objects.filter(login_id=login_id).values_list("pk", flat=True))
        events = events.filter(Q(subject_user_id__in=user_ids) | Q(actor_label=login_id))
    if date_from:
        events = events.filter(at__date__gte=date_from)
    if date_to:
        events = events.filter(at__date__lte=date_to)
    return list(events[:limit])

"""Reads: what screens and API endpoints show. Writes live in services/."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Count, Model, Q, QuerySet

from corpbank.models import (
    AuditEvent,
    Contract,
    CustomerUser,
    Organization,
    PendingAction,
    Principal,
    Secret,
    SecretKind,
    SoftwareTokenEnrolment,
    Token,
)

LOGIN_ACTIONS = (
    "login.succeeded",
    "logout",
    "secret.rejected",
    "principal.locked",
    "principal.suspended",
    "login.refused_contract_not_active",
)


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

    def instance(self, values: Sequence[Any]) -> Model:
        converted = []
        for value, (column, converters) in zip(values, self.converters, strict=True):
            for convert in converters:
                value = convert(value, column, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, self.names, converted)


@functools.cache
def _login_query(kinds: int) -> tuple[str, list[_Part]]:
    parts, selected = [], []
    for model, alias in _LOGIN_MODELS:
        fields = model._meta.concrete_fields
        converters = []
        for field in fields:
            column = field.get_col(alias)
            converters.append(
                (column, connection.ops.get_db_converters(column) + field.get_db_converters(connection))
            )
        parts.append(_Part(model, [field.attname for field in fields], converters))
        selected += [f'{alias}."{field.column}"' for field in fields]
    # Names come from the models' metadata; every value is a parameter.
    t = {alias: model._meta.db_table for model, alias in _LOGIN_MODELS}
    sql = " ".join(
        [
            "SELECT",
            ", ".join(selected),
            # Whether the user has registered secret questions (R-D1), without fetching the answers.
            f", EXISTS (SELECT 1 FROM {t['s']} a WHERE a.principal_id = p.id AND a.kind = %s)",  # noqa: S608
            f"FROM {t['s']} s JOIN {t['p']} p ON p.id = s.principal_id",
            f"JOIN {t['u']} u ON u.principal_id = p.id JOIN {t['c']} c ON c.id = u.contract_id",
            f"JOIN {t['o']} o ON o.id = c.organization_id",
            "WHERE u.login_id = %s AND u.status <> %s AND s.kind IN (" + ", ".join(["%s"] * kinds) + ")",
        ]
    )
    return sql, parts


@dataclasses.dataclass(frozen=True)
class LoginRows:
    secrets: list[Secret]
    has_questions: bool


def login_secrets(login_id: str, kinds: tuple[str, ...]) -> LoginRows:
    """The user with ``login_id`` (not deleted), with the secrets of ``kinds``, each Secret carrying its
    principal, user, contract and organization, as select_related would give them; and whether the
    user has registered secret questions.

    Plain SQL (built from the models' own table and column names, with the ORM's converters) because it
    runs on every login: the ORM spent about 2 ms of CPU compiling and assembling it, a tenth of the
    login's budget beside the Argon2id verification (bench/login.py)."""
    sql, parts = _login_query(len(kinds))
    with connection.cursor() as cursor:
        cursor.execute(sql, [SecretKind.SECRET_ANSWER, login_id, CustomerUser.Status.DELETED, *kinds])
        rows = cursor.fetchall()
    secrets = []
    for row in rows:
        instances, start = [], 0
        for part in parts:
            instances.append(part.instance(row[start : start + len(part.names)]))
            start += len(part.names)
        secret, principal, user, contract, organization = instances
        Secret.principal.field.set_cached_value(secret, principal)  # type: ignore[attr-defined]
        Principal.customer_user.related.set_cached_value(principal, user)  # type: ignore[attr-defined]
        CustomerUser.principal.field.set_cached_value(user, principal)  # type: ignore[attr-defined]
        CustomerUser.contract.field.set_cached_value(user, contract)  # type: ignore[attr-defined]
        Contract.organization.field.set_cached_value(contract, organization)  # type: ignore[attr-defined]
        secrets.append(secret)
    return LoginRows(secrets, bool(rows and rows[0][-1]))  # type: ignore[arg-type]


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

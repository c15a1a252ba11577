"""Reads of organizations, contracts and their users."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, cast

from django.db import connection
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from corpbank.core import rows
from corpbank.core.errors import Forbidden, NotFound
from corpbank.identity.models import Principal
from corpbank.organizations.models import Contract, CustomerUser, Organization

# The customer user with principal, contract and organization, as the plain-SQL readers select them
# (aliases p, u, c, o).
CUSTOMER_MODELS: list[tuple[type[Model], str]] = [
    (Principal, "p"),
    (CustomerUser, "u"),
    (Contract, "c"),
    (Organization, "o"),
]
# A customer user with principal, contract and organization (aliases u, p, c, o).
CUSTOMER_JOINS = (
    "JOIN {u} u ON u.principal_id = p.id JOIN {c} c ON c.id = u.contract_id"
    " JOIN {o} o ON o.id = c.organization_id"
)


def customer_of_row(row: Sequence[Any], parts: list[rows.Part]) -> CustomerUser:
    """The user of ``row`` (parts: principal, user, contract, organization), its relations cached as
    select_related would leave them."""
    principal, user, contract, organization = (part.instance(row) for part in parts)
    Principal.customer_user.related.set_cached_value(principal, user)  # type: ignore[attr-defined]
    CustomerUser.principal.field.set_cached_value(user, principal)  # type: ignore[attr-defined]
    CustomerUser.contract.field.set_cached_value(user, contract)  # type: ignore[attr-defined]
    Contract.organization.field.set_cached_value(contract, organization)  # type: ignore[attr-defined]
    return cast(CustomerUser, user)


@functools.cache
def _active_customer_query() -> tuple[str, list[rows.Part]]:
    selected, parts = rows.parts(CUSTOMER_MODELS)
    t = rows.tables(CUSTOMER_MODELS)
    joins = CUSTOMER_JOINS.format(**t)
    sql = f"SELECT {', '.join(selected)} FROM {t['p']} p {joins} WHERE u.id = %s AND u.status = %s"  # noqa: S608
    return sql, parts


def active_customer(user_id: int) -> CustomerUser | None:
    """The active customer user ``user_id`` with principal, contract and organization, for every
    request of a session (web/sessions.load). Plain SQL like the login lookup: the ORM spent about
    1 ms of CPU compiling this select_related on every page."""
    sql, found = _active_customer_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, CustomerUser.Status.ACTIVE])
        row = cursor.fetchone()
    return customer_of_row(row, found) if row else None


def general_users(master: CustomerUser) -> QuerySet[CustomerUser]:
    return (
        CustomerUser.objects.filter(contract_id=master.contract_id, role=CustomerUser.Role.GENERAL)
        .exclude(status=CustomerUser.Status.DELETED)
        .select_related("principal")
        .prefetch_related("permissions", "limits")
        .order_by("login_id")
    )


def general_user_of(master: CustomerUser, user_id: int) -> CustomerUser:
    """A general user of the master's own contract, or NotFound (never another organization's)."""
    if not master.is_master:
        raise Forbidden()
    user = (
        CustomerUser.objects.filter(
            pk=user_id, contract_id=master.contract_id, role=CustomerUser.Role.GENERAL
        )
        .exclude(status=CustomerUser.Status.DELETED)
        .first()
    )
    if user is None:
        raise NotFound(_("指定された利用者は見つかりません。"))
    return user

"""Reads of organizations, contracts and their users."""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from corpbank.core.db import take_row
from corpbank.core.errors import Forbidden, NotFound
from corpbank.identity.models import Principal
from corpbank.organizations.models import Contract, CustomerUser, Organization

# The user, principal, contract and organization, joined: what every signed-in request reads.
_SIGNED_IN = ((CustomerUser, "u"), (Principal, "p"), (Contract, "c"), (Organization, "o"))


@functools.cache
def _active_customer_statement() -> str:
    columns = ", ".join(
        f"{alias}.{field.column}" for model, alias in _SIGNED_IN for field in model._meta.concrete_fields
    )
    user, principal, contract, organization = (model._meta.db_table for model, _ in _SIGNED_IN)
    return (
        f"SELECT {columns} FROM {user} u JOIN {principal} p ON p.id = u.principal_id"  # noqa: S608 - names
        f" JOIN {contract} c ON c.id = u.contract_id JOIN {organization} o ON o.id = c.organization_id"
        " WHERE u.id = %s AND u.status = %s"
    )


def active_customer(user_id: int) -> CustomerUser | None:
    """The active customer user ``user_id`` with principal, contract and organization, for every
    request of a session (web/sessions.load): what ``select_related("principal",
    "contract__organization")`` gives, read by one plain statement (issue 13: the ORM compiled this
    query at more CPU than the database spent on it; tests/organizations/test_selectors.py holds the two
    equal)."""
    with connection.cursor() as cursor:
        cursor.execute(_active_customer_statement(), [user_id, CustomerUser.Status.ACTIVE])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    user, principal = take_row(CustomerUser, values), take_row(Principal, values)
    contract, organization = take_row(Contract, values), take_row(Organization, values)
    contract.organization = organization
    user.principal, user.contract = principal, contract
    return user


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

"""Reads of organizations, contracts and their users."""

from __future__ import annotations

import dataclasses
import functools

from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from corpbank.core.db import columns, select, take_row
from corpbank.core.errors import Forbidden, NotFound
from corpbank.identity.models import Principal
from corpbank.organizations.models import (
    Account,
    Branch,
    Contract,
    CustomerUser,
    Organization,
    Permission,
    UsageLimit,
    UserPermission,
)

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
        .order_by("login_id")
    )


@dataclasses.dataclass(frozen=True)
class ListedUser:
    """A row of 管理 ≫ 利用者管理: the user (with its principal), its 業務権限 in their order, its
    利用限度額 by kind."""

    user: CustomerUser
    permissions: list[str]
    limits: list[UsageLimit]

    def permission_labels(self) -> list[str]:
        return [str(Permission(permission).label) for permission in self.permissions]


def user_list(master: CustomerUser) -> list[ListedUser]:
    """The contract's general users as ``general_users`` orders them, each with its permissions and
    limits: three plain statements (issue 13: the ORM's compiler and ``prefetch_related`` cost more
    CPU than the database; tests/organizations/test_selectors.py holds this equal to the QuerySets)."""
    users_sql, permissions_sql, limits_sql = _user_list_statements()
    parameters = [master.contract_id, CustomerUser.Role.GENERAL, CustomerUser.Status.DELETED]
    users = []
    for user, principal in select(users_sql, parameters, CustomerUser, Principal):
        user.principal = principal
        users.append(user)
    permissions: dict[int, list[str]] = {user.pk: [] for user in users}
    for user_id, permission in select(permissions_sql, parameters):
        if user_id in permissions:  # a user added between the statements is left out
            permissions[user_id].append(permission)
    limits: dict[int, list[UsageLimit]] = {user.pk: [] for user in users}
    for (limit,) in select(limits_sql, parameters, UsageLimit):
        if limit.user_id in limits:
            limits[limit.user_id].append(limit)
    order = {permission: index for index, permission in enumerate(Permission.values)}
    return [
        ListedUser(user, sorted(permissions[user.pk], key=order.__getitem__), limits[user.pk])
        for user in users
    ]


@functools.cache
def _user_list_statements() -> tuple[str, str, str]:
    user, principal = CustomerUser._meta.db_table, Principal._meta.db_table
    permission, limit = UserPermission._meta.db_table, UsageLimit._meta.db_table
    listed = "u.contract_id = %s AND u.role = %s AND u.status <> %s"
    return (
        f"SELECT {columns((CustomerUser, 'u'), (Principal, 'p'))} FROM {user} u"  # noqa: S608 - names
        f" JOIN {principal} p ON p.id = u.principal_id WHERE {listed} ORDER BY u.login_id",
        f"SELECT x.user_id, x.permission FROM {permission} x"  # noqa: S608 - names
        f" JOIN {user} u ON u.id = x.user_id WHERE {listed}",
        f"SELECT {columns((UsageLimit, 'x'))} FROM {limit} x"  # noqa: S608 - names
        f" JOIN {user} u ON u.id = x.user_id WHERE {listed} ORDER BY x.id",
    )


def contract_accounts(contract_id: int) -> list[Account]:
    """The contract's accounts with their branches (ご契約口座 on the top page), in the order they
    were registered: one plain statement, as the top page reads it on every visit (issue 13)."""
    accounts = []
    for account, branch in select(_accounts_statement(), [contract_id], Account, Branch):
        account.branch = branch
        accounts.append(account)
    return accounts


@functools.cache
def _accounts_statement() -> str:
    return (
        f"SELECT {columns((Account, 'a'), (Branch, 'b'))} FROM {Account._meta.db_table} a"  # noqa: S608
        f" JOIN {Branch._meta.db_table} b ON b.id = a.branch_id WHERE a.contract_id = %s ORDER BY a.id"
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


def contract_status_for_update(contract_id: int) -> str | None:
    """Lock the contract's row (``FOR NO KEY UPDATE``, inside the caller's transaction) and read its
    status as the lock leaves it; None if there is no such contract. A transfer takes it before the
    user's factors are checked: its limits are summed under it, and parallel transfers of a contract
    queue on it."""
    return (
        Contract.objects.select_for_update(no_key=True)
        .filter(pk=contract_id)
        .values_list("status", flat=True)
        .first()
    )


def contract_status_held(contract_id: int) -> str | None:
    """The contract's status, held unchanged until the caller's transaction ends (PostgreSQL's ``FOR
    KEY SHARE``; SQLite's IMMEDIATE transaction holds the database's write lock): for an act that must
    not outlive a 緊急停止 or 解約 approved meanwhile (the approval engine locks the contract ``FOR
    UPDATE``, which waits for this lock and is waited for by it), taken once the user's secret is
    proved, never before (no one who merely types a contract number or a login ID may hold up a
    contract). It does not wait for a transfer's lock (``FOR NO KEY UPDATE``): a user obtaining a
    certificate while the same user's transfer is accepted, each holding the other's next lock, can
    never deadlock. Lock order: the stop and 解約 take the contract and no user's row
    (tests/organizations/test_lock_order.py)."""
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status FROM {Contract._meta.db_table} WHERE id = %s{lock}", [contract_id])  # noqa: S608
        row = cursor.fetchone()
    return str(row[0]) if row else None

"""Reads of organizations, contracts and their users."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from corpbank.core.errors import Forbidden, NotFound
from corpbank.organizations.models import CustomerUser


def active_customer(user_id: int) -> CustomerUser | None:
    """The active customer user ``user_id`` with principal, contract and organization, for every
    request of a session (web/sessions.load)."""
    return (
        CustomerUser.objects.select_related("principal", "contract__organization")
        .filter(pk=user_id, status=CustomerUser.Status.ACTIVE)
        .first()
    )


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

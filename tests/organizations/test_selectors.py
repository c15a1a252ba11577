"""The reads in plain SQL give what the ORM gives (issue 13), on both databases: the signed-in
request's user, the user list and the top page's accounts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import models
from django.utils import timezone

from corpbank.identity.models import Principal
from corpbank.organizations import selectors
from corpbank.organizations import services as users
from corpbank.organizations.models import (
    Account,
    Branch,
    Contract,
    CustomerUser,
    Permission,
    UsageLimit,
)
from corpbank.organizations.services import LimitInput
from tests.conftest import GENERAL_INITIAL, MASTER_CONFIRMATION


def as_the_orm_reads(user_id: int) -> CustomerUser | None:
    return (
        CustomerUser.objects.select_related("principal", "contract__organization")
        .filter(pk=user_id, status=CustomerUser.Status.ACTIVE)
        .first()
    )


def columns(instance: models.Model) -> dict[str, tuple[Any, type]]:
    return {
        field.attname: (getattr(instance, field.attname), type(getattr(instance, field.attname)))
        for field in instance._meta.concrete_fields
    }


def test_active_customer_is_what_select_related_gives(master, general):
    # Values of every kind the four tables hold: datetimes (aware), booleans, nulls and text.
    Principal.objects.filter(pk=general.principal_id).update(
        locked_until=timezone.now() + timedelta(minutes=5), suspended_at=timezone.now()
    )
    Contract.objects.filter(pk=master.contract_id).update(otp_required=True, software_tokens=False)
    for user in (master, general):
        ours, theirs = selectors.active_customer(user.pk), as_the_orm_reads(user.pk)
        assert ours is not None and theirs is not None
        pairs = [
            (ours, theirs),
            (ours.principal, theirs.principal),
            (ours.contract, theirs.contract),
            (ours.contract.organization, theirs.contract.organization),
        ]
        for mine, orms in pairs:
            assert columns(mine) == columns(orms)
            assert (mine._state.adding, mine._state.db) == (False, "default")
        assert ours.principal.locked_until is None or ours.principal.locked_until.tzinfo is not None


def test_active_customer_is_none_for_a_deleted_or_unknown_user(master, general):
    CustomerUser.objects.filter(pk=general.pk).update(status=CustomerUser.Status.DELETED)
    assert selectors.active_customer(general.pk) is None
    assert selectors.active_customer(10**9) is None
    assert selectors.active_customer(master.pk) is not None


def test_user_list_is_what_the_querysets_give(master, general):
    """管理 ≫ 利用者管理 in three plain statements (issue 13): users, principals, permissions and
    limits as the ORM reads them, and nothing of a deleted user or of the master."""
    second = users.add_general_user(
        master=master,
        factors={"confirmation_password": MASTER_CONFIRMATION},
        login_id="aaippan2",
        name="二番目",
        permissions=[Permission.APPROVAL, Permission.INQUIRY],
        limits=[LimitInput(UsageLimit.Kind.SINGLE_TRANSFER, 1000, 5000)],
        **GENERAL_INITIAL,
    )
    gone = users.add_general_user(
        master=master,
        factors={"confirmation_password": MASTER_CONFIRMATION},
        login_id="zz999del",
        name="削除済み",
        permissions=[Permission.INQUIRY],
        **GENERAL_INITIAL,
    )
    CustomerUser.objects.filter(pk=gone.pk).update(status=CustomerUser.Status.DELETED)
    Principal.objects.filter(pk=second.principal_id).update(locked_until=timezone.now())

    listed = selectors.user_list(master)

    expected = selectors.general_users(master).prefetch_related("permissions", "limits")
    assert [entry.user.pk for entry in listed] == [user.pk for user in expected] == [second.pk, general.pk]
    for entry, user in zip(listed, expected, strict=True):
        assert columns(entry.user) == columns(user)
        assert columns(entry.user.principal) == columns(user.principal)
        assert sorted(entry.permissions) == sorted(p.permission for p in user.permissions.all())
        assert [columns(limit) for limit in entry.limits] == [
            columns(limit) for limit in sorted(user.limits.all(), key=lambda limit: limit.pk)
        ]
    # The permissions in the order of the 業務権限 table, as the screen shows them.
    assert listed[0].permissions == [Permission.INQUIRY, Permission.APPROVAL]
    assert listed[0].permission_labels() == [str(Permission.INQUIRY.label), str(Permission.APPROVAL.label)]


def test_contract_accounts_are_what_select_related_gives(master):
    contract = master.contract
    Account.objects.create(
        contract=contract,
        branch=Branch.objects.create(code="202", name="駅前支店"),
        type=Account.Type.CURRENT,
        number="7654321",
    )
    ours = selectors.contract_accounts(contract.pk)
    theirs = list(contract.accounts.select_related("branch").order_by("id"))
    assert len(ours) == len(theirs) == 2
    for mine, orms in zip(ours, theirs, strict=True):
        assert columns(mine) == columns(orms) and columns(mine.branch) == columns(orms.branch)
    assert str(ours[1]) == "202 当座 7654321"
    assert selectors.contract_accounts(10**9) == []

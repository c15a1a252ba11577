"""The signed-in request's read in plain SQL gives what the ORM gives (issue 13), on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import models
from django.utils import timezone

from corpbank.identity.models import Principal
from corpbank.organizations import selectors
from corpbank.organizations.models import Contract, CustomerUser


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

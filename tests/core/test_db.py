"""The plain-SQL helpers (core/db.py) that the per-request reads and the OTP path use (issue 13)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from corpbank.core.db import execute, get_row
from corpbank.identity.models import Principal


def test_get_row_reads_what_the_orm_reads_or_none(master):
    principal = get_row(Principal, "t.id = %s", [master.principal_id])
    expected = Principal.objects.get(pk=master.principal_id)
    assert principal is not None
    assert {f.attname: getattr(principal, f.attname) for f in Principal._meta.concrete_fields} == {
        f.attname: getattr(expected, f.attname) for f in Principal._meta.concrete_fields
    }
    assert principal._state.adding is False
    assert get_row(Principal, "t.id = %s", [10**9]) is None


@pytest.mark.django_db(transaction=True)
def test_get_row_for_update_needs_a_transaction(master):
    with pytest.raises(TransactionManagementError):
        get_row(Principal, "t.id = %s", [master.principal_id], for_update=True)
    with transaction.atomic():
        assert get_row(Principal, "t.id = %s", [master.principal_id], for_update=True) is not None


def test_execute_says_how_many_rows_changed(master):
    table = Principal._meta.db_table
    statement = f"UPDATE {table} SET session_epoch = session_epoch WHERE id = %s"
    assert execute(statement, [master.principal_id]) == 1
    assert execute(statement, [10**9]) == 0

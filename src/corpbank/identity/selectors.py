"""Reads of principals."""

from __future__ import annotations

from corpbank.core.db import get_row
from corpbank.identity.models import Principal


def principal_for_update(principal_id: int) -> Principal:
    """Lock a principal's row (inside the caller's transaction) and read it as the lock leaves it
    (``FOR UPDATE`` of that row alone; on SQLite no row lock, the IMMEDIATE transaction holds the
    database's write lock). It reads nothing but the locked row: on PostgreSQL, what else one
    statement reads is as it was before the statement waited for the lock. One plain statement, as
    every counted attempt makes it (issue 13)."""
    principal = get_row(Principal, "t.id = %s", [principal_id], for_update=True)
    if principal is None:
        raise Principal.DoesNotExist(principal_id)
    return principal

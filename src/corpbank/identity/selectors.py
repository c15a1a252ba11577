"""Reads of principals."""

from __future__ import annotations

import functools
from typing import cast

from django.db import connection

from corpbank.core import rows
from corpbank.core.db import for_update
from corpbank.identity.models import Principal


@functools.cache
def _principal_query() -> tuple[str, rows.Part]:
    selected, parts = rows.parts([(Principal, "p")])
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

"""Small helpers for the few statements written as SQL (see services/lockout.py and services/audit.py)."""

from __future__ import annotations

from django.db import transaction


def for_update() -> str:
    """The backend's row-lock clause (`` FOR UPDATE``), or nothing on SQLite, where IMMEDIATE
    transactions already hold the database's write lock."""
    connection = transaction.get_connection()
    return f" {connection.ops.for_update_sql()}" if connection.features.has_select_for_update else ""

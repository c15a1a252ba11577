"""The migrations that create triggers (R-I3, R-E6, R-A4) carry their own SQL, and it is the SQL that
core/db.py creates again on SQLite after every migrate."""

from __future__ import annotations

import importlib
import pathlib

import pytest

from corpbank.core import db

TRIGGER_MIGRATIONS = [
    ("0002_audit_append_only", "corpbank_auditevent"),
    ("0005_lost_token_is_final", "corpbank_token"),
    ("0012_user_limit_within_contract", "corpbank_usagelimit"),
    ("0016_audit_sealed_in_parallel", "corpbank_auditseal"),
]
# A migration whose triggers are on several tables keeps one list per table.
PER_TABLE = [
    ("0020_ledger_hardened", "SQLITE_POSTING", "corpbank_posting"),
    ("0020_ledger_hardened", "SQLITE_LEG", "corpbank_leg"),
    ("0020_ledger_hardened", "SQLITE_ACCOUNT", "corpbank_ledgeraccount"),
]
CHANGED = (
    "core/db.py's trigger differs from the migration that created it: a trigger changed in core/db.py "
    "needs a new migration that replaces it, never an edit of the old one"
)


@pytest.mark.parametrize(("migration", "table"), TRIGGER_MIGRATIONS)
def test_a_migration_creates_the_sqlite_triggers_that_are_created_again_after_migrate(migration, table):
    module = importlib.import_module(f"corpbank.migrations.{migration}")
    assert module.SQLITE == db.SQLITE_TRIGGERS[table], CHANGED


@pytest.mark.parametrize(("migration", "name", "table"), PER_TABLE)
def test_a_migration_creates_each_tables_sqlite_triggers_that_are_created_again(migration, name, table):
    module = importlib.import_module(f"corpbank.migrations.{migration}")
    assert getattr(module, name) == db.SQLITE_TRIGGERS[table], CHANGED


def test_r_a4_the_postgresql_trigger_checks_what_the_sqlite_trigger_checks():
    module = importlib.import_module("corpbank.migrations.0012_user_limit_within_contract")
    assert db.usage_limit_violation("p_contract", "p_kind", "IS DISTINCT FROM") in module.POSTGRES, CHANGED
    assert f"RAISE EXCEPTION '{db.USAGE_LIMIT_MESSAGE}'" in module.POSTGRES, CHANGED


@pytest.mark.parametrize(
    "migration",
    [migration for migration, _ in TRIGGER_MIGRATIONS] + [migration for migration, *_ in PER_TABLE],
)
def test_a_migration_imports_no_live_code(migration):
    """What a migration did must not change when the running code does."""
    source = pathlib.Path(importlib.import_module(f"corpbank.migrations.{migration}").__file__ or "")
    imports = [line for line in source.read_text().splitlines() if line.startswith(("import ", "from "))]
    assert all(
        line.startswith(
            (
                "from django",
                "from corpbank.migrations",
                "from __future__",
                "import hashlib",
                "import json",
                "import importlib",  # another migration's own SQL, as it wrote it
            )
        )
        for line in imports
    ), imports

"""The ledger knows a contract's account by its branch, type and number, as the internet banking does
(issue 14): no link to the contract's registration, which is released at 解約 while the account stays.

SQLite rebuilds the accounts' table to drop the column, and refuses while a trigger on the legs names
that table: the legs' trigger is dropped first and written again after, as migration 0017 wrote it."""

import importlib

from django.db import migrations, models

from corpbank.migrations._vendor import run_sql

_LEDGER = importlib.import_module("corpbank.migrations.0017_ledger")
_LEG_FITS = next(statement for statement in _LEDGER.SQLITE_LEG if "corpbank_leg_fits" in statement)
# Nothing to do on PostgreSQL, which alters the table in place.
DROP = run_sql("SELECT 1", "SELECT 1", ["DROP TRIGGER IF EXISTS corpbank_leg_fits;"], [_LEG_FITS])
RECREATE = run_sql("SELECT 1", "SELECT 1", [_LEG_FITS], ["DROP TRIGGER IF EXISTS corpbank_leg_fits;"])


class Migration(migrations.Migration):
    dependencies = [
        ("corpbank", "0018_calendar"),
    ]

    operations = [
        DROP,
        migrations.RemoveConstraint(
            model_name="ledgeraccount",
            name="ledger_account_is_customer_or_internal",
        ),
        migrations.RemoveField(
            model_name="ledgeraccount",
            name="contract_account",
        ),
        migrations.AddConstraint(
            model_name="ledgeraccount",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("branch__isnull", False),
                        ("kind", "customer"),
                        ("number__regex", "^[0-9]{7}$"),
                        ("purpose", ""),
                        ("type__in", ["1", "2"]),
                        models.Q(("holder_kana", ""), _negated=True),
                    ),
                    models.Q(
                        ("branch__isnull", True),
                        ("kind", "internal"),
                        ("number", ""),
                        ("type", ""),
                        models.Q(("purpose", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="ledger_account_is_customer_or_internal",
            ),
        ),
        RECREATE,
    ]

"""The database itself refuses to change or delete an audit event (R-I3).

TRUNCATE is left to the table's owner (the test suite's flush uses it); in production the application's
database role does not own the tables (docs/operations.md), so it cannot truncate either."""

from django.db import migrations

from corpbank.migrations._vendor import run_sql

POSTGRES = """
CREATE OR REPLACE FUNCTION corpbank_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'corpbank_auditevent is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER corpbank_auditevent_no_update BEFORE UPDATE OR DELETE ON corpbank_auditevent
    FOR EACH ROW EXECUTE FUNCTION corpbank_audit_append_only();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS corpbank_auditevent_no_update ON corpbank_auditevent;
DROP FUNCTION IF EXISTS corpbank_audit_append_only();
"""
# A migration carries its own SQL: it must do tomorrow what it did when it was written. core/db.py
# creates the same triggers again after every migrate (tests/core/test_migration_sql.py compares them).
SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS corpbank_auditevent_no_update BEFORE UPDATE ON corpbank_auditevent
           BEGIN SELECT RAISE(ABORT, 'corpbank_auditevent is append-only'); END;""",
    """CREATE TRIGGER IF NOT EXISTS corpbank_auditevent_no_delete BEFORE DELETE ON corpbank_auditevent
           BEGIN SELECT RAISE(ABORT, 'corpbank_auditevent is append-only'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS corpbank_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS corpbank_auditevent_no_delete;",
]


class Migration(migrations.Migration):
    dependencies = [("corpbank", "0001_initial")]
    operations = [run_sql(POSTGRES, POSTGRES_REVERSE, SQLITE, SQLITE_REVERSE)]

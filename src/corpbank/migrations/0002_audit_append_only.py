"""The database itself refuses to change or delete an audit event (R-I3).

TRUNCATE is left to the table's owner (the test suite's flush uses it); in production the application's
database role does not own the tables (docs/operations.md), so it cannot truncate either."""

from django.db import migrations

from corpbank.core.db import SQLITE_TRIGGERS
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
SQLITE = SQLITE_TRIGGERS["corpbank_auditevent"]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS corpbank_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS corpbank_auditevent_no_delete;",
]


class Migration(migrations.Migration):
    dependencies = [("corpbank", "0001_initial")]
    operations = [run_sql(POSTGRES, POSTGRES_REVERSE, SQLITE, SQLITE_REVERSE)]

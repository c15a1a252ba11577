"""The database itself refuses to change or delete an audit event (R-I3).

TRUNCATE is left to the table's owner (the test suite's flush uses it); in production the application's
database role does not own the tables (docs/operations.md), so it cannot truncate either."""

from django.db import migrations

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
SQLITE = [
    """CREATE TRIGGER corpbank_auditevent_no_update BEFORE UPDATE ON corpbank_auditevent
       BEGIN SELECT RAISE(ABORT, 'corpbank_auditevent is append-only'); END;""",
    """CREATE TRIGGER corpbank_auditevent_no_delete BEFORE DELETE ON corpbank_auditevent
       BEGIN SELECT RAISE(ABORT, 'corpbank_auditevent is append-only'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS corpbank_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS corpbank_auditevent_no_delete;",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REVERSE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("corpbank", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]

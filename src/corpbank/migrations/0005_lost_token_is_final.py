"""A token reported lost can never be used again, even if found (R-E6): the database refuses to move a
lost token to any other state."""

from django.db import migrations

POSTGRES = """
CREATE OR REPLACE FUNCTION corpbank_lost_token_is_final() RETURNS trigger AS $$
BEGIN
    IF OLD.state = 'lost' AND NEW.state <> 'lost' THEN
        RAISE EXCEPTION 'token %% was reported lost and can never be used again', OLD.serial;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER corpbank_token_lost_is_final BEFORE UPDATE ON corpbank_token
    FOR EACH ROW EXECUTE FUNCTION corpbank_lost_token_is_final();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS corpbank_token_lost_is_final ON corpbank_token;
DROP FUNCTION IF EXISTS corpbank_lost_token_is_final();
"""
SQLITE = """
CREATE TRIGGER corpbank_token_lost_is_final BEFORE UPDATE OF state ON corpbank_token
WHEN OLD.state = 'lost' AND NEW.state <> 'lost'
BEGIN SELECT RAISE(ABORT, 'a token reported lost can never be used again'); END;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS corpbank_token_lost_is_final;")


class Migration(migrations.Migration):
    dependencies = [("corpbank", "0004_tokens")]
    operations = [migrations.RunPython(forward, backward)]

"""A token reported lost can never be used again, even if found (R-E6): the database refuses to move a
lost token to any other state."""

from django.db import migrations

from corpbank.migrations._vendor import run_sql

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
# A migration carries its own SQL: it must do tomorrow what it did when it was written. core/db.py
# creates the same trigger again after every migrate (tests/core/test_migration_sql.py compares them).
SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS corpbank_token_lost_is_final BEFORE UPDATE OF state ON corpbank_token
           WHEN OLD.state = 'lost' AND NEW.state <> 'lost'
           BEGIN SELECT RAISE(ABORT, 'a token reported lost can never be used again'); END;""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS corpbank_token_lost_is_final;"]


class Migration(migrations.Migration):
    dependencies = [("corpbank", "0004_tokens")]
    operations = [run_sql(POSTGRES, POSTGRES_REVERSE, SQLITE, SQLITE_REVERSE)]

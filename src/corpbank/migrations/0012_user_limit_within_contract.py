"""The database itself keeps every user's limit within the contract's limit of its kind (R-A4).

services/users checks it first, for the master's clear message per field; these triggers are the
backstop for every other writer and for a race between a user's limit and the contract's. After any
insert or update of a limit, each (contract, kind) the row touches (its new one, and its old one when an
update moves it) must hold no user's limit that

- belongs to a user of another contract,
- has no contract limit of its kind, or
- exceeds that contract limit per transaction or per day.

On PostgreSQL the check first locks the contract's limit of that kind FOR SHARE, and each query of the
trigger function reads what is committed when it runs: a user's limit and a lowering of the contract's
limit, written at the same time, go one after the other, and the second sees the first. SQLite has one
writer at a time; core/db.py SQLITE_TRIGGERS creates the same triggers again after every migrate,
because SQLite drops them when it rebuilds a table. Deleting limits is not checked: a user's limit
left without its contract's ceiling must let nothing through when money movements come to be held to
both (R-G6)."""

from django.db import migrations

from corpbank.migrations._vendor import run_sql

# A migration carries its own SQL: it must do tomorrow what it did when it was written
# (tests/core/test_migration_sql.py compares it with core/db.py's).
POSTGRES = """
CREATE OR REPLACE FUNCTION corpbank_usage_limits_within_contract(p_contract bigint, p_kind text)
RETURNS void AS $$
BEGIN
    PERFORM 1 FROM corpbank_usagelimit
        WHERE contract_id = p_contract AND kind = p_kind AND user_id IS NULL FOR SHARE;
    IF EXISTS (SELECT 1 FROM corpbank_usagelimit x
        LEFT JOIN corpbank_customeruser u ON u.id = x.user_id
        LEFT JOIN corpbank_usagelimit c
            ON c.contract_id = x.contract_id AND c.kind = x.kind AND c.user_id IS NULL
        WHERE x.contract_id = p_contract AND x.kind = p_kind AND x.user_id IS NOT NULL
            AND (u.contract_id IS DISTINCT FROM x.contract_id OR c.id IS NULL
                 OR x.per_transaction > c.per_transaction OR x.per_day > c.per_day)) THEN
        RAISE EXCEPTION 'corpbank_usagelimit: a user''s limit must lie within the contract''s limit of its kind (R-A4)' USING ERRCODE = 'check_violation';
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION corpbank_usagelimit_within_contract() RETURNS trigger AS $$
BEGIN
    PERFORM corpbank_usage_limits_within_contract(NEW.contract_id, NEW.kind);
    IF TG_OP = 'UPDATE' AND (OLD.contract_id, OLD.kind) IS DISTINCT FROM (NEW.contract_id, NEW.kind) THEN
        PERFORM corpbank_usage_limits_within_contract(OLD.contract_id, OLD.kind);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER corpbank_usagelimit_within_contract AFTER INSERT OR UPDATE ON corpbank_usagelimit
    FOR EACH ROW EXECUTE FUNCTION corpbank_usagelimit_within_contract();
"""
POSTGRES_REVERSE = """
DROP TRIGGER IF EXISTS corpbank_usagelimit_within_contract ON corpbank_usagelimit;
DROP FUNCTION IF EXISTS corpbank_usagelimit_within_contract();
DROP FUNCTION IF EXISTS corpbank_usage_limits_within_contract(bigint, text);
"""

SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS corpbank_usagelimit_within_contract_insert
           AFTER INSERT ON corpbank_usagelimit WHEN EXISTS (SELECT 1 FROM corpbank_usagelimit x
        LEFT JOIN corpbank_customeruser u ON u.id = x.user_id
        LEFT JOIN corpbank_usagelimit c
            ON c.contract_id = x.contract_id AND c.kind = x.kind AND c.user_id IS NULL
        WHERE x.contract_id = NEW.contract_id AND x.kind = NEW.kind AND x.user_id IS NOT NULL
            AND (u.contract_id IS NOT x.contract_id OR c.id IS NULL
                 OR x.per_transaction > c.per_transaction OR x.per_day > c.per_day))
           BEGIN SELECT RAISE(ABORT, 'corpbank_usagelimit: a user''s limit must lie within the contract''s limit of its kind (R-A4)'); END;""",
    """CREATE TRIGGER IF NOT EXISTS corpbank_usagelimit_within_contract_update
           AFTER UPDATE ON corpbank_usagelimit WHEN EXISTS (SELECT 1 FROM corpbank_usagelimit x
        LEFT JOIN corpbank_customeruser u ON u.id = x.user_id
        LEFT JOIN corpbank_usagelimit c
            ON c.contract_id = x.contract_id AND c.kind = x.kind AND c.user_id IS NULL
        WHERE x.contract_id = NEW.contract_id AND x.kind = NEW.kind AND x.user_id IS NOT NULL
            AND (u.contract_id IS NOT x.contract_id OR c.id IS NULL
                 OR x.per_transaction > c.per_transaction OR x.per_day > c.per_day)) OR EXISTS (SELECT 1 FROM corpbank_usagelimit x
        LEFT JOIN corpbank_customeruser u ON u.id = x.user_id
        LEFT JOIN corpbank_usagelimit c
            ON c.contract_id = x.contract_id AND c.kind = x.kind AND c.user_id IS NULL
        WHERE x.contract_id = OLD.contract_id AND x.kind = OLD.kind AND x.user_id IS NOT NULL
            AND (u.contract_id IS NOT x.contract_id OR c.id IS NULL
                 OR x.per_transaction > c.per_transaction OR x.per_day > c.per_day))
           BEGIN SELECT RAISE(ABORT, 'corpbank_usagelimit: a user''s limit must lie within the contract''s limit of its kind (R-A4)'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS corpbank_usagelimit_within_contract_insert;",
    "DROP TRIGGER IF EXISTS corpbank_usagelimit_within_contract_update;",
]


class Migration(migrations.Migration):
    dependencies = [("corpbank", "0011_client_certificates")]
    operations = [run_sql(POSTGRES, POSTGRES_REVERSE, SQLITE, SQLITE_REVERSE)]

"""A posting written in one call on PostgreSQL (issue 14's benchmark): ``corpbank_ledger_post`` does
what ledger.services.post does step by step on SQLite (the accounts' rows locked in id order, each
account's last leg read after its lock, the legs numbered on with the balance after each, inserted,
then the posting that seals them) in one round trip, with plans the server keeps, instead of four
statements each parsed and planned again.

It checks what the triggers of migrations 0017 and 0020 enforce anyway, only to answer with a reason
Python turns into a customer's message, in this order: 'missing' (an account that does not exist),
'closed' (the first closed account by id), 'insufficient' (the first customer's account, in the
entries' order, that would go below zero); nothing is written then. The triggers stay the ledger's guarantee, whoever writes."""

from django.db import migrations

from corpbank.migrations._vendor import run_sql

POSTGRES = """
CREATE OR REPLACE FUNCTION corpbank_ledger_post(
    p_kind text, p_value_date date, p_posted_at timestamptz, p_reference text, p_reverses bigint,
    p_idempotency_key text, p_accounts bigint[], p_amounts bigint[], p_memos text[],
    OUT posting_id bigint, OUT refused text, OUT refused_account bigint
) AS $$
DECLARE
    ids bigint[];                    -- the accounts, each once, in id order
    kinds text[] := '{}';            -- and, in the same order, each one's kind,
    seqs bigint[] := '{}';           -- its last leg's place (0 before any)
    balances bigint[] := '{}';       -- and the balance after it
    leg_seqs bigint[] := '{}';       -- per entry: the new leg's place
    leg_balances bigint[] := '{}';   -- and the balance after it
    account record;
    last record;
    closed bigint;                   -- the first closed account, by id
    k integer;
BEGIN
    SELECT array_agg(DISTINCT a ORDER BY a) INTO ids FROM unnest(p_accounts) AS a;
    -- Each statement of this function reads what was committed when it starts: the last leg is read
    -- after the account's lock, so it is the one the lock's previous holder wrote.
    FOR account IN SELECT a.id, a.kind, a.closed_at FROM corpbank_ledgeraccount a
            WHERE a.id = ANY (ids) ORDER BY a.id FOR UPDATE LOOP
        IF account.closed_at IS NOT NULL AND closed IS NULL THEN
            closed := account.id;
        END IF;
        SELECT l.seq, l.balance_after INTO last FROM corpbank_leg l
            WHERE l.account_id = account.id ORDER BY l.seq DESC LIMIT 1;
        kinds := kinds || account.kind::text;
        seqs := seqs || coalesce(last.seq, 0);
        balances := balances || coalesce(last.balance_after, 0);
    END LOOP;
    IF coalesce(array_length(seqs, 1), 0) <> array_length(ids, 1) THEN
        refused := 'missing';
        RETURN;
    END IF;
    IF closed IS NOT NULL THEN
        refused := 'closed';
        refused_account := closed;
        RETURN;
    END IF;
    FOR i IN 1 .. array_length(p_accounts, 1) LOOP
        k := array_position(ids, p_accounts[i]);
        seqs[k] := seqs[k] + 1;
        balances[k] := balances[k] + p_amounts[i];
        IF kinds[k] = 'customer' AND balances[k] < 0 THEN
            refused := 'insufficient';
            refused_account := p_accounts[i];
            RETURN;
        END IF;
        leg_seqs := leg_seqs || seqs[k];
        leg_balances := leg_balances || balances[k];
    END LOOP;
    posting_id := nextval(pg_get_serial_sequence('corpbank_posting', 'id'));
    INSERT INTO corpbank_leg (posting_id, account_id, seq, amount, balance_after, memo)
        SELECT posting_id, u.account, u.seq, u.amount, u.balance, u.memo
        FROM unnest(p_accounts, leg_seqs, p_amounts, leg_balances, p_memos) AS u(account, seq, amount, balance, memo);
    INSERT INTO corpbank_posting (id, kind, value_date, posted_at, reference, reverses_id, legs_count,
                                  idempotency_key)
        VALUES (posting_id, p_kind, p_value_date, p_posted_at, p_reference, p_reverses,
                array_length(p_accounts, 1), p_idempotency_key);
END;
$$ LANGUAGE plpgsql;
"""
POSTGRES_REVERSE = """
DROP FUNCTION IF EXISTS corpbank_ledger_post(text, date, timestamptz, text, bigint, text, bigint[], bigint[], text[]);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("corpbank", "0021_payees_and_transfers"),
    ]

    operations = [run_sql(POSTGRES, POSTGRES_REVERSE, [], [])]

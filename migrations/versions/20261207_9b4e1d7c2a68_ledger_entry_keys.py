"""ledger: journal entries carry their contract, term and partner firm as typed, indexed columns

Until now the contract, the term and the partner firm of an entry were only inside its JSON `details`, so the
readers (a contract's term entries for a clawback or a disclosure release, the shares awaiting release, the
commission expected on an insurer's statement) loaded every commission entry and filtered in Python. The new
columns `contract_ref`, `term` and `partner_ref` are indexed for those readers ((contract, term),
(partner, kind)), and so is `event_kind`. They are back-filled here from the details of the entries already
posted (SQL JSON functions, one statement per database); the append-only trigger of ledger_entries is lifted for
that statement only, inside this migration's transaction.

`ledger_post` takes the three values: its argument list changes, so the function is dropped and created again
(the downgrade restores revision 7c2d9e4b1a30's definition). The ledger checkpoint's digest leaves the new
columns out (they only repeat the details, which it covers, and `ledger verify` checks they agree), so
checkpoints signed before the upgrade still verify.

Revision ID: 9b4e1d7c2a68
Revises: 3f8a2c6d9e51
Create Date: 2026-12-07 14:00:00
"""
from alembic import op
import sqlalchemy as sa

from core.migration_ops import drop_append_only, from_revision, make_append_only

revision = "9b4e1d7c2a68"
down_revision = "3f8a2c6d9e51"
branch_labels = None
depends_on = None

OLD_SIGNATURE = ("text, text, text, timestamptz, date, text, text, text, date, json, bigint, text[], text[], "
                 "bigint[]")
NEW_SIGNATURE = ("text, text, text, timestamptz, date, text, text, text, date, json, text, integer, text, bigint, "
                 "text[], text[], bigint[]")
INDEXES = {"ix_ledger_entries_contract_term": ["contract_ref", "term"],
           "ix_ledger_entries_partner_kind": ["partner_ref", "event_kind"],
           "ix_ledger_entries_event_kind": ["event_kind"]}

# only rows whose details name one of the keys are rewritten (payouts and receipts keep theirs null)
BACKFILL = {
    "postgresql": """
        UPDATE ledger_entries SET contract_ref = details ->> 'contract', term = (details ->> 'term')::integer,
                                  partner_ref = details ->> 'partner'
         WHERE coalesce(details ->> 'contract', details ->> 'term', details ->> 'partner') IS NOT NULL""",
    "sqlite": """
        UPDATE ledger_entries SET contract_ref = json_extract(details, '$.contract'),
                                  term = json_extract(details, '$.term'),
                                  partner_ref = json_extract(details, '$.partner')
         WHERE coalesce(json_extract(details, '$.contract'), json_extract(details, '$.term'),
                        json_extract(details, '$.partner')) IS NOT NULL""",
}

LEDGER_POST = r"""
CREATE FUNCTION ledger_post(
    p_key text, p_hash text, p_public_id text, p_created_at timestamptz, p_date date, p_description text,
    p_event_kind text, p_event_ref text, p_event_date date, p_details json, p_contract_ref text, p_term integer,
    p_partner_ref text, p_reverses_id bigint,
    p_codes text[], p_currencies text[], p_amounts bigint[],
    OUT status text, OUT entry_id bigint, OUT detail text, OUT account_ids bigint[], OUT balances bigint[])
LANGUAGE plpgsql
-- the statements below are the same every call: plan them once per connection
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    line_ids bigint[];
    closed text;
    late text;
    found_hash text;
BEGIN
    -- each line's account, by its unique (code, currency) index whatever the table's statistics
    SELECT array_agg((SELECT a.id FROM ledger_accounts a WHERE a.code = l.c AND a.currency = l.k) ORDER BY l.ord)
      INTO line_ids FROM unnest(p_codes, p_currencies) WITH ORDINALITY AS l(c, k, ord);
    IF array_position(line_ids, NULL) IS NOT NULL THEN
        SELECT string_agg(u.c || ' (' || u.k || ')', ', ' ORDER BY u.c COLLATE "C", u.k COLLATE "C") INTO detail
          FROM (SELECT DISTINCT l.c, l.k FROM unnest(p_codes, p_currencies, line_ids) AS l(c, k, id)
                 WHERE l.id IS NULL) AS u;
        status := 'unknown_account';
        RETURN;
    END IF;
    -- lock in id order (concurrent posters neither deadlock nor lose updates); the rows are read as locked
    SELECT string_agg(a.code || ' (' || a.currency || ')', ', ' ORDER BY a.id) FILTER (WHERE a.closed_at IS NOT NULL),
           string_agg(a.code, ', ' ORDER BY a.code COLLATE "C") FILTER (WHERE a.last_posted_on > p_date)
      INTO closed, late
      FROM (SELECT id, code, currency, closed_at, last_posted_on FROM ledger_accounts
             WHERE id = ANY(line_ids) ORDER BY id FOR UPDATE) AS a;
    IF closed IS NOT NULL THEN
        status := 'closed_account';
        detail := closed;
        RETURN;
    END IF;
    -- after the lock: a concurrent poster of the same key has committed by now
    SELECT e.id, e.request_hash INTO entry_id, found_hash FROM ledger_entries e WHERE e.idempotency_key = p_key;
    IF entry_id IS NOT NULL THEN
        status := CASE WHEN found_hash = p_hash THEN 'existing' ELSE 'key_reused' END;
        RETURN;
    END IF;
    IF EXISTS (SELECT FROM ledger_periods WHERE month = date_trunc('month', p_date)::date) THEN
        status := 'period_closed';
        RETURN;
    END IF;
    IF late IS NOT NULL THEN
        status := 'late';
        detail := late;
        RETURN;
    END IF;
    INSERT INTO ledger_entries AS e (public_id, created_at, idempotency_key, request_hash, effective_date,
                                     description, event_kind, event_ref, event_date, details, contract_ref, term,
                                     partner_ref, reverses_id)
    VALUES (p_public_id, p_created_at, p_key, p_hash, p_date, p_description, p_event_kind, p_event_ref,
            p_event_date, p_details, p_contract_ref, p_term, p_partner_ref, p_reverses_id)
    ON CONFLICT DO NOTHING
    RETURNING e.id INTO entry_id;
    IF entry_id IS NULL THEN
        -- the key, or the reversal, committed meanwhile by a transaction on other accounts
        SELECT e.id, e.request_hash INTO entry_id, found_hash FROM ledger_entries e WHERE e.idempotency_key = p_key;
        IF entry_id IS NOT NULL THEN
            status := CASE WHEN found_hash = p_hash THEN 'existing' ELSE 'key_reused' END;
        ELSIF EXISTS (SELECT FROM ledger_entries e WHERE e.reverses_id = p_reverses_id) THEN
            status := 'already_reversed';
        ELSE
            RAISE EXCEPTION 'ledger entry % conflicts with a stored entry', p_key USING ERRCODE = 'unique_violation';
        END IF;
        RETURN;
    END IF;
    -- the balances move, and each posting records its account's balance right after it (lines in account order)
    WITH moved AS (
        UPDATE ledger_accounts a SET balance_minor = a.balance_minor + t.total, last_posted_on = p_date
          FROM (SELECT l.id, sum(l.amount) AS total FROM unnest(line_ids, p_amounts) AS l(id, amount)
                 GROUP BY l.id) AS t
         WHERE a.id = t.id
        RETURNING a.id, a.balance_minor, t.total
    ), written AS (
        INSERT INTO ledger_postings (entry_id, account_id, amount_minor, currency, effective_date, balance_after)
        SELECT ledger_post.entry_id, l.id, l.amount, l.k, p_date,
               m.balance_minor - m.total + sum(l.amount) OVER (PARTITION BY l.id ORDER BY l.ord)
          FROM unnest(line_ids, p_amounts, p_currencies) WITH ORDINALITY AS l(id, amount, k, ord)
          JOIN moved m ON m.id = l.id
         ORDER BY l.id, l.ord
    )
    SELECT array_agg(m.id ORDER BY m.id), array_agg(m.balance_minor ORDER BY m.id) INTO account_ids, balances
      FROM moved m;
    status := 'posted';
END $$;
"""


def upgrade():
    # plain ADD COLUMN: SQLite's batch mode would rebuild the table and drop its append-only triggers
    op.add_column("ledger_entries", sa.Column("contract_ref", sa.String(length=32), nullable=True))
    op.add_column("ledger_entries", sa.Column("term", sa.Integer(), nullable=True))
    op.add_column("ledger_entries", sa.Column("partner_ref", sa.String(length=32), nullable=True))
    dialect = op.get_bind().dialect.name
    drop_append_only("ledger_entries")
    op.execute(BACKFILL[dialect])
    make_append_only("ledger_entries")
    for name, columns in INDEXES.items():
        op.create_index(name, "ledger_entries", columns, unique=False)
    if dialect == "postgresql":
        op.execute(f"DROP FUNCTION ledger_post({OLD_SIGNATURE})")
        op.execute(LEDGER_POST)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION ledger_post({NEW_SIGNATURE})")
        op.execute(from_revision("20261122_7c2d9e4b1a30_one_statement_posting.py", "LEDGER_POST"))
    for name in INDEXES:
        op.drop_index(name, table_name="ledger_entries")
    for column in ("partner_ref", "term", "contract_ref"):
        op.drop_column("ledger_entries", column)

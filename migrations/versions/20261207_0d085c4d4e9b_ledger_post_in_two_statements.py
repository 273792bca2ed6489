"""ledger: `ledger_post` in two statements instead of six (same arguments, same answers)

The function ran six SQL statements for an entry that posts: each line's account by its (code, currency) index,
the lock of the accounts, the idempotency key, the closed period, the entry, then the balances and postings.
Each statement run from PL/pgSQL is a start and an end of the executor on top of its work; under a loaded
machine the function was most of the server's time of a single entry. Now:

1. one statement resolves each line's account, locks the accounts in id order (FOR UPDATE, as before: concurrent
   posters neither deadlock nor lose updates), reads them as locked (closed, last posting date) and asks whether
   the entry's month is closed;
2. one statement writes: the entry (`ON CONFLICT DO NOTHING`, which is now the idempotency check of the common
   path: a concurrent poster of the same key is waited for on the unique index, as the lock made it wait
   before), the balances (only if the entry was written) and the postings with their running balances.

The key is looked up by a SELECT only where the answer depends on it: when the period is closed or the date
goes back (a retry of an entry posted before must still get it back, not a refusal), and when the insert met a
conflict. The order of the refusals is unchanged: unknown account, closed account, then the key (existing or
reused), then the closed period, then the date going back, then a reversal already made. The downgrade restores
revision 9b4e1d7c2a68's definition.

Revision ID: 0d085c4d4e9b
Revises: 658ee66eada0
Create Date: 2026-12-07 19:30:00
"""
from alembic import op

from core.migration_ops import from_revision

revision = "0d085c4d4e9b"
down_revision = "658ee66eada0"
branch_labels = None
depends_on = None

SIGNATURE = ("text, text, text, timestamptz, date, text, text, text, date, json, text, integer, text, bigint, "
             "text[], text[], bigint[]")

LEDGER_POST = r"""
CREATE OR REPLACE FUNCTION ledger_post(
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
    period_closed boolean;
    found_hash text;
BEGIN
    -- each line's account; the accounts locked in id order (concurrent posters neither deadlock nor lose
    -- updates) and read as locked; the entry's month
    WITH locked AS MATERIALIZED (
        SELECT a.id, a.code, a.currency, a.closed_at, a.last_posted_on FROM ledger_accounts a
         WHERE (a.code, a.currency) IN (SELECT w.c, w.k FROM unnest(p_codes, p_currencies) AS w(c, k))
         ORDER BY a.id FOR UPDATE OF a
    )
    SELECT (SELECT array_agg(x.id ORDER BY l.ord)
              FROM unnest(p_codes, p_currencies) WITH ORDINALITY AS l(c, k, ord)
              LEFT JOIN locked x ON x.code = l.c AND x.currency = l.k),
           (SELECT string_agg(x.code || ' (' || x.currency || ')', ', ' ORDER BY x.id)
                   FILTER (WHERE x.closed_at IS NOT NULL) FROM locked x),
           (SELECT string_agg(x.code, ', ' ORDER BY x.code COLLATE "C") FILTER (WHERE x.last_posted_on > p_date)
              FROM locked x),
           EXISTS (SELECT FROM ledger_periods WHERE month = date_trunc('month', p_date)::date)
      INTO line_ids, closed, late, period_closed;
    IF array_position(line_ids, NULL) IS NOT NULL THEN
        SELECT string_agg(u.c || ' (' || u.k || ')', ', ' ORDER BY u.c COLLATE "C", u.k COLLATE "C") INTO detail
          FROM (SELECT DISTINCT l.c, l.k FROM unnest(p_codes, p_currencies, line_ids) AS l(c, k, id)
                 WHERE l.id IS NULL) AS u;
        status := 'unknown_account';
        RETURN;
    END IF;
    IF closed IS NOT NULL THEN
        status := 'closed_account';
        detail := closed;
        RETURN;
    END IF;
    IF period_closed OR late IS NOT NULL THEN
        -- a retry of an entry posted before gets it back; anything else is refused
        SELECT e.id, e.request_hash INTO entry_id, found_hash FROM ledger_entries e WHERE e.idempotency_key = p_key;
        IF entry_id IS NOT NULL THEN
            status := CASE WHEN found_hash = p_hash THEN 'existing' ELSE 'key_reused' END;
        ELSIF period_closed THEN
            status := 'period_closed';
        ELSE
            status := 'late';
            detail := late;
        END IF;
        RETURN;
    END IF;
    -- the entry (its key is its idempotency check: a concurrent poster of the same key is waited for on the
    -- unique index), then the balances and the postings, each recording its account's balance right after it
    -- (lines in account order); nothing moves if the entry met a conflict
    WITH entry AS (
        INSERT INTO ledger_entries AS e (public_id, created_at, idempotency_key, request_hash, effective_date,
                                         description, event_kind, event_ref, event_date, details, contract_ref,
                                         term, partner_ref, reverses_id)
        VALUES (p_public_id, p_created_at, p_key, p_hash, p_date, p_description, p_event_kind, p_event_ref,
                p_event_date, p_details, p_contract_ref, p_term, p_partner_ref, p_reverses_id)
        ON CONFLICT DO NOTHING
        RETURNING e.id
    ), moved AS (
        UPDATE ledger_accounts a SET balance_minor = a.balance_minor + t.total, last_posted_on = p_date
          FROM (SELECT l.id, sum(l.amount) AS total FROM unnest(line_ids, p_amounts) AS l(id, amount)
                 GROUP BY l.id) AS t
         WHERE a.id = t.id AND EXISTS (SELECT FROM entry)
        RETURNING a.id, a.balance_minor, t.total
    ), written AS (
        INSERT INTO ledger_postings (entry_id, account_id, amount_minor, currency, effective_date, balance_after)
        SELECT n.id, l.id, l.amount, l.k, p_date,
               m.balance_minor - m.total + sum(l.amount) OVER (PARTITION BY l.id ORDER BY l.ord)
          FROM entry n
         CROSS JOIN unnest(line_ids, p_amounts, p_currencies) WITH ORDINALITY AS l(id, amount, k, ord)
          JOIN moved m ON m.id = l.id
         ORDER BY l.id, l.ord
    )
    SELECT (SELECT n.id FROM entry n), array_agg(m.id ORDER BY m.id), array_agg(m.balance_minor ORDER BY m.id)
      INTO entry_id, account_ids, balances FROM moved m;
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
        account_ids := NULL;
        balances := NULL;
        RETURN;
    END IF;
    status := 'posted';
END $$;
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LEDGER_POST)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION ledger_post({SIGNATURE})")
        op.execute(from_revision("20261207_9b4e1d7c2a68_ledger_entry_keys.py", "LEDGER_POST"))

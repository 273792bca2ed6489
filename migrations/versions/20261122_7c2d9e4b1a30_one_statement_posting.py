"""ledger: post an entry in one round trip (PostgreSQL function ledger_post); the balance check runs once per
insert statement over its postings instead of once per entry at commit

The function holds on the server what `ledger.engine.post` checked in Python over nine statements: the
accounts locked in id order, unknown and closed accounts, the idempotency key (a retry gets the first entry,
the same key with another request is refused), the closed period, posting dates that would go back, then the
entry, its postings with their running balances and the accounts' balances. It answers a status rather than
raising, so the caller's transaction stays usable and the caller words the refusal.

The balance check moves from a deferred per-entry constraint trigger (two queries per entry at commit) to a
statement-level trigger over the postings a statement inserts (a transition table): each entry's new postings
must sum to zero in each currency. Postings are append-only and non-zero, so an entry that balanced after
every statement balances for good, and has at least two postings once it has any.

SQLite has neither PL/pgSQL nor transition tables: there the engine keeps posting through the ORM, and
`flask ledger verify` reports an entry that does not balance.

Revision ID: 7c2d9e4b1a30
Revises: 25f831aeb284
Create Date: 2026-11-22 09:10:00
"""
from alembic import op

revision = "7c2d9e4b1a30"
down_revision = "25f831aeb284"
branch_labels = None
depends_on = None

LEDGER_POST = r"""
CREATE FUNCTION ledger_post(
    p_key text, p_hash text, p_public_id text, p_created_at timestamptz, p_date date, p_description text,
    p_event_kind text, p_event_ref text, p_event_date date, p_details json, p_reverses_id bigint,
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
                                     description, event_kind, event_ref, event_date, details, reverses_id)
    VALUES (p_public_id, p_created_at, p_key, p_hash, p_date, p_description, p_event_kind, p_event_ref,
            p_event_date, p_details, p_reverses_id)
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

POSTINGS_BALANCE = r"""
CREATE FUNCTION ledger_postings_balance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    off record;
BEGIN
    SELECT entry_id, currency, sum(amount_minor) AS total INTO off
      FROM inserted GROUP BY entry_id, currency HAVING sum(amount_minor) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry % does not balance in % (off by %)', off.entry_id, off.currency, off.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_postings_balance AFTER INSERT ON ledger_postings REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_balance();
"""

# as created by revision 4ff895efa55c, for the downgrade
ENTRY_BALANCES = r"""
CREATE FUNCTION ledger_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    off text;
BEGIN
    SELECT count(*) INTO n FROM ledger_postings WHERE entry_id = NEW.id;
    SELECT string_agg(currency, ', ') INTO off FROM (
        SELECT currency FROM ledger_postings WHERE entry_id = NEW.id
        GROUP BY currency HAVING sum(amount_minor) <> 0) AS unbalanced;
    IF n < 2 OR off IS NOT NULL THEN
        RAISE EXCEPTION 'ledger entry % does not balance (% postings; off in %)', NEW.id, n,
            coalesce(off, '-') USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_entries_balance AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER ledger_entries_balance ON ledger_entries")
    op.execute("DROP FUNCTION ledger_entry_balances()")
    op.execute(POSTINGS_BALANCE)
    op.execute(LEDGER_POST)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION ledger_post(text, text, text, timestamptz, date, text, text, text, date, json, bigint, "
               "text[], text[], bigint[])")
    op.execute("DROP TRIGGER ledger_postings_balance ON ledger_postings")
    op.execute("DROP FUNCTION ledger_postings_balance()")
    op.execute(ENTRY_BALANCES)

"""Raw database access for tests that play the part of someone with direct SQL access."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import text


@contextmanager
def triggers_suspended(conn, table: str | None = None):
    """Lift the append-only triggers on `table` (comma-separated tables; every table when None, SQLite only) for
    the duration, as a database owner could."""
    if conn.dialect.name == "postgresql":
        assert table is not None, "PostgreSQL: name the table"
        tables = table.split(",")
        for name in tables:  # USER: the append-only and TRUNCATE refusals alike
            conn.execute(text(f"ALTER TABLE {name.strip()} DISABLE TRIGGER USER"))
        yield
        for name in tables:
            conn.execute(text(f"ALTER TABLE {name.strip()} ENABLE TRIGGER USER"))
        return
    names = [name.strip() for name in table.split(",")] if table else None
    saved = [(name, sql) for name, sql, tbl in conn.execute(text(
        "SELECT name, sql, tbl_name FROM sqlite_master WHERE type = 'trigger'")).all()
        if names is None or tbl in names]
    for name, _sql in saved:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in saved:
        conn.execute(text(sql))


def emptied(conn, tables: list[str]) -> None:
    """Empty `tables` (children first) between tests: the one sanctioned way past the append-only refusals.
    PostgreSQL: TRUNCATE in replica mode, which fires no ordinary trigger (TRUNCATE triggers included) for the
    rest of the transaction; SQLite: DELETE with the tables' triggers lifted."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        return
    with triggers_suspended(conn, ",".join(tables)):
        for t in tables:
            conn.execute(text(f'DELETE FROM "{t}"'))


def audit_triggers_suspended(conn):
    return triggers_suspended(conn, "audit_events")


@contextmanager
def failure_injected(eng, table: str, event: str, condition: str):
    """A trigger that makes the database fail the statement writing a row of `table` matching `condition`
    (on NEW), for the duration: a crash in the middle of a write, wherever the write runs (Python or SQL)."""
    with eng.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("CREATE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS "
                              "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"))
            conn.execute(text(f"CREATE TRIGGER injected_failure BEFORE {event} ON {table} FOR EACH ROW "
                              f"WHEN ({condition}) EXECUTE FUNCTION injected_failure()"))
        else:
            conn.execute(text(f"CREATE TRIGGER injected_failure BEFORE {event} ON {table} FOR EACH ROW "
                              f"WHEN {condition} BEGIN SELECT RAISE(ABORT, 'injected failure'); END"))
    try:
        yield
    finally:
        with eng.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"DROP TRIGGER injected_failure ON {table}"))
                conn.execute(text("DROP FUNCTION injected_failure()"))
            else:
                conn.execute(text("DROP TRIGGER injected_failure"))


def rechain_audit(session, from_seq: int, keyring, key_id: str, through: int | None = None) -> None:
    """Recompute, as an intruder would, the hash of every event from `from_seq` on (to `through`; to the end and
    the head when None) with `keyring`'s key `key_id` (`sha256-legacy`: plain SHA-256, as before keys)."""
    from core.audit import AuditEvent

    session.expire_all()
    events = session.query(AuditEvent).order_by(AuditEvent.seq).all()
    prev = events[from_seq - 2].hash if from_seq > 1 else "0" * 64
    rows = []
    for ev in events[from_seq - 1:through]:
        session.expunge(ev)  # a detached copy to compute with: the ORM would refuse the update
        ev.prev_hash, ev.key_id = prev, key_id
        ev.hash = prev = ev.compute_hash(keyring)
        rows.append({"seq": ev.seq, "prev": ev.prev_hash, "hash": ev.hash, "key": key_id})
    conn = session.connection()
    with audit_triggers_suspended(conn):
        # the hash column is unique: clear the old hashes first, so no new one collides with one not yet updated
        conn.execute(text("UPDATE audit_events SET hash = 'x' || seq WHERE seq BETWEEN :s AND :t"),
                     {"s": from_seq, "t": rows[-1]["seq"]})
        conn.execute(text("UPDATE audit_events SET prev_hash = :prev, hash = :hash, key_id = :key WHERE seq = :seq"),
                     rows)
        if through is None:
            conn.execute(text("UPDATE audit_head SET seq = :seq, hash = :hash"), {"seq": rows[-1]["seq"],
                                                                                  "hash": rows[-1]["hash"]})
    session.commit()

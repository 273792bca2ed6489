"""Raw database access for tests that play the part of someone with direct SQL access."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import text


@contextmanager
def triggers_suspended(conn, table: str | None = None):
    """Lift the append-only triggers on `table` (every table when None) for the duration, as a database
    owner could."""
    if conn.dialect.name == "postgresql":
        assert table is not None, "PostgreSQL: name the table (TRUNCATE needs no suspension)"
        conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        yield
        conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        return
    query = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
    saved = conn.execute(text(query + (" AND tbl_name = :t" if table else "")), {"t": table}).all()
    for name, _sql in saved:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in saved:
        conn.execute(text(sql))


def audit_triggers_suspended(conn):
    return triggers_suspended(conn, "audit_events")

"""Raw database access for tests that play the part of someone with direct SQL access."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import text


@contextmanager
def audit_triggers_suspended(conn):
    """Lift the append-only triggers on audit_events for the duration (as a database owner could)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        yield
        conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
        return
    saved = conn.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'")).all()
    for name, _sql in saved:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in saved:
        conn.execute(text(sql))

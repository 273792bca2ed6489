"""Helpers for migrations: database-level refusal of updates and deletes on append-only tables; an earlier
revision's definition read back for a downgrade."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import op

PG_FUNCTION = "refuse_append_only_change"


def create_refusal_function() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
        CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% rows are append-only (% refused)', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
    """)


def drop_refusal_function() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {PG_FUNCTION}()")


def make_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, when in ((f"{table}_no_update", "BEFORE UPDATE"), (f"{table}_no_delete", "BEFORE DELETE")):
            op.execute(f"CREATE TRIGGER {name} {when} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END")
        return
    op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()")


def drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER {table}_no_update")
        op.execute(f"DROP TRIGGER {table}_no_delete")
        return
    op.execute(f"DROP TRIGGER {table}_append_only ON {table}")


TRUNCATE_FUNCTION = "refuse_truncate"


def create_truncate_refusal_function() -> None:
    """PostgreSQL's TRUNCATE fires no row trigger: without a statement-level refusal it empties an append-only
    table past the UPDATE/DELETE triggers. (SQLite has no TRUNCATE; its DELETE triggers cover it.)"""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
        CREATE FUNCTION {TRUNCATE_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% rows are append-only (TRUNCATE refused)', TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege';
        END $$;
    """)


def refuse_truncate(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {TRUNCATE_FUNCTION}()")


def allow_truncate(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")


def from_revision(filename: str, name: str):
    """`name` as the revision file `filename` (in migrations/versions) defines it: a downgrade restores an earlier
    revision's definition (a database function) from that revision's own file, since history does not change."""
    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / filename
    spec = importlib.util.spec_from_file_location(f"_revision_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)

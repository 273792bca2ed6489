"""The shared database base: every model, in the portal and in the domain packages, derives from `Base`.

Imports no Flask so that ledger/, agreements/ and compliance/ can use it in plain Python.
"""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime, UTC
from typing import Annotated

import sqlite3

from sqlalchemy import BigInteger, ColumnElement, DateTime, Enum, Integer, MetaData, String, TypeDecorator, event, literal_column
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, mapped_column, object_session, registry

from .errors import AppendOnlyViolation

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_public_id() -> str:
    """An opaque identifier for URLs: random, so it reveals neither order nor volume."""
    return uuid.uuid4().hex


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BigInteger primary keys on PostgreSQL; SQLite only autoincrements a plain INTEGER primary key.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")

intpk = Annotated[int, mapped_column(BigIntPK, primary_key=True, autoincrement=True)]
public_id = Annotated[str, mapped_column(String(32), unique=True, default=new_public_id)]
created_at = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow)]
str255 = Annotated[str, mapped_column(String(255))]


def enum_column(cls, length: int = 32) -> Enum:
    """Enums stored as their value in a VARCHAR (portable; adding a member needs no type migration)."""
    return Enum(cls, native_enum=False, length=length, validate_strings=True)


class Base(DeclarativeBase):
    registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION),
                        type_annotation_map={datetime: UTCDateTime()})


def members_in(column, members) -> ColumnElement[bool]:
    """`column IN (...)` for an `enum_column`, with the members written into the SQL (`'received', ...`) rather
    than as an expanding parameter: the statement is then the same every time it runs, so a prebuilt statement
    that runs on every request skips the per-execution expansion (its members are fixed, and enum names are
    identifiers: nothing to quote)."""
    names = [m.name for m in members]
    assert all(n.isidentifier() for n in names)
    return column.in_([literal_column(f"'{n}'") for n in names])


def append_only(model):
    """Refuse updates and deletes of `model` in the ORM. The migration that creates the table adds the same
    refusal as database triggers (see core.migration_ops), so no SQL client can do it either."""

    def refuse_update(mapper, connection, target):
        # An object is also "dirty" when only a collection of it changed (a withdrawal appended to a consent):
        # that writes no row of this table, so it is allowed.
        session = object_session(target)
        if session is not None and not session.is_modified(target, include_collections=False):
            return
        raise AppendOnlyViolation(f"{model.__tablename__} are append-only")

    def refuse_delete(mapper, connection, target):
        raise AppendOnlyViolation(f"{model.__tablename__} are append-only")

    event.listen(model, "before_update", refuse_update)
    event.listen(model, "before_delete", refuse_delete)
    return model


def render_migration_item(type_, obj, autogen_context):
    """Alembic autogenerate hook: write our column types as the plain SQLAlchemy types they store as."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# --- SQLite connections --------------------------------------------------------------------------------------
# A writer that finds the database locked waits (up to 15 s) instead of failing at once. The sqlite3 driver's
# own transaction handling is kept (it begins a transaction at the first write; reads before it run on their
# own): the ledger starts its postings with a write for that reason (see
# ledger.journal_batch._take_sqlite_write_lock).

@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA busy_timeout = 15000")

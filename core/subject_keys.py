"""Crypto-shredding: personal data kept in append-only or hash-chained records (audit event details, milestone
notes, consent-withdrawal reasons, the roster's raw records) is stored encrypted under a key of its data subject's
record, so that destroying the key on erasure makes the data unreadable while the records, their hashes and their
triggers stay intact.

A key is named by a reference such as ``case:<public id>``, ``consent:<public id>``, ``volunteer:<public id>`` or
``roster:<file ref>``; it is made on first use. A sealed value is text: ``sealed:v1:<reference>:<Fernet token>``.
Opening one whose key was destroyed gives None. The keys live in their own mutable table (`subject_keys`)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import LargeBinary, String, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, created_at, intpk, utcnow

PREFIX = "sealed:v1:"
_CACHE = "subject_keys"


class SubjectKey(Base):
    __tablename__ = "subject_keys"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    #: whose records it seals, e.g. "case:<public id>"
    ref: Mapped[str] = mapped_column(String(80), unique=True)
    #: a Fernet key; null once destroyed (the data it sealed is then unreadable)
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    destroyed_at: Mapped[datetime | None]


def _cache(session: Session) -> dict[str, bytes | None]:
    return session.info.setdefault(_CACHE, {})


@event.listens_for(Session, "after_rollback")
@event.listens_for(Session, "after_commit")
def _forget_at_transaction_end(session: Session) -> None:
    # a key made in a transaction that rolled back does not exist: it must not seal anything later; and a key
    # destroyed by another session's erasure must not stay readable in a long-lived one (the outbox worker)
    session.info.pop(_CACHE, None)


def key_for(session: Session, ref: str) -> bytes:
    """The key of `ref`, made on first use (flushed with the caller's transaction)."""
    cache = _cache(session)
    if cache.get(ref):
        return cache[ref]
    row = session.scalar(select(SubjectKey).where(SubjectKey.ref == ref))
    if row is None:
        row = SubjectKey(ref=ref, key=Fernet.generate_key())
        session.add(row)
        session.flush()
    if row.key is None:
        raise ValueError(f"the key of {ref} was destroyed: nothing more is sealed for it")
    cache[ref] = row.key
    return row.key


def ensure_keys(session: Session, refs: Iterable[str]) -> dict[str, bytes]:
    """The keys of many references at once (a roster delivery): one query, one insert for the missing ones."""
    refs = set(refs)
    cache = _cache(session)
    missing = {r for r in refs if not cache.get(r)}
    if missing:
        for ref, key in session.execute(select(SubjectKey.ref, SubjectKey.key).where(SubjectKey.ref.in_(missing))):
            cache[ref] = key
        new = [r for r in missing if r not in cache]
        rows = [{"ref": r, "key": Fernet.generate_key(), "created_at": utcnow()} for r in new]
        if rows:
            session.execute(SubjectKey.__table__.insert(), rows)
            cache.update({row["ref"]: row["key"] for row in rows})
    return {r: cache[r] for r in refs}


def seal_with(ref: str, key: bytes, text: str) -> str:
    return f"{PREFIX}{ref}:{Fernet(key).encrypt(text.encode()).decode()}"


def seal(session: Session, ref: str, text: str | None) -> str | None:
    """`text` sealed under `ref`'s key (None stays None)."""
    if text is None:
        return None
    return seal_with(ref, key_for(session, ref), text)


def is_sealed(value) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def ref_of(value: str) -> str:
    return value[len(PREFIX):].rsplit(":", 1)[0]


def open_sealed(session: Session | None, value: str | None) -> str | None:
    """The text of a sealed value; a plain value as it is; None when its key was destroyed."""
    if not is_sealed(value):
        return value
    ref, token = value[len(PREFIX):].rsplit(":", 1)
    cache = _cache(session) if session is not None else {}
    if ref not in cache and session is not None:
        cache[ref] = session.scalar(select(SubjectKey.key).where(SubjectKey.ref == ref))
    key = cache.get(ref)
    if key is None:
        return None
    try:
        return Fernet(key).decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def destroy(session: Session, refs: Iterable[str], *, now: datetime | None = None) -> int:
    """Destroy the keys of `refs`: what they sealed can no longer be read. Returns how many were destroyed."""
    refs = sorted(set(refs))
    if not refs:
        return 0
    done = session.execute(update(SubjectKey).where(SubjectKey.ref.in_(refs), SubjectKey.key.is_not(None))
                           .values(key=None, destroyed_at=now or utcnow())
                           .execution_options(synchronize_session=False)).rowcount
    cache = _cache(session)
    for ref in refs:
        cache[ref] = None
    return done

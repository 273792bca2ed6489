"""Append-only, hash-chained audit events.

Each event stores the hash of the previous one and an HMAC-SHA256 over its own canonical content under a key
kept outside the database (`core.integrity.Keyring`), so editing or deleting any event breaks the chain from that
point on, and someone with database access but not the key cannot recompute the chain after an edit. Each event
records the id of its key: new events use the newest key, older keys stay listed so their events still verify.

A single-row head (sequence number and hash of the last event) is updated in the same transaction: it serialises
writers (row lock on PostgreSQL) and lets `verify` notice a deleted last event. A deleted tail with the head reset
to match is caught by the signed checkpoint kept outside the database (`verify(..., checkpoint=...)`).

Events recorded before keys were introduced carry the key id `sha256-legacy` (plain SHA-256). They are accepted
only as the start of the chain: the first keyed event chains on the last legacy hash, so editing them breaks that
keyed event; a legacy event after a keyed one, or past the legacy events a checkpoint saw, is reported.
"""
from __future__ import annotations

import hashlib
import json
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, cast, event, func, select,
                        type_coerce, update)
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, object_session
from sqlalchemy.sql.elements import ColumnElement

from . import subject_keys
from .db import Base, intpk, utcnow
from .integrity import LEGACY_KEY_ID, Keyring

#: the key of an event's details under which the personal part is sealed (see `record(personal=...)`)
PERSONAL = "personal"

GENESIS = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_events"
    #: the audit view filters on one of these and pages by seq, newest first: each index serves a filter in seq
    #: order, so a page is a short index range scan even with millions of events
    __table_args__ = (
        Index("ix_audit_events_action_seq", "action", "seq"),
        Index("ix_audit_events_actor_id_seq", "actor_id", "seq"),
        Index("ix_audit_events_subject_type_seq", "subject_type", "seq"),
        Index("ix_audit_events_subject_seq", "subject_type", "subject_id", "seq"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
        #: the review queue and the compliance dashboard count one action's events over a period (the referrals
        #: refused by the health-data screen), and list the oldest: an index range, whatever the log's size
        Index("ix_audit_events_action_occurred_at", "action", "occurred_at", "seq"),
    )

    id: Mapped[intpk]
    #: position in the chain, 1-based and contiguous
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), unique=True)
    occurred_at: Mapped[datetime]
    #: e.g. "auth.login", "user.role_changed", "api_token.created"
    action: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    #: the actor as text at the time (an email, or "system"), kept even if the user changes later
    actor_label: Mapped[str] = mapped_column(String(255))
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    #: canonical JSON of the event details
    data: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the id of the key the hash was computed with (`sha256-legacy`: plain SHA-256, before keys)
    key_id: Mapped[str] = mapped_column(String(32))

    def details(self) -> dict:
        """The details as recorded; their personal part opened with its data subject's key, or marked
        ``"personal": "erased"`` once the key was destroyed."""
        data = json.loads(self.data)
        if subject_keys.is_sealed(data.get(PERSONAL)):
            opened = subject_keys.open_sealed(object_session(self), data.pop(PERSONAL))
            if opened is None:
                data[PERSONAL] = "erased"
            else:
                data.update(json.loads(opened))
        return data

    def compute_hash(self, keyring: Keyring) -> str:
        """The event's HMAC under its key (KeyError for a key the keyring does not hold)."""
        return chain_hash([self.seq, self.occurred_at, self.action, self.actor_id, self.actor_label,
                           self.subject_type, self.subject_id, self.ip, self.data, self.prev_hash],
                          self.key_id, keyring)


#: the hashed fields, in the order they are hashed (then the key id, for keyed events)
HASHED = ("seq", "occurred_at", "action", "actor_id", "actor_label", "subject_type", "subject_id", "ip", "data",
          "prev_hash")
#: json.dumps(..., separators=(",", ":"), ensure_ascii=True), without building an encoder per call
_canonical = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


def chain_hash(fields: list, key_id: str, keyring: Keyring) -> str:
    """The hash of an event's fields (HASHED order, occurred_at a datetime) under the key `key_id`."""
    fields[1] = fields[1].isoformat()
    if key_id == LEGACY_KEY_ID:
        return hashlib.sha256(_canonical(fields).encode()).hexdigest()
    fields.append(key_id)
    return keyring.mac(key_id, _canonical(fields).encode())


class AuditHead(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


_KEYRINGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def data_field(session: Session, name: str) -> ColumnElement[str]:
    """The value of the key `name` in the events' details, as text in SQL (to count events by it without loading
    each one); the details are always a JSON object, `record` writes them so."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(AuditEvent.data, JSON)[name].astext  # json, not jsonb: one key read, nothing converted
    return func.json_extract(AuditEvent.data, f"$.{name}")


def use_keyring(engine, keyring: Keyring) -> None:
    """Chain (and verify) the audit events of sessions on `engine` with `keyring`: the application sets it once,
    so the many callers of `record` need not pass it."""
    _KEYRINGS[engine] = keyring


def keyring_of(session: Session) -> Keyring:
    bind = session.get_bind()
    keyring = _KEYRINGS.get(getattr(bind, "engine", bind))
    if keyring is None:
        raise RuntimeError("no audit chain keys for this database: call core.audit.use_keyring(engine, keyring)")
    return keyring


def record(session: Session, action: str, *, actor=None, subject=None, subject_type: str | None = None,
           subject_id: str | None = None, ip: str | None = None, keyring: Keyring | None = None,
           personal: dict | None = None, personal_key: str | None = None, **data) -> AuditEvent:
    """Append an event to the chain in the caller's transaction (it commits with the change it records).

    `personal`: details that are a data subject's personal data (a reason they gave, the name they typed),
    sealed under the key `personal_key` (core.subject_keys): the chain hashes the sealed text, so erasing the
    person (destroying the key) leaves the chain intact and the details unreadable."""
    keyring = keyring or keyring_of(session)
    if personal:
        if not personal_key:
            raise ValueError("personal details need the key of their data subject (personal_key)")
        data[PERSONAL] = subject_keys.seal(session, personal_key, json.dumps(personal, sort_keys=True, default=str))
    dialect = session.get_bind().dialect.name
    # The head row exists before it is locked: on a new database two first events would otherwise both insert
    # it, and one would fail. A concurrent insert of the same key waits for the other transaction to end.
    insert = sqlite_insert if dialect == "sqlite" else pg_insert
    session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS).on_conflict_do_nothing(index_elements=["id"])
                    .execution_options(synchronize_session=False))
    if dialect == "sqlite":
        # SQLite has no FOR UPDATE: a no-op write takes the database's write lock before the head is read, so
        # two concurrent events cannot both take the same sequence number.
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq)
                        .execution_options(synchronize_session=False))
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()
    if subject is not None:
        subject_type = subject_type or subject.__tablename__
        subject_id = subject_id or getattr(subject, "public_id", None) or str(subject.id)
    ev = AuditEvent(
        seq=head.seq + 1, occurred_at=utcnow(), action=action,
        actor_id=getattr(actor, "id", None), actor_label=getattr(actor, "email", None) or "system",
        subject_type=subject_type, subject_id=subject_id, ip=ip,
        data=json.dumps(data, sort_keys=True, separators=(",", ":"), default=str), prev_hash=head.hash,
        key_id=keyring.current_id,
    )
    ev.hash = ev.compute_hash(keyring)
    head.seq, head.hash = ev.seq, ev.hash
    session.add(ev)
    session.flush()
    return ev


@dataclass
class ChainProblem:
    seq: int
    problem: str


@dataclass(frozen=True)
class ChainEnd:
    """What a checkpoint keeps of a verified chain: its last event, and how far the legacy events went."""

    seq: int
    hash: str
    legacy_through: int

    def as_dict(self) -> dict:
        return {"seq": self.seq, "hash": self.hash, "legacy_through": self.legacy_through}

    @classmethod
    def from_dict(cls, body: dict) -> ChainEnd:
        return cls(int(body["seq"]), str(body["hash"]), int(body["legacy_through"]))


def verify(session: Session, keyring: Keyring | None = None, checkpoint: ChainEnd | None = None,
           batch: int = 20000) -> list[ChainProblem]:
    """Walk the whole chain; return every break found (an empty list means the log is intact). With the last
    checkpoint, also report a chain that no longer holds what the checkpoint saw."""
    keyring = keyring or keyring_of(session)
    legacy_limit = checkpoint.legacy_through if checkpoint else None
    problems: list[ChainProblem] = []
    expected_seq, prev_hash, keyed_seen = 1, GENESIS, False
    columns = [AuditEvent.__table__.c[name] for name in HASHED] + [AuditEvent.hash, AuditEvent.key_id]
    # the time as the driver gives it, made UTC below as UTCDateTime would (its per-row processing, and on SQLite
    # SQLAlchemy's regex parse of the stored text, were a third of the walk): text on SQLite, parsed with
    # fromisoformat; a timestamp with time zone on PostgreSQL
    raw_time = String() if session.get_bind().dialect.name == "sqlite" else DateTime(timezone=True)
    columns[1] = type_coerce(columns[1], raw_time)
    connection = session.connection()
    while True:
        # plain rows, not ORM instances: the walk reads each event once and never changes it, and a million
        # instances in the identity map cost more than the checks themselves
        rows = connection.execute(
            select(*columns).where(AuditEvent.seq >= expected_seq).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            seq, ev_prev, ev_hash, key_id = row[0], row[9], row[10], row[11]
            if seq != expected_seq:
                problems.append(ChainProblem(expected_seq, f"events {expected_seq}..{seq - 1} are missing"))
            if ev_prev != prev_hash:
                problems.append(ChainProblem(seq, "does not follow the previous event (deleted or altered)"))
            fields = list(row[:10])
            at = fields[1]
            fields[1] = _utc(datetime.fromisoformat(at) if isinstance(at, str) else at)
            problem = _event_problem(fields, ev_hash, key_id, keyring, keyed_seen, legacy_limit)
            if problem:
                problems.append(ChainProblem(seq, problem))
            if checkpoint and seq == checkpoint.seq and ev_hash != checkpoint.hash:
                problems.append(ChainProblem(seq, "differs from the checkpoint of this event: the chain was "
                                                  "rewritten"))
            keyed_seen = keyed_seen or key_id != LEGACY_KEY_ID
            expected_seq, prev_hash = seq + 1, ev_hash
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        problems.append(ChainProblem(head.seq, "the last recorded events are missing"))
    if checkpoint and expected_seq - 1 < checkpoint.seq:
        problems.append(ChainProblem(expected_seq, f"events {expected_seq}..{checkpoint.seq} were seen by the "
                                                   f"checkpoint and are gone (the tail was deleted)"))
    return problems


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _event_problem(fields: list, ev_hash: str, key_id: str, keyring: Keyring, keyed_seen: bool,
                   legacy_limit: int | None) -> str | None:
    seq = fields[0]
    if key_id == LEGACY_KEY_ID and (keyed_seen or (legacy_limit is not None and seq > legacy_limit)):
        return "claims to predate the chain keys but comes after keyed events (re-chained without the key)"
    if key_id != LEGACY_KEY_ID and not keyring.knows(key_id):
        return (f"chained with key {key_id!r}, which is not configured "
                f"(forged, or AUDIT_HMAC_KEYS lost a key still in use)")
    if chain_hash(fields, key_id, keyring) != ev_hash:
        return "content was modified after it was recorded"
    return None


def chain_end(session: Session, checkpoint: ChainEnd | None = None) -> ChainEnd:
    """The chain as it ends now, for the next checkpoint (after a clean `verify`). The legacy boundary never
    moves forward: no legacy event is written after keys were introduced."""
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    legacy = session.execute(select(func.max(AuditEvent.seq)).where(AuditEvent.key_id == LEGACY_KEY_ID)).scalar()
    legacy_through = legacy or 0
    if checkpoint is not None:
        legacy_through = min(legacy_through, checkpoint.legacy_through)
    return ChainEnd(last.seq if last else 0, last.hash if last else GENESIS, legacy_through)


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):
    raise RuntimeError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise RuntimeError("audit events are append-only")

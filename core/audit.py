"""Append-only, hash-chained audit events.

Each event stores the hash of the previous one and a hash over its own canonical content, so editing or
deleting any event breaks the chain from that point on. A single-row head (sequence number and hash of the
last event) is updated in the same transaction: it serialises writers (row lock on PostgreSQL) and lets
`verify` notice a deleted last event too.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, intpk, utcnow

GENESIS = "0" * 64


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[intpk]
    #: position in the chain, 1-based and contiguous
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), unique=True)
    occurred_at: Mapped[datetime]
    #: e.g. "auth.login", "user.role_changed", "api_token.created"
    action: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    #: the actor as text at the time (an email, or "system"), kept even if the user changes later
    actor_label: Mapped[str] = mapped_column(String(255))
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    #: canonical JSON of the event details
    data: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    def details(self) -> dict:
        return json.loads(self.data)

    def compute_hash(self) -> str:
        content = json.dumps(
            [self.seq, self.occurred_at.isoformat(), self.action, self.actor_id, self.actor_label,
             self.subject_type, self.subject_id, self.ip, self.data, self.prev_hash],
            separators=(",", ":"), ensure_ascii=True,
        )
        return hashlib.sha256(content.encode()).hexdigest()


class AuditHead(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


def record(session: Session, action: str, *, actor=None, subject=None, subject_type: str | None = None,
           subject_id: str | None = None, ip: str | None = None, **data) -> AuditEvent:
    """Append an event to the chain in the caller's transaction (it commits with the change it records)."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no FOR UPDATE: a no-op write takes the database's write lock before the head is read, so
        # two concurrent events cannot both take the same sequence number.
        session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq)
                        .execution_options(synchronize_session=False))
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    if subject is not None:
        subject_type = subject_type or subject.__tablename__
        subject_id = subject_id or getattr(subject, "public_id", None) or str(subject.id)
    ev = AuditEvent(
        seq=head.seq + 1, occurred_at=utcnow(), action=action,
        actor_id=getattr(actor, "id", None), actor_label=getattr(actor, "email", None) or "system",
        subject_type=subject_type, subject_id=subject_id, ip=ip,
        data=json.dumps(data, sort_keys=True, separators=(",", ":"), default=str), prev_hash=head.hash,
    )
    ev.hash = ev.compute_hash()
    head.seq, head.hash = ev.seq, ev.hash
    session.add(ev)
    session.flush()
    return ev


@dataclass
class ChainProblem:
    seq: int
    problem: str


def verify(session: Session, batch: int = 5000) -> list[ChainProblem]:
    """Walk the whole chain; return every break found (an empty list means the log is intact)."""
    problems: list[ChainProblem] = []
    expected_seq, prev_hash = 1, GENESIS
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.seq >= expected_seq).order_by(AuditEvent.seq).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for ev in rows:
            if ev.seq != expected_seq:
                problems.append(ChainProblem(expected_seq, f"events {expected_seq}..{ev.seq - 1} are missing"))
            if ev.prev_hash != prev_hash:
                problems.append(ChainProblem(ev.seq, "does not follow the previous event (deleted or altered)"))
            if ev.compute_hash() != ev.hash:
                problems.append(ChainProblem(ev.seq, "content was modified after it was recorded"))
            expected_seq, prev_hash = ev.seq + 1, ev.hash
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        problems.append(ChainProblem(head.seq, "the last recorded events are missing"))
    return problems


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):
    raise RuntimeError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise RuntimeError("audit events are append-only")

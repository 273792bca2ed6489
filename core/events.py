"""Business events: facts other parts of the system act on, written in the same transaction as the change.

The ledger posts commissions from them (contract placed, cancelled, renewed) and releases a partner's held
share on `disclosure.approved` (compliance's approval). An event is written once and
never changed; whoever consumes it keys its own work on the event's public id, so replaying is harmless.

An event the ledger posts also enqueues, in the same transaction, the outbox job `LEDGER_POSTING_JOB`: the
worker posts it within seconds, and an event never exists without the work that posts it. `core` names the job
only; the ledger registers its handler (`ledger.posting`), so nothing here imports the ledger.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, Index, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, append_only, created_at, intpk, public_id
from .outbox import enqueue_job

CONTRACT_PLACED = "contract.placed"
CONTRACT_CANCELLED = "contract.cancelled"
CONTRACT_RENEWED = "contract.renewed"
#: compliance approved a contract's disclosures: the partner's held share becomes payable
DISCLOSURE_APPROVED = "disclosure.approved"

#: the events the ledger posts, and the outbox job (registered by the ledger) that posts one
LEDGER_KINDS = (CONTRACT_PLACED, CONTRACT_RENEWED, CONTRACT_CANCELLED, DISCLOSURE_APPROVED)
LEDGER_POSTING_JOB = "ledger.post_event"


@append_only
class BusinessEvent(Base):
    __tablename__ = "business_events"
    __table_args__ = (Index("ix_business_events_kind_id", "kind", "id"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    kind: Mapped[str] = mapped_column(String(64))
    #: the public id of the record the event is about (a contract, for the ledger's events)
    subject: Mapped[str] = mapped_column(String(32), index=True)
    #: the business date the event takes effect (the ledger's effective date)
    effective_on: Mapped[date] = mapped_column(Date)
    payload: Mapped[dict] = mapped_column(JSON)


def emit(session: Session, kind: str, subject: str, effective_on: date, **payload) -> BusinessEvent:
    event = BusinessEvent(kind=kind, subject=subject, effective_on=effective_on, payload=payload)
    session.add(event)
    session.flush()
    if kind in LEDGER_KINDS:
        enqueue_job(session, LEDGER_POSTING_JOB, event=event.public_id)
    return event

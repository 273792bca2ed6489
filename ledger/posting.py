"""Posting business events to the ledger: the one loop, with one transaction policy.

A placement, renewal or cancellation enqueues the outbox job `core.events.LEDGER_POSTING_JOB` in the transaction
that records it; the outbox worker runs `post_job` below, so the commission is in the ledger within seconds.
`post_pending` is the catch-up for anything still pending (an event that failed, or one recorded before the job
existed): the CLI, the finance overview's "Retry failed postings" button and the demo data all call it.

Each event posts in its own savepoint: one that cannot post (no insurer rate, say) is rolled back alone and
its reason is recorded as a `PostingFailure` (a msgid and its parameters, translated by whoever shows it); the
others post. Posting is idempotent (an entry's idempotency key, the event's outcome): an event posted by the
worker and by the button at once, or twice by a retried job, posts once. The caller commits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import DomainError
from core.events import CONTRACT_CANCELLED, CONTRACT_PLACED, CONTRACT_RENEWED, LEDGER_POSTING_JOB, BusinessEvent
from core.i18n import N_
from core.outbox import job

from . import commissions
from .models import EventOutcome, JournalEntry, PostingFailure

EVENT_LABELS = {CONTRACT_PLACED: N_("Contract placed"), CONTRACT_RENEWED: N_("Contract renewed"),
                CONTRACT_CANCELLED: N_("Contract cancelled")}


@dataclass(frozen=True)
class Failure:
    event_ref: str
    event_kind: str
    #: the contract's public id
    subject: str
    code: str
    reason: str
    params: dict
    attempted_at: datetime

    @property
    def event_label(self) -> str:
        return EVENT_LABELS.get(self.event_kind, self.event_kind)


@dataclass
class PostingReport:
    posted: list[tuple[BusinessEvent, JournalEntry | None]] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)


def post_one(session: Session, event: BusinessEvent, *, today: date) -> JournalEntry | Failure | None:
    """Post one event in a savepoint: its entry (None when there was nothing to post), or the recorded failure."""
    try:
        with session.begin_nested():
            return commissions.post_event(session, event, today=today)
    except DomainError as exc:
        failure = PostingFailure(event_ref=event.public_id, event_kind=event.kind, code=exc.code,
                                 reason=exc.message[:500], params=_plain(exc.params))
        session.add(failure)
        session.flush()
        return Failure(event.public_id, event.kind, event.subject, failure.code, failure.reason, failure.params,
                       failure.created_at)


def post_pending(session: Session, today: date) -> PostingReport:
    """Post every business event the ledger has not handled yet, oldest first; flushes, never commits."""
    report = PostingReport()
    for event in commissions.pending_events(session):
        result = post_one(session, event, today=today)
        if isinstance(result, Failure):
            report.failed.append(result)
        else:
            report.posted.append((event, result))
    return report


def failures(session: Session) -> list[Failure]:
    """Events still unposted after a failed attempt, each with its latest reason, oldest event first."""
    latest = (select(PostingFailure.event_ref, func.max(PostingFailure.id).label("last_id"))
              .where(PostingFailure.event_ref.not_in(select(EventOutcome.event_ref)))
              .group_by(PostingFailure.event_ref).subquery())
    rows = session.execute(select(PostingFailure, BusinessEvent.subject)
                           .join(latest, latest.c.last_id == PostingFailure.id)
                           .join(BusinessEvent, BusinessEvent.public_id == PostingFailure.event_ref)
                           .order_by(BusinessEvent.id)).all()
    return [Failure(f.event_ref, f.event_kind, subject, f.code, f.reason, f.params, f.created_at)
            for f, subject in rows]


@job(LEDGER_POSTING_JOB)
def post_job(session: Session, event: str) -> None:
    """The outbox worker's half: post the event, or record why not (the finance overview retries it)."""
    record = session.execute(select(BusinessEvent).where(BusinessEvent.public_id == event)).scalar_one()
    if session.execute(select(EventOutcome.id).where(EventOutcome.event_ref == event)).first() is None:
        post_one(session, record, today=utcnow().date())


def _plain(params: dict) -> dict:
    """Parameters as JSON can keep them (dates and decimals as text), for the translated message."""
    return {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in params.items()}

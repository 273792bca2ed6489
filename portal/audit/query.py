"""The audit log's filters and pages: newest first by seq, a page after a seq (keyset), so the 50th page costs
what the first does, with a million events. Each filter has an index that keeps seq order
(core.audit.AuditEvent.__table_args__); dates become a seq range first, through the index on occurred_at."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, or_, select

from core.accounts import User
from core.audit import AuditEvent
from core.audit_labels import SUBJECT_LABELS
from core.i18n import N_

from ..extensions import db

PER_PAGE = 50
SYSTEM = "system"


@dataclass
class Filters:
    action: str = ""
    actor: str = ""
    kind: str = ""
    subject: str = ""
    start: date | None = None
    end: date | None = None
    #: problems with what was typed (msgids), shown next to the form
    errors: list[str] = field(default_factory=list)

    def args(self) -> dict:
        """The filters as query arguments (for the pager and the export links)."""
        out = {"action": self.action, "actor": self.actor, "kind": self.kind, "subject": self.subject,
               "from": self.start.isoformat() if self.start else "", "to": self.end.isoformat() if self.end else ""}
        return {k: v for k, v in out.items() if v}


def _date(raw: str | None, errors: list[str]) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(N_("Dates are written YYYY-MM-DD."))
        return None


def read_filters(args) -> Filters:
    errors: list[str] = []
    kind = (args.get("kind") or "").strip()
    if kind and kind not in SUBJECT_LABELS:
        errors.append(N_("Unknown kind of record."))
        kind = ""
    filters = Filters(action=(args.get("action") or "").strip()[:64], actor=(args.get("actor") or "").strip()[:254],
                      kind=kind, subject=(args.get("subject") or "").strip()[:64],
                      start=_date(args.get("from"), errors), end=_date(args.get("to"), errors), errors=errors)
    if filters.start and filters.end and filters.end < filters.start:
        filters.errors.append(N_("The end date is before the start date."))
    return filters


def actor_user(raw: str) -> User | None:
    """The user an actor filter names: their public id (from a row's link) or their e-mail address."""
    if not raw or raw == SYSTEM:
        return None
    return db.session.execute(select(User).where(or_(User.public_id == raw, User.email == raw.lower()))
                              ).scalars().first()


def _seq_bounds(start: date | None, end: date | None) -> tuple[int | None, int | None] | None:
    """The seq range of the events recorded from `start` through `end` (UTC days), None when there are none.
    Events are recorded in seq order under the chain's lock, their time taken inside it, so occurred_at follows
    seq; the date condition is applied as well, so a row outside the dates is never shown."""
    low = high = None
    if start:
        low = db.session.execute(select(AuditEvent.seq).where(AuditEvent.occurred_at >= _midnight(start))
                                 .order_by(AuditEvent.occurred_at).limit(1)).scalar()
        if low is None:
            return None
    if end:
        high = db.session.execute(select(AuditEvent.seq).where(AuditEvent.occurred_at < _midnight(end, 1))
                                  .order_by(AuditEvent.occurred_at.desc()).limit(1)).scalar()
        if high is None:
            return None
    return low, high


def _midnight(day: date, plus_days: int = 0) -> datetime:
    return datetime.combine(day + timedelta(days=plus_days), time(), tzinfo=UTC)


def conditions(filters: Filters) -> list[ColumnElement] | None:
    """The WHERE of the filters; None when they can match nothing."""
    where: list[ColumnElement] = []
    if filters.action:
        where.append(AuditEvent.action == filters.action)
    if filters.actor:
        user = actor_user(filters.actor)
        if user is not None:
            where.append(AuditEvent.actor_id == user.id)
        elif filters.actor == SYSTEM:
            where.append(and_(AuditEvent.actor_id.is_(None), AuditEvent.actor_label == SYSTEM))
        else:  # an address no account has (a failed sign-in's): only events without an actor account carry it
            where.append(and_(AuditEvent.actor_id.is_(None), AuditEvent.actor_label == filters.actor.lower()))
    if filters.kind:
        where.append(AuditEvent.subject_type == filters.kind)
        if filters.subject:
            where.append(AuditEvent.subject_id == filters.subject)
    elif filters.subject:
        where.append(AuditEvent.subject_id == filters.subject)
    if filters.start or filters.end:
        bounds = _seq_bounds(filters.start, filters.end)
        if bounds is None:
            return None
        low, high = bounds
        if low is not None:
            where += [AuditEvent.seq >= low, AuditEvent.occurred_at >= _midnight(filters.start)]
        if high is not None:
            where += [AuditEvent.seq <= high, AuditEvent.occurred_at < _midnight(filters.end, 1)]
    return where


@dataclass
class Page:
    events: list[AuditEvent]
    #: the seq to ask for older events after (None: this is the oldest page)
    older: int | None
    #: the seq to ask for newer events before (None: this is the newest page)
    newer: int | None


def page_of(where: list[ColumnElement] | None, *, before: int | None = None, after: int | None = None,
            per_page: int = PER_PAGE) -> Page:
    """A page of events newest first: the newest, those older than `before`, or those newer than `after`."""
    if where is None:
        return Page([], None, None)
    stmt = select(AuditEvent).where(*where)
    if after is not None:
        rows = db.session.execute(stmt.where(AuditEvent.seq > after).order_by(AuditEvent.seq)
                                  .limit(per_page + 1)).scalars().all()
        more_newer = len(rows) > per_page
        rows = list(reversed(rows[:per_page]))
        return Page(rows, rows[-1].seq if rows else None, rows[0].seq if rows and more_newer else None)
    if before is not None:
        stmt = stmt.where(AuditEvent.seq < before)
    rows = db.session.execute(stmt.order_by(AuditEvent.seq.desc()).limit(per_page + 1)).scalars().all()
    more_older = len(rows) > per_page
    rows = rows[:per_page]
    return Page(rows, rows[-1].seq if rows and more_older else None,
                rows[0].seq if rows and before is not None else None)


def merged_page(streams: list[list[ColumnElement]], *, before: int | None = None, after: int | None = None,
                per_page: int = PER_PAGE) -> Page:
    """A page of the union of several filters (a record's history: the events about it, about its parts, and
    those its person did), each read by its own index in seq order and merged, so no filter's size matters."""
    pages = [page_of(where, before=before, after=after, per_page=per_page) for where in streams]
    by_seq = {ev.seq: ev for page in pages for ev in page.events}
    ordered = sorted(by_seq, reverse=True)
    if after is not None:
        chosen = ordered[-per_page:]
        more_newer = len(ordered) > per_page or any(p.newer is not None for p in pages)
        events = [by_seq[s] for s in chosen]
        return Page(events, events[-1].seq if events else None, events[0].seq if events and more_newer else None)
    chosen = ordered[:per_page]
    more_older = len(ordered) > per_page or any(p.older is not None for p in pages)
    events = [by_seq[s] for s in chosen]
    return Page(events, events[-1].seq if events and more_older else None,
                events[0].seq if events and before is not None else None)


def batches(where: list[ColumnElement] | None, size: int = 2000):
    """Every matching event, newest first, a batch at a time (the export)."""
    if where is None:
        return
    before = None
    while True:
        page = page_of(where, before=before, per_page=size)
        if not page.events:
            return
        yield page.events
        if page.older is None:
            return
        before = page.older

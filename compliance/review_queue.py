"""The compliance officer's one review queue: everything waiting for compliance, from every part of the portal,
with its age, who it is assigned to, and a filter by kind.

Each part registers a *source* (`@source(kind, label)`): a function of the session and today returning the items
of that kind waiting now. `compliance/` sits low in the layers, so it never reads the pipeline's, the agreements'
or the ledger's tables: those packages register their own sources (pipeline.review_sources,
agreements.review_sources). An item leaves the queue when its own workflow moves it on (a disclosure approved, a
complaint answered), or, for a notice that needs no other decision (a consent withdrawn, a referral refused by the
health-data screen), when a compliance officer marks it reviewed here with a reason (`mark_reviewed`, audited).
Assignment (`assign`) is kept here for every kind alike.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core import audit
from core.accounts import Role, User
from core.db import Base, append_only, created_at, intpk, public_id, utcnow
from core.errors import DomainError
from core.i18n import N_


@dataclass(frozen=True)
class QueueItem:
    kind: str
    #: the public id (or another stable reference) of what waits: with `kind`, the item's key
    ref: str
    #: what a person reads: a name, a reference (not translated: data)
    title: str
    #: a msgid and its parameters saying what is awaited (a `country` parameter is an ISO code, shown by name)
    detail: str
    since: date
    detail_params: dict = field(default_factory=dict)
    #: msgids shown after the detail, translated (e.g. the kinds of health data a referral was refused for)
    tags: tuple[str, ...] = ()
    #: the partner firm concerned, by name, when there is one
    firm: str | None = None
    #: where the decision is made: an endpoint name and its parameters (the portal builds the URL)
    link: tuple[str, dict] | None = None
    #: marked reviewed here (a notice), rather than by a workflow of its own
    acknowledgeable: bool = False
    #: the deadline, when the item has one (a complaint's)
    due: date | None = None
    #: who may not mark it reviewed (they were part of it)
    involved: frozenset[int] = frozenset()
    assignee: User | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.ref

    def age(self, today: date) -> int:
        return (today - self.since).days


@dataclass(frozen=True)
class Source:
    kind: str
    #: a msgid naming the kind in the queue's filter
    label: str
    items: Callable[[Session, date], list[QueueItem]]


SOURCES: dict[str, Source] = {}


def source(kind: str, label: str):
    """Register the function listing the items of `kind` waiting for compliance."""

    def register(fn: Callable[[Session, date], list[QueueItem]]):
        SOURCES[kind] = Source(kind, label, fn)
        return fn

    return register


class QueueAssignment(Base):
    """Who works an item of the queue (one row per item; reassigning replaces the assignee)."""

    __tablename__ = "review_queue_assignments"
    __table_args__ = (UniqueConstraint("kind", "ref"),)

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime | None]
    kind: Mapped[str] = mapped_column(String(40))
    ref: Mapped[str] = mapped_column(String(64))
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])


@append_only
class QueueReview(Base):
    """A notice marked reviewed: who, when, and what they found (it leaves the queue)."""

    __tablename__ = "review_queue_reviews"
    __table_args__ = (UniqueConstraint("kind", "ref"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    kind: Mapped[str] = mapped_column(String(40))
    ref: Mapped[str] = mapped_column(String(64))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)

    reviewer: Mapped[User] = relationship()


class QueueRefused(DomainError):
    code = "queue_refused"


class NotInQueue(QueueRefused):
    status = 404
    message = N_("This item is no longer waiting in the queue.")


class NotAcknowledgeable(QueueRefused):
    status = 409
    message = N_("This item is decided on its own page, not marked reviewed here.")


class AssigneeRefused(QueueRefused):
    field = "assignee"
    message = N_("Assign it to a compliance officer.")


class NotAComplianceOfficer(QueueRefused):
    status = 403
    message = N_("Only a compliance officer marks an item reviewed.")


class InvolvedReviewer(QueueRefused):
    status = 403
    message = N_("You were involved in this, so another compliance officer must review it.")


class ReasonTooShort(QueueRefused):
    field = "reason"
    message = N_("Write what you found (at least 10 characters).")


def reviewed_keys(session: Session, kind: str) -> set[str]:
    """The refs of `kind` already marked reviewed (sources of notices leave them out)."""
    return set(session.scalars(select(QueueReview.ref).where(QueueReview.kind == kind)))


def collect(session: Session, today: date, kinds: Collection[str] | None = None) -> list[QueueItem]:
    """Every item waiting (of `kinds`, all when None), with its assignee, oldest (or soonest due) first."""
    found = []
    for kind, src in SOURCES.items():
        if kinds and kind not in kinds:
            continue
        found.extend(src.items(session, today))
    assignments = {(a.kind, a.ref): a for a in session.scalars(select(QueueAssignment))}
    found = [replace(item, assignee=a.assignee) if (a := assignments.get(item.key)) else item for item in found]
    return sorted(found, key=lambda i: (i.due or i.since, i.since, i.kind, i.ref))


def narrow(found: list[QueueItem], today: date, *, kinds: Collection[str] | None = None,
           assignee: int | str | None = None, older_than: int | None = None) -> list[QueueItem]:
    """Those of `kinds`, assigned to a user id (or "nobody"), waiting more than `older_than` days."""
    out = []
    for item in found:
        if kinds and item.kind not in kinds:
            continue
        if assignee == "nobody" and item.assignee is not None:
            continue
        if isinstance(assignee, int) and (item.assignee is None or item.assignee.id != assignee):
            continue
        if older_than is not None and item.age(today) <= older_than:
            continue
        out.append(item)
    return out


def items(session: Session, today: date, *, kinds: Collection[str] | None = None,
          assignee: int | str | None = None, older_than: int | None = None) -> list[QueueItem]:
    """What waits, oldest first, narrowed as `narrow` says."""
    return narrow(collect(session, today, kinds), today, kinds=kinds, assignee=assignee, older_than=older_than)


def counts(found: list[QueueItem]) -> dict[str, int]:
    """How many of `found` are of each kind (every registered kind, 0 included)."""
    totals = dict.fromkeys(SOURCES, 0)
    for item in found:
        totals[item.kind] += 1
    return totals


def find(session: Session, kind: str, ref: str, today: date) -> QueueItem:
    for item in items(session, today, kinds=[kind]):
        if item.ref == ref:
            return item
    raise NotInQueue()


def assign(session: Session, actor: User, kind: str, ref: str, assignee: User, *, today: date) -> QueueAssignment:
    """Give the item to a compliance officer (or take it: assignee = actor)."""
    find(session, kind, ref, today)
    if assignee.role is not Role.compliance or not assignee.active:
        raise AssigneeRefused()
    row = session.scalar(select(QueueAssignment).where(QueueAssignment.kind == kind, QueueAssignment.ref == ref))
    if row is None:
        row = QueueAssignment(kind=kind, ref=ref, assignee_id=assignee.id, assigned_by_id=actor.id)
        session.add(row)
    else:
        row.assignee_id, row.assigned_by_id, row.updated_at = assignee.id, actor.id, utcnow()
    session.flush()
    audit.record(session, "queue.assigned", actor=actor, subject_type=kind, subject_id=ref,
                 assignee=assignee.email)
    return row


def mark_reviewed(session: Session, actor: User, kind: str, ref: str, *, reason: str, today: date,
                  involved: Collection[int] = ()) -> QueueReview:
    """A notice reviewed: it leaves the queue, with who, when and what they found. Four eyes: not by someone
    involved in what it is about."""
    item = find(session, kind, ref, today)
    if not item.acknowledgeable:
        raise NotAcknowledgeable()
    if actor.role is not Role.compliance:
        raise NotAComplianceOfficer()
    if actor.id in involved or actor.id in item.involved:
        raise InvolvedReviewer()
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ReasonTooShort()
    row = QueueReview(kind=kind, ref=ref, reviewer_id=actor.id, reviewed_at=utcnow(), reason=reason[:4000])
    session.add(row)
    session.flush()
    audit.record(session, "queue.reviewed", actor=actor, subject_type=kind, subject_id=ref, reason=reason[:500])
    return row

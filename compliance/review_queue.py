"""The compliance officer's one review queue: everything waiting for compliance, from every part of the portal,
with its age, who it is assigned to, and a filter by kind.

Each part registers a *source* (`@source(kind, label)`): a function of the session and today returning the items
of that kind waiting now — a short list (a few per firm), or a `Listing`: the query of the rows waiting and how a
row becomes an item, which the queue counts, narrows (age, assignee) and pages in the database, so that a page of
the 100 oldest items costs the same with a hundred or a hundred thousand waiting. `compliance/` sits low in the
layers, so it never reads the pipeline's, the agreements' or the ledger's tables: those packages register their own
sources (pipeline.review_sources, agreements.review_sources). An item leaves the queue when its own workflow moves
it on (a disclosure approved, a complaint answered), or, for a notice that needs no other decision (a consent
withdrawn, a referral refused by the health-data screen), when a compliance officer marks it reviewed here with a
reason (`mark_reviewed`, audited). Assignment (`assign`) is kept here for every kind alike.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import DateTime, ForeignKey, Row, Select, String, Text, UniqueConstraint, and_, func, or_, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from core import audit
from core.accounts import Organisation, Role, User
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
class Listing:
    """A source's items as a query, so the queue counts, narrows and pages them in the database: `query` selects
    the rows of the items waiting, `items` turns rows into items (all at once, to look names up once), `ref` and
    `since` are the columns behind `QueueItem.ref` and `QueueItem.since` (a datetime, stored in UTC, or a date),
    and `order`, when not `since`, the column behind `QueueItem.due`."""

    query: Select
    ref: ColumnElement
    since: ColumnElement
    items: Callable[[Session, list[Row]], list[QueueItem]]
    order: ColumnElement | None = None

    @property
    def key(self) -> ColumnElement:
        return self.since if self.order is None else self.order


@dataclass(frozen=True)
class Source:
    kind: str
    #: a msgid naming the kind in the queue's filter
    label: str
    #: every item waiting (a short list: a few per firm), or a `Listing` of them (a long one)
    items: Callable[[Session, date], list[QueueItem] | Listing]


SOURCES: dict[str, Source] = {}


def source(kind: str, label: str):
    """Register the function listing the items of `kind` waiting for compliance (or returning their `Listing`)."""

    def register(fn: Callable[[Session, date], list[QueueItem] | Listing]):
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


def not_reviewed(kind: str, ref: ColumnElement) -> ColumnElement:
    """A condition for a `Listing`'s query: the notice of `kind` whose ref is `ref` is not marked reviewed yet."""
    return ref.not_in(select(QueueReview.ref).where(QueueReview.kind == kind))


def firm_names(session: Session, ids: Collection[int | None]) -> dict[int, str]:
    """{organisation id: its name} for `ids`: what a `Listing` looks up for the rows it shows only."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Organisation.id, Organisation.legal_name)
                                .where(Organisation.id.in_(ids))).tuples().all())


@dataclass(frozen=True)
class Page:
    """The oldest items waiting (narrowed by the filters), how many match the filters in all, and how many wait of
    each kind (whatever the filters)."""

    items: list[QueueItem]
    total: int
    counts: dict[str, int]

    @property
    def more(self) -> int:
        """How many match the filters but are not among `items`."""
        return self.total - len(self.items)


def page(session: Session, today: date, *, kinds: Collection[str] | None = None, assignee: int | str | None = None,
         older_than: int | None = None, shown: int | None = 100) -> Page:
    """The `shown` oldest (or soonest due) items of `kinds` (every kind when None), assigned to a user id (or
    "nobody"), waiting more than `older_than` days; all of them when `shown` is None. A `Listing` is counted and
    paged in the database: the order is settled on a few columns of its oldest rows, and only the rows shown are
    read whole and made items, so the work does not grow with what waits."""
    counts, total, ranked, listings = {}, 0, [], {}
    for kind, src in SOURCES.items():
        got = src.items(session, today)
        wanted = not kinds or kind in kinds
        if isinstance(got, Listing):
            counts[kind] = _count(session, got.query)
            if not (wanted and counts[kind]):
                continue
            query = _narrowed(got, kind, today, assignee, older_than)
            waiting = counts[kind] if query is got.query else _count(session, query)
            total += waiting
            if shown is None:
                ranked += [(_order(item), item) for item in got.items(session, session.execute(query).all())]
            elif waiting:
                listings[kind] = got, query
                ranked += [(order, None) for order in _oldest(session, kind, got, query, shown, waiting)]
        else:
            counts[kind] = len(got)
            if wanted:
                mine = narrow(_with_assignees(session, got) if assignee is not None else got, today,
                              assignee=assignee, older_than=older_than)
                total += len(mine)
                ranked += [(_order(item), item) for item in mine]
    ranked = sorted(ranked, key=lambda pair: pair[0])[:shown]
    read = _read(session, listings, [order for order, item in ranked if item is None])
    found = [item or read.get(order[2:]) for order, item in ranked]
    return Page(_with_assignees(session, [item for item in found if item is not None]), total, counts)


def items(session: Session, today: date, *, kinds: Collection[str] | None = None,
          assignee: int | str | None = None, older_than: int | None = None) -> list[QueueItem]:
    """Every item waiting, oldest first, narrowed as `page` says."""
    return page(session, today, kinds=kinds, assignee=assignee, older_than=older_than, shown=None).items


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


def _order(item: QueueItem) -> tuple:
    return item.due or item.since, item.since, item.kind, item.ref


def _day_start(column: ColumnElement, day: date) -> date | datetime:
    """`day` as `column` holds it: its first instant (UTC) for a datetime column, the day itself for a date."""
    if isinstance(column.type, DateTime) or isinstance(getattr(column.type, "impl", None), DateTime):
        return datetime.combine(day, time.min, tzinfo=UTC)
    return day


def _count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def _narrowed(listing: Listing, kind: str, today: date, assignee: int | str | None,
              older_than: int | None) -> Select:
    """The listing's query with the filters pushed down (the same query when none applies)."""
    query = listing.query
    if older_than is not None:
        query = query.where(listing.since < _day_start(listing.since, today - timedelta(days=older_than)))
    if assignee is not None:
        assigned = select(QueueAssignment.ref).where(QueueAssignment.kind == kind)
        query = query.where(listing.ref.not_in(assigned) if assignee == "nobody" else
                            listing.ref.in_(assigned.where(QueueAssignment.assignee_id == assignee)))
    return query


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _oldest(session: Session, kind: str, listing: Listing, query: Select, shown: int, waiting: int) -> list[tuple]:
    """The queue's order (`_order`) of at least the `shown` first of `query`'s `waiting` rows, from three columns:
    the rows of the days before the `shown`-th oldest's day, then the first of that day by ref (the queue orders a
    day's items by kind and ref, not by the time of day)."""
    key, ref = listing.key, listing.ref
    light = query.with_only_columns(key, listing.since, ref, maintain_column_froms=True)
    nth = None if waiting <= shown else session.scalar(
        query.with_only_columns(key, maintain_column_froms=True).order_by(key).offset(shown - 1).limit(1))
    if nth is None:
        rows = session.execute(light).all()
    else:
        start, end = _day_start(key, _day(nth)), _day_start(key, _day(nth) + timedelta(days=1))
        rows = session.execute(light.where(key < start)).all()
        rows += session.execute(light.where(key >= start, key < end).order_by(ref).limit(shown - len(rows))).all()
    return [(_day(k) if k is not None else _day(since), _day(since), kind, r) for k, since, r in rows]


def _read(session: Session, listings: dict[str, tuple[Listing, Select]], chosen: list[tuple]) -> dict:
    """{(kind, ref): item} for the `chosen` rows of the listings, read whole."""
    refs: dict[str, list[str]] = {}
    for _, _, kind, ref in chosen:
        refs.setdefault(kind, []).append(ref)
    out = {}
    for kind, wanted in refs.items():
        listing, query = listings[kind]
        for item in listing.items(session, session.execute(query.where(listing.ref.in_(wanted))).all()):
            out[item.key] = item
    return out


def _with_assignees(session: Session, found: list[QueueItem]) -> list[QueueItem]:
    refs: dict[str, set[str]] = {}
    for item in found:
        refs.setdefault(item.kind, set()).add(item.ref)
    if not refs:
        return found
    rows = session.scalars(select(QueueAssignment).options(joinedload(QueueAssignment.assignee)).where(
        or_(*(and_(QueueAssignment.kind == kind, QueueAssignment.ref.in_(sorted(keys)))
              for kind, keys in refs.items()))))
    assignments = {(a.kind, a.ref): a for a in rows}
    return [replace(item, assignee=a.assignee) if (a := assignments.get(item.key)) else item for item in found]


def find(session: Session, kind: str, ref: str, today: date) -> QueueItem:
    """The item `ref` of `kind`, if it is waiting (looked up by its ref, not by listing the queue)."""
    src = SOURCES.get(kind)
    got = src.items(session, today) if src else []
    if isinstance(got, Listing):
        got = got.items(session, session.execute(got.query.where(got.ref == ref)).all())
    for item in got:
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

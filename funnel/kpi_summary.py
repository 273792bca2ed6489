"""Keeping `funnel.kpi_models.VolunteerFunnel` (the funnel KPIs' per-volunteer summary) equal to the raw records.

- every funnel event the ORM inserts (`funnel.tracking.record_funnel_event`) and every campaign send it inserts or
  updates with an open or a click (the campaign's tracking, `funnel.campaigns.record_open|record_click`) updates the
  volunteer's row in the same transaction (mapper events, below), in one statement (`INSERT … ON CONFLICT DO
  UPDATE`: concurrent writers for one volunteer wait for each other's row; a flag is only ever set, the first
  invitation only ever moves earlier). The volunteer's mission country and language are copied into the row (the
  funnel's breakdowns and filters, read without a join) and kept equal when the ORM updates the volunteer. A bulk
  write bypassing the ORM (a benchmark's load) must `rebuild`;
- `recount` counts every row afresh from the raw records (funnel events, campaign sends), `differences` compares
  the two, `rebuild` replaces the summary with the recount (`flask funnel kpis verify|rebuild`).
Funnel events are append-only and a send's opens and clicks only grow, so nothing else can make it drift.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import Connection, case, delete, event, insert, inspect, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .campaign_models import CampaignSend
from .campaign_plan import PLAN
from .catalogue import Cover
from .kpi_models import VolunteerFunnel
from .models import FunnelEvent, FunnelStage, Volunteer

#: the steps carrying the personal quote link (the funnel's invitations; their opens and clicks are the funnel's)
LINK_STEPS = tuple(s.code for s in PLAN if s.personal_link)
#: the stages from "quoted" on, each with a flag per cover
LATER_STAGES = ("quoted", "adhesion_started", "signed", "paid", "certificate_issued")
#: the volunteer's columns the summary copies
COPIED = ("mission_country", "language")
FLAGS = ("opened", "clicked", *LATER_STAGES, *(f"{s}_{c.value}" for s in LATER_STAGES for c in Cover))


def stage_flags(stage: str, cover: Cover | None) -> list[str]:
    """The summary's flags an event of `stage` for `cover` (None: no cover) sets."""
    if stage not in LATER_STAGES:
        return []
    return [stage, *(f"{stage}_{c.value}" for c in Cover if cover is None or cover is c)]


def month_of(value: datetime) -> date:
    """The first day of `value`'s month, in UTC (as the KPIs count months)."""
    value = value.astimezone(UTC)
    return date(value.year, value.month, 1)


def _upsert(connection: Connection, volunteer_id: int, values: dict, set_: dict) -> None:
    dialect = connection.dialect.name
    volunteer = Volunteer.__table__.c
    copied = {name: select(volunteer[name]).where(volunteer.id == volunteer_id).scalar_subquery() for name in COPIED}
    stmt = (sqlite_insert if dialect == "sqlite" else pg_insert)(VolunteerFunnel).values(
        volunteer_id=volunteer_id, **copied, **values)
    connection.execute(stmt.on_conflict_do_update(index_elements=["volunteer_id"],
                                                  set_={k: v(stmt.excluded) if callable(v) else v
                                                        for k, v in set_.items()}))


def note_event(connection: Connection, volunteer_id: int, stage: FunnelStage, *, cover: Cover | None,
               campaign_step: str | None, at: datetime) -> None:
    """Count a funnel event just recorded (same transaction)."""
    if stage is FunnelStage.invited:
        t = VolunteerFunnel.__table__.c
        earlier = lambda ex: or_(t.first_invited_at.is_(None), t.first_invited_at > ex.first_invited_at)  # noqa: E731
        _upsert(connection, volunteer_id,
                {"first_invited_at": at, "first_invited_month": month_of(at), "first_step": campaign_step},
                {name: (lambda ex, name=name: case((earlier(ex), ex[name]), else_=t[name]))
                 for name in ("first_invited_at", "first_invited_month", "first_step")})
        return
    flags = stage_flags(stage.value, cover)
    if flags:
        _upsert(connection, volunteer_id, dict.fromkeys(flags, True), dict.fromkeys(flags, True))


def _send_flags(opens: int, clicks: int) -> list[str]:
    """What a link e-mail's counts say the volunteer did: a click shows the e-mail was opened too, images blocked
    or not (`funnel.campaigns.record_click` counts no open)."""
    return [name for name, reached in (("opened", opens > 0 or clicks > 0), ("clicked", clicks > 0)) if reached]


def note_send(connection: Connection, send: CampaignSend) -> None:
    """Count a send's opens and clicks just written (same transaction)."""
    if send.step not in LINK_STEPS:
        return
    flags = _send_flags(send.opens, send.clicks)
    if flags:
        _upsert(connection, send.volunteer_id, dict.fromkeys(flags, True), dict.fromkeys(flags, True))


@event.listens_for(FunnelEvent, "after_insert")
def _event_inserted(_mapper, connection: Connection, target: FunnelEvent) -> None:
    note_event(connection, target.volunteer_id, target.stage, cover=target.cover, campaign_step=target.campaign_step,
               at=target.occurred_at)


@event.listens_for(Volunteer, "after_update")
def _volunteer_updated(_mapper, connection: Connection, target: Volunteer) -> None:
    state = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in COPIED):
        connection.execute(update(VolunteerFunnel).where(VolunteerFunnel.volunteer_id == target.id)
                           .values({name: getattr(target, name) for name in COPIED}))


@event.listens_for(CampaignSend, "after_insert")
@event.listens_for(CampaignSend, "after_update")
def _send_written(_mapper, connection: Connection, target: CampaignSend) -> None:
    note_send(connection, target)


# --- recount from the raw records ---------------------------------------------------------------------------------

@dataclass
class Row:
    first_invited_at: datetime | None = None
    first_step: str | None = None
    flags: set[str] = field(default_factory=set)

    def as_tuple(self, copied: tuple) -> tuple:
        return (*copied, self.first_invited_at, month_of(self.first_invited_at) if self.first_invited_at else None,
                self.first_step, *(name in self.flags for name in FLAGS))


def recount(session: Session) -> dict[int, tuple]:
    """Every volunteer's summary counted afresh from the funnel events and the campaign's sends."""
    rows: dict[int, Row] = {}
    for vid, stage, cover, step, at in session.execute(
            select(FunnelEvent.volunteer_id, FunnelEvent.stage, FunnelEvent.cover, FunnelEvent.campaign_step,
                   FunnelEvent.occurred_at)
            .where(FunnelEvent.stage.in_([FunnelStage.invited, *(FunnelStage(s) for s in LATER_STAGES)]))
            .order_by(FunnelEvent.id)):
        row = rows.setdefault(vid, Row())
        if stage is FunnelStage.invited:
            if row.first_invited_at is None or at < row.first_invited_at:
                row.first_invited_at, row.first_step = at, step
        else:
            row.flags.update(stage_flags(stage.value, cover))
    for vid, opens, clicks in session.execute(
            select(CampaignSend.volunteer_id, CampaignSend.opens, CampaignSend.clicks)
            .where(CampaignSend.step.in_(LINK_STEPS), or_(CampaignSend.opens > 0, CampaignSend.clicks > 0))):
        row = rows.setdefault(vid, Row())
        row.flags.update(_send_flags(opens, clicks))
    copied = {vid: tuple(rest) for vid, *rest in session.execute(
        select(Volunteer.id, *(getattr(Volunteer, name) for name in COPIED)))}
    return {vid: row.as_tuple(copied[vid]) for vid, row in rows.items()}


def stored(session: Session) -> dict[int, tuple]:
    t = VolunteerFunnel.__table__.c
    return {vid: tuple(rest) for vid, *rest in session.execute(
        select(t.volunteer_id, *(t[n] for n in COPIED), t.first_invited_at, t.first_invited_month, t.first_step,
               *(t[n] for n in FLAGS)))}


def differences(session: Session) -> list[int]:
    """The volunteers whose summary row differs from the recount (missing, extra or different), sorted."""
    want, have = recount(session), stored(session)
    return sorted(vid for vid in want.keys() | have.keys() if want.get(vid) != have.get(vid))


def rebuild(session: Session) -> int:
    """Replace the summary with the recount from the raw records. Returns the rows written. Flushes; the caller
    commits."""
    rows = recount(session)
    session.execute(delete(VolunteerFunnel))
    names = (*COPIED, "first_invited_at", "first_invited_month", "first_step", *FLAGS)
    batch = [{"volunteer_id": vid, **dict(zip(names, values, strict=True))} for vid, values in rows.items()]
    for i in range(0, len(batch), 5000):
        session.execute(insert(VolunteerFunnel), batch[i:i + 5000])
    session.flush()
    return len(batch)

"""The pipeline's figures for the home pages' charts: one aggregate query each, plain values out.

- `open_by_stage`: a partner firm's open cases per stage (and the oldest's date);
- `queue_ageing`: open cases by how long they have waited in their stage (buckets of days);
- `funnel`: how many cases reached each stage, with the conversion from one stage to the next.

The reads a home page runs on every request (`version`, `open_by_stage`, …) go to the session's connection: plain
rows, without the ORM's per-statement setup, which costs more than these index lookups.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from core.audit import AuditHead

from .cases.models import Case, CaseStatus, Milestone
from .cases.stages import CLOSED, IN_FORCE, OPEN_STAGES
from .leads.models import Lead, LeadStatus

#: days waiting in the stage: 0–7, 8–30, 31–90, over 90 (lower bounds; the last has no upper one)
AGE_BUCKETS = ((0, 7), (8, 30), (31, 90), (91, None))
#: the funnel's steps: the open stages, then the contract (every case in force or cancelled got that far)
FUNNEL_STEPS = (*OPEN_STAGES, CaseStatus.contract_issued)

OPEN_BY_STAGE = (select(Case.status, func.count().label("n"), func.min(Case.stage_entered_at).label("oldest"))
                 .where(Case.organisation_id == bindparam("org"), Case.status.in_(OPEN_STAGES))
                 .group_by(Case.status))
OPEN_LEADS_BY_STATUS = (select(Lead.status, func.count().label("n"), func.min(Lead.created_at).label("oldest"))
                        .where(Lead.organisation_id == bindparam("org"),
                               Lead.status.in_((LeadStatus.received, LeadStatus.contacted,
                                                LeadStatus.quote_in_progress)))
                        .group_by(Lead.status))
BY_STATUS = select(Case.status, func.count()).group_by(Case.status)
#: what changes when a case is created or moves (each move appends a milestone): two index lookups
VERSION = select(select(func.max(Case.id)).scalar_subquery(), select(func.max(Milestone.id)).scalar_subquery())


#: ... and when one is claimed by an account manager (a claim is audited: the audit chain's head moves)
ASSIGNMENT_VERSION = VERSION.add_columns(select(AuditHead.seq).where(AuditHead.id == 1).scalar_subquery())


def version(session: Session) -> tuple:
    """A marker of the cases' stages: it changes when a case is created or moved to another stage."""
    return tuple(session.connection().execute(VERSION).one())


def assignment_version(session: Session) -> tuple:
    """A marker of the cases' stages and assignees: it also changes when a case is claimed."""
    return tuple(session.connection().execute(ASSIGNMENT_VERSION).one())


def open_by_stage(session: Session, organisation_id: int) -> dict:
    """A firm's open cases: {stage: row(status, n, oldest)} for the stages that have any."""
    return {r.status: r for r in session.connection().execute(OPEN_BY_STAGE, {"org": organisation_id})}


def open_leads_by_status(session: Session, organisation_id: int) -> dict:
    """An introducer's referrals in progress: {status: row(status, n, oldest)}."""
    return {r.status: r for r in session.connection().execute(OPEN_LEADS_BY_STATUS, {"org": organisation_id})}


def _bucket_bounds(now: datetime) -> list[datetime]:
    return [now - timedelta(days=low) for low, _high in AGE_BUCKETS[1:]]


def queue_ageing(session: Session, now: datetime) -> list[int]:
    """Open cases counted by days in their current stage, one count per bucket of `AGE_BUCKETS`."""
    bounds = _bucket_bounds(now)
    bucket = case(*((Case.stage_entered_at > bound, i) for i, bound in enumerate(bounds)), else_=len(bounds))
    counts = dict(session.execute(select(bucket, func.count()).where(Case.status.in_(OPEN_STAGES))
                                  .group_by(bucket)).all())
    return [counts.get(i, 0) for i in range(len(AGE_BUCKETS))]


@dataclass(frozen=True)
class FunnelStep:
    stage: CaseStatus
    #: cases that are at this stage or went past it
    reached: int
    #: the share of the previous step's cases that reached this one (None for the first step)
    conversion: float | None


def funnel(session: Session) -> list[FunnelStep]:
    """Every case reached "received"; a case now at a later open stage reached every stage before it, and a case
    in force or cancelled reached the contract. A case not pursued or withdrawn counts at the first step only:
    the stage it stopped at is in its milestones, not in its status."""
    counts = dict(session.execute(BY_STATUS).all())
    order = {stage: i for i, stage in enumerate(FUNNEL_STEPS)}
    at_step = [0] * len(FUNNEL_STEPS)
    for status, n in counts.items():
        if status in order:
            at_step[order[status]] += n
        elif status in IN_FORCE or status is CaseStatus.cancelled:
            at_step[-1] += n
        elif status in CLOSED:
            at_step[0] += n
    steps, reached, previous = [], sum(at_step), None
    for i, stage in enumerate(FUNNEL_STEPS):
        steps.append(FunnelStep(stage, reached, None if previous is None else (reached / previous if previous else 0)))
        previous, reached = reached, reached - at_step[i]
    return steps

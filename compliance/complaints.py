"""The complaints register's rules: deadlines in business days fixed at receipt, the path received → acknowledged
→ answered → closed (each step audited with its actor), the owner, and what is overdue.

Deadlines (ACPR recommendation 2022-R-01, configurable): acknowledge within 10 business days, answer within
2 months of receipt. Business days skip Saturdays, Sundays and the closed days the deployment lists
(`DeadlinePolicy.holidays`); no public-holiday calendar is built in. A two-month deadline from a day the target
month does not have ends on that month's last day (31 December → 28/29 February); a deadline falling on a closed
day moves to the next business day.
"""
from __future__ import annotations

import calendar
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.accounts import Role, User
from core.db import utcnow
from core.i18n import N_
from core.products import ProductLine

from .complaint_models import (
    ComplainantKind, Complaint, ComplaintCategory, ComplaintChannel, ComplaintState, ProductGroup,
    VOLUNTEER_LINES,
)
from .errors import ComplaintNotInState, ComplaintRefused

#: who handles complaints (owners, and the recipients of reminders about unowned ones)
HANDLER_ROLES = (Role.compliance, Role.admin)


@dataclass(frozen=True)
class DeadlinePolicy:
    acknowledge_business_days: int = 10
    answer_months: int = 2
    #: reminders go this many business days before a deadline
    remind_business_days: int = 2
    holidays: frozenset[date] = field(default_factory=frozenset)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def next_business_day(self, day: date) -> date:
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def add_business_days(self, day: date, n: int) -> date:
        """The n-th business day after `day` (day itself not counted)."""
        while n > 0:
            day += timedelta(days=1)
            if self.is_business_day(day):
                n -= 1
        return day

    def subtract_business_days(self, day: date, n: int) -> date:
        while n > 0:
            day -= timedelta(days=1)
            if self.is_business_day(day):
                n -= 1
        return day

    def acknowledge_due(self, received_on: date) -> date:
        return self.add_business_days(received_on, self.acknowledge_business_days)

    def answer_due(self, received_on: date) -> date:
        return self.next_business_day(add_months(received_on, self.answer_months))


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day when it has no such day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Concerns:
    """What a complaint is about: the firm and contract (core records) and a record of a higher package."""
    organisation_id: int | None = None
    contract_id: int | None = None
    kind: str | None = None
    ref: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class ComplaintInput:
    channel: ComplaintChannel
    complainant_kind: ComplainantKind
    complainant_name: str
    complainant_email: str | None
    category: ComplaintCategory
    description: str
    received_on: date
    locale: str = "en"
    product_line: ProductLine | None = None
    concerns: Concerns = Concerns()


def _reference(received_on: date) -> str:
    return f"RCL-{received_on:%Y-%m}-{secrets.token_hex(3).upper()}"


def receive(session: Session, actor: User | None, values: ComplaintInput, *, policy: DeadlinePolicy,
            today: date | None = None, lodged_by: User | None = None, ip: str | None = None) -> Complaint:
    """Record a complaint, its deadlines computed now from the day it was received. `actor` is the staff member
    transcribing it, None when lodged through the public form (by `lodged_by` when signed in)."""
    today = today or utcnow().date()
    if values.received_on > today:
        raise ComplaintRefused(N_("The day received cannot be in the future."), field="received_on")
    if not values.description.strip() or len(values.description.strip()) < 10:
        raise ComplaintRefused(N_("Describe the complaint (at least 10 characters)."), field="description")
    if not values.complainant_name.strip():
        raise ComplaintRefused(N_("Give the complainant's name."), field="complainant_name")
    c = values.concerns
    complaint = Complaint(
        reference=_reference(values.received_on), channel=values.channel, complainant_kind=values.complainant_kind,
        complainant_name=values.complainant_name.strip(), complainant_email=values.complainant_email or None,
        locale=values.locale, category=values.category, product_line=values.product_line,
        description=values.description.strip(), organisation_id=c.organisation_id, contract_id=c.contract_id,
        concerns_kind=c.kind, concerns_ref=c.ref, concerns_label=c.label, received_on=values.received_on,
        acknowledge_due=policy.acknowledge_due(values.received_on), answer_due=policy.answer_due(values.received_on),
        state=ComplaintState.received, recorded_by_id=getattr(actor, "id", None),
        lodged_by_id=getattr(lodged_by, "id", None))
    session.add(complaint)
    session.flush()
    audit.record(session, "complaint.received", actor=actor or lodged_by, subject=complaint, ip=ip,
                 reference=complaint.reference, channel=values.channel.value, category=values.category.value,
                 acknowledge_due=complaint.acknowledge_due.isoformat(), answer_due=complaint.answer_due.isoformat())
    return complaint


def _require(complaint: Complaint, *states: ComplaintState) -> None:
    if complaint.state not in states:
        raise ComplaintNotInState()


def handlers(session: Session) -> list[User]:
    """The active users who may own complaints."""
    return list(session.scalars(select(User).where(User.role.in_(HANDLER_ROLES), User.active.is_(True))
                                .order_by(User.full_name, User.email)))


def assign(session: Session, actor: User, complaint: Complaint, owner: User, *, ip: str | None = None) -> None:
    _require(complaint, ComplaintState.received, ComplaintState.acknowledged, ComplaintState.answered)
    if owner.role not in HANDLER_ROLES or not owner.active:
        raise ComplaintRefused(N_("Only an active compliance officer or administrator can own a complaint."),
                               field="owner")
    complaint.owner_id = owner.id
    session.flush()
    audit.record(session, "complaint.assigned", actor=actor, subject=complaint, ip=ip, owner=owner.email)


def acknowledge(session: Session, actor: User, complaint: Complaint, *, on: date | None = None,
                ip: str | None = None) -> None:
    """The complainant has been told the complaint is received and being handled."""
    _require(complaint, ComplaintState.received)
    on = on or utcnow().date()
    if on < complaint.received_on:
        raise ComplaintRefused(N_("A complaint cannot be acknowledged before it was received."), field="on")
    complaint.state, complaint.acknowledged_on = ComplaintState.acknowledged, on
    if complaint.owner_id is None:
        complaint.owner_id = actor.id
    session.flush()
    audit.record(session, "complaint.acknowledged", actor=actor, subject=complaint, ip=ip, on=on.isoformat(),
                 on_time=on <= complaint.acknowledge_due)


def answer(session: Session, actor: User, complaint: Complaint, *, text: str, mediation_info: str,
           on: date | None = None, ip: str | None = None) -> None:
    """The answer sent to the complainant, with the mediation information given (where to turn if unsatisfied).
    Answering a complaint not yet acknowledged acknowledges it the same day."""
    _require(complaint, ComplaintState.received, ComplaintState.acknowledged)
    on = on or utcnow().date()
    if len((text or "").strip()) < 10:
        raise ComplaintRefused(N_("Write the answer given (at least 10 characters)."), field="answer")
    if len((mediation_info or "").strip()) < 10:
        raise ComplaintRefused(N_("Record the mediation information given to the complainant."),
                               field="mediation_info")
    if on < complaint.received_on:
        raise ComplaintRefused(N_("A complaint cannot be answered before it was received."), field="on")
    if complaint.acknowledged_on is None:
        complaint.acknowledged_on = on
    complaint.state, complaint.answered_on = ComplaintState.answered, on
    complaint.answer, complaint.mediation_info = text.strip(), mediation_info.strip()
    if complaint.owner_id is None:
        complaint.owner_id = actor.id
    session.flush()
    audit.record(session, "complaint.answered", actor=actor, subject=complaint, ip=ip, on=on.isoformat(),
                 on_time=on <= complaint.answer_due)


def close(session: Session, actor: User, complaint: Complaint, *, ip: str | None = None) -> None:
    _require(complaint, ComplaintState.answered)
    complaint.state, complaint.closed_at = ComplaintState.closed, utcnow()
    session.flush()
    audit.record(session, "complaint.closed", actor=actor, subject=complaint, ip=ip)


@dataclass(frozen=True)
class RegisterFilter:
    state: ComplaintState | None = None
    category: ComplaintCategory | None = None
    product: ProductGroup | None = None
    overdue: bool = False
    #: a user's id, or 0 for "no owner"
    owner_id: int | None = None


def register(session: Session, filters: RegisterFilter, *, today: date) -> list[Complaint]:
    """The register, newest first, filtered."""
    q = select(Complaint).order_by(Complaint.received_on.desc(), Complaint.id.desc())
    if filters.state is not None:
        q = q.where(Complaint.state == filters.state)
    if filters.category is not None:
        q = q.where(Complaint.category == filters.category)
    if filters.product is ProductGroup.unspecified:
        q = q.where(Complaint.product_line.is_(None))
    elif filters.product is ProductGroup.volunteer_covers:
        q = q.where(Complaint.product_line.in_(VOLUNTEER_LINES))
    elif filters.product is ProductGroup.partner_channel:
        q = q.where(Complaint.product_line.not_in(VOLUNTEER_LINES))
    if filters.owner_id == 0:
        q = q.where(Complaint.owner_id.is_(None))
    elif filters.owner_id is not None:
        q = q.where(Complaint.owner_id == filters.owner_id)
    if filters.overdue:
        open_ = (ComplaintState.received, ComplaintState.acknowledged)
        q = q.where(((Complaint.state == ComplaintState.received) & (Complaint.acknowledge_due < today))
                    | (Complaint.state.in_(open_) & (Complaint.answer_due < today)))
    return list(session.scalars(q))


def open_by_firm(session: Session, today: date) -> dict[int, tuple[int, int]]:
    """{organisation id: (complaints open, of which overdue)} for the complaints that name a firm."""
    rows = session.execute(select(Complaint.organisation_id, func.count(),
                                  func.count().filter(Complaint.overdue_clause(today)))
                           .where(Complaint.organisation_id.is_not(None), Complaint.state.in_(
                               (ComplaintState.received, ComplaintState.acknowledged)))
                           .group_by(Complaint.organisation_id))
    return {org: (n, late) for org, n, late in rows}

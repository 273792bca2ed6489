"""The complaints report (monthly, quarterly) and the reminders due before and after the deadlines.

The report counts the complaints received in the period, by category and by product group (partner channel,
volunteer covers), and gives the days taken to acknowledge and to answer (calendar days from receipt, median and
mean, of those acknowledged/answered so far) and the share answered on time: of the complaints answered or whose
answer deadline has passed by the report's day, those answered by their deadline."""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.accounts import Role, User

from .complaint_models import (
    Complaint, ComplaintCategory, ComplaintReminder, ComplaintState, ProductGroup, ReminderKind,
)
from .complaints import DeadlinePolicy, handlers


@dataclass(frozen=True)
class Period:
    kind: str  # "month" or "quarter"
    year: int
    number: int  # month 1-12 or quarter 1-4

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        if not 1 <= month <= 12:
            raise ValueError("month must be 1-12")
        return cls("month", year, month)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        if not 1 <= quarter <= 4:
            raise ValueError("quarter must be 1-4")
        return cls("quarter", year, quarter)

    @property
    def start(self) -> date:
        return date(self.year, self.number if self.kind == "month" else 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The last day of the period."""
        months = 1 if self.kind == "month" else 3
        index = self.start.month - 1 + months
        return date(self.start.year + index // 12, index % 12 + 1, 1) - timedelta(days=1)

    @property
    def name(self) -> str:
        return f"{self.year}-{self.number:02d}" if self.kind == "month" else f"{self.year}-Q{self.number}"


@dataclass(frozen=True)
class Figures:
    """Days statistics: None where nothing was measured."""
    count: int
    median: float | None
    mean: float | None


def _figures(days: list[int]) -> Figures:
    if not days:
        return Figures(0, None, None)
    return Figures(len(days), float(statistics.median(days)), round(statistics.fmean(days), 1))


@dataclass(frozen=True)
class Report:
    period: Period
    as_of: date
    received: int
    by_category: dict[ComplaintCategory, int]
    by_product: dict[ProductGroup, int]
    by_state: dict[ComplaintState, int]
    to_acknowledge: Figures
    to_answer: Figures
    acknowledged_on_time: int
    answered_on_time: int
    #: answered, or past the answer deadline unanswered, by `as_of`
    answer_due: int

    @property
    def share_answered_on_time(self) -> float | None:
        return None if not self.answer_due else round(self.answered_on_time / self.answer_due, 4)

    def rows(self) -> list[tuple[str, str, object]]:
        """(section, item, value) for a CSV."""
        rows = [("period", "name", self.period.name), ("period", "start", self.period.start.isoformat()),
                ("period", "end", self.period.end.isoformat()), ("period", "as_of", self.as_of.isoformat()),
                ("total", "received", self.received)]
        rows += [("category", c.value, n) for c, n in self.by_category.items()]
        rows += [("product", g.value, n) for g, n in self.by_product.items()]
        rows += [("state", s.value, n) for s, n in self.by_state.items()]
        for name, fig in (("days_to_acknowledge", self.to_acknowledge), ("days_to_answer", self.to_answer)):
            rows += [(name, "count", fig.count), (name, "median", "" if fig.median is None else fig.median),
                     (name, "mean", "" if fig.mean is None else fig.mean)]
        rows += [("on_time", "acknowledged_on_time", self.acknowledged_on_time),
                 ("on_time", "answer_due", self.answer_due), ("on_time", "answered_on_time", self.answered_on_time),
                 ("on_time", "share_answered_on_time",
                  "" if self.share_answered_on_time is None else self.share_answered_on_time)]
        return rows


def report(session: Session, period: Period, *, as_of: date) -> Report:
    complaints = list(session.scalars(select(Complaint).where(Complaint.received_on >= period.start,
                                                              Complaint.received_on <= period.end)))
    categories = Counter(c.category for c in complaints)
    products = Counter(c.product_group for c in complaints)
    states = Counter(c.state for c in complaints)
    acknowledged = [c for c in complaints if c.acknowledged_on is not None]
    answered = [c for c in complaints if c.answered_on is not None]
    due = [c for c in complaints if c.answered_on is not None or c.answer_due < as_of]
    return Report(
        period=period, as_of=as_of, received=len(complaints),
        by_category={c: categories.get(c, 0) for c in ComplaintCategory},
        by_product={g: products.get(g, 0) for g in ProductGroup},
        by_state={s: states.get(s, 0) for s in ComplaintState},
        to_acknowledge=_figures([(c.acknowledged_on - c.received_on).days for c in acknowledged]),
        to_answer=_figures([(c.answered_on - c.received_on).days for c in answered]),
        acknowledged_on_time=sum(c.acknowledged_on <= c.acknowledge_due for c in acknowledged),
        answered_on_time=sum(bool(c.answered_on_time) for c in answered), answer_due=len(due))


# --- reminders -------------------------------------------------------------------------------------------------

def reminder_due(complaint: Complaint, today: date, policy: DeadlinePolicy) -> list[ReminderKind]:
    """The reminders this complaint calls for today (whether or not already sent)."""
    kinds = []
    if complaint.state is ComplaintState.received:
        if today > complaint.acknowledge_due:
            kinds.append(ReminderKind.acknowledge_overdue)
        elif today >= policy.subtract_business_days(complaint.acknowledge_due, policy.remind_business_days):
            kinds.append(ReminderKind.acknowledge_soon)
    if complaint.state in (ComplaintState.received, ComplaintState.acknowledged):
        if today > complaint.answer_due:
            kinds.append(ReminderKind.answer_overdue)
        elif today >= policy.subtract_business_days(complaint.answer_due, policy.remind_business_days):
            kinds.append(ReminderKind.answer_soon)
    return kinds


@dataclass(frozen=True)
class Reminder:
    complaint: Complaint
    kind: ReminderKind
    recipients: list[User]


def reminders_to_send(session: Session, today: date, policy: DeadlinePolicy) -> list[Reminder]:
    """The reminders due today and not sent before, each with whom it goes to: the owner, or every complaints
    handler (compliance, admin) while the complaint has no owner."""
    open_ = select(Complaint).where(Complaint.state.in_((ComplaintState.received, ComplaintState.acknowledged)))
    sent = {(r.complaint_id, r.kind) for r in session.scalars(select(ComplaintReminder))}
    everyone = None
    out = []
    for complaint in session.scalars(open_.order_by(Complaint.id)):
        for kind in reminder_due(complaint, today, policy):
            if (complaint.id, kind) in sent:
                continue
            if complaint.owner is not None and complaint.owner.active:
                recipients = [complaint.owner]
            else:
                if everyone is None:
                    staff = handlers(session)
                    everyone = [u for u in staff if u.role is Role.compliance] or staff
                recipients = everyone
            out.append(Reminder(complaint, kind, recipients))
    return out


def mark_sent(session: Session, reminder: Reminder) -> ComplaintReminder:
    """Record a reminder as sent (in the transaction that queued its mail): it is never sent again."""
    row = ComplaintReminder(complaint_id=reminder.complaint.id, kind=reminder.kind,
                            recipients=",".join(u.email for u in reminder.recipients))
    session.add(row)
    session.flush()
    audit.record(session, "complaint.reminded", subject=reminder.complaint, kind=reminder.kind.value,
                 recipients=row.recipients)
    return row

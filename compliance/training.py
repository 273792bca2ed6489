"""The IDD training register: every person who takes part in distribution keeps 15 hours of training a year.

Who is in scope: the active users of broker partner firms (specialist and generalist; introducers do not
distribute) and the broker's own distribution staff (`DISTRIBUTION_STAFF_ROLES`). A record says who was trained,
by which provider, on which day, for how long (minutes), in which format, on which themes, with an optional
evidence file (PDF or image, `EVIDENCE_*`).

Coverage is counted per calendar year of the training day. The yearly target is 15 hours, pro-rata for a person
who joined during the year (from the day their account was created); at a date inside the year the target is the
share of that yearly target elapsed so far. Alerts are raised at set points of the year (`ALERT_POINTS`) for
people below their pro-rata target, once per person and point (`TrainingAlert`).

Policy (the portal's TRAINING_BLOCKS_CASES): a broker firm with anyone below the yearly target of the past
calendar year cannot submit new cases (`check_may_submit`, asked by the pipeline).
"""
from __future__ import annotations

import enum
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, contains_eager, deferred, mapped_column, relationship, selectinload

from core import audit
from core.accounts import Organisation, PartnerStatus, Role, User
from core.db import Base, created_at, enum_column, intpk, public_id, str255, utcnow
from core.i18n import N_

from .errors import TrainingRefused, TrainingShortfall

#: the yearly minimum of the IDD (art. 10(2)): 15 hours
YEARLY_MINUTES = 15 * 60
#: the broker's own roles that distribute (advise, propose, conclude contracts)
DISTRIBUTION_STAFF_ROLES = frozenset({Role.account_manager})
PARTNER_DISTRIBUTION_ROLES = frozenset({Role.partner_admin, Role.partner_member})
BROKER_STATUSES = frozenset({PartnerStatus.specialist_broker, PartnerStatus.generalist_broker})
#: (month, day) of the year at which people below their pro-rata target are alerted: the end of each quarter
ALERT_POINTS = ((3, 31), (6, 30), (9, 30), (12, 31))

#: the largest evidence file, and the kinds accepted, recognised by their first bytes (not by their name)
EVIDENCE_MAX_BYTES = 5 * 1024 * 1024
EVIDENCE_TYPES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
#: one record is one training: a day's session or a course, at most 100 hours
MAX_MINUTES = 100 * 60


class TrainingFormat(enum.Enum):
    classroom = "classroom"
    e_learning = "e_learning"
    webinar = "webinar"
    conference = "conference"
    in_house = "in_house"
    other = "other"

    @property
    def label(self) -> str:
        return FORMAT_LABELS[self]


FORMAT_LABELS = {
    TrainingFormat.classroom: N_("Classroom"),
    TrainingFormat.e_learning: N_("E-learning"),
    TrainingFormat.webinar: N_("Webinar"),
    TrainingFormat.conference: N_("Conference or seminar"),
    TrainingFormat.in_house: N_("In-house training"),
    TrainingFormat.other: N_("Other format"),
}

#: the themes of the IDD's professional knowledge (annex I), as codes kept on the record and their labels
THEMES = {
    "insurance_products": N_("Insurance products and their terms"),
    "insurance_markets": N_("Insurance and financial markets"),
    "regulation": N_("Insurance distribution law and regulation"),
    "consumer_protection": N_("Consumer protection"),
    "client_needs": N_("Assessing client demands and needs"),
    "claims": N_("Claims handling"),
    "complaints": N_("Complaints handling"),
    "ethics": N_("Business ethics and compliance"),
    "data_protection": N_("Data protection"),
    "financial_competency": N_("Financial competency"),
}


class TrainingRecord(Base):
    """One training a person took. Kept as recorded; the evidence file is loaded only when asked for."""

    __tablename__ = "training_records"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    #: the person trained
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: the person's firm when recorded; empty for the broker's own staff
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    provider: Mapped[str255]
    #: the day the training was completed: its calendar year is the year it counts for
    completed_on: Mapped[date] = mapped_column(Date, index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    format: Mapped[TrainingFormat] = mapped_column(enum_column(TrainingFormat))
    #: codes of THEMES
    themes: Mapped[list] = mapped_column(JSON, default=list)
    evidence_filename: Mapped[str | None] = mapped_column(String(255))
    evidence_content_type: Mapped[str | None] = mapped_column(String(64))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation | None] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])

    @property
    def theme_labels(self) -> list[str]:
        return [THEMES[code] for code in self.themes if code in THEMES]


class TrainingAlert(Base):
    """A person was found below their pro-rata target at an alert point: raised once per person and point."""

    __tablename__ = "training_alerts"
    __table_args__ = (UniqueConstraint("user_id", "alert_point"),)

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    alert_point: Mapped[date] = mapped_column(Date, index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    target_minutes: Mapped[int] = mapped_column(Integer)

    user: Mapped[User] = relationship()


# --- who is in scope ---------------------------------------------------------------------------------------

def in_scope(user: User) -> bool:
    """Does this person take part in distribution (and so owe 15 hours a year)?"""
    if not user.active:
        return False
    if user.role in DISTRIBUTION_STAFF_ROLES:
        return True
    return (user.role in PARTNER_DISTRIBUTION_ROLES and user.organisation is not None
            and user.organisation.status in BROKER_STATUSES)


def people_in_scope(session: Session, organisation: Organisation | None = None, *,
                    staff: bool = True) -> list[User]:
    """The active people who distribute: of one firm when given, else of every broker firm plus (`staff`) the
    broker's own distribution staff."""
    partners = (select(User).join(Organisation, User.organisation_id == Organisation.id)
                .options(contains_eager(User.organisation))
                .where(User.active.is_(True), User.role.in_(PARTNER_DISTRIBUTION_ROLES),
                       Organisation.status.in_(BROKER_STATUSES)))
    if organisation is not None:
        partners = partners.where(User.organisation_id == organisation.id)
    people = list(session.execute(partners.order_by(Organisation.legal_name, User.full_name)).scalars())
    if staff and organisation is None:
        people += session.execute(select(User).where(User.active.is_(True), User.role.in_(DISTRIBUTION_STAFF_ROLES))
                                  .order_by(User.full_name)).scalars().all()
    return people


# --- targets ------------------------------------------------------------------------------------------------

def _year_days(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


def joined_on(user: User) -> date:
    return user.created_at.date() if isinstance(user.created_at, datetime) else date.min


def target_minutes(user: User, year: int, at: date | None = None) -> int:
    """The minutes `user` should hold in `year` by `at` (the year's end when not given): 15 hours × the share of
    the year elapsed since the later of 1 January and the day they joined. Rounded down to the minute."""
    start = max(date(year, 1, 1), joined_on(user))
    end = min(at or date(year, 12, 31), date(year, 12, 31))
    if end < start:
        return 0
    return YEARLY_MINUTES * ((end - start).days + 1) // _year_days(year)


def alert_points(year: int) -> list[date]:
    return [date(year, month, day) for month, day in ALERT_POINTS]


def last_alert_point(today: date) -> date | None:
    """The latest alert point on or before `today` in its year, or None before the first."""
    passed = [p for p in alert_points(today.year) if p <= today]
    return passed[-1] if passed else None


# --- coverage -----------------------------------------------------------------------------------------------

@dataclass
class PersonCoverage:
    user: User
    minutes: int
    #: what they should hold at the date of the count (pro-rata inside the year)
    target: int
    #: what they should hold by the end of the year
    yearly_target: int

    @property
    def below(self) -> bool:
        return self.minutes < self.target

    @property
    def missing(self) -> int:
        return max(0, self.target - self.minutes)

    @property
    def organisation(self) -> Organisation | None:
        return self.user.organisation if self.user.role in PARTNER_DISTRIBUTION_ROLES else None


@dataclass
class FirmCoverage:
    organisation: Organisation | None
    people: list[PersonCoverage] = field(default_factory=list)

    @property
    def below(self) -> list[PersonCoverage]:
        return [p for p in self.people if p.below]

    @property
    def minutes(self) -> int:
        return sum(p.minutes for p in self.people)


def minutes_by_person(session: Session, year: int, people: list[User], until: date | None = None) -> dict[int, int]:
    """Minutes of training completed in `year` (up to `until` when given) per user id."""
    return minutes_by_id(session, year, [p.id for p in people], until)


def minutes_by_id(session: Session, year: int, user_ids: list[int], until: date | None = None) -> dict[int, int]:
    if not user_ids:
        return {}
    end = min(until or date(year, 12, 31), date(year, 12, 31))
    rows = session.execute(
        select(TrainingRecord.user_id, func.sum(TrainingRecord.duration_minutes))
        .where(TrainingRecord.user_id.in_(user_ids),
               TrainingRecord.completed_on >= date(year, 1, 1), TrainingRecord.completed_on <= end)
        .group_by(TrainingRecord.user_id))
    return {user_id: int(total or 0) for user_id, total in rows}


def coverage(session: Session, year: int, at: date, *, organisation: Organisation | None = None,
             people: list[User] | None = None) -> list[PersonCoverage]:
    """Each person in scope (of one firm when given) for `year`, counted at `at`: a past year is counted whole,
    the current year up to `at` against the pro-rata target."""
    people = people if people is not None else people_in_scope(session, organisation)
    until = at if at.year == year else None
    totals = minutes_by_person(session, year, people, until)
    target_at = at if at.year == year else date(year, 12, 31)
    return [PersonCoverage(p, totals.get(p.id, 0), target_minutes(p, year, target_at), target_minutes(p, year))
            for p in people if joined_on(p) <= date(year, 12, 31)]


def shortfall_by_firm(session: Session, year: int, at: date, *,
                      organisation: Organisation | None = None) -> dict[int | None, tuple[int, int]]:
    """{organisation id (None: the broker's own staff): (people in scope, of whom below their target)} as
    `coverage` counts them, from a few columns rather than every person loaded (the dashboard and the review
    queue want the counts only)."""
    partners = (select(User.id, User.created_at, User.organisation_id)
                .join(Organisation, User.organisation_id == Organisation.id)
                .where(User.active.is_(True), User.role.in_(PARTNER_DISTRIBUTION_ROLES),
                       Organisation.status.in_(BROKER_STATUSES)))
    if organisation is not None:
        partners = partners.where(User.organisation_id == organisation.id)
    people = session.execute(partners).all()
    if organisation is None:
        people += [(uid, joined, None) for uid, joined in session.execute(
            select(User.id, User.created_at).where(User.active.is_(True), User.role.in_(DISTRIBUTION_STAFF_ROLES)))]
    until = at if at.year == year else None
    totals = minutes_by_id(session, year, [uid for uid, _, _ in people], until)
    target_at = at if at.year == year else date(year, 12, 31)
    out: dict[int | None, tuple[int, int]] = {}
    for uid, joined, org in people:
        person = SimpleNamespace(created_at=joined)  # what joined_on and target_minutes read of a user
        if joined_on(person) > date(year, 12, 31):
            continue
        counted, below = out.get(org, (0, 0))
        out[org] = counted + 1, below + (totals.get(uid, 0) < target_minutes(person, year, target_at))
    return out


def by_firm(rows: list[PersonCoverage]) -> list[FirmCoverage]:
    """Group people by firm (the broker's own staff under None, last)."""
    firms: dict[int | None, FirmCoverage] = {}
    for row in rows:
        org = row.organisation
        firms.setdefault(org.id if org else None, FirmCoverage(org)).people.append(row)
    return sorted(firms.values(), key=lambda f: (f.organisation is None, f.organisation.legal_name if
                                                f.organisation else ""))


# --- recording ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainingInput:
    provider: str
    completed_on: date | None
    duration_minutes: int | None
    format: str
    themes: list[str]
    evidence_filename: str | None = None
    evidence: bytes | None = None


def may_record_for(actor: User, person: User) -> bool:
    """A partner admin records for the people of their own firm; compliance and admins for anyone in scope."""
    if not in_scope(person):
        return False
    if actor.role in (Role.compliance, Role.admin):
        return True
    return actor.role is Role.partner_admin and actor.organisation_id is not None \
        and actor.organisation_id == person.organisation_id


def may_read(actor: User, record: TrainingRecord) -> bool:
    """The person themselves, their firm's admin, compliance and admins."""
    if actor.role in (Role.compliance, Role.admin) or actor.id == record.user_id:
        return True
    return actor.role is Role.partner_admin and record.organisation_id is not None \
        and actor.organisation_id == record.organisation_id


def evidence_type(data: bytes) -> str | None:
    return next((kind for magic, kind in EVIDENCE_TYPES if data.startswith(magic)), None)


def _check(values: TrainingInput, today: date) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = defaultdict(list)
    if not values.provider or not values.provider.strip():
        errors["provider"].append(N_("Name the training provider."))
    elif len(values.provider.strip()) > 255:
        errors["provider"].append(N_("Keep it under 255 characters."))
    if values.completed_on is None:
        errors["completed_on"].append(N_("Enter the day the training was completed."))
    elif values.completed_on > today:
        errors["completed_on"].append(N_("A training is recorded once it is completed: the date is in the future."))
    elif values.completed_on.year < today.year - 5:
        errors["completed_on"].append(N_("Only the last five years' training can be recorded."))
    if values.duration_minutes is None or not 1 <= values.duration_minutes <= MAX_MINUTES:
        errors["duration_minutes"].append(N_("Give the duration in minutes (1 to 6,000)."))
    if values.format not in TrainingFormat.__members__:
        errors["format"].append(N_("Choose the format of the training."))
    if not values.themes or any(code not in THEMES for code in values.themes):
        errors["themes"].append(N_("Choose at least one theme from the list."))
    if values.evidence is not None:
        if len(values.evidence) > EVIDENCE_MAX_BYTES:
            errors["evidence"].append(N_("The evidence file is larger than 5 MB."))
        elif evidence_type(values.evidence) is None:
            errors["evidence"].append(N_("The evidence must be a PDF, PNG or JPEG file."))
    return errors


def record_training(session: Session, actor: User, person: User, values: TrainingInput, *, today: date,
                    ip: str | None = None) -> TrainingRecord:
    if not may_record_for(actor, person):
        raise TrainingRefused(N_("You cannot record training for this person."), field="person")
    errors = _check(values, today)
    if errors:
        raise TrainingRefused(N_("Check the training details."), fields=dict(errors))
    evidence = values.evidence or None
    record = TrainingRecord(
        user_id=person.id, organisation_id=person.organisation_id if person.role in PARTNER_DISTRIBUTION_ROLES else None,
        provider=values.provider.strip(), completed_on=values.completed_on, duration_minutes=values.duration_minutes,
        format=TrainingFormat(values.format), themes=list(dict.fromkeys(values.themes)),
        evidence=evidence, evidence_filename=(values.evidence_filename or "evidence")[:255] if evidence else None,
        evidence_content_type=evidence_type(evidence) if evidence else None,
        evidence_sha256=hashlib.sha256(evidence).hexdigest() if evidence else None, recorded_by_id=actor.id)
    session.add(record)
    session.flush()
    audit.record(session, "training.recorded", actor=actor, subject=record, ip=ip, person=person.public_id,
                 minutes=record.duration_minutes, completed_on=record.completed_on.isoformat(),
                 evidence_sha256=record.evidence_sha256)
    return record


def records_of(session: Session, people: list[User], years: tuple[int, ...]) -> list[TrainingRecord]:
    if not people:
        return []
    return list(session.execute(
        select(TrainingRecord).options(selectinload(TrainingRecord.user))
        .where(TrainingRecord.user_id.in_([p.id for p in people]),
                                     TrainingRecord.completed_on >= date(min(years), 1, 1),
                                     TrainingRecord.completed_on <= date(max(years), 12, 31))
        .order_by(TrainingRecord.completed_on.desc(), TrainingRecord.id.desc())).scalars())


# --- alerts -------------------------------------------------------------------------------------------------

def raise_alerts(session: Session, today: date) -> tuple[date | None, list[PersonCoverage]]:
    """At the latest alert point reached by `today`: the people below their pro-rata target at that point who
    were not alerted for it yet, each now recorded as alerted (so a rerun finds nobody new)."""
    point = last_alert_point(today)
    if point is None:
        return None, []
    alerted = set(session.execute(select(TrainingAlert.user_id).where(TrainingAlert.alert_point == point)).scalars())
    people = [p for p in people_in_scope(session) if p.id not in alerted]
    found = [row for row in coverage(session, point.year, point, people=people) if row.below]
    for row in found:
        session.add(TrainingAlert(user_id=row.user.id, organisation_id=row.organisation.id if row.organisation else None,
                                  alert_point=point, minutes=row.minutes, target_minutes=row.target))
    session.flush()
    if found:
        audit.record(session, "training.alerts_raised", subject_type="training_alert_point",
                     subject_id=point.isoformat(), people=len(found))
    return point, found


def alerts_at(session: Session, point: date) -> list[TrainingAlert]:
    return list(session.execute(select(TrainingAlert).options(selectinload(TrainingAlert.user))
                                .where(TrainingAlert.alert_point == point)
                                .order_by(TrainingAlert.id)).scalars())


# --- the policy: no new cases while people lack last year's hours ----------------------------------------------

def past_year_shortfall(session: Session, organisation: Organisation, today: date) -> list[PersonCoverage]:
    """The firm's people below their yearly target for the past calendar year."""
    if organisation.status not in BROKER_STATUSES:
        return []
    year = today.year - 1
    return [row for row in coverage(session, year, date(year, 12, 31), organisation=organisation) if row.below]


def check_may_submit(session: Session, organisation: Organisation, today: date, *, enforce: bool) -> None:
    """Refuse a new case (TrainingShortfall) when the policy is enforced and the firm has people below 15 hours
    for the past year."""
    if not enforce:
        return
    short = past_year_shortfall(session, organisation, today)
    if short:
        raise TrainingShortfall(year=today.year - 1, count=len(short))


def today_utc() -> date:
    return utcnow().date()

"""The programme's KPIs, counted from the raw records: the funnel's events, the campaign's sends, the subscriptions,
the payments and the complaints register. Plain values out (`Kpis`, made of `Table`s), no Flask.

Definitions (the README's "Programme KPIs" says the same in prose):
- **Funnel** (a cohort): the volunteers whose *first* "invited" event (a campaign step carrying the personal quote
  link, or a link sent by staff) falls in the period, grouped by that month; for each, whether they ever opened a
  campaign e-mail carrying the link, clicked in it, and reached quoted, adhesion started, signed, paid and
  certificate. Conversion is each stage over the stage before it. With a cover filter, the cohort is the
  volunteers invited by a step promoting that cover (or by staff), and the stages from "quoted" on need an event
  for that cover (or, for the events that carry no cover, a "quoted" event for it).
- **Subscriptions per month**: adhesions signed that month (withdrawn ones included: the programme's baseline
  of 40–100 a month counts signatures).
- **Subscription rate** of a cover in a month: volunteers holding it on a day of the month (signed, not
  withdrawn, cover running that day) over the volunteers in post on a day of the month.
- **Cross-selling**: among the volunteers holding a cover in the period's last month, those holding both.
- **Time to subscribe**: days from the mission's start to the signature, for signatures in the period.
- **Time to certificate**: hours from the signature to the certificate, for certificates issued in the period.
- **Payment failures**: payments failed in the period; **recovered**: those whose purpose (the same month of the
  same subscription) was later paid by another payment.
- **Complaints**: complaints from volunteers received in the period (the complaints register).
- **Opens and clicks** per campaign step: sends queued in the period to volunteers who did not refuse tracking.
"""
from __future__ import annotations

import bisect
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from compliance.complaint_models import ComplainantKind, Complaint
from core.i18n import N_

from .campaign_models import CampaignPreference, CampaignSend
from .campaign_plan import PLAN, STEPS
from .catalogue import ZONES, Cover
from .dates import add_months
from .errors import NoVersionInForce
from .models import FunnelEvent, FunnelStage, Subscription, Volunteer
from .payment_models import Payment, PaymentState
from .tariffs import zones_in_force

#: the funnel's stages, in order (opened and clicked come from the campaign's sends)
STAGES = ("invited", "opened", "clicked", "quoted", "adhesion_started", "signed", "paid", "certificate_issued")
STAGE_LABELS = {"invited": N_("Invited"), "opened": N_("Opened the e-mail"), "clicked": N_("Clicked"),
                "quoted": N_("Quoted"), "adhesion_started": N_("Adhesion started"), "signed": N_("Signed"),
                "paid": N_("Paid"), "certificate_issued": N_("Certificate issued")}
_EVENT_STAGES = {s: FunnelStage(s) for s in STAGES if s not in ("opened", "clicked")}
#: the programme's baseline before the funnel: subscriptions a month
BASELINE = (40, 100)
#: the steps carrying the personal quote link (the funnel's invitations)
LINK_STEPS = tuple(s.code for s in PLAN if s.personal_link)
UNKNOWN = "?"


@dataclass(frozen=True)
class Filters:
    """The months from `first` to `last` (first days), and optional filters on the volunteers."""

    first: date
    last: date
    zone: int | None = None
    country: str | None = None
    cover: Cover | None = None
    language: str | None = None

    @property
    def months(self) -> list[date]:
        out, m = [], self.first
        while m <= self.last:
            out.append(m)
            m = add_months(m, 1)
        return out

    @property
    def end(self) -> date:
        """The day after the period."""
        return add_months(self.last, 1)

    @property
    def filtered(self) -> bool:
        return any(v is not None for v in (self.zone, self.country, self.cover, self.language))


def month_of(value: date | datetime) -> date:
    return date(value.year, value.month, 1)


@dataclass
class Table:
    """Rows × columns of figures. Values: int (a count), float (a share, 0..1, or a duration), None (nothing to
    measure). `chain` lists the columns that are nested stages (each a subset of the one before); `parts` says
    the rows partition the total row (they add up to it); `rates` maps a share's column to its (numerator,
    denominator) columns."""

    key: str
    title: str
    #: what the rows are: month, zone, country, step, language, stage, cover, figure
    row_kind: str
    columns: list[str]
    rows: list[tuple[str, list]]
    total: list | None = None
    chain: tuple[int, ...] = ()
    parts: bool = False
    rates: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: columns holding counts of volunteers (a share or a duration is not a count)
    counts: tuple[int, ...] = ()
    #: for a country table: each row's zone (the zone table's row is the total the countries add up to)
    groups: dict[str, int] = field(default_factory=dict)
    #: columns that are durations (days or hours), not counts or shares
    durations: tuple[int, ...] = ()

    def row(self, key: str) -> list | None:
        return next((values for k, values in self.rows if k == key), None)


@dataclass
class Kpis:
    filters: Filters
    tables: dict[str, Table]

    def __getitem__(self, key: str) -> Table:
        return self.tables[key]


# --- loading ------------------------------------------------------------------------------------------------

def _zones(session: Session, on: date) -> dict[str, int]:
    try:
        return dict(zones_in_force(session, on).by_country)
    except NoVersionInForce:
        return {}


@dataclass
class _Volunteer:
    country: str
    language: str
    zone: int | None
    start: date
    end: date


def _volunteers(session: Session, f: Filters, zones: dict[str, int]) -> dict[int, _Volunteer]:
    stmt = select(Volunteer.id, Volunteer.mission_country, Volunteer.language, Volunteer.mission_start,
                  Volunteer.mission_end)
    if f.country:
        stmt = stmt.where(Volunteer.mission_country == f.country)
    if f.language:
        stmt = stmt.where(Volunteer.language == f.language)
    if f.zone is not None:
        stmt = stmt.where(Volunteer.mission_country.in_([c for c, z in zones.items() if z == f.zone]))
    return {vid: _Volunteer(country, (language or "")[:2].lower(), zones.get(country), start, end)
            for vid, country, language, start, end in session.execute(stmt)}


def _firsts(session: Session, f: Filters) -> dict[str, dict[int, datetime]]:
    """{stage: {volunteer id: when first reached}} for the funnel's events (the cover filter applied to the events
    that carry a cover)."""
    stmt = (select(FunnelEvent.stage, FunnelEvent.volunteer_id, func.min(FunnelEvent.occurred_at))
            .where(FunnelEvent.stage.in_(list(_EVENT_STAGES.values())))
            .group_by(FunnelEvent.stage, FunnelEvent.volunteer_id))
    if f.cover is not None:
        stmt = stmt.where(or_(FunnelEvent.cover.is_(None), FunnelEvent.cover == f.cover))
    out: dict[str, dict[int, datetime]] = {s: {} for s in _EVENT_STAGES}
    for stage, vid, at in session.execute(stmt):
        out[stage.value][vid] = at
    return out


def _first_steps(session: Session) -> dict[int, tuple[datetime, str | None]]:
    """Each invited volunteer's first invitation: when, and the step (None: a link sent by staff)."""
    out: dict[int, tuple[datetime, str | None]] = {}
    rows = session.execute(select(FunnelEvent.volunteer_id, FunnelEvent.occurred_at, FunnelEvent.campaign_step)
                           .where(FunnelEvent.stage == FunnelStage.invited))
    for vid, at, step in rows:
        if vid not in out or at < out[vid][0]:
            out[vid] = (at, step)
    return out


def _engagement(session: Session) -> dict[int, tuple[bool, bool]]:
    """{volunteer id: (opened, clicked)} in the e-mails carrying the personal link."""
    rows = session.execute(select(CampaignSend.volunteer_id, func.max(CampaignSend.opens), func.max(CampaignSend.clicks))
                           .where(CampaignSend.step.in_(LINK_STEPS)).group_by(CampaignSend.volunteer_id))
    return {vid: (bool(opens), bool(clicks)) for vid, opens, clicks in rows}


# --- the funnel ---------------------------------------------------------------------------------------------

def _cohort(session: Session, f: Filters, volunteers: dict[int, _Volunteer]) -> dict[int, tuple[date, str]]:
    """{volunteer id: (month of first invitation, step code or "staff")} for the period's cohort."""
    start, end = _bounds(f)
    out = {}
    for vid, (at, step) in _first_steps(session).items():
        if vid not in volunteers or not (start <= at < end):
            continue
        if f.cover is not None and step is not None and step in STEPS and STEPS[step].promotes is not f.cover:
            continue
        out[vid] = (month_of(at), step or "staff")
    return out


def _reached(session: Session, f: Filters, cohort) -> dict[int, list[bool]]:
    firsts, engaged = _firsts(session, f), _engagement(session)
    out = {}
    for vid in cohort:
        opened, clicked = engaged.get(vid, (False, False))
        row = [True, opened, clicked]
        for stage in STAGES[3:]:
            row.append(vid in firsts[stage] and (f.cover is None or stage in ("quoted", "paid")
                                                  or vid in firsts["quoted"]))
        out[vid] = row
    return out


def _count_rows(keys, reached, key_of) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0] * len(STAGES))
    for vid in keys:
        row = out[key_of(vid)]
        for i, hit in enumerate(reached[vid]):
            row[i] += hit
    return out


def _funnel_tables(f: Filters, volunteers, cohort, reached) -> list[Table]:
    columns = [STAGE_LABELS[s] for s in STAGES]
    chain = tuple(range(len(STAGES)))
    total = [sum(reached[v][i] for v in cohort) for i in range(len(STAGES))]

    def table(key, title, kind, key_of, order=None, groups=None):
        counted = _count_rows(cohort, reached, key_of)
        keys = order if order is not None else sorted(counted)
        rows = [(k, list(counted.get(k, [0] * len(STAGES)))) for k in keys]
        return Table(key, title, kind, columns, rows, list(total), chain=chain, parts=True, counts=chain,
                     groups=groups or {})

    zone_key = lambda v: str(volunteers[v].zone or UNKNOWN)  # noqa: E731
    countries = sorted({volunteers[v].country for v in cohort})
    return [
        table("funnel_by_month", N_("Funnel by month of invitation"), "month",
              lambda v: cohort[v][0].isoformat(), [m.isoformat() for m in f.months]),
        table("funnel_by_zone", N_("Funnel by zone"), "zone", zone_key,
              [str(z) for z in ZONES] + ([UNKNOWN] if any(zone_key(v) == UNKNOWN for v in cohort) else [])),
        table("funnel_by_country", N_("Funnel by mission country"), "country", lambda v: volunteers[v].country,
              countries, {c: next((volunteers[v].zone for v in cohort if volunteers[v].country == c), None)
                          for c in countries}),
        table("funnel_by_step", N_("Funnel by campaign step of the first invitation"), "step",
              lambda v: cohort[v][1]),
        table("funnel_by_language", N_("Funnel by language"), "language", lambda v: volunteers[v].language),
    ]


def _drop_off(funnel: Table) -> Table:
    """Where volunteers stop: for each stage after the first, how many of the stage before did not reach it."""
    rows, total = [], funnel.total or []
    for i in range(1, len(STAGES)):
        before, after = total[i - 1], total[i]
        rows.append((STAGES[i], [before, after, before - after, (after / before) if before else None]))
    return Table("drop_off", N_("Conversion and drop-off between stages"), "stage",
                 [N_("Stage before"), N_("Reached"), N_("Stopped"), N_("Conversion")], rows,
                 rates={3: (1, 0)}, counts=(0, 1, 2))


# --- subscriptions ------------------------------------------------------------------------------------------

@dataclass
class _Sub:
    volunteer_id: int
    covers: frozenset[Cover]
    signed_at: datetime
    start: date
    end: date
    withdrawn: bool
    certificate_at: datetime | None


def _subscriptions(session: Session, f: Filters, volunteers) -> list[_Sub]:
    rows = session.execute(select(Subscription.volunteer_id, Subscription.choices, Subscription.signed_at,
                                  Subscription.start_on, Subscription.ends_on, Subscription.withdrawn_at,
                                  Subscription.certificate_issued_at).where(Subscription.signed_at.is_not(None)))
    subs = [_Sub(vid, frozenset(Cover(c) for c in choices), signed, start, end, withdrawn is not None, cert)
            for vid, choices, signed, start, end, withdrawn, cert in rows if vid in volunteers]
    return [s for s in subs if f.cover is None or f.cover in s.covers]


def _in_month(s: _Sub, first: date) -> bool:
    return not s.withdrawn and s.start < add_months(first, 1) and s.end >= first


def _subscription_tables(f: Filters, volunteers, subs: list[_Sub]) -> list[Table]:
    starts = sorted(v.start for v in volunteers.values())
    ends = sorted(v.end for v in volunteers.values())
    covers = [f.cover] if f.cover else list(Cover)
    per_month, rate_rows = Counter(month_of(s.signed_at) for s in subs), []
    for m in f.months:
        in_post = bisect.bisect_left(starts, add_months(m, 1)) - bisect.bisect_left(ends, m)
        row = [in_post]
        for cover in covers:
            holders = len({s.volunteer_id for s in subs if cover in s.covers and _in_month(s, m)})
            row += [holders, holders / in_post if in_post else None]
        rate_rows.append((m.isoformat(), row))
    rate_columns = [N_("Volunteers in post")]
    rates = {}
    for i, cover in enumerate(covers):
        rate_columns += [cover.label, N_("Subscription rate")]
        rates[2 + 2 * i] = (1 + 2 * i, 0)
    low, high = BASELINE
    monthly = Table("subscriptions_by_month", N_("Subscriptions per month against the baseline"), "month",
                    [N_("Subscriptions"), N_("Baseline (low)"), N_("Baseline (high)")],
                    [(m.isoformat(), [per_month.get(m, 0), low, high]) for m in f.months],
                    total=[sum(per_month.get(m, 0) for m in f.months), low * len(f.months), high * len(f.months)],
                    parts=True, counts=(0,))
    rate = Table("subscription_rate", N_("Subscription rate of each cover among volunteers in post"), "month",
                 rate_columns, rate_rows, rates=rates, counts=(0, *range(1, len(rate_columns), 2)))
    return [monthly, rate, _cross_selling(f, subs), _time_to_subscribe(f, volunteers, subs)]


def _cross_selling(f: Filters, subs: list[_Sub]) -> Table:
    held: dict[int, set[Cover]] = defaultdict(set)
    for s in subs:
        if _in_month(s, f.last):
            held[s.volunteer_id] |= s.covers
    any_cover = len(held)
    both = sum(1 for covers in held.values() if len(covers) == len(Cover))
    return Table("cross_selling", N_("Cross-selling: volunteers holding both covers"), "figure",
                 [N_("Holding a cover"), N_("Holding both covers"), N_("Cross-selling rate")],
                 [("cross_selling", [any_cover, both, both / any_cover if any_cover else None])],
                 rates={2: (1, 0)}, counts=(0, 1))


def quartiles(values: list[float]) -> tuple[float, float, float] | None:
    """(first quartile, median, third quartile), the "inclusive" method (None for no value)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def _duration_row(key: str, values: list[float]) -> tuple[str, list]:
    q = quartiles(values)
    return key, [len(values), *(q if q else (None, None, None))]


def _time_to_subscribe(f: Filters, volunteers, subs: list[_Sub]) -> Table:
    days = [float((s.signed_at.date() - volunteers[s.volunteer_id].start).days) for s in subs
            if f.first <= s.signed_at.date() < f.end]
    return Table("time_to_subscribe", N_("Days from the mission's start to the subscription"), "figure",
                 [N_("Subscriptions"), N_("First quartile"), N_("Median"), N_("Third quartile")],
                 [_duration_row("days", sorted(days))], counts=(0,), durations=(1, 2, 3))


# --- service quality ----------------------------------------------------------------------------------------

def _service(session: Session, f: Filters, volunteers, subs: list[_Sub]) -> list[Table]:
    hours = sorted((s.certificate_at - s.signed_at).total_seconds() / 3600 for s in subs
                   if s.certificate_at is not None and f.first <= s.certificate_at.date() < f.end)
    certificate = Table("time_to_certificate", N_("Hours from the signature to the certificate"), "figure",
                        [N_("Certificates"), N_("First quartile"), N_("Median"), N_("Third quartile")],
                        [_duration_row("hours", hours)], counts=(0,), durations=(1, 2, 3))
    start, end = _bounds(f)
    failed = session.execute(select(Payment.volunteer_id, Payment.purpose, Payment.created_at)
                             .where(Payment.state == PaymentState.failed, Payment.created_at >= start,
                                    Payment.created_at < end)).all()
    failed = [r for r in failed if r.volunteer_id in volunteers]
    paid_later: dict[str, list[datetime]] = defaultdict(list)
    if failed:
        for purpose, created in session.execute(
                select(Payment.purpose, Payment.created_at).where(
                    Payment.purpose.in_({r.purpose for r in failed}),
                    Payment.state.in_((PaymentState.succeeded, PaymentState.refunded)))):
            paid_later[purpose].append(created)
    recovered = sum(1 for r in failed if any(c > r.created_at for c in paid_later[r.purpose]))
    payments = Table("payment_failures", N_("Payment failures and recoveries"), "figure",
                     [N_("Failed payments"), N_("Recovered"), N_("Recovery rate")],
                     [("payments", [len(failed), recovered, recovered / len(failed) if failed else None])],
                     rates={2: (1, 0)}, counts=(0, 1))
    complaints = session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.complainant_kind == ComplainantKind.volunteer, Complaint.received_on >= f.first,
        Complaint.received_on < f.end))
    register = Table("complaints", N_("Complaints from volunteers"), "figure", [N_("Complaints received")],
                     [("complaints", [complaints])], counts=(0,))
    return [certificate, payments, register, _campaign_rates(session, f, volunteers)]


def _bounds(f: Filters) -> tuple[datetime, datetime]:
    return (datetime.combine(f.first, datetime.min.time(), UTC), datetime.combine(f.end, datetime.min.time(), UTC))


def _campaign_rates(session: Session, f: Filters, volunteers) -> Table:
    start, end = _bounds(f)
    stmt = (select(CampaignSend.step, CampaignSend.volunteer_id, CampaignSend.opens > 0, CampaignSend.clicks > 0)
            .outerjoin(CampaignPreference, CampaignPreference.volunteer_id == CampaignSend.volunteer_id)
            .where(CampaignSend.queued_at >= start, CampaignSend.queued_at < end,
                   CampaignPreference.tracking_refused_at.is_(None)))
    sent, opened, clicked = Counter(), Counter(), Counter()
    for step, vid, was_opened, was_clicked in session.execute(stmt):
        if vid in volunteers:
            sent[step] += 1
            opened[step] += bool(was_opened)
            clicked[step] += bool(was_clicked)
    rows = []
    for step in PLAN:
        n = sent[step.code]
        reported = step.programme_open_rate / 100 if step.programme_open_rate is not None else None
        rows.append((step.code, [n, opened[step.code], opened[step.code] / n if n else None, reported,
                                 clicked[step.code], clicked[step.code] / n if n else None]))
    return Table("campaign_rates", N_("Open and click rates per campaign step"), "step",
                 [N_("Sent"), N_("Opened"), N_("Open rate"), N_("Open rate reported by the programme"),
                  N_("Clicked"), N_("Click rate")], rows, rates={2: (1, 0), 5: (4, 0)}, counts=(0, 1, 4))


# --- all of it ----------------------------------------------------------------------------------------------

def compute(session: Session, f: Filters, *, today: date | None = None) -> Kpis:
    """Every KPI for the period and filters."""
    zones = _zones(session, today or f.last)
    volunteers = _volunteers(session, f, zones)
    cohort = _cohort(session, f, volunteers)
    reached = _reached(session, f, cohort)
    funnel = _funnel_tables(f, volunteers, cohort, reached)
    subs = _subscriptions(session, f, volunteers)
    tables = [*funnel, _drop_off(funnel[0]), *_subscription_tables(f, volunteers, subs),
              *_service(session, f, volunteers, subs)]
    return Kpis(f, {t.key: t for t in tables})


def version(session: Session) -> tuple:
    """What the KPIs are counted from, in one statement: a figure kept with this version is still right (funnel
    events are append-only; a send's opens, a payment's state and a subscription change bump `updated_at`-less
    counters too, hence the sums)."""
    return tuple(session.execute(select(
        select(func.max(FunnelEvent.id)).scalar_subquery(),
        select(func.max(CampaignSend.id)).scalar_subquery(),
        select(func.coalesce(func.sum(CampaignSend.opens), 0) + func.coalesce(func.sum(CampaignSend.clicks), 0))
        .scalar_subquery(),
        select(func.max(Payment.updated_at)).scalar_subquery(),
        select(func.max(Subscription.updated_at)).scalar_subquery(),
        select(func.count()).select_from(Complaint).scalar_subquery(),
        select(func.max(Volunteer.id)).scalar_subquery(),
        select(func.max(Volunteer.updated_at)).scalar_subquery(),
    )).one())


def default_period(today: date, months: int = 12) -> tuple[date, date]:
    last = month_of(today)
    return add_months(last, 1 - months), last


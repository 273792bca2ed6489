"""The programme's KPIs, counted from the raw records: the funnel's events, the campaign's sends, the subscriptions,
the payments and the complaints register. Plain values out (`Kpis`, made of `Table`s), no Flask. The funnel is read
from the per-volunteer summary of the funnel's events and the sends' opens and clicks (`funnel.kpi_summary`, kept in
the same transaction as them, `flask funnel kpis verify` checks it against them): the same figures, from one index
range of the period's first invitations instead of every volunteer's events.

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
  An e-mail clicked counts as opened too (its images may have been blocked: the pixel never fetched), in the rates
  as in the funnel, so that "clicked" is always within "opened".
"""
from __future__ import annotations

import statistics
from functools import cached_property
from itertools import accumulate
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from compliance.complaint_models import ComplainantKind, Complaint
from core.i18n import N_

from .campaign_models import CampaignPreference, CampaignSend
from .campaign_plan import PLAN, STEPS
from .catalogue import ZONES, Cover
from .dates import add_months
from .errors import NoVersionInForce
from .kpi_models import VolunteerFunnel
from .models import FunnelEvent, Subscription, Volunteer
from .payment_models import Payment, PaymentState
from .tariffs import zones_in_force

#: the funnel's stages, in order (opened and clicked come from the campaign's sends)
STAGES = ("invited", "opened", "clicked", "quoted", "adhesion_started", "signed", "paid", "certificate_issued")
STAGE_LABELS = {"invited": N_("Invited"), "opened": N_("Opened the e-mail"), "clicked": N_("Clicked"),
                "quoted": N_("Quoted"), "adhesion_started": N_("Adhesion started"), "signed": N_("Signed"),
                "paid": N_("Paid"), "certificate_issued": N_("Certificate issued")}
#: the programme's baseline before the funnel: subscriptions a month
BASELINE = (40, 100)
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

    @cached_property
    def months(self) -> list[date]:
        out, m = [], self.first
        while m <= self.last:
            out.append(m)
            m = add_months(m, 1)
        return out

    @cached_property
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


def _volunteer_filters(f: Filters, zones: dict[str, int], columns=Volunteer) -> list:
    """The filters on the volunteer: on `Volunteer`, or on a table holding a copy of its mission country and
    language (the summary's)."""
    where = []
    if f.country:
        where.append(columns.mission_country == f.country)
    if f.language:
        where.append(columns.language == f.language)
    if f.zone is not None:
        where.append(columns.mission_country.in_([c for c, z in zones.items() if z == f.zone]))
    return where


def _flag(stage: str, cover: Cover | None):
    """Whether a cohort volunteer reached `stage` (from "quoted" on), as a SQL expression over the summary: with a
    cover filter, an event for that cover (or for none) and, past "quoted" and "paid", quoted for it."""
    t = VolunteerFunnel.__table__.c
    if cover is None:
        return t[stage]
    reached = t[f"{stage}_{cover.value}"]
    return reached if stage in ("quoted", "paid") else and_(reached, t[f"quoted_{cover.value}"])


@dataclass
class _Group:
    """The cohort volunteers sharing a month of first invitation, its step, a mission country and a language, with
    how many of them reached each stage."""

    month: date
    step: str
    country: str
    language: str
    zone: int | None
    reached: list[int]


def _cohort(session: Session, f: Filters, zones: dict[str, int]) -> list[_Group]:
    """The period's cohort (the volunteers whose first invitation falls in it, the filters applied), counted per
    group in SQL from the funnel's per-volunteer summary (funnel.kpi_summary): one range read of an index holding
    every column read, in the GROUP BY's order; no join (the summary carries the volunteer's country and
    language)."""
    t = VolunteerFunnel.__table__.c
    hits = [func.sum(case((_flag(stage, f.cover), 1), else_=0)) for stage in STAGES[3:]]
    # the period is whole months: its first invitations are those whose month falls in it
    stmt = (select(t.first_invited_month, t.first_step, t.mission_country, t.language, func.count(),
                   func.sum(case((t.opened, 1), else_=0)), func.sum(case((t.clicked, 1), else_=0)), *hits)
            .where(t.first_invited_month >= f.first, t.first_invited_month < f.end, *_volunteer_filters(f, zones, t))
            .group_by(t.first_invited_month, t.first_step, t.mission_country, t.language))
    out = []
    for month, step, country, language, *counts in session.execute(stmt):
        if f.cover is not None and step is not None and step in STEPS and STEPS[step].promotes is not f.cover:
            continue
        out.append(_Group(month, step or "staff", country, (language or "")[:2].lower(), zones.get(country),
                          [int(n or 0) for n in counts]))
    return out


def _count_rows(groups: list[_Group], key_of) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for g in groups:
        key = key_of(g)
        row = out.get(key)
        out[key] = list(g.reached) if row is None else [a + b for a, b in zip(row, g.reached, strict=True)]
    return out


def _funnel_tables(f: Filters, cohort: list[_Group]) -> list[Table]:
    columns = [STAGE_LABELS[s] for s in STAGES]
    chain = tuple(range(len(STAGES)))
    total = [sum(g.reached[i] for g in cohort) for i in range(len(STAGES))]

    def table(key, title, kind, key_of, order=None, groups=None):
        counted = _count_rows(cohort, key_of)
        keys = order if order is not None else sorted(counted)
        rows = [(k, list(counted.get(k, [0] * len(STAGES)))) for k in keys]
        return Table(key, title, kind, columns, rows, list(total), chain=chain, parts=True, counts=chain,
                     groups=groups or {})

    zone_key = lambda g: str(g.zone or UNKNOWN)  # noqa: E731
    zone_of = {g.country: g.zone for g in cohort}
    countries = sorted(zone_of)
    return [
        table("funnel_by_month", N_("Funnel by month of invitation"), "month",
              lambda g: g.month.isoformat(), [m.isoformat() for m in f.months]),
        table("funnel_by_zone", N_("Funnel by zone"), "zone", zone_key,
              [str(z) for z in ZONES] + ([UNKNOWN] if any(zone_key(g) == UNKNOWN for g in cohort) else [])),
        table("funnel_by_country", N_("Funnel by mission country"), "country", lambda g: g.country,
              countries, {c: zone_of[c]
                          for c in countries}),
        table("funnel_by_step", N_("Funnel by campaign step of the first invitation"), "step", lambda g: g.step),
        table("funnel_by_language", N_("Funnel by language"), "language", lambda g: g.language),
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
    mission_start: date
    #: the months of `start` and `end` as year × 12 + month (`_index` without date arithmetic per use)
    start_month: int = 0
    end_month: int = 0


def _subscriptions(session: Session, f: Filters, zones) -> list[_Sub]:
    rows = session.execute(select(Subscription.volunteer_id, cast(Subscription.choices, String), Subscription.signed_at,
                                  Subscription.start_on, Subscription.ends_on, Subscription.withdrawn_at,
                                  Subscription.certificate_issued_at, Volunteer.mission_start)
                           .join(Volunteer, Volunteer.id == Subscription.volunteer_id)
                           .where(Subscription.signed_at.is_not(None), *_volunteer_filters(f, zones)))
    # the covers chosen, read from the JSON's text (its keys are the covers' values, quoted): parsing thousands of
    # small JSON documents cost more than the rest of the figures
    covers_of: dict[str, frozenset[Cover]] = {}  # many subscriptions share their choices' text
    subs = []
    for vid, choices, signed, start, end, withdrawn, cert, mission in rows:
        covers = covers_of.get(choices)
        if covers is None:
            covers = covers_of[choices] = frozenset(c for c in Cover if f'"{c.value}"' in choices)
        subs.append(_Sub(vid, covers, signed, start, end, withdrawn is not None, cert, mission,
                         start.year * 12 + start.month, end.year * 12 + end.month))
    return [s for s in subs if f.cover is None or f.cover in s.covers]


def _in_post(session: Session, f: Filters, zones) -> list[int]:
    """Volunteers in post on a day of each month of the period (missions counted by their start and end)."""
    pairs = session.execute(select(Volunteer.mission_start, Volunteer.mission_end, func.count())
                            .where(Volunteer.mission_start < f.end, Volunteer.mission_end >= f.first,
                                   *_volunteer_filters(f, zones))
                            .group_by(Volunteer.mission_start, Volunteer.mission_end)).all()
    # a mission of start S and end E is in post in month i when S's month <= i <= E's month: +n from the one, -n
    # after the other, then running sums (rather than each month against every distinct mission)
    n = len(f.months)
    steps = [0] * (n + 1)
    for start, end, count in pairs:
        lo, hi = max(_index(f, start), 0), min(_index(f, end), n - 1)
        if lo <= hi:
            steps[lo] += count
            steps[hi + 1] -= count
    return list(accumulate(steps[:n]))


def _index(f: Filters, day: date) -> int:
    """The month of `day` as an index into the period's months (negative before, past the end after)."""
    return (day.year - f.first.year) * 12 + day.month - f.first.month


def _holders(f: Filters, subs: list[_Sub], covers) -> dict[Cover, list[int]]:
    """For each cover and month of the period, how many volunteers held it on a day of the month: each volunteer's
    subscriptions' months merged, then counted with running sums."""
    n, first = len(f.months), f.first.year * 12 + f.first.month
    spans: dict[Cover, dict[int, list[tuple[int, int]]]] = {c: defaultdict(list) for c in covers}
    for s in subs:
        if s.withdrawn:
            continue
        lo, hi = max(s.start_month - first, 0), min(s.end_month - first, n - 1)
        if lo > hi:
            continue
        for c in s.covers:
            if c in spans:
                spans[c][s.volunteer_id].append((lo, hi))
    out = {}
    for c, by_volunteer in spans.items():
        steps = [0] * (n + 1)
        for held in by_volunteer.values():
            held.sort()
            lo, hi = held[0]
            for next_lo, next_hi in held[1:]:
                if next_lo > hi + 1:
                    steps[lo] += 1
                    steps[hi + 1] -= 1
                    lo = next_lo
                hi = max(hi, next_hi)
            steps[lo] += 1
            steps[hi + 1] -= 1
        out[c] = list(accumulate(steps[:n]))
    return out


def _subscription_tables(f: Filters, in_post_by_month: list[int], subs: list[_Sub]) -> list[Table]:
    covers = [f.cover] if f.cover else list(Cover)
    per_month, rate_rows = Counter(month_of(s.signed_at) for s in subs), []
    holders = _holders(f, subs, covers)
    for i, (m, in_post) in enumerate(zip(f.months, in_post_by_month, strict=True)):
        row = [in_post]
        for cover in covers:
            n = holders[cover][i]
            row += [n, n / in_post if in_post else None]
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
    return [monthly, rate, _cross_selling(f, subs), _time_to_subscribe(f, subs)]


def _cross_selling(f: Filters, subs: list[_Sub]) -> Table:
    held: dict[int, set[Cover]] = defaultdict(set)
    last = f.last.year * 12 + f.last.month
    for s in subs:
        if not s.withdrawn and s.start_month <= last <= s.end_month:
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


def _time_to_subscribe(f: Filters, subs: list[_Sub]) -> Table:
    days = [float((s.signed_at.date() - s.mission_start).days) for s in subs
            if f.first <= s.signed_at.date() < f.end]
    return Table("time_to_subscribe", N_("Days from the mission's start to the subscription"), "figure",
                 [N_("Subscriptions"), N_("First quartile"), N_("Median"), N_("Third quartile")],
                 [_duration_row("days", sorted(days))], counts=(0,), durations=(1, 2, 3))


# --- service quality ----------------------------------------------------------------------------------------

def _service(session: Session, f: Filters, subs: list[_Sub], zones) -> list[Table]:
    hours = sorted((s.certificate_at - s.signed_at).total_seconds() / 3600 for s in subs
                   if s.certificate_at is not None and f.first <= s.certificate_at.date() < f.end)
    certificate = Table("time_to_certificate", N_("Hours from the signature to the certificate"), "figure",
                        [N_("Certificates"), N_("First quartile"), N_("Median"), N_("Third quartile")],
                        [_duration_row("hours", hours)], counts=(0,), durations=(1, 2, 3))
    start, end = _bounds(f)
    failed = session.execute(select(Payment.volunteer_id, Payment.purpose, Payment.created_at)
                             .join(Volunteer, Volunteer.id == Payment.volunteer_id)
                             .where(Payment.state == PaymentState.failed, Payment.created_at >= start,
                                    Payment.created_at < end, *_volunteer_filters(f, zones))).all()
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
    return [certificate, payments, register, _campaign_rates(session, f, zones)]


def _bounds(f: Filters) -> tuple[datetime, datetime]:
    return (datetime.combine(f.first, datetime.min.time(), UTC), datetime.combine(f.end, datetime.min.time(), UTC))


def _campaign_rates(session: Session, f: Filters, zones: dict[str, int]) -> Table:
    start, end = _bounds(f)
    # a click shows the e-mail was opened, images blocked or not (funnel.campaigns.record_click)
    opened_, clicked_ = (func.sum(case((or_(CampaignSend.opens > 0, CampaignSend.clicks > 0), 1), else_=0)),
                         func.sum(case((CampaignSend.clicks > 0, 1), else_=0)))
    stmt = (select(CampaignSend.step, func.count(), opened_, clicked_)
            .where(CampaignSend.queued_at >= start, CampaignSend.queued_at < end)
            .group_by(CampaignSend.step))
    where = _volunteer_filters(f, zones)
    if where:
        stmt = stmt.where(CampaignSend.volunteer_id.in_(select(Volunteer.id).where(*where)))
    # every send of the period (one index range per step), less those to the volunteers who refused tracking (few:
    # their sends read from their ids, rather than an anti-join probing every send)
    figures = {step: [n, opened or 0, clicked or 0] for step, n, opened, clicked in session.execute(stmt)}
    refusing = select(CampaignPreference.volunteer_id).where(CampaignPreference.tracking_refused_at.is_not(None))
    if session.scalar(select(refusing.exists())):
        for step, n, opened, clicked in session.execute(stmt.where(CampaignSend.volunteer_id.in_(refusing))):
            for i, value in enumerate((n, opened or 0, clicked or 0)):
                figures[step][i] -= value
    rows = []
    for step in PLAN:
        n, opened, clicked = figures.get(step.code, (0, 0, 0))
        reported = step.programme_open_rate / 100 if step.programme_open_rate is not None else None
        rows.append((step.code, [n, opened, opened / n if n else None, reported, clicked, clicked / n if n else None]))
    return Table("campaign_rates", N_("Open and click rates per campaign step"), "step",
                 [N_("Sent"), N_("Opened"), N_("Open rate"), N_("Open rate reported by the programme"),
                  N_("Clicked"), N_("Click rate")], rows, rates={2: (1, 0), 5: (4, 0)}, counts=(0, 1, 4))


# --- all of it ----------------------------------------------------------------------------------------------

def compute(session: Session, f: Filters, *, today: date | None = None) -> Kpis:
    """Every KPI for the period and filters."""
    zones = _zones(session, today or f.last)
    funnel = _funnel_tables(f, _cohort(session, f, zones))
    subs = _subscriptions(session, f, zones)
    tables = [*funnel, _drop_off(funnel[0]), *_subscription_tables(f, _in_post(session, f, zones), subs),
              *_service(session, f, subs, zones)]
    return Kpis(f, {t.key: t for t in tables})


def version(session: Session) -> tuple:
    """What the KPIs are counted from, in one cheap statement: a figure kept with this version is still right
    (funnel events are append-only; payments, subscriptions and volunteers carry `updated_at`). A send's first
    open or click changes no version: the figure cache recounts those within its `MAX_AGE` (a minute)."""
    return tuple(session.execute(select(
        select(func.max(FunnelEvent.id)).scalar_subquery(),
        select(func.max(CampaignSend.id)).scalar_subquery(),
        select(func.max(Payment.updated_at)).scalar_subquery(),
        select(func.max(Subscription.updated_at)).scalar_subquery(),
        select(func.count()).select_from(Complaint).scalar_subquery(),
        select(func.max(Volunteer.id)).scalar_subquery(),
        select(func.max(Volunteer.updated_at)).scalar_subquery(),
    )).one())


def default_period(today: date, months: int = 12) -> tuple[date, date]:
    last = month_of(today)
    return add_months(last, 1 - months), last


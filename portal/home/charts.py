"""The charts of each role's home page: the domain's figures (one aggregate query each) turned into
`portal.charts` charts, labelled in the reader's language.

A home page is the most visited page, and its charts change only when the data under them does: each home's
whole chart block (`home/_charts.html`: the SVGs, legends and tables) is kept drawn as HTML per language and
*version* of its data (`block`), so a page whose data did not change pays one cheap version lookup — often a
column of the statement that reads its headline figures — and writes the block out as it is."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from babel.dates import format_date
from flask import render_template
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from agreements.figures import agreements_by_state
from compliance.figures import health_refusals_by_week
from core.audit import AuditHead
from core.i18n import N_
from ledger import receipts
from ledger.figures import commission_by_month, partner_commission_by_month
from ledger.figures import version as ledger_version
from pipeline.figures import AGE_BUCKETS, funnel, queue_ageing
from pipeline.figures import version as pipeline_version

from ..charts import Chart, Series, bars, columns
from ..figure_cache import cached
from ..i18n import _request_locale, money, percent, tr

AGE_LABELS = (N_("up to 7 days"), N_("8 to 30 days"), N_("31 to 90 days"), N_("over 90 days"))
RECEIVABLE_AGE_LABELS = (N_("up to 30 days"), N_("31 to 60 days"), N_("61 to 90 days"), N_("over 90 days"))
#: the audit chain's head: a scalar subquery for the statement of a home's headline figures
AUDIT_HEAD = select(AuditHead.seq).where(AuditHead.id == 1).scalar_subquery()
assert len(AGE_LABELS) == len(AGE_BUCKETS) and len(RECEIVABLE_AGE_LABELS) == len(receipts.BUCKETS)


def block(key: tuple, version, build: Callable[[], list[Chart]]) -> Markup:
    """The home's chart block, drawn from `build()`'s charts in the reader's language, and kept until `version`
    changes (or a minute has passed: see `figure_cache`). Nothing of the reader but their language is in it."""
    return cached((*key, str(_request_locale())), version,
                  lambda: Markup(render_template("home/_charts.html", charts=build())))


def months(end: date, n: int = 12) -> list[date]:
    """The first days of the `n` months up to `end`'s, oldest first."""
    first, out = end.replace(day=1), []
    for _i in range(n):
        out.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return out[::-1]


def month_label(first: date) -> str:
    return format_date(first, "MMM yy", locale=_request_locale())


def _money(currency: str):
    return lambda minor: money(minor, currency)


def _by_month(rows, currency: str, end: date, fields: tuple[str, ...], carry: str | None = None) -> list[list[int]]:
    """The figures of `fields` for each of the 12 months to `end`, zero when a month has none (`carry`: a
    balance field whose last value carries over a month without postings)."""
    known = {r.month: r for r in rows if r.currency == currency}
    out, last = [[] for _f in fields], 0
    for first in months(end):
        r = known.get(f"{first:%Y-%m}")
        for i, f in enumerate(fields):
            if f == carry:
                last = getattr(r, f) if r else last
                out[i].append(last)
            else:
                out[i].append(getattr(r, f) if r else 0)
    return out


def partner_pipeline(pipeline, is_introducer: bool) -> Chart:
    """From the rows the partner home already read: open cases (or referrals) per stage."""
    return bars(Chart("chart-pipeline", tr(N_("Your referrals by stage") if is_introducer else N_("Your cases by stage")),
                      tr(N_("How many of your cases in progress are at each stage; the figures are behind the chart.")),
                      [tr(status.label) for status, _row, _step in pipeline],
                      [Series(tr(N_("Count")), [row.n if row else 0 for _s, row, _step in pipeline])],
                      category_heading=tr(N_("Stage"))))


def partner(session: Session, partner: str, pipeline, is_introducer: bool, today: date, ledger: int | None) -> Markup:
    """The partner home's block: its pipeline (from the rows the page already read, which are part of the
    version) and its commission by month (kept until something is posted to the ledger: entries are
    append-only; `ledger` is the ledger's version, `ledger.figures.VERSION`, read with the page's figures)."""
    counts = tuple(row.n if row else 0 for _s, row, _step in pipeline)
    return block(("partner", partner, is_introducer, today), (counts, ledger),
                 lambda: [partner_pipeline(pipeline, is_introducer), *_partner_commission(session, partner, today)])


def _partner_commission(session: Session, partner: str, today: date) -> list[Chart]:
    rows = partner_commission_by_month(session, partner, months(today)[0], today)
    charts = []
    for currency in sorted({r.currency for r in rows}):
        accrued, held, paid = _by_month(rows, currency, today, ("accrued_minor", "held_minor", "paid_minor"),
                                        carry="held_minor")
        charts.append(columns(Chart(
            f"chart-commission-{currency.lower()}", tr(N_("Your commission by month (%(currency)s)"), currency=currency),
            tr(N_("Commission accrued each month, what is still held for a disclosure approval at the month's end, "
                  "and what was paid.")),
            [month_label(m) for m in months(today)],
            [Series(tr(N_("accrued")), accrued), Series(tr(N_("held")), held), Series(tr(N_("paid")), paid)],
            fmt=_money(currency), category_heading=tr(N_("Month")))))
    return charts


def manager(session: Session, now: datetime) -> Markup:
    """Both figures scan every case: counted again only when a case was created or moved (or after a minute),
    and drawn again in a language only then."""
    version = pipeline_version(session)

    def build() -> list[Chart]:
        ageing, steps = cached("manager-charts", version, lambda: (queue_ageing(session, now), funnel(session)))
        return [
            bars(Chart("chart-ageing", tr(N_("Open cases by days waiting in their stage")),
                       tr(N_("How long the open cases have waited in their current stage.")),
                       [tr(label) for label in AGE_LABELS], [Series(tr(N_("Open cases")), ageing)],
                       category_heading=tr(N_("Waiting")))),
            _funnel_chart(steps),
        ]
    return block(("manager",), version, build)


def _funnel_chart(steps) -> Chart:
    conversion = ["—" if s.conversion is None else percent(s.conversion) or "0%" for s in steps]
    return bars(Chart("chart-funnel", tr(N_("Pipeline funnel")),
                      tr(N_("Cases that reached each stage, and the share of the previous stage's cases that got "
                            "there.")),
                      [tr(s.stage.label) for s in steps],
                      [Series(tr(N_("Cases")), [s.reached for s in steps]),
                       Series(tr(N_("Conversion from the previous stage")), [0] * len(steps), conversion)],
                      category_heading=tr(N_("Stage"))))


def finance(session: Session, today: date) -> Markup:
    """Kept, drawn, until something is posted to the ledger (entries are append-only)."""
    return block(("finance", today), ledger_version(session), lambda: _finance(session, today))


def _finance(session: Session, today: date) -> list[Chart]:
    rows = commission_by_month(session, months(today)[0], today)
    ageing = receipts.ageing_totals(receipts.receivables_ageing(session, today))
    charts = []
    for currency in sorted({r.currency for r in rows}):
        series = _by_month(rows, currency, today, ("accrued_minor", "released_minor", "paid_minor",
                                                    "clawed_back_minor"))
        labels = (N_("accrued"), N_("released"), N_("paid"), N_("clawed back"))
        charts.append(columns(Chart(
            f"chart-commission-{currency.lower()}", tr(N_("Partner commission by month (%(currency)s)"),
                                                       currency=currency),
            tr(N_("Partner commission accrued, released after disclosure approval, paid and clawed back each month.")),
            [month_label(m) for m in months(today)], [Series(tr(lb), v) for lb, v in zip(labels, series, strict=True)],
            fmt=_money(currency), csv_url=None, category_heading=tr(N_("Month")))))
    for currency, total in ageing.items():
        charts.append(bars(Chart(
            f"chart-receivables-{currency.lower()}", tr(N_("Commission receivable by age (%(currency)s)"),
                                                        currency=currency),
            tr(N_("What insurers still owe, by how long it has been due.")),
            [tr(label) for label in RECEIVABLE_AGE_LABELS], [Series(tr(N_("Open")), list(total.buckets))],
            fmt=_money(currency), category_heading=tr(N_("Age")))))
    return charts


def oversight(session: Session, today: date, audit_head: int | None) -> Markup:
    """Admin and compliance: leads refused for health data by week, agreements by state. A refusal and every
    change of an agreement's state are audited: the block is kept until the audit chain's head (`audit_head`,
    read with the page's headline figures: `AUDIT_HEAD`) moves."""
    return block(("oversight", today), audit_head, lambda: _oversight(session, today))


def _oversight(session: Session, today: date) -> list[Chart]:
    weeks, states = health_refusals_by_week(session, today), agreements_by_state(session)
    locale = _request_locale()
    return [
        columns(Chart("chart-health-refusals", tr(N_("Leads refused for health data, by week")),
                      tr(N_("Referrals the portal refused because their description stated health information, each "
                            "week of the last twelve.")),
                      [format_date(d, "d MMM", locale=locale) for d, _n in weeks],
                      [Series(tr(N_("Refusals")), [n for _d, n in weeks])],
                      category_heading=tr(N_("Week of")))),
        bars(Chart("chart-agreements", tr(N_("Agreements by state")), tr(N_("How many agreements are in each state.")),
                   [tr(s.label) for s in states], [Series(tr(N_("Agreements")), list(states.values()))],
                   category_heading=tr(N_("State")))),
    ]

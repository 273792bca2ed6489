"""The KPIs as the pages, the report and the CLI show them: each table's cells formatted in the reader's language
(a withheld cell as "< 5" or "·"), its rows named, and the charts drawn from the same figures."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from core.i18n import N_
from funnel import kpis
from funnel.campaign_plan import STEPS
from funnel.disclosure import Withheld, publish
from funnel.kpis import Filters, Kpis, Table

from ..charts import Chart, Series, bars, columns
from ..figure_cache import cached
from ..i18n import _request_locale, country_name, format_month, percent, tr

LANGUAGE_NAMES = {"fr": N_("French"), "en": N_("English")}


def staff_kpis(session: Session, f: Filters) -> Kpis:
    """Every figure for the broker's staff (kept until the records under them change)."""
    return cached(("kpis", f), kpis.version(session), lambda: kpis.compute(session, f))


def programme_kpis(session: Session, month: date) -> Kpis:
    """What the programme reads for `month`: the year to that month and the month's breakdowns, suppressed."""
    first, last = kpis.default_period(month)

    def compute():
        return publish(kpis.compute(session, Filters(first, last)), kpis.compute(session, Filters(month, month)))

    return cached(("programme-kpis", month), kpis.version(session), compute)


def row_label(table: Table, key: str) -> str:
    kind = table.row_kind
    if kind == "month":
        return format_month(date.fromisoformat(key))
    if kind == "zone":
        return tr(N_("Zone %(zone)s"), zone=key) if key != kpis.UNKNOWN else tr(N_("No zone"))
    if kind == "country":
        return country_name(key)
    if kind == "step":
        return tr(STEPS[key].label) if key in STEPS else tr(N_("Link sent by staff"))
    if kind == "language":
        return tr(LANGUAGE_NAMES[key]) if key in LANGUAGE_NAMES else (key or "—")
    if kind == "stage":
        return tr(kpis.STAGE_LABELS[key])
    return tr(table.title)


def cell(table: Table, column: int, value) -> str:
    if isinstance(value, Withheld):
        return str(value)
    if value is None:
        return "—"
    if isinstance(value, float) and column in table.durations:
        return f"{value:.1f}"
    if isinstance(value, float):
        return percent(value) if value else "0%"
    return f"{value:,}".replace(",", "\u202f")


def rows(table: Table) -> list[tuple[str, list[str]]]:
    out = [(row_label(table, k), [cell(table, c, v) for c, v in enumerate(values)]) for k, values in table.rows]
    if table.total is not None:
        out.append((tr(N_("Total")), [cell(table, c, v) for c, v in enumerate(table.total)]))
    return out


def headings(table: Table) -> list[str]:
    return [tr(c) for c in table.columns]


def _n(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def charts(k: Kpis) -> list[Chart]:
    out = []
    funnel = k["funnel_by_zone"].total or [0] * len(kpis.STAGES)
    texts = []
    for i, v in enumerate(funnel):
        before = funnel[i - 1] if i else None
        if i == 0 or isinstance(v, Withheld) or isinstance(before, Withheld) or not before:
            texts.append("—")
        else:
            texts.append(percent(v / before) or "0%")
    out.append(bars(Chart("chart-kpi-funnel", tr(N_("Funnel: invited to certificate")),
                          tr(N_("Volunteers of the period's invitations who reached each stage, and the share of the "
                                "stage before.")),
                          [tr(kpis.STAGE_LABELS[s]) for s in kpis.STAGES],
                          [Series(tr(N_("Volunteers")), [_n(v) for v in funnel], [str(v) for v in funnel]),
                           Series(tr(N_("Conversion from the previous stage")), [0] * len(funnel), texts)],
                          category_heading=tr(N_("Stage")))))
    monthly = k["subscriptions_by_month"]
    out.append(columns(Chart("chart-kpi-subscriptions", tr(N_("Subscriptions per month against the baseline")),
                             tr(N_("Adhesions signed each month, next to the 40 to 100 a month before the funnel.")),
                             [_month_tick(key) for key, _v in monthly.rows],
                             [Series(tr(monthly.columns[i]), [_n(v[i]) for _k, v in monthly.rows],
                                     [cell(monthly, i, v[i]) for _k, v in monthly.rows]) for i in range(3)],
                             category_heading=tr(N_("Month")))))
    rate = k["subscription_rate"]
    series = []
    for c in sorted(rate.rates):
        series.append(Series(tr(rate.columns[c - 1]), [_permille(v[c]) for _k, v in rate.rows],
                             [cell(rate, c, v[c]) for _k, v in rate.rows]))
    out.append(columns(Chart("chart-kpi-rate", tr(N_("Subscription rate among volunteers in post")),
                             tr(N_("The share of the volunteers in post each month who held each cover.")),
                             [_month_tick(key) for key, _v in rate.rows], series,
                             fmt=lambda v: f"{v / 10:.1f}%", category_heading=tr(N_("Month")))))
    steps = k["campaign_rates"]
    out.append(columns(Chart("chart-kpi-open-rates", tr(N_("Open rate per campaign step: ours and the programme's")),
                             tr(N_("The share of each step's e-mails opened, next to the rate the programme reported.")),
                             [STEPS[key].offset_label for key, _v in steps.rows],
                             [Series(tr(steps.columns[2]), [_permille(v[2]) for _k, v in steps.rows],
                                     [cell(steps, 2, v[2]) for _k, v in steps.rows]),
                              Series(tr(steps.columns[3]), [_permille(v[3]) for _k, v in steps.rows],
                                     [cell(steps, 3, v[3]) for _k, v in steps.rows])],
                             fmt=lambda v: f"{v / 10:.0f}%", category_heading=tr(N_("Step")))))
    return out


def _month_tick(key: str) -> str:
    """A month under a chart's column ("Dec 25", "déc. 25"): twelve of "décembre 2025" overlap at any width; the
    tables below the charts name the months in full."""
    from babel.dates import format_date

    return format_date(date.fromisoformat(key), "MMM yy", locale=_request_locale())


def _permille(value) -> int:
    return round(value * 1000) if isinstance(value, float) else 0



"""Finance's overview (accrued against paid, month by month), failed postings, accruals and the trial balance."""
from __future__ import annotations

from datetime import date, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from core.accounts import Role
from ledger import commissions, engine, payouts, posting, reports

from ...charts import Chart, Series, columns
from ...edge import unit_of_work
from ...extensions import db
from ...home.charts import month_label
from ...i18n import money, tr
from ...security.access import allow
from ..account_names import account_names
from ..blueprint import bp
from ..common import READERS, months_back, org_names, today, wants_csv
from ..exports import csv_response, decimal_amount
from ..forms import parse_month


@bp.route("/")
@allow(*READERS)
def index():
    figures = reports.accrued_vs_paid(db.session, months_back(12), today())
    by_currency: dict[str, list] = {}
    for f in figures:
        by_currency.setdefault(f.currency, []).append(f)
    if wants_csv():
        return csv_response("accrued-vs-paid.csv", ["month", "currency", "accrued", "paid"],
                            [(f.month, f.currency, decimal_amount(f.accrued_minor, f.currency),
                              decimal_amount(f.paid_minor, f.currency)) for f in figures])
    pending = len(commissions.pending_events(db.session))
    failed = posting.failures(db.session)
    open_runs = payouts.runs(db.session, limit=5)
    return render_template("finance/index.html", by_currency=by_currency, pending=pending, failed=failed,
                           open_runs=open_runs, charts=_chart(by_currency))


def _chart(by_currency: dict[str, list]) -> dict[str, Chart]:
    """Accrued against paid for each of the last 12 months, per currency; a month with nothing shows empty
    bars rather than disappearing."""
    months = []
    first = months_back(12)
    while first <= today():
        months.append(first)
        first = engine.month_end(first) + timedelta(days=1)
    charts = {}
    for currency, rows in by_currency.items():
        known = {r.month: r for r in rows}
        figures = [known.get(f"{m:%Y-%m}") or reports.MonthFigures(f"{m:%Y-%m}", currency, 0, 0) for m in months]
        charts[currency] = columns(Chart(
            f"chart-accrued-paid-{currency.lower()}", _("Accrued and paid per month in %(currency)s", currency=currency),
            _("Partner commission accrued (net of clawbacks) and paid each month; the figures are behind the chart."),
            [month_label(m) for m in months],
            [Series(_("Accrued"), [f.accrued_minor for f in figures]), Series(_("Paid"), [f.paid_minor for f in figures])],
            fmt=lambda minor, currency=currency: money(minor, currency), csv_url=url_for("finance.index", format="csv"),
            category_heading=_("Month")))
    return charts


@bp.route("/post-events", methods=["POST"])
@allow(Role.finance)
def post_events():
    """Retry failed postings: post every business event the outbox worker could not (or has not yet)."""
    with unit_of_work():
        report = posting.post_pending(db.session, today())
    flash(ngettext("%(num)s business event posted.", "%(num)s business events posted.", len(report.posted)),
          "success")
    for failure in report.failed[:10]:
        flash(_("Not posted: %(reason)s", reason=tr(failure.reason, **failure.params)), "error")
    return redirect(url_for("finance.index"))


@bp.route("/accruals")
@allow(*READERS)
def accruals():
    start = parse_month(request.args.get("from")) or months_back(12)
    end_month = parse_month(request.args.get("to")) or today().replace(day=1)
    end = engine.month_end(end_month)
    rows = reports.accruals(db.session, start, end)
    names = org_names()
    if wants_csv():
        return csv_response("accruals.csv", ["month", "insurer", "partner", "currency", "entries",
                                             "broker_commission", "partner_share", "retained"],
                            [(r.month, r.insurer, names.get(r.partner, r.partner or ""), r.currency, r.entries,
                              decimal_amount(r.commission_minor, r.currency),
                              decimal_amount(r.partner_share_minor, r.currency),
                              decimal_amount(r.retained_minor, r.currency)) for r in rows])
    return render_template("finance/accruals.html", rows=rows, names=names, start=start, end=end_month)


@bp.route("/trial-balance")
@allow(*READERS)
def trial_balance():
    try:
        as_of = date.fromisoformat(request.args["as_of"]) if request.args.get("as_of") else None
    except ValueError:
        as_of = None
        flash(_("Enter the date as YYYY-MM-DD."), "error")
    tb = engine.trial_balance(db.session, as_of)
    if wants_csv():
        return csv_response("trial-balance.csv", ["currency", "account", "type", "debit", "credit"],
                            [(currency, acct.code, acct.type.value,
                              decimal_amount(value, currency) if value > 0 else "",
                              decimal_amount(-value, currency) if value < 0 else "")
                             for currency, rows in tb.items() for acct, value in rows])
    totals = {c: (sum(v for _a, v in rows if v > 0), -sum(v for _a, v in rows if v < 0)) for c, rows in tb.items()}
    names = account_names(db.session, {acct.code for rows in tb.values() for acct, _v in rows})
    return render_template("finance/trial_balance.html", tb=tb, totals=totals, as_of=as_of, names=names)

"""The programme's KPIs: the staff dashboard (every filter, the raw figures), the programme's read-only view (one
month at a time, aggregates with groups under 5 withheld: funnel.disclosure) and the monthly report both download."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _

from core.accounts import Role
from core.db import utcnow
from funnel import kpis
from funnel.catalogue import ZONES, Cover
from funnel.countries import is_country
from funnel.dates import add_months
from funnel.kpis import Filters

from ..extensions import db
from ..security.access import STAFF, allow
from . import figures, report

bp = Blueprint("programme", __name__, url_prefix="/programme")

#: who reads the programme's view and its report: the programme's viewers, and the staff who send it to them
READERS = (Role.programme_viewer, *STAFF)
#: the longest period the dashboard counts over
MAX_MONTHS = 36


def _month(text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        abort(400)


def _last_closed_month() -> date:
    return add_months(utcnow().date().replace(day=1), -1)


def _filters(args) -> tuple[Filters, dict[str, str]]:
    """The dashboard's filters from the query string; a bad value is named and left out."""
    errors: dict[str, str] = {}
    default_first, default_last = kpis.default_period(utcnow().date())
    first, last = default_first, default_last
    for name, value in (("first", args.get("first")), ("last", args.get("last"))):
        if value:
            try:
                year, month = value.split("-")
                parsed = date(int(year), int(month), 1)
            except ValueError:
                errors[name] = _("Enter a month as YYYY-MM.")
                continue
            first, last = (parsed, last) if name == "first" else (first, parsed)
    if first > last or (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
        errors["last"] = _("The period runs from its first month to its last, %(n)s months at most.", n=MAX_MONTHS)
        first, last = default_first, default_last
    zone = args.get("zone") or None
    if zone is not None and zone not in {str(z) for z in ZONES}:
        errors["zone"], zone = _("Choose a zone from the list."), None
    country = (args.get("country") or "").upper() or None
    if country is not None and not is_country(country):
        errors["country"], country = _("Enter a country as its two-letter code."), None
    cover = args.get("cover") or None
    if cover is not None and cover not in {c.value for c in Cover}:
        errors["cover"], cover = _("Choose a cover from the list."), None
    language = args.get("language") or None
    if language is not None and language not in figures.LANGUAGE_NAMES:
        errors["language"], language = _("Choose a language from the list."), None
    return Filters(first, last, int(zone) if zone else None, country, Cover(cover) if cover else None,
                   language), errors


@bp.route("/kpis")
@allow(*STAFF)
def dashboard():
    f, errors = _filters(request.args)
    k = figures.staff_kpis(db.session, f)
    return render_template("programme/dashboard.html", k=k, f=f, errors=errors, figures=figures,
                           charts=figures.charts(k), zones=ZONES, covers=list(Cover),
                           languages=figures.LANGUAGE_NAMES, report_month=_last_closed_month()), \
        (400 if errors else 200)


@bp.route("/")
@allow(*READERS)
def view():
    month = _month(request.args.get("month"), _last_closed_month())
    if month > utcnow().date():
        abort(404)
    k = figures.programme_kpis(db.session, month)
    this_month = utcnow().date().replace(day=1)
    return render_template("programme/view.html", k=k, month=month, figures=figures, charts=figures.charts(k),
                           months=[add_months(this_month, -i) for i in range(MAX_MONTHS)])


@bp.route("/report")
@allow(*READERS)
def monthly_report():
    month = _month(request.args.get("month"), _last_closed_month())
    fmt = request.args.get("format", "pdf")
    if fmt not in report.FORMATS or month > utcnow().date():
        abort(404)
    body = report.render(figures.programme_kpis(db.session, month), month, fmt)
    return Response(body, mimetype=report.FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{report.filename(month, fmt)}"'})

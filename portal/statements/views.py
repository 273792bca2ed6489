"""Commission statement pages and downloads (PDF, CSV).

Partner users (any role, any firm status) read their own firm's statements; another firm's id is "not found".
Finance and administrators read any firm's; the other staff roles are refused. The page is in the reader's
language; the PDF and CSV are the firm's document, in the firm's language whoever downloads them
(rendering.statement_language).
"""
from __future__ import annotations

from babel.dates import format_date
from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.accounts import Organisation
from ledger.statements import parse_period, partner_statement, statement_periods

from ..extensions import db
from ..security import policy
from ..security.access import permit
from ..security.scoping import get_scoped_or_404
from . import rendering
from .blueprint import bp


def month_label(period) -> str:
    return format_date(period, "LLLL yyyy", locale=get_locale())


def _firm(org_public_id: str) -> Organisation:
    """The firm asked for: a partner user only reaches their own (another's is a 404)."""
    return get_scoped_or_404(Organisation, org_public_id, current_user, org_column=Organisation.id)


def _period(value: str):
    try:
        return parse_period(value)
    except ValueError:
        abort(404)


def _staff_choice() -> tuple[Organisation | None, str | None]:
    """Finance's firm selector: the firm chosen (None if none or unknown) and an error for a bad period."""
    org = None
    if chosen := request.args.get("organisation"):
        org = db.session.execute(select(Organisation).where(Organisation.public_id == chosen)).scalar_one_or_none()
        if org is None:
            return None, _("No such partner firm.")
    period = request.args.get("period")
    if period:
        try:
            parse_period(period)
        except ValueError:
            return org, _("Choose a month (YYYY-MM).")
    return org, None


@bp.route("/")
@permit(policy.READ_STATEMENTS)
def index():
    error, firms = None, []
    if current_user.is_partner:
        org = current_user.organisation
        if org is None:
            abort(404)
    else:
        org, error = _staff_choice()
        if org is not None and request.args.get("period") and error is None:
            return redirect(url_for("statements.view", org_public_id=org.public_id, period=request.args["period"]))
        firms = db.session.execute(select(Organisation).order_by(Organisation.legal_name)).scalars().all()
    periods = statement_periods(db.session, org.public_id) if org is not None else []
    return render_template("statements/index.html", org=org, firms=firms, error=error, month_label=month_label,
                           periods=periods), 422 if error else 200


@bp.route("/<org_public_id>")
@permit(policy.READ_STATEMENTS)
def view(org_public_id: str):
    """One month (?period=YYYY-MM) of the firm's statement; without a month, the list of its months."""
    org = _firm(org_public_id)
    if not request.args.get("period"):
        return redirect(url_for("statements.index", **({} if current_user.is_partner else
                                                       {"organisation": org.public_id})))
    period = request.args["period"]
    start = _period(period)
    return render_template("statements/statement.html", org=org, period=period, month=month_label(start),
                           statements=partner_statement(db.session, org.public_id, start))


@bp.route("/<org_public_id>/<filename>")
@permit(policy.READ_STATEMENTS)
def download(org_public_id: str, filename: str):
    """`YYYY-MM.pdf` or `YYYY-MM.csv` (URL arguments are opaque ids or file names, never other values)."""
    org = _firm(org_public_id)
    period, _dot, fmt = filename.rpartition(".")
    if fmt not in ("pdf", "csv"):
        abort(404)
    start = _period(period)
    statements = partner_statement(db.session, org.public_id, start)
    language = rendering.statement_language(org)
    if fmt == "pdf":
        body, mimetype = rendering.statement_pdf(org.legal_name, start, statements, language), "application/pdf"
    else:
        body, mimetype = rendering.statement_csv(start, statements, language), "text/csv; charset=utf-8"
    name = f"commission-statement-{period}-{org.public_id}.{fmt}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                      "Cache-Control": "private, no-store"})

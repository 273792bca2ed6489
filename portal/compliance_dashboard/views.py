"""The compliance dashboard per partner firm (agreement, training, disclosures, copies to the partner and consent,
flagged referrals, complaints), with charts where a glance says more than a table — rendered on the server as SVG,
each with its table — and a CSV export; and a partner firm's own compliance status, which shows that firm only."""
from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts import Role
from core.csv_export import csv_text
from core.db import utcnow

from ..charts import share_bars
from ..extensions import db
from ..i18n import percent, tr
from ..security.access import allow
from . import services

bp = Blueprint("dashboard", __name__)


@bp.route("/compliance/dashboard")
@allow(Role.compliance, Role.admin)
def index():
    today = utcnow().date()
    rows = services.rows(db.session, today, cases=False)
    return render_template(
        "compliance_dashboard/index.html", rows=rows, today=today,
        disclosure_chart=_chart("chart-disclosures", services.lowest(
            rows, lambda r: r.disclosures.approval_rate if r.disclosures else None),
            _("Disclosures approved: the 15 lowest rates"),
            _("Share of each firm's contracts whose disclosures are approved; the table below holds every figure.")),
        training_chart=_chart("chart-training", services.lowest(rows, lambda r: r.training_share),
                              _("People at their training target: the 15 lowest shares"),
                              _("Share of each broker firm's people at or above their pro-rata training target this "
                                 "year; the table below holds every figure.")))


def _chart(id_: str, pairs, title: str, desc: str):
    return share_bars(id_, title, desc, pairs, _("Partner firm"), lambda row: row.organisation.legal_name, percent)


@bp.route("/compliance/dashboard.csv")
@allow(Role.compliance, Role.admin)
def export():
    rows = services.rows(db.session, utcnow().date())
    header = ["firm", "status", "lifecycle", "agreement", "people_in_training_scope", "below_training_target",
              "contracts", "disclosures_approved", "disclosures_awaiting_review", "disclosures_returned",
              "mean_days_to_approval", "cases", "consents", "consents_to_copies", "copies_sent", "copies_withheld",
              "health_data_refusals_12_months", "attribution_conflicts", "cross_border_holds", "complaints_open",
              "complaints_overdue"]
    body = []
    for r in rows:
        d, p = r.disclosures, r.pipeline
        body.append([r.organisation.legal_name, r.organisation.status.value, r.organisation.lifecycle.value,
                     r.agreement_status or "", r.trained_people, r.below_target, d.contracts if d else 0,
                     d.approved if d else 0, d.submitted if d else 0, d.returned if d else 0,
                     f"{d.mean_days_to_approval:.1f}" if d and d.mean_days_to_approval is not None else "",
                     p.cases, p.consents, p.consents_to_copies, p.copies_sent, p.copies_withheld, p.health_refusals,
                     p.attribution_conflicts, p.cross_border_holds, r.complaints_open, r.complaints_overdue])
    return Response(csv_text(header, body), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="compliance-dashboard.csv"'})


@bp.route("/firm/compliance")
@allow(Role.partner_admin, Role.partner_member)
def firm():
    """The partner's own firm: its agreement, its people's training, its contracts' disclosures still open."""
    today = utcnow().date()
    (row,) = services.rows(db.session, today, organisation=current_user.organisation)
    return render_template("compliance_dashboard/firm.html", row=row, today=today, tr=tr)

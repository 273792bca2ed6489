"""Cross-border: compliance's list of held and flagged cases, and the firms' host-state notifications (admins and
compliance keep them on the firm's page). The checks of a case are posted from its page (portal.cases.crossborder)."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from compliance import country_lists, crossborder as rules
from core.accounts import Organisation, Role
from core.db import utcnow
from pipeline.cases.crossborder import CaseCrossBorderCheck
from pipeline.cases.models import Case

from ..edge import done, unit_of_work
from ..extensions import db
from ..pagination import paginate
from ..security.access import allow
from ..security.scoping import get_or_404
from .forms import EndNotificationForm, NotificationForm
from .panel import firm_context

bp = Blueprint("crossborder", __name__, url_prefix="/compliance/cross-border")

REVIEWERS = (Role.compliance, Role.admin)
O = rules.CrossBorderOutcome
#: what the list shows unless asked otherwise: the cases held or flagged
LISTED = (O.held, O.host_state_check)


@bp.route("/")
@allow(*REVIEWERS)
def queue():
    args = {k: (request.args.get(k) or "").strip() for k in ("outcome", "state", "firm", "older_than")}
    stmt = (select(CaseCrossBorderCheck).join(CaseCrossBorderCheck.case).join(Case.organisation)
            .options(contains_eager(CaseCrossBorderCheck.case).contains_eager(Case.organisation))
            .order_by(CaseCrossBorderCheck.created_at, CaseCrossBorderCheck.id))
    outcome = O[args["outcome"]] if args["outcome"] in O.__members__ and args["outcome"] != "domestic" else None
    stmt = stmt.where(CaseCrossBorderCheck.outcome == outcome) if outcome else \
        stmt.where(CaseCrossBorderCheck.outcome.in_(LISTED))
    if args["state"] != "all":
        args["state"] = args["state"] if args["state"] == "done" else "open"
        resolved = CaseCrossBorderCheck.resolved_at
        stmt = stmt.where(resolved.is_not(None) if args["state"] == "done" else resolved.is_(None))
    if args["firm"]:
        stmt = stmt.where(Organisation.public_id == args["firm"])
    now = utcnow()
    if args["older_than"].isdigit() and int(args["older_than"]) <= 3650:
        stmt = stmt.where(CaseCrossBorderCheck.created_at <= now - timedelta(days=int(args["older_than"])))
    else:
        args["older_than"] = ""
    firms = db.session.execute(select(Organisation.public_id, Organisation.legal_name)
                               .order_by(Organisation.legal_name)).all()
    return render_template("crossborder/queue.html", page=paginate(stmt, per_page=50), args=args, now=now,
                           outcomes=[o for o in O if o is not O.domestic], firms=firms,
                           reviewed=country_lists.LAST_REVIEWED, eu=sorted(country_lists.EU_MEMBERS),
                           efta=sorted(country_lists.EEA_EFTA_MEMBERS))


# --- the firms' notifications ----------------------------------------------------------------------------

def _firm_page(org: Organisation, form: NotificationForm | None = None, status: int = 422):
    from ..onboarding.views import organisation_context

    return render_template("admin/organisation.html", **organisation_context(org),
                           **firm_context(org, form, editable=True)), status


@bp.route("/firms/<public_id>/notifications", methods=["POST"])
@allow(*REVIEWERS)
def notification_new(public_id: str):
    org = get_or_404(Organisation, public_id)
    form = NotificationForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            rules.record_notification(db.session, current_user, org, country=form.country.data,
                                      basis=form.basis.data, notified_on=form.notified_on.data,
                                      ip=request.remote_addr)
        if work.ok:
            return done(_("The host-state notification is recorded."),
                        url_for("admin.organisation_view", public_id=org.public_id))
        return _firm_page(org, form, work.error.status)
    return _firm_page(org, form)


@bp.route("/notifications/<public_id>/end", methods=["POST"])
@allow(*REVIEWERS)
def notification_end(public_id: str):
    row = get_or_404(rules.HostStateNotification, public_id)
    org = row.organisation
    form = EndNotificationForm()
    page = url_for("admin.organisation_view", public_id=org.public_id)
    if not form.validate_on_submit():
        flash(_("Enter the day the notification ends."), "error")
        return redirect(page)
    with unit_of_work(success=_("The notification is ended.")):
        rules.end_notification(db.session, current_user, row, ended_on=form.ended_on.data, ip=request.remote_addr)
    return redirect(page)

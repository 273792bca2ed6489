"""Applying to become a partner, and following the onboarding checklist."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from sqlalchemy import select

from agreements.models import Agreement
from compliance import onboarding as rules
from compliance.models import Review
from core.accounts import Organisation, Role
from core.partners import Lifecycle

from ..edge import done, unit_of_work
from ..extensions import db, limiter
from ..security.access import PARTNERS, allow, public
from ..security.scoping import get_or_404
from . import operations as ops
from .forms import ApplicationForm, DecisionForm

bp = Blueprint("onboarding", __name__)


@bp.route("/apply", methods=["GET", "POST"])
@public
@limiter.limit("10 per hour", methods=["POST"])
def apply():
    form = ApplicationForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            ops.apply(db.session, admin_name=form.admin_name.data.strip(), admin_email=form.admin_email.data,
                      locale=str(get_locale()), ip=request.remote_addr, **form.values())
        if work.ok:
            return redirect(url_for("onboarding.applied"))
    return render_template("onboarding/apply.html", form=form), 200 if not form.errors else 422


@bp.route("/apply/sent")
@public
def applied():
    return render_template("onboarding/applied.html")


@bp.route("/onboarding")
@allow(*PARTNERS)
def checklist():
    org = current_user.organisation
    return render_template("onboarding/checklist.html", org=org, items=ops.checklist(db.session, org),
                           review=ops.rules.latest_status_review(db.session, org.id),
                           agreement=ops.latest_agreement(db.session, org))


@bp.route("/admin/organisations/<public_id>/decision", methods=["POST"])
@allow(Role.compliance)
def decide(public_id: str):
    """Compliance approves or rejects the status the firm claims; approval prepares the draft agreement."""
    org = get_or_404(Organisation, public_id)
    form = DecisionForm()
    approve = request.form.get("decision") == "approve"
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            agreement = ops.decide(db.session, current_user, org, approve=approve, reason=form.reason.data,
                                   ip=request.remote_addr)
        if work.ok and agreement is None:
            return done(_("Application rejected. The reason is recorded."),
                        url_for("admin.organisation_view", public_id=org.public_id))
        if work.ok:
            return done(_("Status approved. Draft agreement %(reference)s is prepared.", reference=agreement.reference),
                        url_for("agreements.view", public_id=agreement.public_id))
    return render_template("admin/organisation.html", **organisation_context(org, decision_form=form)), 422


@bp.route("/admin/organisations/<public_id>/suspension", methods=["POST"])
@allow(Role.compliance, Role.admin)
def suspension(public_id: str):
    org = get_or_404(Organisation, public_id)
    form = DecisionForm()
    suspend = request.form.get("action") == "suspend"
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            rules.set_suspended(db.session, current_user, org, suspended=suspend, reason=form.reason.data,
                                ip=request.remote_addr)
        if work.ok:
            return done(_("The firm is suspended: it cannot submit new business.") if suspend
                        else _("The firm is reinstated."), url_for("admin.organisation_view", public_id=org.public_id))
    return render_template("admin/organisation.html", **organisation_context(org, suspension_form=form)), 422


def organisation_context(org: Organisation, **forms) -> dict:
    """What the staff page of a firm shows (used by the admin area too)."""
    agreements = db.session.execute(select(Agreement).where(Agreement.organisation_id == org.id)
                                    .order_by(Agreement.id.desc())).scalars().all()
    reviews = db.session.execute(select(Review).where(Review.organisation_id == org.id)
                                 .order_by(Review.id.desc())).scalars().all()
    return dict(org=org, items=ops.checklist(db.session, org), agreements=agreements, reviews=reviews,
                decision_form=forms.get("decision_form") or DecisionForm(),
                suspension_form=forms.get("suspension_form") or DecisionForm(),
                awaiting_decision=org.lifecycle in (Lifecycle.applied, Lifecycle.under_review))

"""Leads: introducers refer them; the broker's staff work them."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from core.accounts import PartnerStatus, Role
from pipeline import withdrawals
from pipeline.leads import services
from pipeline.leads.models import CONSENT_TEXT_VERSIONS, Lead, LeadStatus

from ..consent_forms import WithdrawalForm, consent_given_at, withdraw as withdrawal
from ..edge import done, unit_of_work
from ..extensions import db
from ..firm.standing import no_new_business
from ..pagination import paginate
from ..security import policy
from ..security.access import PARTNERS, allow, permit
from ..security.scoping import get_scoped_or_404, scoped
from .forms import LeadForm

bp = Blueprint("leads", __name__, url_prefix="/leads")

INTRODUCERS = (PartnerStatus.introducer,)
QUEUE_ROLES = (Role.account_manager, Role.admin, Role.compliance)


@bp.route("/")
@permit(policy.READ_LEADS)
def index():
    stmt = scoped(select(Lead), Lead, current_user)
    conflicts = request.args.get("conflicts") == "1" and current_user.is_staff
    status = request.args.get("status")
    if status in LeadStatus.__members__:
        stmt = stmt.where(Lead.status == LeadStatus[status])
    if conflicts:
        stmt = stmt.where(Lead.possible_duplicate_of_id.is_not(None), Lead.attribution_decided.is_(False))
    # Staff work the oldest first; a partner reads its newest first.
    stmt = stmt.order_by(Lead.created_at.asc() if current_user.is_staff else Lead.created_at.desc())
    return render_template("leads/index.html", page=paginate(stmt), status=status, statuses=LeadStatus,
                           conflicts=conflicts)


def _keep_refusal_trace(refusal) -> None:
    services.keep_refusal_trace(db.session, current_user, refusal, request.remote_addr)


@bp.route("/new", methods=["GET", "POST"])
@allow(*PARTNERS, statuses=INTRODUCERS)
def new():
    form = LeadForm()
    if not current_user.organisation.may_do_business:
        return no_new_business(_("Refer a client"))
    if form.validate_on_submit():
        given = consent_given_at(form.consent_given_on.data)
        values = services.LeadInput(
            first_name=form.first_name.data, last_name=form.last_name.data, email=form.email.data or None,
            phone=form.phone.data or None, country_of_residence=form.country_of_residence.data,
            timeline=form.timeline(), need_category=form.need_category.data,
            need_summary=form.need_summary.data or None, language=form.language.data,
            consent=services.ConsentInput(share_with_broker=bool(form.share_with_broker.data),
                                          cc_on_milestones=bool(form.cc_on_milestones.data),
                                          text_version=CONSENT_TEXT_VERSIONS[-1], given_at=given))
        with unit_of_work(form, keep=_keep_refusal_trace) as work:
            lead, _created = services.submit_lead(db.session, current_user, values, ip=request.remote_addr)
        if work.ok:
            return done(_("Thank you: the lead was sent to the broker."),
                        url_for("leads.view", public_id=lead.public_id))
    return render_template("leads/new.html", form=form, consent_text=services.CONSENT_TEXT,
                           consent_cc_text=services.CONSENT_CC_TEXT), 200 if not form.errors else 422


@bp.route("/<public_id>")
@permit(policy.READ_LEADS)
def view(public_id: str):
    lead = get_scoped_or_404(Lead, public_id, current_user)
    return _render_lead(lead)


def _render_lead(lead: Lead, *, attribution_form=None, withdrawal_form=None, status: int = 200):
    from pipeline.cases.models import Case
    from pipeline.cases.pipeline import introducer_progress

    case = db.session.execute(select(Case).where(Case.lead_id == lead.id)).scalar_one_or_none()
    return render_template("leads/view.html", lead=lead, attribution_form=attribution_form or AttributionForm(),
                           withdrawal_form=withdrawal_form or WithdrawalForm(), case=case,
                           progress=introducer_progress(db.session, lead, case)), status


class AttributionForm(FlaskForm):
    reason = TextAreaField(_l("Reason (recorded)"), validators=[DataRequired(), Length(min=10, max=2000)])


@bp.route("/<public_id>/claim", methods=["POST"])
@allow(Role.account_manager, Role.admin)
def claim(public_id: str):
    lead = get_scoped_or_404(Lead, public_id, current_user)
    with unit_of_work(success=_("You are working this lead.")):
        services.claim(db.session, current_user, lead)
    return redirect(url_for("leads.view", public_id=lead.public_id))


@bp.route("/<public_id>/attribution", methods=["POST"])
@allow(Role.account_manager, Role.admin)
def attribution(public_id: str):
    lead = get_scoped_or_404(Lead, public_id, current_user)
    form = AttributionForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            services.decide_attribution(db.session, current_user, lead, to_earlier=request.form.get("to") == "earlier",
                                        reason=form.reason.data, ip=request.remote_addr)
        if work.ok:
            return done(_("Attribution recorded."), url_for("leads.view", public_id=lead.public_id))
    return _render_lead(lead, attribution_form=form, status=422)


@bp.route("/<public_id>/consent/withdraw", methods=["POST"])
@allow(*QUEUE_ROLES, *PARTNERS, statuses=INTRODUCERS)
def withdraw(public_id: str):
    return withdrawal(get_scoped_or_404(Lead, public_id, current_user), withdrawals.withdraw_consent,
                      lambda lead, form: _render_lead(lead, withdrawal_form=form, status=422), "leads.view")


@bp.route("/<public_id>/status", methods=["POST"])
@allow(Role.account_manager, Role.admin)
def set_status(public_id: str):
    lead = get_scoped_or_404(Lead, public_id, current_user)
    status = {s.value: s for s in LeadStatus}.get(request.form.get("status", ""))
    if status is None:
        flash(_("Not a valid choice."), "error")
    else:
        with unit_of_work(success=_("Lead status recorded.")):
            services.set_status(db.session, current_user, lead, status, ip=request.remote_addr)
    return redirect(url_for("leads.view", public_id=lead.public_id))


@bp.route("/<public_id>/convert", methods=["GET", "POST"])
@allow(Role.account_manager, Role.admin)
def convert(public_id: str):
    from pipeline.cases.services import CaseInput, convert_lead

    from ..cases.forms import ConversionForm

    lead = get_scoped_or_404(Lead, public_id, current_user)
    form = ConversionForm()
    if request.method == "GET":
        form.client_first_name.data, form.client_last_name.data = lead.first_name, lead.last_name
        form.client_email.data, form.client_phone.data = lead.email, lead.phone
        form.country_of_residence.data, form.language.data = lead.country_of_residence, lead.language
        form.communication_model.data = lead.organisation.communication_model
    if form.validate_on_submit():
        consent = lead.consent
        values = CaseInput(**form.household(), consent=services.ConsentInput(
            share_with_broker=True, cc_on_milestones=consent.cc_on_milestones, text_version=consent.text_version,
            given_at=consent.given_at))
        with unit_of_work(form) as work:
            case = convert_lead(db.session, current_user, lead, values, ip=request.remote_addr)
        if work.ok:
            return done(_("The lead is now a case."), url_for("cases.view", public_id=case.public_id))
    return render_template("leads/convert.html", lead=lead, form=form), 200 if not form.errors else 422

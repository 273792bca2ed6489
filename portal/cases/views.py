"""Cases: partner brokers submit and follow them; the broker's account managers work them through the pipeline."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from compliance import privacy
from core.accounts import PartnerStatus, Role
from core.contracts import Insurer
from pipeline import figures as pipeline_figures
from pipeline.cases import crypto, pipeline, services, stages
from pipeline.cases.models import Case, CaseStatus, CcLog, CcOutcome, Milestone
from pipeline.leads.models import CONSENT_TEXT_VERSIONS
from pipeline.leads.services import CONSENT_CC_TEXT, CONSENT_TEXT, ConsentInput

from ..crossborder import panel as crossborder_panel
from ..consent_forms import WithdrawalForm, consent_given_at, withdraw as withdrawal
from ..edge import done, unit_of_work
from ..extensions import db
from ..figure_cache import cached
from ..firm.standing import no_new_business
from ..i18n import tr
from ..pagination import count, paginate
from ..security import policy
from ..security.access import PARTNERS, allow, permit
from ..security.scoping import get_scoped_or_404, scoped
from ..training.policy import cases_block
from . import disclosure
from .forms import CaseForm, MoveForm

bp = Blueprint("cases", __name__, url_prefix="/cases")

BROKERS = (PartnerStatus.specialist_broker, PartnerStatus.generalist_broker)


@bp.route("/")
@permit(policy.READ_CASES)
def index():
    stmt = scoped(select(Case), Case, current_user).options(joinedload(Case.organisation))
    status = request.args.get("status", "")
    if status == "open":
        stmt = stmt.where(Case.status.in_(stages.OPEN_STAGES))
    elif status in CaseStatus.__members__:
        stmt = stmt.where(Case.status == CaseStatus[status])
    assigned = request.args.get("assigned", "") if current_user.is_staff else ""
    if assigned == "me":
        stmt = stmt.where(Case.assigned_to_id == current_user.id)
    elif assigned == "none":
        stmt = stmt.where(Case.assigned_to_id.is_(None))
    # Staff work the longest-waiting first; a partner reads its newest first.
    stmt = stmt.order_by(Case.stage_entered_at.asc(), Case.id.asc()) if current_user.is_staff \
        else stmt.order_by(Case.id.desc())
    total = None
    if current_user.is_staff and not assigned:
        # every staff member counts the same cases (no firm scope, no assignee): the count of a stage filter is
        # shared, and counted again once a case was created or moved (it scans most cases when the filter is open)
        total = cached(("case-list-count", status if status == "open" or status in CaseStatus.__members__ else ""),
                       pipeline_figures.version(db.session), lambda: count(stmt))
    return render_template("cases/index.html", page=paginate(stmt, total=total), statuses=list(CaseStatus),
                           status=status, assigned=assigned, next_step=stages.NEXT_STEP)


@bp.route("/new", methods=["GET", "POST"])
@allow(*PARTNERS, statuses=BROKERS)
def new():
    specialist = current_user.organisation.status is PartnerStatus.specialist_broker
    form = CaseForm()
    if request.method == "GET":
        form.communication_model.data = current_user.organisation.communication_model
        form.language.data = current_user.locale
    if specialist:
        del form.framed_only
    else:
        del form.case_summary
        del form.underwriting_sensitivities
    if not current_user.organisation.may_do_business:
        return no_new_business(_("Submit a case"))
    if request.method == "GET" and (blocked := cases_block(current_user)):
        flash(blocked, "warning")
    if form.validate_on_submit():
        given = consent_given_at(form.consent_given_on.data)
        values = services.CaseInput(
            **form.household(),
            consent=ConsentInput(share_with_broker=bool(form.share_with_broker.data),
                                 cc_on_milestones=bool(form.cc_on_milestones.data),
                                 text_version=CONSENT_TEXT_VERSIONS[-1], given_at=given),
            case_summary=form.case_summary.data if specialist else None,
            underwriting_sensitivities=form.underwriting_sensitivities.data if specialist else None)
        with unit_of_work(form) as work:
            case, _created = services.submit_case(db.session, current_user, values, ip=request.remote_addr,
                                                  keys=current_app.config["CASE_ENCRYPTION_KEYS"],
                                                  training_blocks=current_app.config["TRAINING_BLOCKS_CASES"])
        if work.ok:
            return done(_("Thank you: the case was sent to the broker."),
                        url_for("cases.view", public_id=case.public_id))
    return render_template("cases/new.html", form=form, specialist=specialist, consent_text=CONSENT_TEXT,
                           consent_cc_text=CONSENT_CC_TEXT), 200 if not form.errors else 422


def _move_form(case: Case, form: MoveForm | None = None) -> MoveForm:
    form = form or MoveForm()
    form.stage.choices = [(s.value, tr(s.label)) for s in pipeline.allowed_moves(case)]
    form.insurer.choices = [("", _("— choose —"))] + [
        (i.public_id, i.name) for i in db.session.execute(
            select(Insurer).where(Insurer.active.is_(True)).order_by(Insurer.name)).scalars()]
    if request.method == "GET":
        form.product_line.data = case.product_line
    return form


def render_case(case: Case, move_form: MoveForm | None = None, status: int = 200, withdrawal_form=None,
                crossborder_forms: dict | None = None, needs_form=None, delivery_form=None):
    user = current_user
    history = db.session.execute(select(Milestone).where(Milestone.case_id == case.id)
                                 .options(joinedload(Milestone.recorded_by)).order_by(Milestone.id)).scalars().all()
    may_read_underwriting = policy.may_read_underwriting(user)
    keys = current_app.config["CASE_ENCRYPTION_KEYS"]
    cc_log = []
    if user.role in (Role.compliance, Role.admin, Role.account_manager):
        cc_log = db.session.execute(select(CcLog).where(CcLog.case_id == case.id)
                                    .options(joinedload(CcLog.milestone)).order_by(CcLog.id)).scalars().all()
    movable = user.role in pipeline.PIPELINE_ROLES and bool(pipeline.allowed_moves(case))
    return render_template(
        "cases/view.html", case=case, history=history, cc_log=cc_log,
        summary=crypto.decrypt(case.case_summary_encrypted, keys) if may_read_underwriting else None,
        underwriting=crypto.decrypt(case.underwriting_encrypted, keys) if may_read_underwriting else None,
        move_form=_move_form(case, move_form) if movable else None, next_step=stages.NEXT_STEP.get(case.status),
        key_milestones=stages.KEY_MILESTONES, internal_notes=policy.may_read_internal_notes(user),
        restriction=privacy.restriction_of(db.session, case.public_id),
        withdrawal_form=withdrawal_form or WithdrawalForm(),
        **crossborder_panel.case_context(case, crossborder_forms),
        **disclosure.case_context(case, user, needs_form=needs_form, delivery_form=delivery_form)), status


@bp.route("/<public_id>")
@permit(policy.READ_CASES)
def view(public_id: str):
    return render_case(get_scoped_or_404(Case, public_id, current_user))


@bp.route("/<public_id>/claim", methods=["POST"])
@allow(*pipeline.PIPELINE_ROLES)
def claim(public_id: str):
    case = get_scoped_or_404(Case, public_id, current_user)
    with unit_of_work(success=_("You are working this case.")):
        pipeline.claim(db.session, current_user, case)
    return redirect(url_for("cases.view", public_id=case.public_id))


@bp.route("/<public_id>/move", methods=["POST"])
@allow(*pipeline.PIPELINE_ROLES)
def move(public_id: str):
    case = get_scoped_or_404(Case, public_id, current_user)
    form = _move_form(case)
    if not form.validate_on_submit():
        return render_case(case, form, 422)
    to = CaseStatus(form.stage.data)
    placement = None
    premium_minor = form.premium_minor()
    if form.premium.errors:
        return render_case(case, form, 422)
    if to is CaseStatus.contract_issued:
        insurer = db.session.execute(select(Insurer).where(Insurer.public_id == form.insurer.data)).scalar_one_or_none()
        missing = {name: [_("Required to place the contract.")] for name, value in (
            ("insurer", insurer), ("policy_number", form.policy_number.data), ("product_line", form.product_line.data),
            ("premium", premium_minor), ("start_date", form.start_date.data)) if not value}
        if missing:
            for name, messages in missing.items():
                getattr(form, name).errors = list(getattr(form, name).errors) + messages
            return render_case(case, form, 422)
        placement = pipeline.Placement(insurer=insurer, policy_number=form.policy_number.data,
                                       product_line=form.product_line.data, premium_minor=premium_minor,
                                       currency=(form.currency.data or "").upper(), start_date=form.start_date.data)
    with unit_of_work(form) as work:
        pipeline.move(db.session, current_user, case, to, partner_note=form.partner_note.data,
                      internal_note=form.internal_note.data, placement=placement,
                      cancelled_on=form.cancelled_on.data, renewal_premium_minor=premium_minor,
                      ip=request.remote_addr)
    if not work.ok:
        return render_case(case, form, work.error.status)
    return done(_("The case moved to “%(stage)s”.", stage=tr(to.label)),
                url_for("cases.view", public_id=case.public_id))


@bp.route("/<public_id>/needs", methods=["POST"])
@allow(*disclosure.STAFF_WORKING)
def record_needs(public_id: str):
    """The account manager records the client's demands and needs statement (a new version each time)."""
    case = get_scoped_or_404(Case, public_id, current_user)
    form = disclosure.NeedsForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            disclosure.record_needs(case, current_user, form, request.remote_addr)
        if work.ok:
            return done(_("The demands and needs statement is recorded."),
                        url_for("cases.view", public_id=case.public_id) + "#needs")
    return render_case(case, status=422, needs_form=form)


@bp.route("/<public_id>/disclosure-document", methods=["POST"])
@allow(*disclosure.STAFF_WORKING)
def deliver_disclosure(public_id: str):
    """Produce the broker's disclosure document and record its delivery (by e-mail: sent with a receipt link)."""
    case = get_scoped_or_404(Case, public_id, current_user)
    form = disclosure.DeliveryForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            delivery = disclosure.deliver(case, current_user, form, request.remote_addr)
        if work.ok:
            reference = delivery.document.reference
            message = (_("The disclosure document %(reference)s is e-mailed to %(to)s.", reference=reference,
                         to=delivery.recipient) if delivery.method is disclosure.DeliveryMethod.email
                       else _("The delivery of the disclosure document %(reference)s is recorded.",
                              reference=reference))
            return done(message, url_for("cases.view", public_id=case.public_id) + "#broker-disclosure")
    return render_case(case, status=422, delivery_form=form)


@bp.route("/<public_id>/consent/withdraw", methods=["POST"])
@allow(Role.account_manager, Role.admin, Role.compliance, *PARTNERS, statuses=BROKERS)
def withdraw(public_id: str):
    return withdrawal(get_scoped_or_404(Case, public_id, current_user), pipeline.withdraw_consent,
                      lambda case, form: render_case(case, withdrawal_form=form, status=422), "cases.view")


@bp.route("/cc-log")
@allow(Role.compliance, Role.admin)
def cc_log():
    stmt = select(CcLog).options(joinedload(CcLog.case), joinedload(CcLog.milestone),
                                 joinedload(CcLog.organisation)).order_by(CcLog.id.desc())
    outcome = request.args.get("outcome", "")
    if outcome in CcOutcome.__members__:
        stmt = stmt.where(CcLog.outcome == CcOutcome[outcome])
    return render_template("cases/cc_log.html", page=paginate(stmt, per_page=50), outcome=outcome,
                           outcomes=list(CcOutcome))

"""Lodging a complaint (public), and the register compliance and the administrators work from."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from sqlalchemy import select

from compliance import complaints as rules
from compliance.complaint_models import (
    ComplainantKind, Complaint, ComplaintCategory, ComplaintChannel, ComplaintReminder, ComplaintState, ProductGroup,
)
from compliance.complaint_report import Period, report
from compliance.complaints import ComplaintInput, Concerns, RegisterFilter
from core.accounts import LANGUAGES, Organisation, Role, User
from core.audit import AuditEvent
from core.contracts import Contract
from core.db import utcnow
from pipeline.cases.models import Case

from ..edge import done, unit_of_work
from ..extensions import db, limiter
from ..finance.exports import csv_response
from ..i18n import LANGUAGE_NAMES
from ..security.access import allow, public
from ..security.scoping import get_or_404
from ..volunteer.session import current_volunteer
from . import deadline_policy
from .forms import AcknowledgeForm, AnswerForm, AssignForm, CloseForm, LodgeForm, RecordForm

bp = Blueprint("complaints", __name__)

HANDLERS = (Role.compliance, Role.admin)
#: the flask session key of the reference just lodged (the confirmation page shows it)
LODGED = "complaint_lodged"


def _today() -> date:
    return utcnow().date()


def _partner_firm() -> Organisation | None:
    user = current_user
    return user.organisation if user.is_authenticated and user.is_partner else None


# --- the public form ---------------------------------------------------------------------------------------------

def _concerns_of_lodger(firm: Organisation | None, volunteer, label: str | None) -> Concerns:
    """A signed-in partner's complaint concerns their firm; a volunteer's (in their link session) themselves."""
    if volunteer is not None:
        return Concerns(kind="volunteer", ref=volunteer.public_id,
                        label=label or f"{volunteer.full_name} ({volunteer.file_ref})")
    return Concerns(organisation_id=firm.id if firm else None, label=label)


@bp.route("/complaints/new", methods=["GET", "POST"])
@public
@limiter.limit("5 per hour", methods=["POST"])
def lodge():
    firm = _partner_firm()
    volunteer = None if firm else current_volunteer()
    form = LodgeForm()
    if request.method == "GET" and firm is not None:
        form.complainant_kind.data = ComplainantKind.partner
        form.complainant_name.data, form.complainant_email.data = current_user.full_name, current_user.email
    elif request.method == "GET" and volunteer is not None:
        form.complainant_kind.data = ComplainantKind.volunteer
        form.complainant_name.data, form.complainant_email.data = volunteer.full_name, volunteer.email
    if form.validate_on_submit():
        values = ComplaintInput(
            channel=ComplaintChannel.web_form, complainant_kind=form.complainant_kind.data,
            complainant_name=form.complainant_name.data, complainant_email=form.complainant_email.data.strip().lower(),
            category=form.category.data, description=form.description.data, received_on=_today(),
            locale=str(get_locale()), product_line=form.product_line.data,
            concerns=_concerns_of_lodger(firm, volunteer, (form.concerns_label.data or "").strip() or None))
        with unit_of_work(form) as work:
            complaint = rules.receive(db.session, None, values, policy=deadline_policy(), ip=request.remote_addr,
                                      lodged_by=current_user if firm else None)
        if work.ok:
            session[LODGED] = complaint.reference
            return redirect(url_for("complaints.lodged"))
    return render_template("complaints/lodge.html", form=form, firm=firm), 200 if not form.errors else 422


@bp.route("/complaints/sent")
@public
def lodged():
    reference = session.get(LODGED)
    if reference is None:
        return redirect(url_for("complaints.lodge"))
    return render_template("complaints/lodged.html", reference=reference, policy=deadline_policy())


# --- the register --------------------------------------------------------------------------------------------------

def _enum_arg(enum_cls, name: str):
    value = request.args.get(name) or ""
    return enum_cls(value) if value in enum_cls._value2member_map_ else None


def _filters() -> tuple[RegisterFilter, dict]:
    owner = request.args.get("owner") or ""
    owner_id = None
    if owner == "none":
        owner_id = 0
    elif owner:
        user = db.session.scalar(select(User).where(User.public_id == owner))
        owner_id = user.id if user is not None else -1
    filters = RegisterFilter(state=_enum_arg(ComplaintState, "state"), category=_enum_arg(ComplaintCategory, "category"),
                             product=_enum_arg(ProductGroup, "product"), overdue=request.args.get("overdue") == "y",
                             owner_id=owner_id)
    args = {k: request.args.get(k) for k in ("state", "category", "product", "overdue", "owner") if request.args.get(k)}
    return filters, args


REGISTER_HEADER = ["reference", "received_on", "channel", "complainant_kind", "complainant", "category",
                   "product_line", "product_group", "firm", "contract", "concerns", "state", "owner",
                   "acknowledge_due", "acknowledged_on", "answer_due", "answered_on", "answered_on_time", "overdue",
                   "mediation_info"]


def _register_rows(complaints, today: date):
    for c in complaints:
        yield [c.reference, c.received_on.isoformat(), c.channel.value, c.complainant_kind.value, c.complainant_name,
               c.category.value, c.product_line.value if c.product_line else "", c.product_group.value,
               c.organisation.legal_name if c.organisation else "", c.contract.policy_number if c.contract else "",
               c.concerns_label or "", c.state.value, c.owner.email if c.owner else "", c.acknowledge_due.isoformat(),
               c.acknowledged_on.isoformat() if c.acknowledged_on else "", c.answer_due.isoformat(),
               c.answered_on.isoformat() if c.answered_on else "",
               "" if c.answered_on_time is None else ("yes" if c.answered_on_time else "no"),
               "yes" if c.overdue(today) else "no", c.mediation_info or ""]


@bp.route("/compliance/complaints")
@allow(*HANDLERS)
def register():
    filters, args = _filters()
    today = _today()
    complaints = rules.register(db.session, filters, today=today)
    if request.args.get("format") == "csv":
        return csv_response(f"complaints-{today.isoformat()}.csv", REGISTER_HEADER, _register_rows(complaints, today))
    return render_template("complaints/register.html", complaints=complaints, args=args, today=today,
                           handlers=rules.handlers(db.session), states=ComplaintState, categories=ComplaintCategory,
                           products=ProductGroup)


def _set_choices(form) -> None:
    form.owner.choices = [("", _("— nobody yet —"))] + [(u.public_id, u.full_name or u.email)
                                                        for u in rules.handlers(db.session)]
    if hasattr(form, "organisation"):
        firms = db.session.execute(select(Organisation.public_id, Organisation.legal_name)
                                   .order_by(Organisation.legal_name)).all()
        form.organisation.choices = [("", _("— none —"))] + [tuple(f) for f in firms]
        form.locale.choices = [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]


def _concerns(form: RecordForm) -> Concerns | None:
    """What a transcribed complaint concerns, each reference checked; None (with a field error) when unknown."""
    org = contract = None
    if form.organisation.data:
        org = db.session.scalar(select(Organisation).where(Organisation.public_id == form.organisation.data))
    if form.policy_number.data and form.policy_number.data.strip():
        contract = db.session.scalars(select(Contract).where(
            Contract.policy_number == form.policy_number.data.strip())).first()
        if contract is None:
            form.policy_number.errors.append(_("No contract has this policy number."))
            return None
    kind = ref = label = None
    if form.case_id.data and form.case_id.data.strip():
        case = db.session.scalar(select(Case).where(Case.public_id == form.case_id.data.strip()))
        if case is None:
            form.case_id.errors.append(_("No case has this identifier."))
            return None
        kind, ref, label = "case", case.public_id, _("Case of %(name)s", name=f"{case.client_first_name} {case.client_last_name}")
        org = org or db.session.get(Organisation, case.organisation_id)
    if contract is not None and org is None and contract.organisation_id:
        org = db.session.get(Organisation, contract.organisation_id)
    return Concerns(organisation_id=org.id if org else None, contract_id=contract.id if contract else None,
                    kind=kind, ref=ref, label=label)


@bp.route("/compliance/complaints/record", methods=["GET", "POST"])
@allow(*HANDLERS)
def record():
    form = RecordForm()
    _set_choices(form)
    if request.method == "GET":
        form.received_on.data, form.locale.data = _today(), "fr"
    if form.validate_on_submit() and (concerns := _concerns(form)) is not None:
        values = ComplaintInput(
            channel=form.channel.data, complainant_kind=form.complainant_kind.data,
            complainant_name=form.complainant_name.data, complainant_email=(form.complainant_email.data or "").strip()
            .lower() or None, category=form.category.data, description=form.description.data,
            received_on=form.received_on.data, locale=form.locale.data, product_line=form.product_line.data,
            concerns=concerns)
        owner = db.session.scalar(select(User).where(User.public_id == form.owner.data)) if form.owner.data else None
        with unit_of_work(form) as work:
            complaint = rules.receive(db.session, current_user, values, policy=deadline_policy(),
                                      ip=request.remote_addr)
            if owner is not None:
                rules.assign(db.session, current_user, complaint, owner, ip=request.remote_addr)
        if work.ok:
            return done(_("Complaint %(reference)s recorded.", reference=complaint.reference),
                        url_for("complaints.view", public_id=complaint.public_id))
    return render_template("complaints/record.html", form=form), 200 if not form.errors else 422


def _detail(complaint: Complaint, status: int = 200, **forms):
    assign = forms.get("assign") or AssignForm()
    _set_choices(assign)
    if not forms.get("assign") and complaint.owner is not None:
        assign.owner.data = complaint.owner.public_id
    ack = forms.get("acknowledge") or AcknowledgeForm(on=_today())
    answer = forms.get("answer") or AnswerForm(on=_today(), mediation_info=_default_mediation())
    history = db.session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "complaints",
                                                          AuditEvent.subject_id == complaint.public_id)
                                 .order_by(AuditEvent.seq)).all()
    reminders = db.session.scalars(select(ComplaintReminder).where(ComplaintReminder.complaint_id == complaint.id)
                                   .order_by(ComplaintReminder.id)).all()
    return render_template("complaints/detail.html", c=complaint, today=_today(), assign_form=assign,
                           ack_form=ack, answer_form=answer, close_form=CloseForm(), history=history,
                           reminders=reminders), status


def _default_mediation() -> str:
    return current_app.config["COMPLAINT_MEDIATION_TEXT"]


@bp.route("/compliance/complaints/<public_id>")
@allow(*HANDLERS)
def view(public_id: str):
    return _detail(get_or_404(Complaint, public_id))


def _back(complaint: Complaint):
    return url_for("complaints.view", public_id=complaint.public_id)


@bp.route("/compliance/complaints/<public_id>/assign", methods=["POST"])
@allow(*HANDLERS)
def assign(public_id: str):
    complaint = get_or_404(Complaint, public_id)
    form = AssignForm()
    _set_choices(form)
    if form.validate_on_submit():
        owner = db.session.scalar(select(User).where(User.public_id == form.owner.data)) or abort(404)
        with unit_of_work(form) as work:
            rules.assign(db.session, current_user, complaint, owner, ip=request.remote_addr)
        if work.ok:
            return done(_("The complaint now belongs to %(name)s.", name=owner.full_name or owner.email),
                        _back(complaint))
    return _detail(complaint, 422, assign=form)


@bp.route("/compliance/complaints/<public_id>/acknowledge", methods=["POST"])
@allow(*HANDLERS)
def acknowledge(public_id: str):
    complaint = get_or_404(Complaint, public_id)
    form = AcknowledgeForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            rules.acknowledge(db.session, current_user, complaint, on=form.on.data, ip=request.remote_addr)
        if work.ok:
            return done(_("Acknowledgement recorded."), _back(complaint))
    return _detail(complaint, 422, acknowledge=form)


@bp.route("/compliance/complaints/<public_id>/answer", methods=["POST"])
@allow(*HANDLERS)
def answer(public_id: str):
    complaint = get_or_404(Complaint, public_id)
    form = AnswerForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            rules.answer(db.session, current_user, complaint, text=form.answer.data,
                         mediation_info=form.mediation_info.data, on=form.on.data, ip=request.remote_addr)
        if work.ok:
            return done(_("Answer recorded."), _back(complaint))
    return _detail(complaint, 422, answer=form)


@bp.route("/compliance/complaints/<public_id>/close", methods=["POST"])
@allow(*HANDLERS)
def close(public_id: str):
    complaint = get_or_404(Complaint, public_id)
    if CloseForm().validate_on_submit():
        with unit_of_work():
            rules.close(db.session, current_user, complaint, ip=request.remote_addr)
    return redirect(_back(complaint))


# --- reports -------------------------------------------------------------------------------------------------------

def _period() -> Period:
    today = _today()
    kind = request.args.get("period") if request.args.get("period") in ("month", "quarter") else "month"
    try:
        year = int(request.args.get("year") or today.year)
        default = today.month if kind == "month" else (today.month - 1) // 3 + 1
        number = int(request.args.get("number") or default)
        if not 2000 <= year <= 2100:
            raise ValueError
        return Period.month(year, number) if kind == "month" else Period.quarter(year, number)
    except ValueError:
        abort(400)


@bp.route("/compliance/complaints/report")
@allow(*HANDLERS)
def report_view():
    period = _period()
    figures = report(db.session, period, as_of=_today())
    if request.args.get("format") == "csv":
        return csv_response(f"complaints-report-{period.name}.csv", ["section", "item", "value"], figures.rows())
    return render_template("complaints/report.html", r=figures, period=period, categories=ComplaintCategory,
                           products=ProductGroup)

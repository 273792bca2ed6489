"""Agreement screens: staff prepare, schedule, send, countersign and terminate; partner admins review and sign.

Rates are private: only the firm's own administrators, finance, compliance and administrators see the
schedule or the PDF (which contains it).
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from agreements import operations as ops
from agreements.models import Agreement, AgreementStatus, SignerParty
from core.accounts import Organisation, Role

from ..edge import done, unit_of_work
from ..extensions import db
from ..pagination import paginate
from ..security import policy
from ..security.access import PARTNERS, STAFF, allow
from ..security.passwords import verify_password
from ..security.scoping import get_or_404, get_scoped_or_404, scoped
from . import services
from .forms import PrepareForm, ReasonForm, ScheduleForm, SignForm, TerminateForm

bp = Blueprint("agreements", __name__, url_prefix="/agreements")

SIGNING_STAFF = (Role.admin, Role.compliance)
def _load(public_id: str) -> Agreement:
    return get_scoped_or_404(Agreement, public_id, current_user)


def _done(agreement: Agreement, message: str):
    return done(message, url_for("agreements.view", public_id=agreement.public_id))


@bp.route("/")
@allow(*STAFF, *PARTNERS)
def index():
    status = request.args.get("status")
    stmt = scoped(select(Agreement), Agreement, current_user).order_by(Agreement.id.desc())
    if status in AgreementStatus.__members__:
        stmt = stmt.where(Agreement.status == AgreementStatus[status])
    return render_template("agreements/index.html", page=paginate(stmt), status=status, statuses=AgreementStatus)


def _view_context(agreement: Agreement, **forms) -> dict:
    user = current_user
    return dict(
        agreement=agreement, org=agreement.organisation, show_rates=policy.may_see_rates(user, agreement),
        can_sign=(user.role is Role.partner_admin and agreement.status is AgreementStatus.sent),
        can_countersign=(user.role in SIGNING_STAFF and agreement.status is AgreementStatus.partner_signed),
        can_edit=(user.role in (*SIGNING_STAFF, Role.finance) and agreement.status is AgreementStatus.draft),
        can_send=(user.role in SIGNING_STAFF and agreement.status is AgreementStatus.draft),
        needs_approval=ops.needs_recurring_approval(agreement),
        can_approve=(user.role is Role.compliance and agreement.status is AgreementStatus.draft
                     and agreement.has_recurring_commission and agreement.recurring_approved_by_id is None),
        can_terminate=(user.role in SIGNING_STAFF and agreement.status is AgreementStatus.active),
        reason_form=forms.get("reason_form") or ReasonForm(),
        terminate_form=forms.get("terminate_form") or TerminateForm(),
    )


@bp.route("/<public_id>")
@allow(*STAFF, *PARTNERS)
def view(public_id: str):
    return render_template("agreements/view.html", **_view_context(_load(public_id)))


@bp.route("/<public_id>/document.pdf")
@allow(Role.admin, Role.compliance, Role.finance, Role.partner_admin)
def document(public_id: str):
    agreement = _load(public_id)
    if not policy.may_see_rates(current_user, agreement):
        abort(404)
    if agreement.sealed_pdf is not None:
        pdf, name = agreement.sealed_pdf, f"{agreement.reference}.pdf"
    elif agreement.document_pdf is not None:
        pdf, name = agreement.document_pdf, f"{agreement.reference}-for-signature.pdf"
    else:
        pdf, name = ops.render_for_review(agreement, services.broker_identity()), f"{agreement.reference}-draft.pdf"
        db.session.rollback()  # the preview changes nothing
    # "Download" saves the file; otherwise the browser shows it
    disposition = "attachment" if request.args.get("download") else "inline"
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'{disposition}; filename="{name}"', "Cache-Control": "private, no-store"})


@bp.route("/<public_id>/schedule", methods=["GET", "POST"])
@allow(Role.admin, Role.compliance, Role.finance)
def schedule(public_id: str):
    agreement = _load(public_id)
    form = ScheduleForm.for_agreement(agreement, formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate():
        with unit_of_work(form) as work:
            ops.set_schedule(db.session, current_user, agreement, form.values())
        if work.ok:
            return _done(agreement, _("The commission schedule is saved."))
    return render_template("agreements/schedule.html", agreement=agreement, form=form), \
        422 if form.errors or form.form_errors else 200


@bp.route("/<public_id>/approve-recurring", methods=["POST"])
@allow(Role.compliance)
def approve_recurring(public_id: str):
    agreement = _load(public_id)
    form = ReasonForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            ops.approve_recurring(db.session, current_user, agreement, form.reason.data)
        if work.ok:
            return _done(agreement, _("The recurring commission is approved."))
    return render_template("agreements/view.html", **_view_context(agreement, reason_form=form)), 422


@bp.route("/<public_id>/send", methods=["POST"])
@allow(*SIGNING_STAFF)
def send(public_id: str):
    agreement = _load(public_id)
    with unit_of_work(success=_("The agreement was sent to the firm's administrators for signature.")):
        ops.send_for_signature(db.session, current_user, agreement, services.broker_identity())
        services.mail_partner_admins(db.session, agreement, "agreement_to_sign")
    return redirect(url_for("agreements.view", public_id=agreement.public_id))


def _signing(public_id: str, party: SignerParty):
    agreement = _load(public_id)
    form = SignForm()
    if request.method == "GET":
        form.document_sha256.data = agreement.document_sha256
    elif form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.password.data):
            form.password.errors.append(_("The password is incorrect."))
        else:
            with unit_of_work(form) as work:
                ops.sign(db.session, agreement, current_user, party=party, typed_name=form.typed_name.data,
                         shown_sha256=form.document_sha256.data, ip=request.remote_addr or "",
                         user_agent=request.user_agent.string)
            if work.ok:
                return _done(agreement, _("Thank you: the agreement is signed. The broker countersigns next.")
                             if party is SignerParty.partner else
                             _("Countersigned. The sealed copy is produced and e-mailed to the signers."))
    status = 200 if request.method == "GET" else 422
    document = ops.build_document(agreement) if agreement.document_sha256 else None
    return render_template("agreements/sign.html", agreement=agreement, form=form, party=party, doc=document,
                           show_rates=policy.may_see_rates(current_user, agreement)), status


@bp.route("/<public_id>/sign", methods=["GET", "POST"])
@allow(Role.partner_admin)
def sign(public_id: str):
    return _signing(public_id, SignerParty.partner)


@bp.route("/<public_id>/countersign", methods=["GET", "POST"])
@allow(*SIGNING_STAFF)
def countersign(public_id: str):
    return _signing(public_id, SignerParty.broker)


@bp.route("/<public_id>/terminate", methods=["POST"])
@allow(*SIGNING_STAFF)
def terminate(public_id: str):
    agreement = _load(public_id)
    form = TerminateForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            ops.terminate(db.session, current_user, agreement, reason=form.reason.data, last_day=form.last_day.data)
        if work.ok:
            return _done(agreement, _("The agreement is terminated; the firm can no longer submit new business."))
    return render_template("agreements/view.html", **_view_context(agreement, terminate_form=form)), 422


@bp.route("/new/<org_public_id>", methods=["GET", "POST"])
@allow(*SIGNING_STAFF)
def prepare(org_public_id: str):
    """A new agreement for a firm (e.g. a new schedule); it supersedes the current one once sealed."""
    org = get_or_404(Organisation, org_public_id)
    form = PrepareForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            agreement = ops.prepare_agreement(db.session, current_user, org, effective_from=form.effective_from.data)
        if work.ok:
            return _done(agreement, _("Draft agreement prepared. Set the schedule, then send it."))
    return render_template("agreements/prepare.html", org=org, form=form), 200 if not form.errors else 422

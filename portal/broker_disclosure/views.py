"""The broker's own disclosure: its settings (`/admin/disclosure-settings`: administrators publish, compliance
reads), a case's disclosure documents as PDF (the preview, those produced, the e-mail's attachment), and the
client's acknowledgement of receipt through the e-mailed link (`/receipt/<token>`, public). The statement and the
delivery are recorded from the staff case page (portal.cases.disclosure).
Rules in compliance.broker_disclosure, pipeline.cases.needs and pipeline.broker_disclosure."""
from __future__ import annotations

from flask import Blueprint, Response, abort, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from compliance import broker_disclosure as settings_rules
from core.accounts import Role
from core.db import utcnow
from core.outbox import attachment_provider
from pipeline import broker_disclosure as documents
from pipeline.cases.models import Case

from ..edge import done, unit_of_work
from ..extensions import db, limiter
from ..i18n import tr
from ..cases import disclosure as case_disclosure
from ..security.access import allow, public
from ..security.scoping import get_scoped_or_404
from .forms import ReceiptForm, SettingsForm, lines

bp = Blueprint("broker_disclosure", __name__)

STAFF_WORKING, READERS = case_disclosure.STAFF_WORKING, case_disclosure.READERS


# --- the settings ------------------------------------------------------------------------------------------------

@bp.route("/admin/disclosure-settings", methods=["GET"])
@allow(Role.admin, Role.compliance)
def settings(form: SettingsForm | None = None, status: int = 200):
    today = utcnow().date()
    latest = settings_rules.latest(db.session)
    if form is None:
        form = SettingsForm(formdata=None)
        form.effective_from.data = today
        if latest is not None:  # a new version starts from the latest one
            for name in ("legal_name", "address", "register", "registration_number", "advice_basis",
                         "complaints_procedure", "mediation_procedure"):
                getattr(form, name).data = getattr(latest, name)
            form.insurers.data, form.holdings.data = "\n".join(latest.insurers), "\n".join(latest.holdings)
    return render_template("broker_disclosure/settings.html", versions=settings_rules.history(db.session),
                           in_force=settings_rules.in_force(db.session, today), form=form,
                           may_publish=current_user.role in settings_rules.PUBLISHERS, today=today), status


@bp.route("/admin/disclosure-settings", methods=["POST"])
@allow(Role.admin)
def publish():
    form = SettingsForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            settings_rules.publish(db.session, current_user, settings_rules.SettingsInput(
                effective_from=form.effective_from.data, legal_name=form.legal_name.data, address=form.address.data,
                register=form.register.data, registration_number=form.registration_number.data,
                advice_basis=form.advice_basis.data, insurers=lines(form.insurers.data),
                holdings=lines(form.holdings.data), complaints_procedure=form.complaints_procedure.data,
                mediation_procedure=form.mediation_procedure.data), today=utcnow().date(), ip=request.remote_addr)
        if work.ok:
            return done(_("The new version of the disclosure settings is published."),
                        url_for("broker_disclosure.settings"))
    return settings(form, 422)


# --- the case's documents -----------------------------------------------------------------------------------------

@bp.route("/cases/<public_id>/disclosure-document/preview.pdf")
@allow(*STAFF_WORKING)
def preview(public_id: str):
    """The document as it would be produced now, from the form's choices (nothing is recorded)."""
    case = get_scoped_or_404(Case, public_id, current_user)
    form = case_disclosure.DeliveryForm(request.args, meta={"csrf": False})
    form.method.data = documents.DeliveryMethod.handed_over
    if not (form.language.validate(form) and form.remuneration_nature.validate(form)
            and form.remuneration_payer.validate(form)):
        abort(400)
    with unit_of_work(show=lambda _exc: None) as work:
        pdf = documents.preview(db.session, current_user, case, case_disclosure.remuneration(form), language=form.language.data,
                                on=utcnow().date())
    if not work.ok:
        return render_template("error.html", status=409, message=tr(work.error.message)), 409
    return _pdf(pdf, f"preview-{case.public_id[:8]}.pdf")


@bp.route("/cases/<public_id>/disclosure-document/<document_public_id>.pdf")
@allow(*READERS)
def document_pdf(public_id: str, document_public_id: str):
    case = get_scoped_or_404(Case, public_id, current_user)
    document = db.session.scalars(select(documents.DisclosureDocument).where(
        documents.DisclosureDocument.public_id == document_public_id,
        documents.DisclosureDocument.case_id == case.id)).first()
    if document is None:
        abort(404)
    return _pdf(document.pdf, f"{document.reference}.pdf")


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private, no-store"})


@attachment_provider("broker-disclosure")
def delivery_attachment(db_session, public_id: str) -> tuple[str, str, bytes]:
    """The e-mail's attachment: exactly the PDF that was produced (its SHA-256 is on the delivery's record)."""
    delivery = db_session.scalars(select(documents.DisclosureDelivery)
                                  .where(documents.DisclosureDelivery.public_id == public_id)).one()
    return f"{delivery.document.reference}.pdf", "application/pdf", delivery.document.pdf


# --- the client's acknowledgement --------------------------------------------------------------------------------

@bp.route("/receipt/<token>", methods=["GET", "POST"])
@public
@limiter.limit("30 per hour")
def receipt(token: str):
    """The client acknowledges receipt of the disclosure document, once, through the e-mailed link."""
    try:
        delivery = documents.delivery_of_link(db.session, token)
    except documents.LinkInvalid:
        return _invalid()
    g.forced_locale = delivery.document.language  # the page speaks the document's language
    form = ReceiptForm()
    acknowledged_now = False
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        with unit_of_work(show=lambda _exc: None) as work:
            documents.acknowledge(db.session, token, ip=request.remote_addr,
                                  user_agent=request.headers.get("User-Agent"))
        acknowledged_now = work.ok
        delivery = documents.delivery_of_link(db.session, token)
    return render_template("broker_disclosure/receipt.html", delivery=delivery, document=delivery.document,
                           form=form, acknowledged_now=acknowledged_now,
                           already=delivery.acknowledged_at is not None and not acknowledged_now)


def _invalid():
    return render_template("error.html", status=404, message=tr(documents.LinkInvalid.message)), 404

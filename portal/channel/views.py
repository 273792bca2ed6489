"""The client's secure channel for health information.

Staff (`/cases/<case>/health`): the account manager sends the client a personal link by e-mail, in the client's
language, and revokes it; the account managers, administrators and compliance read the answers and download the
files (decrypted on the fly, never cached, each download audited). Partners, finance and introducers never reach
these pages, not even for their own firm's cases.

The client (`/secure/<token>`, public, rate-limited): uploads documents and answers the underwriting questions.
The token in the address is the only key; only its SHA-256 is stored (pipeline.channel.links).
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.accounts import LANGUAGES
from core.db import utcnow
from pipeline.cases.models import Case
from pipeline.channel import links, questions, uploads
from pipeline.channel.errors import LinkInvalid, UploadRefused
from pipeline.channel.models import HealthAnswers, HealthDocument, HealthLink

from ..edge import done, unit_of_work
from ..extensions import db, limiter
from ..i18n import format_day, tr
from ..mail import link_context, queue_mail
from ..security.access import allow, public
from ..security.scoping import get_scoped_or_404
from .forms import AnswersForm, SendLinkForm, UploadForm

bp = Blueprint("channel", __name__)

CLIENT_LIMIT = "30 per hour"
EXTENSIONS = {uploads.PDF: "pdf", uploads.PNG: "png", uploads.JPEG: "jpg", uploads.HEIC: "heic"}


def _keys() -> str:
    return current_app.config["CASE_ENCRYPTION_KEYS"]


def upload_rules() -> uploads.UploadRules:
    cfg = current_app.config
    return uploads.UploadRules(max_bytes=cfg["HEALTH_UPLOAD_MAX_MB"] * uploads.MB,
                               scan_command=cfg["UPLOAD_SCAN_COMMAND"], scan_timeout=cfg["UPLOAD_SCAN_TIMEOUT"],
                               scan_required=cfg["PORTAL_ENV"] == "production")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


# --- staff ---------------------------------------------------------------------------------------------------------

def _render_case(case: Case, send_form: SendLinkForm | None = None, status: int = 200):
    keys = _keys()
    documents = uploads.documents_of(db.session, case)
    answers = questions.answers_of(db.session, case)
    form = send_form or SendLinkForm(days=current_app.config["HEALTH_LINK_DAYS"])
    return _no_store(Response(render_template(
        "channel/case.html", case=case, links=links.links_of(db.session, case), usable=links.usable, now=utcnow(),
        documents=[(d, uploads.filename_of(d, keys)) for d in documents],
        answers=[(a, questions.read_answers(current_user, a, keys)) for a in answers],
        questions=questions.QUESTIONS, send_form=form, type_labels=uploads.TYPE_LABELS,
        may_send=current_user.role in links.SENDERS), status))


@bp.route("/cases/<public_id>/health")
@allow(*links.READERS)
def case_page(public_id: str):
    return _render_case(get_scoped_or_404(Case, public_id, current_user))


def client_language(case: Case) -> str:
    language = case.consent.language if case.consent else None
    return language if language in LANGUAGES else "en"


@bp.route("/cases/<public_id>/health/link", methods=["POST"])
@allow(*links.SENDERS)
def send_link(public_id: str):
    case = get_scoped_or_404(Case, public_id, current_user)
    form = SendLinkForm()
    if not form.validate_on_submit():
        return _render_case(case, form, 422)
    with unit_of_work(form) as work:
        link, raw = links.issue_link(db.session, current_user, case, days=form.days.data, ip=request.remote_addr)
        with link_context():
            url = url_for("channel.client_page", token=raw, _external=True)
        queue_mail("health_channel_link", to=link.sent_to, locale=client_language(case),
                   name=f"{case.client_first_name} {case.client_last_name}", url=url,
                   expires_on=link.expires_at.date())
    if not work.ok:
        return _render_case(case, form, work.error.status)
    return done(_("The secure link was sent to %(email)s (valid until %(date)s).", email=link.sent_to,
                  date=format_day(link.expires_at)), url_for("channel.case_page", public_id=case.public_id))


@bp.route("/cases/<public_id>/health/links/<link_public_id>/revoke", methods=["POST"])
@allow(*links.SENDERS)
def revoke_link(public_id: str, link_public_id: str):
    case = get_scoped_or_404(Case, public_id, current_user)
    link = db.one_or_404(select(HealthLink).where(HealthLink.public_id == link_public_id, HealthLink.case_id == case.id))
    with unit_of_work(success=_("The link no longer works.")):
        links.revoke_link(db.session, current_user, link, ip=request.remote_addr)
    return done_redirect(case)


def done_redirect(case: Case):
    return redirect(url_for("channel.case_page", public_id=case.public_id))


@bp.route("/cases/<public_id>/health/documents/<document_public_id>")
@allow(*links.READERS)
def download(public_id: str, document_public_id: str):
    case = get_scoped_or_404(Case, public_id, current_user)
    document = db.one_or_404(select(HealthDocument).where(HealthDocument.public_id == document_public_id,
                                                          HealthDocument.case_id == case.id))
    with unit_of_work() as work:
        data = uploads.read_document(db.session, current_user, document, keys=_keys(), ip=request.remote_addr)
    if not work.ok:
        return done_redirect(case)
    name = f"health-{document.public_id[:12]}.{EXTENSIONS.get(document.content_type, 'bin')}"
    response = Response(data, mimetype=document.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return _no_store(response)


# --- the client ----------------------------------------------------------------------------------------------------

def _opened(token: str) -> HealthLink | None:
    """The link of this token if it still works (its first opening recorded), else None."""
    with unit_of_work(show=lambda _exc: None) as work:
        link = links.open_link(db.session, token)
    return link if work.ok else None


def _invalid():
    message = tr(LinkInvalid.message)
    return _no_store(Response(render_template("error.html", status=404, message=message), 404))


def _render_client(token: str, link: HealthLink, upload_form=None, answers_form=None, status: int = 200):
    case = link.case
    last_answers = db.session.scalars(select(HealthAnswers.created_at).where(HealthAnswers.case_id == case.id)
                                      .order_by(HealthAnswers.id.desc())).first()
    received = db.session.scalars(select(HealthDocument).where(HealthDocument.link_id == link.id)
                                  .order_by(HealthDocument.id)).all()
    return _no_store(Response(render_template(
        "channel/client.html", token=token, link=link, case=case, upload_form=upload_form or UploadForm(),
        answers_form=answers_form or AnswersForm(), received=received, last_answers=last_answers,
        type_labels=uploads.TYPE_LABELS, max_mb=current_app.config["HEALTH_UPLOAD_MAX_MB"]), status))


@bp.route("/secure/<token>")
@public
@limiter.limit(CLIENT_LIMIT)
def client_page(token: str):
    link = _opened(token)
    if link is None:
        return _invalid()
    if "locale" not in session:
        session["locale"] = client_language(link.case)
    return _render_client(token, link)


@bp.route("/secure/<token>/upload", methods=["POST"])
@public
@limiter.limit(CLIENT_LIMIT)
def client_upload(token: str):
    link = _opened(token)
    if link is None:
        return _invalid()
    form = UploadForm()
    if not form.validate_on_submit():
        return _render_client(token, link, upload_form=form, status=422)
    rules = upload_rules()
    data = form.document.data.read(rules.max_bytes + 1)
    link_id, ip = link.id, request.remote_addr

    def keep_refusal(exc):
        if isinstance(exc, UploadRefused):
            uploads.record_refusal(db.session, db.session.get(HealthLink, link_id), exc, ip=ip)

    with unit_of_work(form, keep=keep_refusal) as work:
        uploads.receive_document(db.session, link, filename=form.document.data.filename, data=data, keys=_keys(),
                                 rules=rules, ip=ip)
    if not work.ok:
        return _render_client(token, db.session.get(HealthLink, link_id), upload_form=form,
                              status=work.error.status)
    return done(_("Thank you: your document was received safely."), url_for("channel.client_page", token=token))


@bp.route("/secure/<token>/answers", methods=["POST"])
@public
@limiter.limit(CLIENT_LIMIT)
def client_answers(token: str):
    link = _opened(token)
    if link is None:
        return _invalid()
    form = AnswersForm()
    if not form.validate_on_submit():
        return _render_client(token, link, answers_form=form, status=422)
    link_id = link.id
    with unit_of_work(form) as work:
        questions.save_answers(db.session, link, answers=form.answers(), details=form.details(),
                               other=form.other_text(), keys=_keys(), ip=request.remote_addr)
    if not work.ok:
        return _render_client(token, db.session.get(HealthLink, link_id), answers_form=form,
                              status=work.error.status)
    return done(_("Thank you: your answers were received safely."), url_for("channel.client_page", token=token))

"""Compliance and the administrators look a data subject up across the packages (compliance.privacy), export what
is held on them, and erase it. The person's details travel in POST bodies, never in URLs (which end up in logs)."""
from __future__ import annotations

from datetime import datetime

import json

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from compliance import privacy
from core.accounts import Role
from core.i18n import N_

from ..edge import unit_of_work
from ..extensions import db
from ..i18n import tr
from ..security.access import allow
from . import holders  # noqa: F401  (registers every package's holder)
from .forms import EraseForm, LookupForm

bp = Blueprint("privacy", __name__)

HANDLERS = (Role.compliance, Role.admin)

KIND_LABELS = {
    "lead": N_("Lead"), "case": N_("Case"), "contract": N_("Contract"), "consent": N_("Consent"),
    "volunteer": N_("Volunteer"), "subscription": N_("Subscription"), "complaint": N_("Complaint"),
    "signature": N_("Signature"), "journal_entry": N_("Journal entry"), "agreement": N_("Agreement"),
    "health_channel": N_("Documents sent through the secure channel"),
}


def _rows(found: list[privacy.Holding]) -> list[dict]:
    return [{"kind": tr(KIND_LABELS.get(h.kind, h.kind)), "ref": h.ref, "name": h.name, "email": h.email,
             "detail": tr(h.detail),
             "when": (h.when.date() if isinstance(h.when, datetime) else h.when).isoformat() if h.when else None}
            for h in found]


def subject_of(query: str) -> privacy.Subject:
    """An e-mail address when the query has an @, else a name."""
    query = query.strip()
    return privacy.Subject(email=query) if "@" in query else privacy.Subject(name=query)


@bp.route("/privacy", methods=["GET", "POST"])
@allow(*HANDLERS)
def lookup():
    form = LookupForm()
    found = None
    if form.validate_on_submit():
        found = _rows(privacy.look_up(db.session, subject_of(form.query.data)))
    erase_form = EraseForm(query=form.query.data) if found else None
    return render_template("privacy/lookup.html", form=form, found=found, erase_form=erase_form)


@bp.route("/privacy/export", methods=["POST"])
@allow(*HANDLERS)
def export():
    """The JSON export of everything held on the person, as a download (audited)."""
    form = LookupForm()
    if not form.validate_on_submit():
        return render_template("privacy/lookup.html", form=form, found=None), 422
    with unit_of_work(form) as work:
        body = privacy.export(db.session, current_user, subject_of(form.query.data), ip=request.remote_addr)
    if not work.ok:
        return render_template("privacy/lookup.html", form=form, found=None), 422
    return Response(json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True, default=str),
                    mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="data-subject-export.json"',
                             "Cache-Control": "no-store"})


@bp.route("/privacy/erase", methods=["POST"])
@allow(*HANDLERS)
def erase():
    """Erase the person (after the confirmation on the lookup page); shows what was kept and why."""
    form = EraseForm()
    if not form.validate_on_submit():
        return render_template("privacy/lookup.html", form=LookupForm(query=form.query.data), found=None,
                               erase_form=form), 422
    with unit_of_work(form) as work:
        request_ = privacy.erase(db.session, current_user, subject_of(form.query.data), ip=request.remote_addr)
    if not work.ok:
        return render_template("privacy/lookup.html", form=LookupForm(query=form.query.data), found=None,
                               erase_form=form), 422
    return render_template("privacy/erased.html", erasure=request_,
                           reasons={r.id: tr(r.reason) for r in request_.restrictions},
                           kinds={r.id: tr(KIND_LABELS.get(r.kind, r.kind)) for r in request_.restrictions})

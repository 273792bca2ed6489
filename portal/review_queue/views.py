"""The compliance officer's review queue (compliance.review_queue): everything waiting for compliance, from every
part of the portal, with its age and assignee; take an item or give it to a colleague, open it where it is decided,
or mark a notice reviewed with what was found. Compliance works it; administrators read it."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

import agreements.review_sources  # noqa: F401  (registers its sources)
import compliance.queue_sources  # noqa: F401
import pipeline.review_sources  # noqa: F401
from compliance import review_queue as queue
from core.accounts import Role, User
from core.db import utcnow

from ..edge import done, unit_of_work
from ..extensions import db
from ..i18n import country_name, tr
from ..security.access import allow

bp = Blueprint("queue", __name__, url_prefix="/compliance/queue")

#: the oldest items shown at once; the counts and the filters reach the rest
SHOWN = 100


class ItemForm(FlaskForm):
    kind = HiddenField(validators=[DataRequired(), Length(max=40)])
    ref = HiddenField(validators=[DataRequired(), Length(max=64)])


class AssignForm(ItemForm):
    assignee = HiddenField(validators=[DataRequired(), Length(max=32)])


class ReviewForm(ItemForm):
    reason = TextAreaField(_l("What you found"), validators=[DataRequired(), Length(min=10, max=4000)])


def _filters() -> dict:
    kind = request.args.get("kind", "")
    who = request.args.get("assigned", "")
    older = request.args.get("older", type=int)
    return {"kind": kind if kind in queue.SOURCES else "", "assigned": who if who in ("me", "nobody") else "",
            "older": older if older and 0 < older < 3650 else None}


@bp.route("/")
@allow(Role.compliance, Role.admin)
def index():
    f, today = _filters(), utcnow().date()
    assignee = current_user.id if f["assigned"] == "me" else ("nobody" if f["assigned"] == "nobody" else None)
    found = queue.page(db.session, today, kinds=[f["kind"]] if f["kind"] else None, assignee=assignee,
                       older_than=f["older"], shown=SHOWN)
    officers = db.session.scalars(select(User).where(User.role == Role.compliance, User.active.is_(True))
                                  .order_by(User.email)).all()
    return render_template("review_queue/index.html", items=found.items, more=found.more, counts=found.counts,
                           sources=queue.SOURCES, filters=f, today=today, officers=officers,
                           may_work=current_user.role is Role.compliance, form=ItemForm(),
                           review_form=ReviewForm(formdata=None), detail_of=_detail)


def _detail(item: queue.QueueItem) -> str:
    """What the item awaits, in the reader's language (a country by its name, not its code)."""
    params = dict(item.detail_params)
    if params.get("country"):
        params["country"] = country_name(params["country"])
    return tr(item.detail, **params)


def _back():
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/compliance/queue")
                    else url_for("queue.index"))


@bp.route("/assign", methods=["POST"])
@allow(Role.compliance)
def assign():
    form = AssignForm()
    if form.validate_on_submit():
        assignee = db.session.scalar(select(User).where(User.public_id == form.assignee.data))
        if assignee is None:
            return done(tr(queue.AssigneeRefused.message), url_for("queue.index"), "error")
        with unit_of_work(success=_("Assigned to %(name)s.", name=assignee.full_name)):
            queue.assign(db.session, current_user, form.kind.data, form.ref.data, assignee, today=utcnow().date())
    return _back()


@bp.route("/review", methods=["POST"])
@allow(Role.compliance)
def review():
    form = ReviewForm()
    if form.validate_on_submit():
        with unit_of_work(success=_("Marked reviewed: it leaves the queue.")):
            queue.mark_reviewed(db.session, current_user, form.kind.data, form.ref.data, reason=form.reason.data,
                                today=utcnow().date())
        return _back()
    return done(" ".join(tr(m) for errors in form.errors.values() for m in errors), url_for("queue.index"), "error")

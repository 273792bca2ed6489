"""The roster's import history (every API batch and CSV file, with its counts and each record's result) and the
CSV upload, which applies a file as `flask funnel import` does (funnel.roster_feed). Administrators only."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select

from core.accounts import Role, User
from funnel.models import Outcome, RosterEvent, RosterImport
from funnel.roster_feed import CSV_COLUMNS, import_roster_csv, read_roster_csv

from ..edge import done, unit_of_work
from ..extensions import db
from ..pagination import paginate
from ..security.access import allow
from ..security.scoping import get_or_404

bp = Blueprint("roster", __name__, url_prefix="/roster")


class RosterUploadForm(FlaskForm):
    file = FileField(_l("Roster file (CSV)"), validators=[
        FileRequired(_l("Choose the roster file.")),
        FileAllowed(["csv", "txt"], _l("Only CSV files can be imported."))])


def _imports_page(form: RosterUploadForm, status: int = 200):
    page = paginate(select(RosterImport).order_by(RosterImport.id.desc()))
    actors = dict(db.session.execute(select(User.id, User.email).where(
        User.id.in_({i.actor_id for i in page.items if i.actor_id}))).all())
    return render_template("roster/imports.html", page=page, form=form, actors=actors,
                           columns=CSV_COLUMNS), status


@bp.route("/imports", methods=["GET"])
@allow(Role.admin)
def imports():
    return _imports_page(RosterUploadForm())


@bp.route("/imports", methods=["POST"])
@allow(Role.admin)
def upload():
    form = RosterUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        with unit_of_work(form) as work:
            records = read_roster_csv(upload.read())
            result = import_roster_csv(db.session, current_user, records, filename=upload.filename or "roster.csv",
                                       ip=request.remote_addr)
        if work.ok:
            imported = result.roster_import
            return done(_("Roster imported: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
                          "%(rejected)s rejected.", created=imported.created, updated=imported.updated,
                          unchanged=imported.unchanged, rejected=imported.rejected),
                        url_for("roster.import_view", public_id=imported.public_id),
                        "warning" if imported.rejected else "success")
    return _imports_page(form, 422)


@bp.route("/imports/<public_id>")
@allow(Role.admin)
def import_view(public_id: str):
    """One delivery: its counts and each record's result (the rejected ones first asked for, with reasons)."""
    imported = get_or_404(RosterImport, public_id)
    outcome = request.args.get("outcome", "")
    if outcome and outcome not in Outcome.__members__:
        abort(400)
    stmt = select(RosterEvent).where(RosterEvent.import_id == imported.id).order_by(RosterEvent.position)
    if outcome:
        stmt = stmt.where(RosterEvent.outcome == Outcome[outcome])
    actor = db.session.get(User, imported.actor_id) if imported.actor_id else None
    return render_template("roster/import.html", imported=imported, page=paginate(stmt), outcome=outcome,
                           outcomes=Outcome, actor=actor)

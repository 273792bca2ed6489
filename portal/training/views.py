"""Training register screens. Partner admins of broker firms record and list their own people's training (a
member sees their own); compliance and admins read coverage per firm and per person, record the broker staff's
training, and export the coverage as CSV."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import format_decimal, gettext as _
from flask_login import current_user
from sqlalchemy import select

from compliance import training
from core.accounts import Role, User
from core.csv_export import csv_text

from ..edge import done, unit_of_work
from ..extensions import db
from ..security.access import PARTNERS, allow
from ..security.policy import BROKERS
from ..security.scoping import get_or_404
from .forms import TrainingForm

bp = Blueprint("training", __name__, url_prefix="/training")

STAFF_READERS = (Role.compliance, Role.admin)


def hours(minutes: int) -> str:
    return format_decimal(minutes / 60, format="#,##0.#")


@bp.app_template_filter("training_hours")
def _hours_filter(minutes: int) -> str:
    return hours(minutes)


def _years(today: date) -> tuple[int, int]:
    return today.year, today.year - 1


@bp.route("/")
@allow(*PARTNERS, statuses=tuple(BROKERS))
def firm():
    """A partner admin sees the people of their firm; a member their own record."""
    today = training.today_utc()
    org = current_user.organisation
    people = training.people_in_scope(db.session, org) if current_user.role is Role.partner_admin else [current_user]
    years = _years(today)
    cover = {year: training.coverage(db.session, year, today, people=people) for year in years}
    records = training.records_of(db.session, people, years)
    return render_template("training/firm.html", org=org, years=years, cover=cover, records=records, today=today)


def _recordable_people() -> list[User]:
    if current_user.role is Role.partner_admin:
        return training.people_in_scope(db.session, current_user.organisation)
    return training.people_in_scope(db.session)


def _person_label(user: User) -> str:
    org = user.organisation if user.role in training.PARTNER_DISTRIBUTION_ROLES else None
    return f"{user.full_name} — {org.legal_name if org else _('Broker staff')}"


@bp.route("/new", methods=["GET", "POST"])
@allow(Role.partner_admin, *STAFF_READERS, statuses=tuple(BROKERS))
def record_new():
    people = {p.public_id: p for p in _recordable_people()}
    form = TrainingForm([(pid, _person_label(p)) for pid, p in people.items()])
    if request.method == "GET" and request.args.get("person") in people:
        form.person.data = request.args["person"]
    if form.validate_on_submit():
        person = people[form.person.data]
        upload = form.evidence.data
        evidence = None
        if upload and upload.filename:
            evidence = upload.read(training.EVIDENCE_MAX_BYTES + 1)  # one byte more than allowed says "too large"
            upload.close()
        values = training.TrainingInput(
            provider=form.provider.data or "", completed_on=form.completed_on.data,
            duration_minutes=form.duration_minutes.data, format=form.format.data or "", themes=form.themes.data or [],
            evidence_filename=upload.filename if evidence else None, evidence=evidence or None)
        with unit_of_work(form) as work:
            training.record_training(db.session, current_user, person, values, today=training.today_utc(),
                                     ip=request.remote_addr)
        if work.ok:
            back = url_for("training.firm") if current_user.is_partner else url_for(
                "training.person", public_id=person.public_id)
            return done(_("Training recorded for %(name)s.", name=person.full_name), back)
    return render_template("training/record_form.html", form=form), 200 if not form.errors else 422


@bp.route("/records/<public_id>/evidence")
@allow(*PARTNERS, *STAFF_READERS, statuses=tuple(BROKERS))
def evidence(public_id: str):
    record = db.one_or_404(select(training.TrainingRecord).where(training.TrainingRecord.public_id == public_id))
    if not training.may_read(current_user, record) or record.evidence is None:
        abort(404)  # another firm's record is not found, never forbidden
    name = (record.evidence_filename or "evidence").replace('"', "").replace("\\", "")
    return Response(record.evidence, mimetype=record.evidence_content_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _coverage_year(today: date) -> int:
    year = request.args.get("year", type=int)
    return year if year in _years(today) else today.year


@bp.route("/coverage")
@allow(*STAFF_READERS)
def coverage():
    today = training.today_utc()
    year = _coverage_year(today)
    firms = training.by_firm(training.coverage(db.session, year, today))
    below_only = request.args.get("below") == "1"
    if below_only:
        firms = [f for f in firms if f.below]
    point = training.last_alert_point(today)
    alerts = training.alerts_at(db.session, point) if point else []
    return render_template("training/coverage.html", firms=firms, year=year, years=_years(today), today=today,
                           below_only=below_only, point=point, alerts=alerts)


@bp.route("/coverage.csv")
@allow(*STAFF_READERS)
def coverage_csv():
    today = training.today_utc()
    year = _coverage_year(today)
    rows = []
    for firm in training.by_firm(training.coverage(db.session, year, today)):
        org = firm.organisation
        for p in firm.people:
            rows.append((year, org.legal_name if org else "", org.status.value if org else "staff", p.user.full_name,
                         p.user.email, p.user.role.value, f"{p.minutes / 60:.2f}", f"{p.target / 60:.2f}",
                         f"{p.yearly_target / 60:.2f}", "yes" if p.below else "no"))
    return Response(csv_text(["year", "firm", "status", "person", "email", "role", "hours", "target_hours_to_date",
                              "yearly_target_hours", "below_target"], rows),
                    mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="training-coverage-{year}.csv"'})


@bp.route("/people/<public_id>")
@allow(*STAFF_READERS)
def person(public_id: str):
    user = get_or_404(User, public_id)
    if not training.in_scope(user):
        abort(404)
    today = training.today_utc()
    years = _years(today)
    cover = {year: training.coverage(db.session, year, today, people=[user]) for year in years}
    records = training.records_of(db.session, [user], years)
    return render_template("training/person.html", person=user, years=years, cover=cover, records=records)

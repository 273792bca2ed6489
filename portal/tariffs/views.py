"""The tariff and zone editor (administrators). A tariff or zone table is never changed: a new version takes
effect from a date (funnel.tariffs). A new tariff version starts from an existing one: staff change its numbers
(premiums in euros, minimum term, age limit, waiting periods) in a form whose inputs are named by the grid's
paths, so each problem `funnel.grid.parse_grid` names shows under its own input; the guarantee tables are kept.
The zone table is changed by listing the countries that move (`US 1`, `IS -` to drop one)."""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core.accounts import Role, User
from core.db import utcnow
from funnel.catalogue import ZONES, Cover, Guarantee
from funnel.countries import is_country
from funnel.errors import FunnelError, GridInvalid, NoVersionInForce
from funnel.grid import parse_grid
from funnel.models import TariffVersion
from funnel.tariffs import (publish_tariff_version, publish_zone_review, tariff_history, zone_table_history,
                            zones_in_force)
from ledger.statement_files import parse_amount

from ..edge import done, unit_of_work
from ..extensions import db
from ..forms import apply_domain_errors
from ..i18n import tr
from ..security.access import allow
from ..security.scoping import get_or_404

bp = Blueprint("tariffs", __name__, url_prefix="/tariffs")
ADMIN = Role.admin
AMOUNT_MESSAGE = _l("Enter a monthly amount in euros, such as 19.50.")
COUNT_MESSAGE = _l("Enter a whole number.")
_ZONE_LINE = re.compile(r"([A-Za-z]{2})\s*[:=;,]?\s*([0-9]+|-)")


def _today() -> date:
    return utcnow().date()


def _names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    return dict(db.session.execute(select(User.id, User.email).where(User.id.in_(ids))).all()) if ids else {}


@bp.route("/")
@allow(ADMIN)
def index():
    histories = {cover: tariff_history(db.session, cover) for cover in Cover}
    in_force = {cover: next((v for v in versions if v.effective_from <= _today()), None)
                for cover, versions in histories.items()}
    names = _names(v.created_by_id for versions in histories.values() for v in versions)
    return render_template("tariffs/index.html", histories=histories, in_force=in_force, names=names,
                           today=_today())


def _euros(minor) -> str:
    return f"{minor / 100:.2f}" if isinstance(minor, int) else ""


@bp.route("/versions/<public_id>")
@allow(ADMIN)
def version(public_id: str):
    tariff = get_or_404(TariffVersion, public_id)
    grid = parse_grid(tariff.cover, tariff.grid)
    return render_template("tariffs/version.html", tariff=tariff, grid=grid, zones=ZONES, euros=_euros,
                           created_by=_names([tariff.created_by_id]).get(tariff.created_by_id))


class VersionForm(FlaskForm):
    effective_from = DateField(_l("Takes effect on"), validators=[DataRequired()])
    notes = TextAreaField(_l("Notes (what changed and why)"), validators=[Optional(), Length(max=1000)])


def _grid_inputs(cover: Cover, data: dict) -> list[tuple[str, str, str]]:
    """(input name = grid path, label, current text) of each number staff may change."""
    rows = [("minimum_term_months", _("Minimum commitment (months)"), str(data.get("minimum_term_months") or ""))]
    if cover.zoned:
        rows.append(("child_age_limit", _("Children covered until the eve of this birthday"),
                     str(data.get("child_age_limit") or "")))
    for guarantee in Guarantee:
        if guarantee.cover is cover:
            months = data.get("waiting_periods", {}).get(guarantee.value)
            rows.append((f"waiting_periods.{guarantee.value}",
                         _("Waiting period, %(guarantee)s (months; empty: none)", guarantee=tr(guarantee.label)),
                         "" if months is None else str(months)))
    return rows


def _premium_inputs(cover: Cover, data: dict) -> list[tuple[str, str, str]]:
    rows = []
    for i, formula in enumerate(data.get("formulas", [])):
        premiums = formula.get("premiums", {})
        cells = ([(f"{zone}.{c.value}", premiums.get(str(zone), {}).get(c.value)) for zone in ZONES
                  for c in cover.categories] if cover.zoned else
                 [(c.value, premiums.get(c.value)) for c in cover.categories])
        for key, minor in cells:
            rows.append((f"formulas.{i}.premiums.{key}", formula.get("code", ""), _euros(minor)))
    return rows


def _read_count(text: str):
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else text


def _apply_inputs(cover: Cover, data: dict, form) -> dict[str, list[str]]:
    """Write what was typed into `data` (the base grid's JSON); returns the problems of the inputs themselves."""
    problems: dict[str, list[str]] = {}
    for name, _label, _text in _grid_inputs(cover, data):
        value = _read_count(form.get(name, ""))
        if isinstance(value, str):
            problems[name] = [str(COUNT_MESSAGE)]
        if name.startswith("waiting_periods."):
            waiting = data.setdefault("waiting_periods", {})
            key = name.split(".", 1)[1]
            if value is None:
                waiting.pop(key, None)
            else:
                waiting[key] = value
        else:
            data[name] = value
    for name, _code, _text in _premium_inputs(cover, data):
        text = form.get(name, "").strip()
        _, i, _, *key = name.split(".")
        try:
            minor = parse_amount(text, "EUR") if text else None
        except ValueError:
            minor, problems[name] = text, [str(AMOUNT_MESSAGE)]
        target = data["formulas"][int(i)]["premiums"]
        if len(key) == 2:
            target = target.setdefault(key[0], {})
        target[key[-1]] = minor
    return problems


@bp.route("/versions/<public_id>/new", methods=["GET", "POST"])
@allow(ADMIN)
def new_version(public_id: str):
    """A new version of the same cover, starting from this one."""
    base = get_or_404(TariffVersion, public_id)
    cover = base.cover
    data = parse_grid(cover, base.grid).to_data()
    form = VersionForm()
    errors: dict[str, list[str]] = {}
    typed = dict(request.form) if request.method == "POST" else {}
    if form.validate_on_submit():
        errors = _apply_inputs(cover, data, request.form)
        if errors:
            form.form_errors.append(_("Some values are not valid: see the messages under them."))
        else:
            def show(refusal):
                if isinstance(refusal, GridInvalid):
                    errors.update({path: [tr(m, **refusal.params) for m in messages]
                                   for path, messages in refusal.fields.items()})
                    form.form_errors.append(tr(refusal.message, **refusal.params))
                else:
                    apply_domain_errors(form, refusal)

            with unit_of_work(show=show) as work:
                added = publish_tariff_version(db.session, current_user, cover, data,
                                               effective_from=form.effective_from.data, today=_today(),
                                               notes=form.notes.data or "", based_on=base.ref,
                                               ip=request.remote_addr)
            if work.ok:
                return done(_("Tariff version %(ref)s added.", ref=added.ref),
                            url_for("tariffs.version", public_id=added.public_id))
    base_data = parse_grid(cover, base.grid).to_data()
    status = 422 if request.method == "POST" else 200
    return render_template("tariffs/new_version.html", base=base, form=form, errors=errors, typed=typed,
                           grid_inputs=_grid_inputs(cover, base_data), zones=ZONES, cover=cover,
                           premium_inputs=_premium_inputs(cover, base_data),
                           formulas=base_data["formulas"]), status


# --- zones ------------------------------------------------------------------------------------------------------

class ZoneReviewForm(FlaskForm):
    effective_from = DateField(_l("Takes effect on"), validators=[DataRequired()])
    reviewed_on = DateField(_l("Reviewed on"), validators=[DataRequired()])
    changes = TextAreaField(_l("Countries that change zone"), validators=[Optional(), Length(max=5000)])
    notes = TextAreaField(_l("Notes (what changed and why)"), validators=[Optional(), Length(max=1000)])


def _read_changes(text: str) -> tuple[dict[str, int | None], list[str]]:
    changes: dict[str, int | None] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        match = _ZONE_LINE.fullmatch(line)
        if match is None or (match.group(2) != "-" and int(match.group(2)) not in ZONES):
            problems.append(_("Line %(n)s: write a country code and a zone 1, 2 or 3 (or - to remove the "
                              "country), such as “US 1”.", n=number))
            continue
        country = match.group(1).upper()
        if not is_country(country):
            problems.append(_("Line %(n)s: %(country)s is not an ISO country code.", n=number, country=country))
            continue
        changes[country] = None if match.group(2) == "-" else int(match.group(2))
    return changes, problems


@bp.route("/zones", methods=["GET", "POST"])
@allow(ADMIN)
def zones():
    form = ZoneReviewForm()
    if request.method == "GET":
        form.reviewed_on.data = _today()
    if form.validate_on_submit():
        changes, problems = _read_changes(form.changes.data or "")
        if problems:
            form.changes.errors = problems
        else:
            def show(refusal: FunnelError):
                if isinstance(refusal, GridInvalid):
                    form.changes.errors = [f"{path.removeprefix('zones.')}: {tr(m, **refusal.params)}"
                                           for path, messages in refusal.fields.items() for m in messages]
                else:
                    apply_domain_errors(form, refusal)
                    if not any(f.errors for f in form) and not form.form_errors:
                        form.form_errors.append(tr(refusal.message, **refusal.params))

            with unit_of_work(show=show) as work:
                table = publish_zone_review(db.session, current_user, changes,
                                            effective_from=form.effective_from.data,
                                            reviewed_on=form.reviewed_on.data, today=_today(),
                                            notes=form.notes.data or "", ip=request.remote_addr)
            if work.ok:
                return done(_("Zone table %(ref)s recorded.", ref=table.ref), url_for("tariffs.zones"))
    try:
        current = zones_in_force(db.session, _today())
    except NoVersionInForce:
        current = None
    rows = sorted(current.by_country.items(), key=lambda cz: (cz[1], cz[0])) if current else []
    history = zone_table_history(db.session)
    return render_template("tariffs/zones.html", form=form, current=current, rows=rows, history=history,
                           names=_names(t.created_by_id for t in history)), 422 if request.method == "POST" else 200


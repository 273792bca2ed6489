"""The insurers' commission rates, per product line, each from a date (finance records them; admin reads)."""
from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.accounts import Role
from core.contracts import Insurer
from core.products import ProductLine
from ledger import operations as ops
from ledger.commissions import InsurerRate

from ...edge import done, unit_of_work
from ...extensions import db
from ...i18n import format_day, tr
from ...security.access import allow
from ..blueprint import bp
from ..common import READERS, today, wants_csv
from ..exports import csv_response
from ..forms import InsurerRateForm


def _rate_form() -> InsurerRateForm:
    form = InsurerRateForm()
    form.insurer.choices = [(i.public_id, i.name) for i in db.session.execute(
        select(Insurer).where(Insurer.active.is_(True)).order_by(Insurer.name)).scalars()]
    form.product_line.choices = [(line.value, tr(line.label)) for line in ProductLine]
    if request.method == "GET":
        form.effective_from.data = today()
    return form


def _rates_page(form: InsurerRateForm, status: int = 200):
    rows = db.session.execute(select(InsurerRate, Insurer.name).join(Insurer, Insurer.id == InsurerRate.insurer_id)
                              .order_by(Insurer.name, InsurerRate.product_line,
                                        InsurerRate.effective_from.desc())).all()
    if wants_csv():
        return csv_response("insurer-rates.csv", ["insurer", "product_line", "rate", "effective_from", "recorded_by"],
                            [(name, r.product_line.value, str(r.rate), r.effective_from.isoformat(), r.recorded_by)
                             for r, name in rows])
    return render_template("finance/insurer_rates.html", rows=rows, form=form), status


@bp.route("/insurer-rates", methods=["GET"])
@allow(*READERS)
def insurer_rates():
    return _rates_page(_rate_form())


@bp.route("/insurer-rates", methods=["POST"])
@allow(Role.finance)
def insurer_rate_add():
    """A new rate from a date; what was posted before keeps the rate it was posted at."""
    form = _rate_form()
    if form.validate_on_submit():
        insurer = db.session.execute(select(Insurer).where(Insurer.public_id == form.insurer.data)).scalar_one()
        with unit_of_work(form) as work:
            ops.set_insurer_rate(db.session, current_user, insurer, form.product_line.data, form.fraction,
                                 form.effective_from.data)
        if work.ok:
            return done(_("Rate recorded: %(insurer)s, from %(date)s.", insurer=insurer.name,
                          date=format_day(form.effective_from.data)), url_for("finance.insurer_rates"))
    return _rates_page(form, 422)

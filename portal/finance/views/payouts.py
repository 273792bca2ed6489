"""Payout runs: one finance user prepares a run, a second approves it (the SEPA file for the bank), and the
bank's confirmation settles it. Each action is a ledger operation (ledger.operations) with its audit record."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.accounts import Role
from ledger import operations as ops, payouts
from ledger.models import Account

from ...edge import done, unit_of_work
from ...extensions import db
from ...security import policy
from ...security.access import allow, permit
from ...security.scoping import get_or_404
from ..blueprint import bp
from ..common import today, wants_csv
from ..exports import csv_response, decimal_amount, pain001_response
from ..forms import PayoutRunForm, SettleForm, parse_month
from ..services import debtor, payees


def _currencies() -> list[str]:
    return sorted(set(db.session.execute(select(Account.currency).where(
        Account.code.startswith(payouts.AVAILABLE_PREFIX, autoescape=True))).scalars())) or ["EUR"]


def _run_form() -> PayoutRunForm:
    form = PayoutRunForm()
    form.currency.choices = [(c, c) for c in _currencies()]
    if request.method == "GET":
        last_month = (today().replace(day=1) - timedelta(days=1)).replace(day=1)
        form.period.data = f"{last_month:%Y-%m}"
        form.execution_date.data = today() + timedelta(days=1)
    return form


@bp.route("/payout-runs", methods=["GET"])
@permit(policy.READ_PAYOUT_RUNS)
def payout_runs():
    runs = payouts.runs(db.session, limit=200)
    if wants_csv():
        return csv_response("payout-runs.csv", ["reference", "period", "currency", "status", "lines", "total",
                                                "prepared_by", "approved_by", "bank_reference"],
                            [(r.reference, f"{r.period:%Y-%m}", r.currency, r.status.value, len(r.lines),
                              decimal_amount(r.total_minor, r.currency), r.prepared_by_name,
                              r.approved_by_name or "", r.bank_reference or "") for r in runs])
    return render_template("finance/payout_runs.html", runs=runs, form=_run_form())


@bp.route("/payout-runs", methods=["POST"])
@allow(Role.finance)
def payout_run_prepare():
    form = _run_form()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            run = ops.prepare_payout_run(db.session, current_user, period=parse_month(form.period.data),
                                         currency=form.currency.data, payees=payees(db.session, today()),
                                         execution_date=form.execution_date.data)
        if work.ok:
            return done(_("Payout run %(ref)s prepared: a second finance user approves it.", ref=run.reference),
                        url_for("finance.payout_run", public_id=run.public_id))
    return render_template("finance/payout_runs.html", runs=payouts.runs(db.session, limit=200), form=form), 422


@bp.route("/payout-runs/<public_id>")
@permit(policy.READ_PAYOUT_RUNS)
def payout_run(public_id: str):
    run = get_or_404(payouts.PayoutRun, public_id)
    if wants_csv():
        rows = [("payout", line.payee_name, line.partner, line.iban, line.bic,
                 decimal_amount(line.amount_minor, run.currency), run.currency, line.end_to_end_id)
                for line in run.lines]
        rows += [("excluded", ex.payee_name, ex.partner, "", "", decimal_amount(ex.balance_minor, run.currency),
                  run.currency, ex.reason.value + (f" {ex.due_on}" if ex.due_on else "")) for ex in run.exclusions]
        return csv_response(f"{run.reference}.csv", ["kind", "payee", "partner", "iban", "bic", "amount",
                                                      "currency", "reference_or_reason"], rows)
    return render_template("finance/payout_run.html", run=run, settle_form=SettleForm(),
                           may_approve=current_user.role is Role.finance
                           and current_user.public_id != run.prepared_by)


def _back_to(public_id: str):
    return redirect(url_for("finance.payout_run", public_id=public_id))


@bp.route("/payout-runs/<public_id>/approve", methods=["POST"])
@allow(Role.finance)
def payout_run_approve(public_id: str):
    run = get_or_404(payouts.PayoutRun, public_id)
    with unit_of_work() as work:
        approved = ops.approve_payout_run(db.session, current_user, run, debtor=debtor(), today=today())
    if work.ok:
        flash(_("Payout run %(ref)s approved: download the transfer file for the bank.", ref=run.reference)
              if approved else _("This payout run was approved already: nothing was paid twice."), "success")
    return _back_to(public_id)


@bp.route("/payout-runs/<public_id>/settle", methods=["POST"])
@allow(Role.finance)
def payout_run_settle(public_id: str):
    form = SettleForm()
    if not form.validate_on_submit():
        flash(_("Enter the bank's confirmation reference."), "error")
        return _back_to(public_id)
    run = get_or_404(payouts.PayoutRun, public_id)
    with unit_of_work() as work:
        settled = ops.settle_payout_run(db.session, current_user, run, bank_reference=form.bank_reference.data,
                                        today=today())
    if work.ok:
        flash(_("Payout run %(ref)s settled.", ref=run.reference) if settled
              else _("This payout run was settled already."), "success")
    return _back_to(public_id)


@bp.route("/payout-runs/<public_id>/cancel", methods=["POST"])
@allow(Role.finance)
def payout_run_cancel(public_id: str):
    run = get_or_404(payouts.PayoutRun, public_id)
    with unit_of_work(success=_("Payout run %(ref)s cancelled: nothing was posted.", ref=run.reference)):
        ops.cancel_payout_run(db.session, current_user, run)
    return _back_to(public_id)


@bp.route("/payout-runs/<public_id>/pain001.xml")
@permit(policy.READ_PAYOUT_RUNS)
def payout_run_pain001(public_id: str):
    return pain001_response(get_or_404(payouts.PayoutRun, public_id))

"""Finance overview, payout runs, partner bank details, disclosure releases, accruals and the trial balance.

GET pages are open to finance and admin (admin reads only); every POST is finance's (disclosure releases also
compliance's).
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core import audit
from core.accounts import Organisation, Role
from core.contracts import Contract, Insurer
from core.db import utcnow
from core.errors import DomainError
from core.products import ProductLine
from ledger import commissions, engine, payouts, posting, reports
from ledger.models import Account

from ..extensions import db
from ..forms import apply_domain_errors
from ..i18n import tr
from ..security import policy
from ..security.access import allow, permit
from .blueprint import bp
from .exports import csv_response, decimal_amount
from .forms import BankDetailsForm, InsurerRateForm, PayoutRunForm, SettleForm, parse_month
from .services import debtor, payees

READERS = (Role.finance, Role.admin)


def _today() -> date:
    return utcnow().date()


def _months_back(n: int) -> date:
    first = _today().replace(day=1)
    for _i in range(n - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def _org_names() -> dict[str, str]:
    return dict(db.session.execute(select(Organisation.public_id, Organisation.legal_name)).all())


def _wants_csv() -> bool:
    return request.args.get("format") == "csv"


# --- overview ------------------------------------------------------------------------------------------------

@bp.route("/")
@allow(*READERS)
def index():
    figures = reports.accrued_vs_paid(db.session, _months_back(12), _today())
    by_currency: dict[str, list] = {}
    for f in figures:
        by_currency.setdefault(f.currency, []).append(f)
    if _wants_csv():
        return csv_response("accrued-vs-paid.csv", ["month", "currency", "accrued", "paid"],
                            [(f.month, f.currency, decimal_amount(f.accrued_minor, f.currency),
                              decimal_amount(f.paid_minor, f.currency)) for f in figures])
    pending = len(commissions.pending_events(db.session))
    failed = posting.failures(db.session)
    open_runs = payouts.runs(db.session, limit=5)
    return render_template("finance/index.html", by_currency=by_currency, pending=pending, failed=failed,
                           open_runs=open_runs, chart=_chart(by_currency))


def _chart(by_currency: dict[str, list]) -> dict[str, dict]:
    """Bar heights (0–100) for each of the last 12 months, for a plain SVG chart (no script for the CSP to
    refuse); a month with nothing shows empty bars rather than disappearing."""
    months = []
    first = _months_back(12)
    while first <= _today():
        months.append(f"{first:%Y-%m}")
        first = engine.month_end(first) + timedelta(days=1)
    charts = {}
    for currency, rows in by_currency.items():
        known = {r.month: r for r in rows}
        top = max([max(r.accrued_minor, r.paid_minor) for r in rows] + [1])
        bars = []
        for month in months:
            r = known.get(month) or reports.MonthFigures(month, currency, 0, 0)
            bars.append((month, round(100 * max(r.accrued_minor, 0) / top), round(100 * max(r.paid_minor, 0) / top),
                         r))
        charts[currency] = {"top": top, "bars": bars}
    return charts


@bp.route("/post-events", methods=["POST"])
@allow(Role.finance)
def post_events():
    """Retry failed postings: post every business event the outbox worker could not (or has not yet)."""
    report = posting.post_pending(db.session, _today())
    db.session.commit()
    flash(_("%(n)s business events posted.", n=len(report.posted)), "success")
    for failure in report.failed[:10]:
        flash(_("Not posted: %(reason)s", reason=tr(failure.reason, **failure.params)), "error")
    return redirect(url_for("finance.index"))


# --- accruals and trial balance ------------------------------------------------------------------------------

@bp.route("/accruals")
@allow(*READERS)
def accruals():
    start = parse_month(request.args.get("from")) or _months_back(12)
    end_month = parse_month(request.args.get("to")) or _today().replace(day=1)
    end = engine.month_end(end_month)
    rows = reports.accruals(db.session, start, end)
    names = _org_names()
    if _wants_csv():
        return csv_response("accruals.csv", ["month", "insurer", "partner", "currency", "entries",
                                             "broker_commission", "partner_share", "retained"],
                            [(r.month, r.insurer, names.get(r.partner, r.partner or ""), r.currency, r.entries,
                              decimal_amount(r.commission_minor, r.currency),
                              decimal_amount(r.partner_share_minor, r.currency),
                              decimal_amount(r.retained_minor, r.currency)) for r in rows])
    return render_template("finance/accruals.html", rows=rows, names=names, start=start, end=end_month)


@bp.route("/trial-balance")
@allow(*READERS)
def trial_balance():
    try:
        as_of = date.fromisoformat(request.args["as_of"]) if request.args.get("as_of") else None
    except ValueError:
        as_of = None
        flash(_("Enter the date as YYYY-MM-DD."), "error")
    tb = engine.trial_balance(db.session, as_of)
    if _wants_csv():
        return csv_response("trial-balance.csv", ["currency", "account", "type", "debit", "credit"],
                            [(currency, acct.code, acct.type.value,
                              decimal_amount(value, currency) if value > 0 else "",
                              decimal_amount(-value, currency) if value < 0 else "")
                             for currency, rows in tb.items() for acct, value in rows])
    totals = {c: (sum(v for _a, v in rows if v > 0), -sum(v for _a, v in rows if v < 0)) for c, rows in tb.items()}
    return render_template("finance/trial_balance.html", tb=tb, totals=totals, as_of=as_of)


# --- payout runs ---------------------------------------------------------------------------------------------

def _currencies() -> list[str]:
    return sorted(set(db.session.execute(select(Account.currency).where(
        Account.code.startswith(payouts.AVAILABLE_PREFIX, autoescape=True))).scalars())) or ["EUR"]


def _run_form() -> PayoutRunForm:
    form = PayoutRunForm()
    form.currency.choices = [(c, c) for c in _currencies()]
    if request.method == "GET":
        last_month = (_today().replace(day=1) - timedelta(days=1)).replace(day=1)
        form.period.data = f"{last_month:%Y-%m}"
        form.execution_date.data = _today() + timedelta(days=1)
    return form


@bp.route("/payout-runs", methods=["GET"])
@permit(policy.READ_PAYOUT_RUNS)
def payout_runs():
    runs = payouts.runs(db.session, limit=200)
    if _wants_csv():
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
        period = parse_month(form.period.data)
        try:
            run = payouts.prepare(db.session, period=period, currency=form.currency.data,
                                  payees=payees(db.session, _today()), prepared_by=current_user.public_id,
                                  prepared_by_name=current_user.full_name, execution_date=form.execution_date.data)
            audit.record(db.session, "payout_run.prepared", actor=current_user, subject=run,
                         total_minor=run.total_minor, currency=run.currency, lines=len(run.lines))
        except DomainError as exc:
            db.session.rollback()
            apply_domain_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Payout run %(ref)s prepared: a second finance user approves it.", ref=run.reference), "success")
            return redirect(url_for("finance.payout_run", public_id=run.public_id))
    return render_template("finance/payout_runs.html", runs=payouts.runs(db.session, limit=200), form=form), 422


def _run(public_id: str) -> payouts.PayoutRun:
    try:
        return payouts.get_run(db.session, public_id)
    except DomainError:
        abort(404)


@bp.route("/payout-runs/<public_id>")
@permit(policy.READ_PAYOUT_RUNS)
def payout_run(public_id: str):
    run = _run(public_id)
    if _wants_csv():
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


def _act(public_id: str, action):
    run = _run(public_id)
    try:
        message = action(run)
    except DomainError as exc:
        db.session.rollback()
        flash(tr(exc.message, **exc.params), "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("finance.payout_run", public_id=public_id))


@bp.route("/payout-runs/<public_id>/approve", methods=["POST"])
@allow(Role.finance)
def payout_run_approve(public_id: str):
    def approve(run):
        run, done = payouts.approve(db.session, run, approved_by=current_user.public_id,
                                    approved_by_name=current_user.full_name, debtor=debtor(), today=_today())
        if not done:
            return _("This payout run was approved already: nothing was paid twice.")
        audit.record(db.session, "payout_run.approved", actor=current_user, subject=run,
                     total_minor=run.total_minor, currency=run.currency, pain001_sha256=run.pain001_sha256)
        return _("Payout run %(ref)s approved: download the transfer file for the bank.", ref=run.reference)
    return _act(public_id, approve)


@bp.route("/payout-runs/<public_id>/settle", methods=["POST"])
@allow(Role.finance)
def payout_run_settle(public_id: str):
    form = SettleForm()
    if not form.validate_on_submit():
        flash(_("Enter the bank's confirmation reference."), "error")
        return redirect(url_for("finance.payout_run", public_id=public_id))

    def settle(run):
        run, done = payouts.settle(db.session, run, settled_by=current_user.public_id,
                                   bank_reference=form.bank_reference.data.strip(), today=_today())
        if not done:
            return _("This payout run was settled already.")
        audit.record(db.session, "payout_run.settled", actor=current_user, subject=run,
                     bank_reference=run.bank_reference)
        return _("Payout run %(ref)s settled.", ref=run.reference)
    return _act(public_id, settle)


@bp.route("/payout-runs/<public_id>/cancel", methods=["POST"])
@allow(Role.finance)
def payout_run_cancel(public_id: str):
    def cancel(run):
        payouts.cancel(db.session, run, cancelled_by=current_user.public_id)
        audit.record(db.session, "payout_run.cancelled", actor=current_user, subject=run)
        return _("Payout run %(ref)s cancelled: nothing was posted.", ref=run.reference)
    return _act(public_id, cancel)


@bp.route("/payout-runs/<public_id>/pain001.xml")
@permit(policy.READ_PAYOUT_RUNS)
def payout_run_pain001(public_id: str):
    run = _run(public_id)
    if not run.pain001:
        abort(404)
    return Response(run.pain001, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{run.reference}.pain001.xml"'})


# --- partners: bank details and balances ---------------------------------------------------------------------

@bp.route("/partners")
@allow(*READERS)
def partners():
    orgs = db.session.execute(select(Organisation).order_by(Organisation.legal_name)).scalars().all()
    balances: dict[str, dict[str, tuple[int, int]]] = {}
    payables = select(Account).where(Account.code.startswith("partner_payable:", autoescape=True))
    for acct in db.session.execute(payables).scalars():
        kind, org = acct.code.split(":")[1:3]
        held, available = balances.setdefault(org, {}).get(acct.currency, (0, 0))
        value = acct.normal_balance
        balances[org][acct.currency] = (held + value, available) if kind == "held" else (held, available + value)
    if _wants_csv():
        return csv_response("partner-balances.csv", ["partner", "currency", "held", "available", "iban", "bic"],
                            [(o.legal_name, c, decimal_amount(h, c), decimal_amount(a, c), o.payout_iban or "",
                              o.payout_bic or "") for o in orgs for c, (h, a) in balances.get(o.public_id, {}).items()])
    checked = {o.public_id: payouts.checked_bank_details(o.payout_iban, o.payout_bic) for o in orgs}
    problems = {k: v for k, v in checked.items() if isinstance(v, payouts.ExclusionReason)}
    return render_template("finance/partners.html", orgs=orgs, balances=balances, problems=problems)


@bp.route("/partners/<public_id>/bank", methods=["GET", "POST"])
@allow(*READERS)
def bank_details(public_id: str):
    org = db.session.execute(select(Organisation).where(Organisation.public_id == public_id)).scalar_one_or_none()
    if org is None:
        abort(404)
    form = BankDetailsForm()
    if request.method == "POST":
        if current_user.role is not Role.finance:
            abort(403)
        if form.validate_on_submit():
            before = {"iban": org.payout_iban, "bic": org.payout_bic, "holder": org.payout_account_holder}
            org.payout_account_holder = form.account_holder.data.strip()
            org.payout_iban, org.payout_bic = form.iban_compact, form.bic_compact
            org.payout_minimum_minor = form.minimum_minor
            # a changed IBAN is how payments get diverted: every change is on the audit chain
            audit.record(db.session, "organisation.bank_details_changed", actor=current_user, subject=org,
                         ip=request.remote_addr, before=before,
                         after={"iban": org.payout_iban, "bic": org.payout_bic, "holder": org.payout_account_holder})
            db.session.commit()
            flash(_("Bank details of %(name)s saved.", name=org.legal_name), "success")
            return redirect(url_for("finance.partners"))
        return render_template("finance/bank_details.html", org=org, form=form), 422
    form.account_holder.data = org.payout_account_holder or org.legal_name
    form.iban.data, form.bic.data = org.payout_iban, org.payout_bic
    form.minimum.data = decimal_amount(org.payout_minimum_minor, "EUR")
    return render_template("finance/bank_details.html", org=org, form=form)


# --- disclosure releases -------------------------------------------------------------------------------------

@bp.route("/disclosures")
@allow(Role.finance, Role.compliance, Role.admin)
def disclosures():
    shares = reports.held_shares(db.session)
    return render_template("finance/disclosures.html", shares=shares, names=_org_names(),
                           may_release=current_user.role in (Role.finance, Role.compliance))


@bp.route("/disclosures/<contract_public_id>/release", methods=["POST"])
@allow(Role.finance, Role.compliance)
def disclosure_release(contract_public_id: str):
    """Until the compliance review of disclosures exists, finance or compliance records its approval here."""
    contract = db.session.execute(select(Contract).where(Contract.public_id == contract_public_id)
                                  ).scalar_one_or_none()
    if contract is None:
        abort(404)
    try:
        entries = commissions.release_disclosure(db.session, contract, today=_today(),
                                                 released_by=current_user.email)
        audit.record(db.session, "disclosure.released", actor=current_user, subject=contract,
                     entries=[e.public_id for e in entries])
    except DomainError as exc:
        db.session.rollback()
        flash(tr(exc.message, **exc.params), "error")
    else:
        db.session.commit()
        flash(_("The partner's share on %(policy)s is now available for payout.", policy=contract.policy_number),
              "success")
    return redirect(url_for("finance.disclosures"))


# --- insurer commission rates --------------------------------------------------------------------------------

def _rate_form() -> InsurerRateForm:
    form = InsurerRateForm()
    form.insurer.choices = [(i.public_id, i.name) for i in db.session.execute(
        select(Insurer).where(Insurer.active.is_(True)).order_by(Insurer.name)).scalars()]
    form.product_line.choices = [(line.value, tr(line.label)) for line in ProductLine]
    if request.method == "GET":
        form.effective_from.data = _today()
    return form


def _rates_page(form, status=200):
    rows = db.session.execute(select(commissions.InsurerRate, Insurer.name)
                              .join(Insurer, Insurer.id == commissions.InsurerRate.insurer_id)
                              .order_by(Insurer.name, commissions.InsurerRate.product_line,
                                        commissions.InsurerRate.effective_from.desc())).all()
    if _wants_csv():
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
    if not form.validate_on_submit():
        return _rates_page(form, 422)
    insurer = db.session.execute(select(Insurer).where(Insurer.public_id == form.insurer.data)).scalar_one()
    try:
        row = commissions.set_insurer_rate(db.session, insurer, form.product_line.data, form.fraction,
                                           form.effective_from.data, current_user.email)
        audit.record(db.session, "insurer_rate.set", actor=current_user, subject=insurer,
                     product_line=row.product_line.value, rate=str(row.rate), effective_from=row.effective_from)
    except DomainError as exc:
        db.session.rollback()
        apply_domain_errors(form, exc)
        return _rates_page(form, 422)
    db.session.commit()
    flash(_("Rate recorded: %(insurer)s, from %(date)s.", insurer=insurer.name,
            date=form.effective_from.data.isoformat()), "success")
    return redirect(url_for("finance.insurer_rates"))

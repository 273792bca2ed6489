"""Insurer commission statements: import, reconciliation, receipts and receivables ageing (finance).

GET pages are open to finance and admin (admin reads only: no form is shown to it); every POST is finance's.
Each table downloads as CSV with `?format=csv`: amounts as exact decimal strings next to their currency.
"""
from __future__ import annotations

from datetime import timedelta

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from core.accounts import Role
from core.contracts import Contract, Insurer
from ledger import operations as ops, receipts as money_in, reconciliation as rec, statement_files
from ledger.errors import problem_text
from ledger.models import InsurerReceipt, InsurerStatement, ItemKind, ReconciliationItem, Resolution
from ledger.statements import parse_period

from ...edge import done, unit_of_work
from ...extensions import db
from ...forms import apply_domain_errors
from ...i18n import tr
from ...pagination import paginate
from ...security.access import allow
from ...security.scoping import get_or_404
from ..blueprint import bp
from ..common import READERS, today, wants_csv
from ..exports import csv_response, decimal_amount
from ..reconciliation_forms import ReceiptForm, ResolveForm, StatementUploadForm

#: offered even before any contract uses them; the currencies of our contracts are added
CURRENCIES = ("EUR", "GBP", "USD", "CHF")


def _currencies() -> list[str]:
    used = db.session.execute(select(Contract.currency).distinct()).scalars()
    return sorted(set(CURRENCIES) | set(used))


def _insurers(active_only: bool = False) -> list[Insurer]:
    stmt = select(Insurer).order_by(Insurer.name)
    if active_only:
        stmt = stmt.where(Insurer.active.is_(True))
    return db.session.execute(stmt).scalars().all()


def _insurer_names() -> dict[int, str]:
    return dict(db.session.execute(select(Insurer.id, Insurer.name)).all())


def _period(statement: InsurerStatement) -> str:
    return f"{statement.period:%Y-%m}"


# --- statements ----------------------------------------------------------------------------------------------

def _upload_form() -> StatementUploadForm:
    form = StatementUploadForm()
    form.insurer.choices = [("", _("— choose —"))] + [(i.public_id, i.name) for i in _insurers(active_only=True)]
    form.currency.choices = [(c, c) for c in _currencies()]
    if request.method == "GET":
        form.period.data = f"{(today().replace(day=1) - timedelta(days=1)):%Y-%m}"
        form.currency.data = "EUR"
    return form


def _statements_page(form: StatementUploadForm, status: int = 200):
    insurer_id = request.args.get("insurer") or ""
    stmt = select(InsurerStatement).order_by(InsurerStatement.created_at.desc(), InsurerStatement.id.desc())
    if insurer_id:
        stmt = stmt.join(Insurer, Insurer.id == InsurerStatement.insurer_id).where(Insurer.public_id == insurer_id)
    names = _insurer_names()
    if wants_csv():
        return _statements_csv(db.session.execute(stmt).scalars().all(), names)
    page = paginate(stmt)
    rows = [(s, names.get(s.insurer_id, "?"), money_in.statement_summary(db.session, s)) for s in page.items]
    return render_template("finance/insurer_statements.html", page=page, rows=rows, form=form,
                           insurers=_insurers(), insurer_id=insurer_id), status


def _statements_csv(statements, names):
    rows = []
    for s in statements:
        summary = money_in.statement_summary(db.session, s)
        rows.append((names.get(s.insurer_id, "?"), _period(s), s.currency, s.filename, s.uploaded_by,
                     f"{s.created_at:%Y-%m-%d %H:%M}", sum(summary.kinds.values()),
                     *(decimal_amount(v, s.currency) for v in (summary.reported_minor, summary.expected_minor,
                                                               summary.received_minor, summary.outstanding_minor)),
                     summary.status.value, summary.open_items))
    return csv_response("insurer-statements.csv", ["insurer", "period", "currency", "file", "uploaded_by",
                                                   "uploaded_at", "lines", "reported", "expected", "received",
                                                   "outstanding", "status", "open_items"], rows)


@bp.route("/insurer-statements", methods=["GET"])
@allow(*READERS)
def insurer_statements():
    return _statements_page(_upload_form())


@bp.route("/insurer-statements", methods=["POST"])
@allow(Role.finance)
def insurer_statement_upload():
    form = _upload_form()
    if form.validate_on_submit():
        upload = form.file.data
        with unit_of_work(show=lambda refusal: _show_upload_refusal(form, refusal)) as work:
            statement = ops.import_insurer_statement(
                db.session, current_user, insurer=get_or_404(Insurer, form.insurer.data),
                period=parse_period(form.period.data.strip()), currency=form.currency.data,
                filename=upload.filename or "statement", content=upload.read())
        if work.ok:
            return done(ngettext("Statement imported: %(num)s line to check.",
                                 "Statement imported: %(num)s lines to check.", len(statement.items)),
                        url_for("finance.insurer_statement", public_id=statement.public_id))
    return _statements_page(form, 422)


def _show_upload_refusal(form: StatementUploadForm, refusal) -> None:
    """A file that cannot be imported lists each of its problems under the file field."""
    if isinstance(refusal, statement_files.StatementInvalid):
        form.file.errors = [problem_text(problem, tr) for problem in refusal.problems]
    else:
        apply_domain_errors(form, refusal)


def _filters() -> dict[str, str]:
    kind, resolution = request.args.get("kind", ""), request.args.get("resolution", "")
    return {"kind": kind if kind in ItemKind.__members__ else "",
            "resolution": resolution if resolution in Resolution.__members__ else ""}


def _statement_page(statement: InsurerStatement, errors: dict | None = None, status: int = 200):
    filters = _filters()
    items = [i for i in statement.items if (not filters["kind"] or i.kind.value == filters["kind"])
             and (not filters["resolution"] or i.resolution.value == filters["resolution"])]
    if wants_csv():
        return _items_csv(statement, items)
    receipts = db.session.execute(select(InsurerReceipt).where(InsurerReceipt.statement_id == statement.id)
                                  .order_by(InsurerReceipt.received_on, InsurerReceipt.id)).scalars().all()
    return render_template("finance/insurer_statement.html", statement=statement, items=items, filters=filters,
                           insurer=db.session.get(Insurer, statement.insurer_id), receipts=receipts,
                           summary=money_in.statement_summary(db.session, statement), kinds=ItemKind,
                           resolutions=Resolution, errors=errors or {},
                           adjust_refusal=rec.adjust_refusal), status


def _items_csv(statement: InsurerStatement, items):
    c = statement.currency
    rows = [(i.row_number or "", i.policy_number, i.line_period or "", i.kind.value, decimal_amount(i.premium_minor, c),
             decimal_amount(i.reported_minor, c), decimal_amount(i.expected_minor, c),
             decimal_amount(i.reported_minor - i.expected_minor, c)
             if i.reported_minor is not None and i.expected_minor is not None else "", c, i.term or "",
             i.resolution.value, i.resolved_by or "", f"{i.resolved_at:%Y-%m-%d %H:%M}" if i.resolved_at else "",
             i.note or "") for i in items]
    return csv_response(f"statement-{_period(statement)}-{statement.public_id[:8]}.csv",
                        ["row", "policy_number", "period", "kind", "premium", "reported", "expected", "difference",
                         "currency", "term", "resolution", "resolved_by", "resolved_at", "note"], rows)


@bp.route("/insurer-statements/<public_id>")
@allow(*READERS)
def insurer_statement(public_id: str):
    return _statement_page(get_or_404(InsurerStatement, public_id))


@bp.route("/reconciliation-items/<public_id>/resolve", methods=["POST"])
@allow(Role.finance)
def reconciliation_item_resolve(public_id: str):
    item = get_or_404(ReconciliationItem, public_id)
    form = ResolveForm()
    messages = []
    if form.validate_on_submit():
        with unit_of_work(show=lambda refusal: messages.append(tr(refusal.message, **refusal.params))) as work:
            ops.resolve_statement_line(db.session, current_user, item, action=form.action.data, note=form.note.data,
                                       today=today())
        if work.ok:
            return done(_("Line %(policy)s: %(resolution)s.", policy=item.policy_number,
                          resolution=tr(item.resolution.label)),
                        url_for("finance.insurer_statement", public_id=item.statement.public_id, **_filters()))
    else:
        messages = [m for errors in form.errors.values() for m in errors]
    return _statement_page(item.statement, errors={item.public_id: messages}, status=422)


# --- receipts ------------------------------------------------------------------------------------------------

def _receipt_form() -> ReceiptForm:
    form = ReceiptForm()
    names = _insurer_names()
    form.insurer.choices = [("", _("— choose —"))] + [(i.public_id, i.name) for i in _insurers()]
    form.currency.choices = [(c, c) for c in _currencies()]
    recent = db.session.execute(select(InsurerStatement).order_by(InsurerStatement.created_at.desc())
                                .limit(200)).scalars().all()
    form.statement.choices = [("", _("— none —"))] + [
        (s.public_id, f"{names.get(s.insurer_id, '?')} · {_period(s)} · {s.currency} · {s.filename}") for s in recent]
    if request.method == "GET":
        form.received_on.data, form.currency.data = today(), "EUR"
        chosen = next((s for s in recent if s.public_id == request.args.get("statement")), None)
        if chosen is not None:
            form.statement.data, form.currency.data = chosen.public_id, chosen.currency
            form.insurer.data = db.session.get(Insurer, chosen.insurer_id).public_id
    return form


def _receipts_page(form: ReceiptForm, status: int = 200):
    stmt = select(InsurerReceipt).order_by(InsurerReceipt.received_on.desc(), InsurerReceipt.id.desc())
    names = _insurer_names()
    statements = dict(db.session.execute(select(InsurerStatement.id, InsurerStatement.public_id)).all())
    if wants_csv():
        return csv_response("insurer-receipts.csv", ["insurer", "received_on", "amount", "currency", "bank_reference",
                                                     "statement", "recorded_by"],
                            [(names.get(r.insurer_id, "?"), r.received_on.isoformat(),
                              decimal_amount(r.amount_minor, r.currency), r.currency, r.bank_reference,
                              statements.get(r.statement_id, ""), r.recorded_by)
                             for r in db.session.execute(stmt).scalars()])
    return render_template("finance/receipts.html", page=paginate(stmt), names=names, statements=statements,
                           form=form), status


@bp.route("/receipts", methods=["GET"])
@allow(*READERS)
def receipts():
    return _receipts_page(_receipt_form())


@bp.route("/receipts", methods=["POST"])
@allow(Role.finance)
def receipt_record():
    form = _receipt_form()
    if form.validate_on_submit():
        statement = get_or_404(InsurerStatement, form.statement.data) if form.statement.data else None
        with unit_of_work(form) as work:
            _receipt, created = ops.record_insurer_receipt(
                db.session, current_user, insurer=get_or_404(Insurer, form.insurer.data),
                amount_minor=form.amount_minor, currency=form.currency.data, received_on=form.received_on.data,
                bank_reference=form.bank_reference.data, today=today(), statement=statement)
        if work.ok:
            back = url_for("finance.insurer_statement", public_id=statement.public_id) if statement is not None \
                else url_for("finance.receipts")
            if created:
                return done(_("Receipt recorded."), back)
            return done(_("This bank reference was recorded already: nothing was posted twice."), back, "info")
    return _receipts_page(form, 422)


# --- receivables ageing --------------------------------------------------------------------------------------

@bp.route("/receivables")
@allow(*READERS)
def receivables():
    on = today()
    rows = money_in.receivables_ageing(db.session, on)
    totals = money_in.ageing_totals(rows)
    if wants_csv():
        out = [(r.insurer_name, r.insurer_code, r.currency, *(decimal_amount(v, r.currency) for v in
                                                              (*r.buckets, r.unapplied_minor, r.balance_minor)))
               for r in rows]
        out += [(_("Total"), "", t.currency, *(decimal_amount(v, t.currency) for v in
                                                (*t.buckets, t.unapplied_minor, t.balance_minor)))
                for t in totals.values()]
        return csv_response(f"receivables-ageing-{on:%Y-%m-%d}.csv",
                            ["insurer", "code", "currency", "days_0_30", "days_31_60", "days_61_90", "days_over_90",
                             "unapplied", "balance"], out)
    return render_template("finance/receivables.html", rows=rows, totals=totals, today=on)

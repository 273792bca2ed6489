"""The partner firms as finance sees them: their held and available balances, and the bank details they are
paid to (entered by finance, checked, every change audited: core.bank_details)."""
from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.accounts import Organisation, Role
from core.bank_details import set_bank_details
from ledger import payouts
from ledger.models import Account

from ...edge import done, unit_of_work
from ...extensions import db
from ...security.access import allow
from ...security.scoping import get_or_404
from ..blueprint import bp
from ..common import READERS, wants_csv
from ..exports import csv_response, decimal_amount
from ..forms import BankDetailsForm


def _balances() -> dict[str, dict[str, tuple[int, int]]]:
    """(held, available) by partner public id and currency."""
    balances: dict[str, dict[str, tuple[int, int]]] = {}
    payables = select(Account).where(Account.code.startswith("partner_payable:", autoescape=True))
    for acct in db.session.execute(payables).scalars():
        kind, org = acct.code.split(":")[1:3]
        held, available = balances.setdefault(org, {}).get(acct.currency, (0, 0))
        value = acct.normal_balance
        balances[org][acct.currency] = (held + value, available) if kind == "held" else (held, available + value)
    return balances


@bp.route("/partners")
@allow(*READERS)
def partners():
    orgs = db.session.execute(select(Organisation).order_by(Organisation.legal_name)).scalars().all()
    balances = _balances()
    if wants_csv():
        return csv_response("partner-balances.csv", ["partner", "currency", "held", "available", "iban", "bic"],
                            [(o.legal_name, c, decimal_amount(h, c), decimal_amount(a, c), o.payout_iban or "",
                              o.payout_bic or "") for o in orgs for c, (h, a) in balances.get(o.public_id, {}).items()])
    checked = {o.public_id: payouts.checked_bank_details(o.payout_iban, o.payout_bic) for o in orgs}
    problems = {k: v for k, v in checked.items() if isinstance(v, payouts.ExclusionReason)}
    return render_template("finance/partners.html", orgs=orgs, balances=balances, problems=problems)


@bp.route("/partners/<public_id>/bank", methods=["GET", "POST"])
@allow(*READERS)
def bank_details(public_id: str):
    org = get_or_404(Organisation, public_id)
    form = BankDetailsForm()
    if request.method == "GET":
        form.account_holder.data = org.payout_account_holder or org.legal_name
        form.iban.data, form.bic.data = org.payout_iban, org.payout_bic
        form.minimum.data = decimal_amount(org.payout_minimum_minor, "EUR")
        return render_template("finance/bank_details.html", org=org, form=form)
    if current_user.role is not Role.finance:
        abort(403)
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            set_bank_details(db.session, current_user, org, form.values(), ip=request.remote_addr)
        if work.ok:
            return done(_("Bank details of %(name)s saved.", name=org.legal_name), url_for("finance.partners"))
    return render_template("finance/bank_details.html", org=org, form=form), 422

"""Partners' shares held until the contract's disclosures are approved, and their release for payout."""
from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.accounts import Role
from core.contracts import Contract
from ledger import operations as ops, reports

from ...edge import unit_of_work
from ...extensions import db
from ...security.access import allow
from ...security.scoping import get_or_404
from ..blueprint import bp
from ..common import org_names, today

RELEASERS = (Role.finance, Role.compliance)


@bp.route("/disclosures")
@allow(*RELEASERS, Role.admin)
def disclosures():
    return render_template("finance/disclosures.html", shares=reports.held_shares(db.session), names=org_names(),
                           may_release=current_user.role in RELEASERS)


@bp.route("/disclosures/<contract_public_id>/release", methods=["POST"])
@allow(*RELEASERS)
def disclosure_release(contract_public_id: str):
    """Until the compliance review of disclosures exists, finance or compliance records its approval here."""
    contract = get_or_404(Contract, contract_public_id)
    with unit_of_work(success=_("The partner's share on %(policy)s is now available for payout.",
                                policy=contract.policy_number)):
        ops.release_held_commission(db.session, current_user, contract, today=today())
    return redirect(url_for("finance.disclosures"))

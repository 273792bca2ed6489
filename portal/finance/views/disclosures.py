"""Partners' shares held until compliance approves the contract's disclosures: what finance sees of them. Only a
compliance officer's approval releases a hold (portal.disclosures), never finance: the duties are kept apart."""
from __future__ import annotations

from flask import render_template

from core.accounts import Role
from ledger import reports

from ...extensions import db
from ...security.access import allow
from ..blueprint import bp
from ..common import org_names


@bp.route("/disclosures")
@allow(Role.finance, Role.compliance, Role.admin)
def disclosures():
    return render_template("finance/disclosures.html", shares=reports.held_shares(db.session), names=org_names())

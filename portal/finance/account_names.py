"""Ledger accounts as finance reads them: "Lumen Expat Health Brokers SAS — payable, held", not
`partner_payable:held:3c395ac6…`. The codes stay in the CSV export and the API."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Organisation
from core.contracts import Insurer
from core.i18n import N_

from ..i18n import tr

#: account code (or code prefix before the owner) -> label; %(owner)s is the firm's or the insurer's name
ACCOUNT_LABELS = {
    "commission_income": N_("Commission income"),
    "partner_commission_expense": N_("Partners' commission expense"),
    "bank": N_("Bank"),
    "payouts_approved": N_("Payouts approved, not yet paid"),
    "commission_receivable": N_("Commission receivable from %(owner)s"),
    "client_money": N_("Client money: premiums collected for insurers"),
    "insurer_payable": N_("Premiums owed to %(owner)s, net of commission"),
    "partner_payable:held": N_("%(owner)s — payable, held"),
    "partner_payable:available": N_("%(owner)s — payable"),
}


def _split(code: str) -> tuple[str, str | None]:
    for prefix in ("partner_payable:held", "partner_payable:available", "commission_receivable", "insurer_payable"):
        if code.startswith(prefix + ":"):
            return prefix, code[len(prefix) + 1:]
    return code, None


def account_names(session: Session, codes: set[str]) -> dict[str, str]:
    """code -> name in the reader's language, the owners' names looked up in one query per kind."""
    owners = {code: _split(code) for code in codes}
    firm_ids = {owner for kind, owner in owners.values() if owner and kind.startswith("partner_payable")}
    insurer_codes = {owner for kind, owner in owners.values()
                     if owner and kind in ("commission_receivable", "insurer_payable")}
    firms = dict(session.execute(select(Organisation.public_id, Organisation.legal_name)
                                 .where(Organisation.public_id.in_(sorted(firm_ids)))).all()) if firm_ids else {}
    insurers = dict(session.execute(select(Insurer.code, Insurer.name)
                                    .where(Insurer.code.in_(sorted(insurer_codes)))).all()) if insurer_codes else {}
    names = {}
    for code, (kind, owner) in owners.items():
        label = ACCOUNT_LABELS.get(kind)
        if label is None:
            names[code] = code
        elif owner is None:
            names[code] = tr(label)
        else:
            names[code] = tr(label, owner=firms.get(owner) or insurers.get(owner) or owner)
    return names

"""What the payout runs need from the portal: the partner firms as payees, the broker's own bank account."""
from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from agreements.queries import agreement_in_force
from core.accounts import Organisation
from core.errors import DomainError
from core.i18n import N_
from ledger.payouts import Payee
from ledger.sepa import Debtor, checked_bank_details


class DebtorNotConfigured(DomainError):
    code = "payout_account_not_configured"
    status = 409


def payees(session: Session, on: date) -> list[Payee]:
    """Every partner firm, with its bank details and whether an agreement is in force on `on`."""
    out = []
    for org in session.execute(select(Organisation).order_by(Organisation.id)).scalars():
        out.append(Payee(partner=org.public_id, name=org.payout_account_holder or org.legal_name,
                         iban=org.payout_iban, bic=org.payout_bic, minimum_minor=org.payout_minimum_minor,
                         agreement_in_force=agreement_in_force(session, org.id, on) is not None))
    return out


def debtor() -> Debtor:
    """The broker's account the transfers leave from (PAYOUT_DEBTOR_* settings)."""
    cfg = current_app.config
    iban, bic = cfg.get("PAYOUT_DEBTOR_IBAN"), cfg.get("PAYOUT_DEBTOR_BIC")
    checked = checked_bank_details(iban, bic)
    if not iban or not isinstance(checked, tuple):
        raise DebtorNotConfigured(N_("The broker's payout account (PAYOUT_DEBTOR_IBAN and PAYOUT_DEBTOR_BIC) is "
                                     "not configured or not valid: no transfer file can be written."))
    return Debtor(name=cfg.get("PAYOUT_DEBTOR_NAME") or cfg["BROKER_NAME"], iban=checked[0], bic=checked[1])

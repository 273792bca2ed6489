"""Where a partner firm's commissions are paid: its account holder, IBAN, BIC and smallest payout.

The rules are checked here when finance enters the details (and again by the payout run that uses them), and
every change is on the audit chain: a changed IBAN is how payments get diverted.
"""
from __future__ import annotations

from dataclasses import dataclass

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy.orm import Session

from . import audit
from .accounts import Organisation, User
from .errors import DomainError
from .i18n import N_

INVALID_IBAN = N_("This IBAN is not valid (check the country code, length and check digits).")
INVALID_BIC = N_("This BIC is not valid.")
NO_BIC = N_("Enter the BIC: it cannot be derived from this IBAN.")
NEGATIVE_MINIMUM = N_("The minimum cannot be negative.")


@dataclass(frozen=True)
class BankDetails:
    account_holder: str
    iban: str
    #: empty: derived from the IBAN
    bic: str | None
    #: the smallest payout worth a transfer, in minor units of the run's currency
    minimum_minor: int


class InvalidBankDetails(DomainError):
    code = "invalid_bank_details"


def problems(iban: str | None, bic: str | None, minimum_minor: int | None = None) -> dict[str, str]:
    """What is wrong, by field (`iban`, `bic`, `minimum`), as untranslated messages; empty when nothing is."""
    found = {}
    try:
        parsed = IBAN(iban or "")
    except SchwiftyException:
        parsed = None
        found["iban"] = INVALID_IBAN
    if bic:
        try:
            BIC(bic)
        except SchwiftyException:
            found["bic"] = INVALID_BIC
    elif parsed is not None and parsed.bic is None:
        found["bic"] = NO_BIC
    if minimum_minor is not None and minimum_minor < 0:
        found["minimum"] = NEGATIVE_MINIMUM
    return found


def compact(iban: str, bic: str | None) -> tuple[str, str]:
    """The IBAN and BIC as stored and sent to the bank, the BIC derived from the IBAN when none is given (for
    details that `problems` found nothing wrong with)."""
    parsed = IBAN(iban)
    return parsed.compact, (BIC(bic) if bic else parsed.bic).compact


def set_bank_details(session: Session, actor: User, org: Organisation, details: BankDetails, *,
                     ip: str | None = None) -> Organisation:
    """Record the firm's payout account (IBAN and BIC stored compact, the BIC derived when none is given)."""
    found = problems(details.iban, details.bic, details.minimum_minor)
    if found:
        raise InvalidBankDetails(next(iter(found.values())),
                                 fields={name: [message] for name, message in found.items()})
    before = {"iban": org.payout_iban, "bic": org.payout_bic, "holder": org.payout_account_holder}
    org.payout_account_holder = details.account_holder.strip()
    org.payout_iban, org.payout_bic = compact(details.iban, details.bic)
    org.payout_minimum_minor = details.minimum_minor
    audit.record(session, "organisation.bank_details_changed", actor=actor, subject=org, ip=ip, before=before,
                 after={"iban": org.payout_iban, "bic": org.payout_bic, "holder": org.payout_account_holder})
    return org

"""The SEPA side of a payout run: bank details checked (schwifty), and the credit transfer initiation sent to the
bank (pain.001.001.03, written with sepaxml and validated against the ISO 20022 schema)."""
from __future__ import annotations

from dataclasses import dataclass

from schwifty import BIC, IBAN
from sepaxml import SepaTransfer
from sepaxml.validation import ValidationError as SepaValidationError

from core import bank_details
from core.i18n import N_

from .errors import RunRefused
from .models import ExclusionReason, PayoutRun


@dataclass(frozen=True)
class Debtor:
    """The broker's own account the transfers leave from."""

    name: str
    iban: str
    bic: str


def checked_bank_details(iban: str | None, bic: str | None) -> tuple[str, str] | ExclusionReason:
    """(compact IBAN, BIC) when both are valid (the BIC may be derived from the IBAN), else the reason: the rules
    finance's bank-details form applies (core.bank_details), read again when the run pays."""
    if not iban:
        return ExclusionReason.no_bank_details
    found = bank_details.problems(iban, bic)
    if "iban" in found:
        return ExclusionReason.invalid_iban
    if "bic" in found:
        return ExclusionReason.invalid_bic
    return bank_details.compact(iban, bic)


class _Transfer(SepaTransfer):
    """sepaxml draws a random message id and writes the group header in its constructor: the bank's message
    id must be the run's reference (what the bank quotes back, and unique per file)."""

    def __init__(self, config: dict, msg_id: str):
        self._run_reference = msg_id
        super().__init__(config, schema="pain.001.001.03")

    def _create_header(self):
        self.msg_id = self._run_reference
        super()._create_header()


def pain001(run: PayoutRun, debtor: Debtor) -> str:
    """The run's SEPA credit transfer initiation (pain.001.001.03), validated against the ISO 20022 schema."""
    if isinstance(checked_bank_details(debtor.iban, debtor.bic), ExclusionReason):
        raise RunRefused(N_("The broker's own bank account (IBAN/BIC) in the settings is not valid."))
    transfer = _Transfer({"name": debtor.name, "IBAN": IBAN(debtor.iban).compact, "BIC": BIC(debtor.bic).compact,
                          "batch": True, "currency": run.currency, "domestic": run.currency != "EUR"},
                         msg_id=run.reference)
    for line in run.lines:
        transfer.add_payment({"name": line.payee_name, "IBAN": line.iban, "BIC": line.bic,
                              "amount": line.amount_minor, "execution_date": run.execution_date,
                              "description": f"Commissions {run.period:%Y-%m} {run.reference}",
                              "endtoend_id": line.end_to_end_id})
    try:
        return transfer.export(validate=True, pretty_print=True).decode()
    except SepaValidationError:
        raise RunRefused(N_("The transfer file does not pass the ISO 20022 schema: check the payees' names and "
                            "bank details.")) from None

"""The broker's commission on premium actually collected (the volunteers' top-up covers sold online).

Unlike a case's contract, whose commission is earned on the yearly premium when it is placed (ledger.commissions),
a funnel contract earns the broker's commission month by month, on what was collected:
Dr commission receivable:<insurer> C / Cr commission income C, where C = the collected premium × the insurer's
rate (given as data by the caller, recorded on the entry). A direct sale has no partner share; when a partner
share is given (rate as data) it is held for the partner as for a placement: Dr partner commission expense S /
Cr partner payable:held:<firm> S.

One entry per contract and month, whoever calls and however often (the first month when the volunteer pays, the
later months from the collection). The ledger does not know the funnel: it is given values.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from .chart import open_account
from .commissions import EXPENSE, INCOME, held
from .errors import LedgerError
from .journal import post
from .models import AccountType, JournalEntry
from .money import apply_rate, credit, debit

EVENT_KIND = "premium.collected"


@dataclass(frozen=True)
class CollectedPremium:
    #: the contract's public id
    contract_ref: str
    insurer_code: str
    #: the month the premium is for (YYYY-MM)
    month: str
    amount_minor: int
    currency: str
    collected_on: date
    #: the insurer's commission rate for the broker (a fraction)
    broker_rate: Decimal
    #: the partner firm's public id and its share of the broker's commission, when a partner brought the sale
    partner_ref: str | None = None
    partner_rate: Decimal = Decimal("0")


def entry_key(contract_ref: str, month: str) -> str:
    return f"{EVENT_KIND}:{contract_ref}:{month}"


def post_collected_premium(session: Session, premium: CollectedPremium, *, today: date) -> JournalEntry | None:
    """Post the broker's commission on a collected premium (once per contract and month: the same call again
    returns the entry already written). None when the commission rounds to nothing."""
    if premium.amount_minor <= 0:
        raise LedgerError("a collected premium is positive")
    if not Decimal("0") < Decimal(premium.broker_rate) < Decimal("1") or not (
            Decimal("0") <= Decimal(premium.partner_rate) < Decimal("1")):
        raise LedgerError("a commission rate is a fraction between 0 and 1")
    currency = premium.currency
    commission = apply_rate(premium.amount_minor, premium.broker_rate)
    if commission == 0:
        return None
    receivable = f"commission_receivable:{premium.insurer_code}"
    open_account(session, receivable, AccountType.asset, currency, owner=f"insurer:{premium.insurer_code}")
    open_account(session, INCOME, AccountType.income, currency)
    lines = [debit(receivable, commission, currency), credit(INCOME, commission, currency)]
    share = apply_rate(commission, premium.partner_rate) if premium.partner_ref else 0
    if share:
        open_account(session, EXPENSE, AccountType.expense, currency)
        open_account(session, held(premium.partner_ref), AccountType.liability, currency,
                     owner=f"partner:{premium.partner_ref}")
        lines += [debit(EXPENSE, share, currency), credit(held(premium.partner_ref), share, currency)]
    details = {"contract": premium.contract_ref, "month": premium.month, "premium_minor": premium.amount_minor,
               "rate": str(premium.broker_rate), "commission_minor": commission}
    if premium.partner_ref:
        details |= {"partner": premium.partner_ref, "partner_rate": str(premium.partner_rate),
                    "partner_share_minor": share}
    entry, _created = post(session, key=entry_key(premium.contract_ref, premium.month), effective_date=today,
                           description=f"Commission on premium collected {premium.contract_ref} {premium.month}",
                           lines=lines, event_kind=EVENT_KIND, event_ref=f"{premium.contract_ref}:{premium.month}",
                           event_date=premium.collected_on, details=details)
    return entry

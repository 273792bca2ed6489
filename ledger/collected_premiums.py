"""The broker's commission on premium actually collected (the volunteers' top-up covers sold online).

Unlike a case's contract, whose commission is earned on the yearly premium when it is placed (ledger.commissions),
a funnel contract earns the broker's commission month by month, on what was collected:
Dr commission receivable:<insurer> C / Cr commission income C, where C = the collected premium × the insurer's
rate (given as data by the caller, recorded on the entry). A direct sale has no partner share; when a partner
share is given (rate as data) it is held for the partner as for a placement: Dr partner commission expense S /
Cr partner payable:held:<firm> S.

One entry per contract and month, whoever calls and however often (the first month when the volunteer pays, the
later months from the collection). The ledger does not know the funnel: it is given values.

A premium refunded (a withdrawal within 14 days) takes its commission back with the ledger's reversal mechanism
(`reverse_collected_premium`): the month's entry is reversed in full (a mirror entry), and when part of the
premium is kept (the days the volunteer was covered) the commission on that part is posted again under its own key,
at the rate the first entry recorded. Once, however often it is called.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .chart import open_account
from .commissions import EXPENSE, INCOME, held
from .errors import LedgerError
from .journal import post, reverse
from .models import AccountType, JournalEntry
from .money import apply_rate, credit, debit

EVENT_KIND = "premium.collected"
RECEIVABLE = "commission_receivable:"


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


def post_collected_premium(session: Session, premium: CollectedPremium, *, today: date,
                           key: str | None = None) -> JournalEntry | None:
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
    receivable = f"{RECEIVABLE}{premium.insurer_code}"
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
    entry, _created = post(session, key=key or entry_key(premium.contract_ref, premium.month), effective_date=today,
                           description=f"Commission on premium collected {premium.contract_ref} {premium.month}",
                           lines=lines, event_kind=EVENT_KIND, event_ref=f"{premium.contract_ref}:{premium.month}",
                           event_date=premium.collected_on, details=details)
    return entry


def reverse_collected_premium(session: Session, *, contract_ref: str, month: str, kept_minor: int,
                              today: date, key: str | None = None) -> list[JournalEntry]:
    """The premium of this contract and month was refunded but for `kept_minor` (0: all of it): the commission
    posted on it (under `key`, when it was posted under its own) is reversed, and the commission on what is kept
    posted again (same rate and partner share, own key). Idempotent: a second call writes nothing and returns the
    same entries. Nothing posted for the month (no rate then, or a commission that rounded to nothing): nothing to
    reverse, []."""
    key = key or entry_key(contract_ref, month)
    original = session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == key))
    if original is None:
        return []
    d = original.details
    if not 0 <= kept_minor <= d["premium_minor"]:
        raise LedgerError("the premium kept is between nothing and the premium collected")
    reversal, _created = reverse(session, original, key=f"{key}:reversed",
                                 effective_date=today,
                                 description=f"Premium refunded {contract_ref} {month}: commission reversed")
    written = [reversal]
    if kept_minor:
        receivable = next(p for p in original.postings if p.account.code.startswith(RECEIVABLE))
        kept = post_collected_premium(session, CollectedPremium(
            contract_ref=contract_ref, insurer_code=receivable.account.code.removeprefix(RECEIVABLE),
            month=month, amount_minor=kept_minor, currency=receivable.currency,
            collected_on=original.event_date or today, broker_rate=Decimal(d["rate"]),
            partner_ref=d.get("partner"), partner_rate=Decimal(d.get("partner_rate", "0"))),
            today=today, key=f"{key}:kept")
        if kept is not None:
            written.append(kept)
    return written

"""A premium collected on behalf of the insurer (the volunteers' top-up covers sold online), in the books.

Unlike a case's contract, whose commission is earned on the yearly premium when it is placed (ledger.commissions),
a funnel contract is never posted on its yearly premium: the broker collects its premium month by month from the
volunteer, as client money held for the insurer, and withholds its commission from what it pays the insurer.
One entry per contract and month (premium P collected, the insurer's rate r recorded on the entry, C = P × r
rounded half up, the insurer owed P − C):

    Dr client_money                          P    premium received on the insurer's behalf (client money)
    Cr insurer_payable:<insurer>         P − C    premium owed to the insurer, net of the commission withheld
    Cr commission_income                     C    the broker's commission on that premium

and, when a partner brought the sale (a direct sale has none), the partner's share as for a placement:
Dr partner_commission_expense S / Cr partner_payable:held:<firm> S, S = C × the partner's rate.

The key is `premium.collected:<contract>:<month>` (a dependant's addition: `…:dependant:<addition>`), whoever
calls and however often (the first month when the volunteer pays, the later months from the collection, a
cheque for a later month): the same call again returns the entry written under the key, whatever shape it was
written in (entries made before this shape, Dr commission_receivable:<insurer> C / Cr commission_income C, are
found and reversed the same way).

A premium refunded, in full or in part (a withdrawal within 14 days, a radiation that ended the cover before the
month paid for ended, a subscription closed), is mirrored with the ledger's reversal (`reverse_collected_premium`):
the live entry of the month is reversed in full (client money out, the insurer's and the broker's shares and the
partner's share taken back) and what is kept (the days the volunteer was covered) posted again under the key
`<reversed entry's key>:kept`, at the rate the first entry recorded. A later, larger refund of the same month
reverses that kept entry in turn (`…:kept:reversed`, `…:kept:kept`). The caller gives what is kept, so the call is
idempotent: asked again for what is already kept it writes nothing (nor does it ever post back what was refunded).
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
#: the client-money account premiums are received into (an asset: the money is in the broker's client account)
CLIENT_MONEY = "client_money"
#: the premium owed to an insurer, net of the commission withheld (a liability per insurer)
INSURER_PAYABLE = "insurer_payable:"
#: the account entries made before the premium was booked used (the commission alone, as a receivable)
RECEIVABLE = "commission_receivable:"
KEPT, REVERSED = ":kept", ":reversed"


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


def insurer_payable(insurer_code: str) -> str:
    return f"{INSURER_PAYABLE}{insurer_code}"


def by_key(session: Session, key: str) -> JournalEntry | None:
    return session.scalar(select(JournalEntry).where(JournalEntry.idempotency_key == key))


def _check(premium: CollectedPremium) -> None:
    if premium.amount_minor <= 0:
        raise LedgerError("a collected premium is positive")
    if not Decimal("0") < Decimal(premium.broker_rate) < Decimal("1") or not (
            Decimal("0") <= Decimal(premium.partner_rate) < Decimal("1")):
        raise LedgerError("a commission rate is a fraction between 0 and 1")


def premium_lines(session: Session, premium: CollectedPremium) -> tuple[list, dict]:
    """The entry's lines (accounts opened) and its details, for a premium collected."""
    currency, amount = premium.currency, premium.amount_minor
    commission = apply_rate(amount, premium.broker_rate)
    owed = amount - commission
    payable = insurer_payable(premium.insurer_code)
    open_account(session, CLIENT_MONEY, AccountType.asset, currency)
    open_account(session, payable, AccountType.liability, currency, owner=f"insurer:{premium.insurer_code}")
    lines = [debit(CLIENT_MONEY, amount, currency)]
    if owed:
        lines.append(credit(payable, owed, currency))
    if commission:
        open_account(session, INCOME, AccountType.income, currency)
        lines.append(credit(INCOME, commission, currency))
    share = apply_rate(commission, premium.partner_rate) if premium.partner_ref else 0
    if share:
        open_account(session, EXPENSE, AccountType.expense, currency)
        open_account(session, held(premium.partner_ref), AccountType.liability, currency,
                     owner=f"partner:{premium.partner_ref}")
        lines += [debit(EXPENSE, share, currency), credit(held(premium.partner_ref), share, currency)]
    details = {"contract": premium.contract_ref, "insurer": premium.insurer_code, "month": premium.month,
               "premium_minor": amount, "rate": str(premium.broker_rate), "commission_minor": commission,
               "insurer_owed_minor": owed}
    if premium.partner_ref:
        details |= {"partner": premium.partner_ref, "partner_rate": str(premium.partner_rate),
                    "partner_share_minor": share}
    return lines, details


def post_collected_premium(session: Session, premium: CollectedPremium, *, today: date,
                           key: str | None = None, kept_from: str | None = None) -> JournalEntry:
    """Post a premium collected: client money in, the insurer's share owed, the broker's commission (see the
    module). Once per contract and month: the same call again returns the entry already under the key."""
    key = key or entry_key(premium.contract_ref, premium.month)
    if (done := by_key(session, key)) is not None:
        return done
    _check(premium)
    lines, details = premium_lines(session, premium)
    if kept_from is not None:
        details["kept_of"] = kept_from
    what = "Premium kept" if kept_from else "Premium collected"
    entry, _created = post(session, key=key, effective_date=today,
                           description=f"{what} {premium.contract_ref} {premium.month}: "
                                       f"commission {details['commission_minor']}",
                           lines=lines, event_kind=EVENT_KIND, event_ref=f"{premium.contract_ref}:{premium.month}",
                           event_date=premium.collected_on, details=details)
    return entry


def live_entry(session: Session, key: str) -> tuple[JournalEntry | None, list[JournalEntry]]:
    """The entry that stands for the month under `key` now (the first one, or what the last refund kept: None
    when all was refunded), and the entries of the last refund (its reversal and kept entry; [] before any)."""
    entry, last = by_key(session, key), []
    while entry is not None and (reversal := by_key(session, entry.idempotency_key + REVERSED)) is not None:
        kept = by_key(session, entry.idempotency_key + KEPT)
        last = [reversal] + ([kept] if kept is not None else [])
        entry = kept
    return entry, last


def _insurer_of(entry: JournalEntry) -> str:
    if entry.details.get("insurer"):
        return entry.details["insurer"]
    receivable = next(p for p in entry.postings if p.account.code.startswith(RECEIVABLE))
    return receivable.account.code.removeprefix(RECEIVABLE)


def reverse_collected_premium(session: Session, *, contract_ref: str, month: str, kept_minor: int,
                              today: date, key: str | None = None) -> list[JournalEntry]:
    """The premium of this contract and month (posted under `key`, when under its own) was refunded but for
    `kept_minor` (0: all of it): the live entry is reversed and what is kept posted again (same rate and partner
    share, its own key). Idempotent: when no more than `kept_minor` stands already, nothing is written and the
    entries of the last refund are returned. Nothing posted for the month (no rate then): nothing to reverse, []."""
    key = key or entry_key(contract_ref, month)
    original = by_key(session, key)
    if original is None:
        return []
    if not 0 <= kept_minor <= original.details["premium_minor"]:
        raise LedgerError("the premium kept is between nothing and the premium collected")
    live, last = live_entry(session, key)
    if live is None or kept_minor >= live.details["premium_minor"]:
        return last
    d = live.details
    reversal, _created = reverse(session, live, key=live.idempotency_key + REVERSED, effective_date=today,
                                 description=f"Premium refunded {contract_ref} {month}: reversed")
    written = [reversal]
    if kept_minor:
        currency = live.postings[0].currency
        written.append(post_collected_premium(session, CollectedPremium(
            contract_ref=contract_ref, insurer_code=_insurer_of(live), month=month, amount_minor=kept_minor,
            currency=currency, collected_on=live.event_date or today, broker_rate=Decimal(d["rate"]),
            partner_ref=d.get("partner"), partner_rate=Decimal(d.get("partner_rate", "0"))),
            today=today, key=live.idempotency_key + KEPT, kept_from=live.idempotency_key))
    return written


def kept_minor(session: Session, key: str) -> int:
    """What stands of the premium posted under `key` (0 when nothing was posted or all was refunded)."""
    live, _last = live_entry(session, key)
    return live.details["premium_minor"] if live is not None else 0

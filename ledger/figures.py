"""The ledger's figures for the home pages' charts, month by month: one aggregate query each, read off the
postings (so a chart always agrees with the ledger to the cent). Amounts are minor units, per currency.

- `commission_by_month`: the partners' commission accrued, released (disclosure approved), paid (payout runs
  approved) and clawed back (cancellations), each month;
- `partner_commission_by_month`: one firm's commission accrued, still held at the month's end, and paid.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, and_, case, func, or_, select
from sqlalchemy.orm import Session

from core.events import CONTRACT_CANCELLED, CONTRACT_PLACED, CONTRACT_RENEWED

from .commissions import EXPENSE
from .models import Account, JournalEntry, Posting
from .payouts import APPROVED

RELEASED = "disclosure.released"
PAYOUT_APPROVED = "payout.approved"
HELD_PREFIX = "partner_payable:held:"
AVAILABLE_PREFIX = "partner_payable:available:"
ACCRUING = (CONTRACT_PLACED, CONTRACT_RENEWED)

#: postings are append-only: the newest one's id changes whenever anything is posted
VERSION = select(func.max(Posting.id))


def version(session: Session) -> int | None:
    """A marker of the ledger's contents: it changes with every entry posted."""
    return session.connection().execute(VERSION).scalar_one()


_MONTH = func.substr(func.cast(Posting.effective_date, String(10)), 1, 7)


def _monthly(session: Session, *keys, where) -> list:
    """(month, currency, *keys, sum of the amounts) of the postings `where` selects (with their account and
    entry), month by month."""
    return session.execute(
        select(_MONTH, Posting.currency, *keys, func.sum(Posting.amount_minor))
        .join(Account, Account.id == Posting.account_id).join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(*where).group_by(_MONTH, Posting.currency, *keys).order_by(_MONTH)).all()


@dataclass(frozen=True)
class CommissionMonth:
    month: str
    currency: str
    accrued_minor: int = 0
    released_minor: int = 0
    paid_minor: int = 0
    clawed_back_minor: int = 0


def commission_by_month(session: Session, start: date, end: date) -> list[CommissionMonth]:
    """Per month and currency, between `start` and `end`: partner commission accrued (placements and renewals),
    released to the partners, paid to them, and clawed back by cancellations."""
    where = or_(
        and_(Account.code == EXPENSE, JournalEntry.event_kind.in_((*ACCRUING, CONTRACT_CANCELLED))),
        and_(Account.code.startswith(AVAILABLE_PREFIX, autoescape=True), JournalEntry.event_kind == RELEASED),
        and_(Account.code == APPROVED, JournalEntry.event_kind == PAYOUT_APPROVED))
    rows = _monthly(session, JournalEntry.event_kind, where=(where, Posting.effective_date >= start,
                                                               Posting.effective_date <= end))
    figures: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for month, currency, kind, total in rows:
        total = int(total or 0)
        if kind in ACCRUING:
            figures[(month, currency)]["accrued_minor"] += total         # a debit to the expense
        elif kind == CONTRACT_CANCELLED:
            figures[(month, currency)]["clawed_back_minor"] += -total    # a credit to the expense
        elif kind == RELEASED:
            figures[(month, currency)]["released_minor"] += -total       # a credit to what the partner may be paid
        else:
            figures[(month, currency)]["paid_minor"] += -total           # a credit to payouts approved
    return [CommissionMonth(m, c, **f) for (m, c), f in sorted(figures.items())]


@dataclass(frozen=True)
class PartnerMonth:
    month: str
    currency: str
    #: the firm's share posted that month (placements and renewals)
    accrued_minor: int = 0
    #: its shares still held for a disclosure approval at the month's end
    held_minor: int = 0
    #: paid to the firm that month (approved payout runs)
    paid_minor: int = 0


def partner_commission_by_month(session: Session, partner: str, start: date, end: date) -> list[PartnerMonth]:
    """One partner firm's (its public id) commission per month and currency from `start` to `end`. The held
    balance runs over the firm's whole history, so the query reads every month up to `end` (one firm's
    postings, by the accounts' owner)."""
    account_kind = case((Account.code.startswith(HELD_PREFIX, autoescape=True), "held"), else_="available")
    rows = _monthly(session, account_kind, JournalEntry.event_kind,
                    where=(Account.owner == f"partner:{partner}", Posting.effective_date <= end))
    months: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for month, currency, kind_of_account, kind, total in rows:
        total = int(total or 0)
        f = months[(month, currency)]
        if kind_of_account == "held":
            f["held_change"] += -total                                     # held is a liability: credits add
            if kind in ACCRUING:
                f["accrued_minor"] += -total
        elif kind == PAYOUT_APPROVED:
            f["paid_minor"] += total                                       # a debit to what was available
    held: dict[str, int] = defaultdict(int)
    out = []
    for (month, currency), f in sorted(months.items()):
        held[currency] += f["held_change"]
        if month >= f"{start:%Y-%m}":
            out.append(PartnerMonth(month, currency, f["accrued_minor"], held[currency], f["paid_minor"]))
    return out

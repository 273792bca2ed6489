"""A partner firm's commission statement for a month: what the broker owes the firm, and why it changed.

The firm is owed the sum of its two liability accounts, `partner payable:held` (awaiting disclosure approval)
and `partner payable:available` (payable at the next payout run), one pair per currency. A statement shows
that sum on the partner's side (owed to the partner is positive: a liability's normal balance, the negative
of its signed balance), one statement per currency: nothing is ever added across currencies.

Each journal entry of the month that touches the pair is one line, its net effect on the pair. A disclosure
release moves money from held to available: it nets to nothing, so it is not a line; the closing balance is
split into held and available instead. Opening + the lines = closing, to the minor unit, because postings
never go back in time on an account (the posting rules refuse it).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.events import CONTRACT_CANCELLED, CONTRACT_PLACED, CONTRACT_RENEWED
from core.i18n import N_

from .balances import balance_as_of
from .chart import month_end
from .commissions import available, held
from .models import Account, JournalEntry, Posting


class LineKind(enum.Enum):
    commission = "commission"
    renewal_commission = "renewal_commission"
    clawback = "clawback"
    payout = "payout"
    adjustment = "adjustment"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    LineKind.commission: N_("Commission"),
    LineKind.renewal_commission: N_("Renewal commission"),
    LineKind.clawback: N_("Clawback"),
    LineKind.payout: N_("Payout"),
    LineKind.adjustment: N_("Adjustment"),
}

KIND_BY_EVENT = {CONTRACT_PLACED: LineKind.commission, CONTRACT_RENEWED: LineKind.renewal_commission,
                 CONTRACT_CANCELLED: LineKind.clawback, "payout.approved": LineKind.payout}


@dataclass(frozen=True)
class StatementLine:
    effective_date: date
    kind: LineKind
    #: the journal entry's public id
    entry: str
    #: the contract's public id (none for a payout)
    contract_reference: str | None
    policy_number: str | None
    #: the only personal data a statement shows; none when the contract has no case
    client_initials: str | None
    term: int | None
    #: the payout run's reference, for a payout
    payout_reference: str | None
    #: minor units, positive = owed to the partner
    amount_minor: int
    balance_after_minor: int


@dataclass(frozen=True)
class PartnerStatement:
    partner: str
    currency: str
    start: date
    end: date
    #: owed to the partner at the end of the day before `start`
    opening_minor: int
    lines: list[StatementLine]
    #: owed to the partner at the end of `end` = held + available
    closing_minor: int
    held_minor: int
    available_minor: int


def month_bounds(period: date) -> tuple[date, date]:
    """The first and last day of the month of `period`."""
    start = period.replace(day=1)
    return start, month_end(start)


#: the months a ledger can hold: the day before the first and after the last are still dates everywhere
FIRST_PERIOD, LAST_PERIOD = date(1900, 1, 1), date(2999, 12, 1)


def parse_period(value: str) -> date:
    """"YYYY-MM" as the first day of that month; ValueError for anything else, and for a month outside
    FIRST_PERIOD..LAST_PERIOD (a statement reads the day before its month and the month's end)."""
    if not isinstance(value, str) or len(value) != 7 or value[4] != "-" or not value.isascii():
        raise ValueError(f"not a YYYY-MM period: {value!r}")
    month = datetime.strptime(value, "%Y-%m").date()
    if not FIRST_PERIOD <= month <= LAST_PERIOD:
        raise ValueError(f"period outside {FIRST_PERIOD:%Y-%m}..{LAST_PERIOD:%Y-%m}: {value!r}")
    return month


def _pairs(session: Session, partner_public_id: str) -> dict[str, tuple[Account | None, Account | None]]:
    """The firm's (held, available) accounts per currency."""
    codes = (held(partner_public_id), available(partner_public_id))
    found: dict[str, list[Account | None]] = {}
    for acct in session.execute(select(Account).where(Account.code.in_(codes))).scalars():
        found.setdefault(acct.currency, [None, None])[codes.index(acct.code)] = acct
    return {currency: (pair[0], pair[1]) for currency, pair in sorted(found.items())}


def _owed(session: Session, acct: Account | None, day: date) -> int:
    return -balance_as_of(session, acct, day) if acct is not None else 0


def _entry_effects(session: Session, accounts: list[Account], start: date, end: date) -> list[tuple[int, date, int]]:
    """(entry id, date, effect owed to the partner) of every entry posting to `accounts` in the range, in
    posting order; one index range scan on (account, date)."""
    rows = session.execute(select(Posting.entry_id, Posting.effective_date, Posting.amount_minor).where(
        Posting.account_id.in_([a.id for a in accounts]), Posting.effective_date >= start,
        Posting.effective_date <= end).order_by(Posting.effective_date, Posting.entry_id, Posting.id)).all()
    effects: dict[int, list] = {}
    for entry_id, day, amount in rows:
        effects.setdefault(entry_id, [entry_id, day, 0])[2] -= amount
    return [tuple(e) for e in effects.values()]


def _entries(session: Session, ids: list[int]) -> dict[int, JournalEntry]:
    """The entries by id, with the entry each reversal reverses (its details describe the contract)."""
    entries = {e.id: e for e in session.execute(select(JournalEntry).where(JournalEntry.id.in_(ids))).scalars()}
    reversed_ids = [e.reverses_id for e in entries.values() if e.reverses_id and e.reverses_id not in entries]
    if reversed_ids:
        entries.update({e.id: e for e in session.execute(select(JournalEntry)
                                                         .where(JournalEntry.id.in_(reversed_ids))).scalars()})
    return entries


def _line(entry: JournalEntry, source: JournalEntry, day: date, amount: int, balance: int) -> StatementLine:
    # a correction (reversal) is an adjustment, described by the entry it corrects
    kind = LineKind.adjustment if entry.reverses_id else KIND_BY_EVENT.get(entry.event_kind, LineKind.adjustment)
    details = source.details or {}
    return StatementLine(effective_date=day, kind=kind, entry=entry.public_id,
                         contract_reference=details.get("contract"), policy_number=details.get("policy_number"),
                         client_initials=details.get("client_initials"), term=details.get("term"),
                         payout_reference=(entry.details or {}).get("run"), amount_minor=amount,
                         balance_after_minor=balance)


def _statement(session: Session, partner: str, currency: str, pair: tuple[Account | None, Account | None],
               start: date, end: date) -> PartnerStatement:
    held_acct, available_acct = pair
    accounts = [a for a in pair if a is not None]
    opening = _owed(session, held_acct, start - timedelta(days=1)) + _owed(session, available_acct,
                                                                          start - timedelta(days=1))
    effects = [e for e in _entry_effects(session, accounts, start, end) if e[2] != 0]  # releases net to 0
    entries = _entries(session, [e[0] for e in effects]) if effects else {}
    lines, balance = [], opening
    for entry_id, day, amount in effects:
        entry = entries[entry_id]
        balance += amount
        lines.append(_line(entry, entries.get(entry.reverses_id, entry), day, amount, balance))
    held_minor, available_minor = _owed(session, held_acct, end), _owed(session, available_acct, end)
    return PartnerStatement(partner=partner, currency=currency, start=start, end=end, opening_minor=opening,
                            lines=lines, closing_minor=held_minor + available_minor, held_minor=held_minor,
                            available_minor=available_minor)


def partner_statement(session: Session, partner_public_id: str, period: date) -> list[PartnerStatement]:
    """The firm's statements for the month of `period`: one per currency it has an account in, by currency."""
    start, end = month_bounds(period)
    return [_statement(session, partner_public_id, currency, pair, start, end)
            for currency, pair in _pairs(session, partner_public_id).items()]


def _months(session: Session, acct: Account) -> set[date]:
    """The months with postings on `acct`: one index seek per month, newest first, skipping empty months."""
    months: set[date] = set()
    bound = None
    while True:
        stmt = select(func.max(Posting.effective_date)).where(Posting.account_id == acct.id)
        if bound is not None:
            stmt = stmt.where(Posting.effective_date < bound)
        last = session.execute(stmt).scalar_one_or_none()
        if last is None:
            return months
        bound = last.replace(day=1)
        months.add(bound)


def statement_periods(session: Session, partner_public_id: str) -> list[date]:
    """The months (their first day) with postings on the firm's payable accounts, newest first."""
    months: set[date] = set()
    for pair in _pairs(session, partner_public_id).values():
        for acct in pair:
            if acct is not None:
                months |= _months(session, acct)
    return sorted(months, reverse=True)

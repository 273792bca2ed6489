"""What finance reads off the ledger: accruals by month, insurer and partner; commission accrued vs paid per
month; contracts whose partner share still waits for the disclosure approval. Plain Python, no Flask.

Figures come from the entries themselves (their postings and the facts recorded on them at posting time), so a
report always agrees with the ledger to the cent.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, func, select
from sqlalchemy.orm import Session, aliased

from core.events import CONTRACT_CANCELLED, CONTRACT_PLACED, CONTRACT_RENEWED

from .models import Account, JournalEntry, Posting

COMMISSION_KINDS = (CONTRACT_PLACED, CONTRACT_RENEWED, CONTRACT_CANCELLED)


@dataclass(frozen=True)
class Accrual:
    month: str
    insurer: str
    partner: str | None
    currency: str
    entries: int
    #: the broker's commission from the insurer, net of clawbacks (minor units)
    commission_minor: int
    #: the partners' share of it, net of clawbacks (minor units)
    partner_share_minor: int

    @property
    def retained_minor(self) -> int:
        return self.commission_minor - self.partner_share_minor


def _insurer_of(codes: dict[int, str], entry_postings) -> str:
    for account_id, _amount in entry_postings:
        code = codes.get(account_id, "")
        if code.startswith("commission_receivable:"):
            return code.removeprefix("commission_receivable:")
    return "—"


def accruals(session: Session, start: date, end: date) -> list[Accrual]:
    """Commission accrued per posting month, insurer, partner and currency between `start` and `end`."""
    entries = session.execute(select(JournalEntry).where(JournalEntry.event_kind.in_(COMMISSION_KINDS),
                                                         JournalEntry.effective_date >= start,
                                                         JournalEntry.effective_date <= end)
                              .order_by(JournalEntry.effective_date, JournalEntry.id)).scalars().all()
    if not entries:
        return []
    ids = [e.id for e in entries]
    postings = defaultdict(list)
    currency_of = {}
    for entry_id, account_id, amount, currency in session.execute(
            select(Posting.entry_id, Posting.account_id, Posting.amount_minor, Posting.currency)
            .where(Posting.entry_id.in_(ids))):
        postings[entry_id].append((account_id, amount))
        currency_of[entry_id] = currency
    codes = dict(session.execute(select(Account.id, Account.code)).all())
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for e in entries:
        sign = -1 if e.event_kind == CONTRACT_CANCELLED else 1
        d = e.details or {}
        commission = d.get("broker_commission_minor", d.get("broker_commission_back_minor", 0))
        share = d.get("partner_share_minor", d.get("partner_share_back_minor", 0))
        key = (f"{e.effective_date:%Y-%m}", _insurer_of(codes, postings[e.id]), d.get("partner"),
               currency_of.get(e.id, "—"))
        row = totals[key]
        row[0] += 1
        row[1] += sign * commission
        row[2] += sign * share
    return [Accrual(month, insurer, partner, currency, n, c, s)
            for (month, insurer, partner, currency), (n, c, s) in sorted(totals.items(), key=lambda kv: (
                kv[0][0], kv[0][1], kv[0][2] or "", kv[0][3]))]


@dataclass(frozen=True)
class MonthFigures:
    month: str
    currency: str
    #: partner commission accrued that month (net of clawbacks)
    accrued_minor: int
    #: partner commission paid out that month (approved payout runs)
    paid_minor: int


def accrued_vs_paid(session: Session, start: date, end: date) -> list[MonthFigures]:
    """Per month and currency: what partners earned (expense postings) and what was paid to them."""
    month = func.substr(func.cast(Posting.effective_date, String(10)), 1, 7)
    accrued = session.execute(
        select(month, Posting.currency, func.sum(Posting.amount_minor))
        .join(Account, Account.id == Posting.account_id)
        .where(Account.code == "partner_commission_expense", Posting.effective_date >= start,
               Posting.effective_date <= end)
        .group_by(month, Posting.currency)).all()
    paid = session.execute(
        select(month, Posting.currency, func.sum(Posting.amount_minor))
        .join(Account, Account.id == Posting.account_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Account.code == "payouts_approved", JournalEntry.event_kind == "payout.approved",
               Posting.effective_date >= start, Posting.effective_date <= end)
        .group_by(month, Posting.currency)).all()
    figures: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for m, currency, total in accrued:
        figures[(m, currency)][0] += int(total or 0)
    for m, currency, total in paid:
        figures[(m, currency)][1] += -int(total or 0)  # a credit to payouts approved
    return [MonthFigures(m, c, a, p) for (m, c), (a, p) in sorted(figures.items())]


@dataclass(frozen=True)
class HeldShare:
    contract: str
    policy_number: str
    client_initials: str | None
    partner: str
    term: int
    currency: str
    share_minor: int
    posted_on: date


def held_shares(session: Session, partner: str | None = None) -> list[HeldShare]:
    """Posted partner shares not yet released by a disclosure approval (oldest first), of one partner firm (its
    public id) or of all. Selected by key: a firm's placements and renewals by (partner, kind), each one's
    release looked up by (contract, term)."""
    release = aliased(JournalEntry)
    released = select(release.id).where(release.contract_ref == JournalEntry.contract_ref,
                                        release.term == JournalEntry.term,
                                        release.event_kind == "disclosure.released").exists()
    query = (select(JournalEntry, Posting.currency)
             .join(Posting, Posting.entry_id == JournalEntry.id)
             .join(Account, Account.id == Posting.account_id)
             .where(JournalEntry.event_kind.in_((CONTRACT_PLACED, CONTRACT_RENEWED)),
                    Account.code.startswith("partner_payable:held:", autoescape=True), ~released)
             .order_by(JournalEntry.effective_date, JournalEntry.id))
    if partner is not None:
        query = query.where(JournalEntry.partner_ref == partner)
    out = []
    for entry, currency in session.execute(query).all():
        d = entry.details or {}
        if not d.get("partner_share_minor"):
            continue
        out.append(HeldShare(d["contract"], d.get("policy_number", ""), d.get("client_initials"), d["partner"],
                             d.get("term", 1), currency, d["partner_share_minor"], entry.effective_date))
    return out


@dataclass(frozen=True)
class TermRemuneration:
    term: int
    currency: str
    #: the broker's commission and the partner's share posted for the term, and what a clawback took back
    broker_commission_minor: int
    partner_share_minor: int
    clawed_back_minor: int
    released: bool


def contract_remuneration(session: Session, contract_ref: str) -> list[TermRemuneration]:
    """What the ledger accrued on a contract, term by term: what compliance compares with what was disclosed."""
    entries = session.scalars(select(JournalEntry).where(
        JournalEntry.contract_ref == contract_ref, JournalEntry.reverses_id.is_(None),
        JournalEntry.event_kind.in_((CONTRACT_PLACED, CONTRACT_RENEWED, CONTRACT_CANCELLED, "disclosure.released")))
        .order_by(JournalEntry.id)).all()
    terms: dict[int, dict] = {}
    for e in entries:
        d = e.details or {}
        row = terms.setdefault(d.get("term", 1), {"commission": 0, "share": 0, "back": 0, "released": False,
                                                  "currency": e.postings[0].currency if e.postings else "EUR"})
        if e.event_kind in (CONTRACT_PLACED, CONTRACT_RENEWED):
            row["commission"] += d.get("broker_commission_minor", 0)
            row["share"] += d.get("partner_share_minor", 0)
        elif e.event_kind == CONTRACT_CANCELLED:
            row["back"] += d.get("partner_share_back_minor", 0)
        else:
            row["released"] = True
    return [TermRemuneration(term, r["currency"], r["commission"], r["share"], r["back"], r["released"])
            for term, r in sorted(terms.items())]

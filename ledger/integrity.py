"""`ledger verify`: the books checked against themselves and against the business events they were posted for.

- every posting's running balance is the account's previous running balance plus its amount (in the order the
  ledger writes and reads them: posting date, then id), and the account's stored balance is its last one;
- every entry has postings and balances in each currency, and a reversal mirrors the entry it reverses;
- every commission entry matches what its source event implies: a placement or renewal is recomputed from the
  event's premium and the rates recorded on the entry, a clawback from the original entry and the term's dates,
  a disclosure release from the share still held; an amount moved between two postings of one entry is caught.
- every entry's key columns (contract, term, partner firm) say what its details say: readers select entries by
  those columns, so an entry hidden from them (or shown to another contract's) by a rewritten column is caught.

The set-based checks are one SQL statement each (window functions); only the recomputation of commission
entries, which needs the ledger's Decimal rounding (`ledger.money`), runs in Python, one row per entry.

What a consistent rewrite of everything (or a truncated ledger) leaves is caught by the signed checkpoint kept
outside the database (`ledger.checkpoint`).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Integer, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from core.contracts import Contract, ContractTerm
from core.events import CONTRACT_CANCELLED, CONTRACT_PLACED, CONTRACT_RENEWED, BusinessEvent

from .commissions import EXPENSE, INCOME
from .models import Account, JournalEntry, Posting, entry_keys
from .money import apply_rate, split


@dataclass(frozen=True)
class Problem:
    subject: str
    message: str


def verify(session: Session) -> list[Problem]:
    """Every inconsistency found, each naming the account or entry that is off (empty: the books hold)."""
    return (_running_balances(session) + _entries(session) + _reversals(session) + _keys(session)
            + _commission_entries(session))


def _account(code: str, currency: str) -> str:
    return f"{code} ({currency})"


def _running_balances(session: Session) -> list[Problem]:
    """The postings whose running balance does not follow the account's previous one (one pass in the order of
    the (account, date, id) index: no sort), and each account's stored balance against its last one."""
    window = dict(partition_by=Posting.account_id, order_by=(Posting.effective_date, Posting.id))
    ranked = select(Posting.id, Posting.entry_id, Posting.account_id, Posting.amount_minor, Posting.balance_after,
                    func.lag(Posting.balance_after, 1, 0).over(**window).label("prev")).subquery()
    rows = session.execute(
        select(ranked.c.id, ranked.c.account_id, ranked.c.amount_minor, ranked.c.balance_after, ranked.c.prev,
               JournalEntry.public_id)
        .join(JournalEntry, JournalEntry.id == ranked.c.entry_id)
        .where(ranked.c.balance_after != ranked.c.prev + ranked.c.amount_minor)
        .order_by(ranked.c.account_id, ranked.c.id)).all()
    accounts = {a.id: a for a in session.execute(select(Account).order_by(Account.id)).scalars()}
    problems = [Problem(_account(accounts[account_id].code, accounts[account_id].currency),
                        f"posting {posting_id} (entry {entry}): running balance {after}, expected {prev} + {amount} "
                        f"= {prev + amount}")
                for posting_id, account_id, amount, after, prev, entry in rows]
    last = (select(Posting.balance_after).where(Posting.account_id == Account.id)
            .order_by(Posting.effective_date.desc(), Posting.id.desc()).limit(1).scalar_subquery())
    for account_id, stored, running in session.execute(select(Account.id, Account.balance_minor, last)
                                                       .order_by(Account.id)):
        if (running or 0) != stored:
            acct = accounts[account_id]
            problems.append(Problem(_account(acct.code, acct.currency),
                                    f"stored balance {stored} but the last running balance is {running or 0}"))
    return problems


def _entries(session: Session) -> list[Problem]:
    empty = session.execute(select(JournalEntry.public_id).where(
        ~select(Posting.id).where(Posting.entry_id == JournalEntry.id).exists())).scalars()
    problems = [Problem(f"entry {ref}", "has no postings") for ref in empty]
    off = (select(Posting.entry_id, Posting.currency, func.sum(Posting.amount_minor).label("total"))
           .group_by(Posting.entry_id, Posting.currency).having(func.sum(Posting.amount_minor) != 0).subquery())
    for ref, currency, total in session.execute(select(JournalEntry.public_id, off.c.currency, off.c.total)
                                                .join(off, off.c.entry_id == JournalEntry.id)):
        problems.append(Problem(f"entry {ref}", f"does not balance in {currency} (off by {total})"))
    return problems


def _reversals(session: Session) -> list[Problem]:
    """A reversal's postings cancel the reversed entry's, account by account."""
    reversal = aliased(JournalEntry)
    rows = session.execute(
        select(reversal.public_id, Posting.account_id)
        .join(Posting, (Posting.entry_id == reversal.id) | (Posting.entry_id == reversal.reverses_id))
        .where(reversal.reverses_id.is_not(None))
        .group_by(reversal.public_id, Posting.account_id).having(func.sum(Posting.amount_minor) != 0)).all()
    return [Problem(f"entry {ref}", "does not mirror the entry it reverses") for ref in sorted({r for r, _a in rows})]


def _keys(session: Session) -> list[Problem]:
    """Each entry's key columns against its details (compared in Python: JSON differs between the databases)."""
    rows = session.execute(select(JournalEntry.public_id, JournalEntry.details, JournalEntry.contract_ref,
                                  JournalEntry.term, JournalEntry.partner_ref).order_by(JournalEntry.id)
                           .execution_options(yield_per=20_000))
    return [Problem(f"entry {ref}", f"its contract, term and partner columns {(contract, term, partner)} are not "
                                    f"those its details name {entry_keys(details)}")
            for ref, details, contract, term, partner in rows if (contract, term, partner) != entry_keys(details)]


# --- each commission entry against its source event ----------------------------------------------------------

RELEASED = "disclosure.released"
KINDS = (CONTRACT_PLACED, CONTRACT_RENEWED, CONTRACT_CANCELLED, RELEASED)
ROLES = ("receivable", "income", "expense", "held", "available")


def _role_sums():
    """Per commission entry, the sum of its postings on each kind of account, the count of postings on any other
    account, and the partner accounts' codes (lowest and highest)."""
    code = Account.code
    roles = {"receivable": code.like("commission_receivable:%"), "income": code == INCOME,
             "expense": code == EXPENSE, "held": code.like("partner_payable:held:%"),
             "available": code.like("partner_payable:available:%")}
    partner = roles["held"] | roles["available"]
    other = ~(roles["receivable"] | roles["income"] | roles["expense"] | partner)
    return (select(Posting.entry_id,
                   *[func.sum(case((c, Posting.amount_minor), else_=0)).label(name) for name, c in roles.items()],
                   func.sum(case((other, literal(1)), else_=0)).cast(Integer).label("others"),
                   func.min(case((partner, code))).label("partner_low"),
                   func.max(case((partner, code))).label("partner_high"))
            .join(Account, Account.id == Posting.account_id)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(JournalEntry.event_kind.in_(KINDS), JournalEntry.reverses_id.is_(None))
            .group_by(Posting.entry_id).subquery())


@dataclass
class _Seen:
    """What earlier entries established, in posting order: each term's share and commission, what clawbacks took
    back from the held share."""

    terms: dict = field(default_factory=dict)
    clawed: dict = field(default_factory=lambda: defaultdict(int))


def _commission_entries(session: Session) -> list[Problem]:
    """Each commission entry recomputed from its source event and the facts it recorded (rates, the agreement's
    share, the original entry of a clawback) with the ledger's own rounding: an amount moved between two postings
    of one entry, a commission or share that its recorded rates do not give, an entry whose event is missing or
    says something else."""
    sums, event = _role_sums(), aliased(BusinessEvent)
    rows = session.execute(
        select(JournalEntry.public_id, JournalEntry.event_kind, JournalEntry.details, event.kind.label("ev_kind"),
               event.subject.label("ev_subject"), event.effective_on.label("ev_on"), event.payload.label("ev_payload"),
               *[sums.c[name] for name in (*ROLES, "others", "partner_low", "partner_high")])
        .join(sums, sums.c.entry_id == JournalEntry.id)
        .outerjoin(event, event.public_id == JournalEntry.event_ref)
        .order_by(JournalEntry.id)).all()
    seen, found = _Seen(), []
    for row in rows:
        check = _release if row.event_kind == RELEASED else _clawback if row.event_kind == CONTRACT_CANCELLED else _term
        try:
            expected = check(session, row, seen)
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError):
            expected = "records incomplete or malformed facts (details) for its event"
        if isinstance(expected, str):
            found.append(Problem(f"entry {row.public_id}", expected))
            continue
        partner = row.details.get("partner")
        wrong = [f"{role} {row._mapping[role]} where {expected.get(role, 0)} is due"
                 for role in ROLES if row._mapping[role] != expected.get(role, 0)]
        if row.others or any(c and c.rsplit(":", 1)[1] != partner for c in (row.partner_low, row.partner_high)):
            wrong.append("postings on accounts the event does not involve")
        if wrong:
            found.append(Problem(f"entry {row.public_id}", f"does not match its {row.event_kind} event: "
                                 + "; ".join(wrong)))
    return found


def _event_differs(row, kind: str) -> str | None:
    d, payload = row.details, row.ev_payload
    if row.ev_kind is None:
        return f"its business event {kind} is missing"
    if row.ev_kind != kind or row.ev_subject != d.get("contract") or payload.get("term") != d.get("term"):
        return "records another contract or term than its business event"
    return None


def _term(session: Session, row, seen: _Seen) -> dict | str:
    d = row.details
    if (differs := _event_differs(row, row.event_kind)) is not None:
        return differs
    if row.ev_payload.get("premium_minor") != d.get("premium_minor"):
        return "records another premium than its business event"
    commission = apply_rate(row.ev_payload["premium_minor"], Decimal(d["insurer_rate"]))
    share = apply_rate(commission, Decimal(d["partner_rate"])) + d.get("one_off_fee_minor", 0) if d.get("partner") else 0
    if d.get("broker_commission_minor") != commission or d.get("partner_share_minor") != share:
        return "records a commission or share that its recorded rates do not give"
    seen.terms[(d["contract"], d["term"])] = d
    return {"receivable": commission, "income": -commission, "expense": share, "held": -share}


def _clawback(session: Session, row, seen: _Seen) -> dict | str:
    d = row.details
    if (differs := _event_differs(row, CONTRACT_CANCELLED)) is not None:
        return differs
    original = seen.terms.get((d["contract"], d["term"]))
    term = session.execute(select(ContractTerm.start_date, ContractTerm.end_date).join(Contract)
                           .where(Contract.public_id == d["contract"], ContractTerm.number == d["term"])).first()
    if original is None or term is None:
        return "claws back a term whose commission entry or contract term is missing"
    days_paid = (term.end_date - term.start_date).days + 1
    not_covered = min(days_paid, max(0, (term.end_date - row.ev_on).days + 1))
    commission, share = original["broker_commission_minor"], original["partner_share_minor"]
    back = split(commission, [not_covered, days_paid - not_covered])[0] if commission else 0
    back_share = split(share, [not_covered, days_paid - not_covered])[0] if share else 0
    from_held = d.get("from_held_minor", 0)
    if (d.get("days_not_covered"), d.get("days_paid")) != (not_covered, days_paid) or from_held not in (0, back_share):
        return "records days or a held amount that the cancellation and its term do not give"
    seen.clawed[(d["contract"], d["term"])] += from_held
    return {"income": back, "receivable": -back, "held": from_held, "available": back_share - from_held,
            "expense": -back_share}


def _release(session: Session, row, seen: _Seen) -> dict | str:
    d = row.details
    original = seen.terms.get((d.get("contract"), d.get("term")))
    if original is None:
        return "releases the share of a term that has no commission entry"
    amount = original["partner_share_minor"] - seen.clawed[(d["contract"], d["term"])]
    return {"held": amount, "available": -amount}

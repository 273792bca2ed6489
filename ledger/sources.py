"""Each commission entry against the business event it was posted for (`ledger verify`).

The entry records the facts resolved when it posted (rates, the agreement's share, the original entry of a
clawback); this recomputes its postings from the source event and those facts with the engine's own rounding,
and reports any entry whose postings differ: an amount moved between two postings of one entry, a commission or
share that its recorded rates do not give, an entry whose event is missing or says something else.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Integer, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from core.contracts import Contract, ContractTerm
from core.events import CONTRACT_CANCELLED, CONTRACT_PLACED, CONTRACT_RENEWED, BusinessEvent

from .engine import Problem, apply_rate, split
from .models import Account, JournalEntry, Posting

RELEASED = "disclosure.released"
KINDS = (CONTRACT_PLACED, CONTRACT_RENEWED, CONTRACT_CANCELLED, RELEASED)
ROLES = ("receivable", "income", "expense", "held", "available")


def _role_sums():
    """Per commission entry, the sum of its postings on each kind of account, the count of postings on any other
    account, and the partner accounts' codes (lowest and highest)."""
    from .commissions import EXPENSE, INCOME

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


def problems(session: Session) -> list[Problem]:
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

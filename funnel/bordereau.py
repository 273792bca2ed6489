"""The monthly bordereau to each insurer (risk carrier) of the volunteers' top-up covers: for a calendar month,
the subscriptions started (a contract placed with the insurer whose cover starts that month), the changes made
(dependants added, radiations and other moves of the end of cover, withdrawals), and the premiums collected and
refunded per contract (one per cover) and month of cover, the commission the broker withheld, and the net owed
to the insurer.

The premiums come from the books, not from the payments: each entry of the month (by its booking date) with a
posting on the insurer's account `insurer_payable:<code>` (ledger.collected_premiums) counts, read from its
postings: client money in is collected (an entry's first posting) or refunded (a reversal and what it kept),
commission income is the commission withheld, the insurer's account is the net owed. So the bordereau's totals
are the ledger's for the month, to the cent: collected − refunded = the month's client money of the insurer's
entries, and net owed = what the month credited to the insurer's account.

`rows` gives the table (translated headers, one line per item, a total line) the CSV and XLSX files share
(funnel.bordereau_files).
"""
from __future__ import annotations

import enum
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.contracts import Contract, Insurer
from core.i18n import N_
from ledger.collected_premiums import CLIENT_MONEY, EVENT_KIND, INSURER_PAYABLE, insurer_payable
from ledger.commissions import INCOME
from ledger.models import Account, JournalEntry, Posting

from .activation import PRODUCT_LINES
from .addition_models import DependantAddition
from .catalogue import Cover
from .models import Subscription

COVER_OF = {line: cover for cover, line in PRODUCT_LINES.items()}


class ChangeKind(enum.Enum):
    started = "started"
    addition = "addition"
    radiation = "radiation"
    end_moved = "end_moved"
    withdrawal = "withdrawal"

    @property
    def label(self) -> str:
        return CHANGE_LABELS[self]


CHANGE_LABELS = {
    ChangeKind.started: N_("Subscription started"),
    ChangeKind.addition: N_("Dependant added"),
    ChangeKind.radiation: N_("Radiation: cover ended early"),
    ChangeKind.end_moved: N_("End of cover moved"),
    ChangeKind.withdrawal: N_("Withdrawal"),
}


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    #: the subscription's reference (the policy numbers are it followed by -H or -P)
    subscription: str
    on: date
    #: the cover's end after the change (radiation, end moved, withdrawal), the start (started), or from when the
    #: dependant is covered (addition)
    effective: date | None = None
    #: the monthly premium after the change, when it changed it (started, addition)
    monthly_minor: int | None = None


@dataclass(frozen=True)
class PremiumLine:
    policy_number: str
    cover: Cover | None
    #: the month of cover the premium is for (YYYY-MM)
    month: str
    collected_minor: int
    refunded_minor: int
    commission_minor: int
    #: collected − refunded − commission: what the insurer is owed for the line
    owed_minor: int


@dataclass
class Bordereau:
    insurer_code: str
    insurer_name: str
    #: YYYY-MM
    month: str
    currency: str
    changes: list[Change] = field(default_factory=list)
    premiums: list[PremiumLine] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(line, name) for line in self.premiums)


class UnknownInsurer(LookupError):
    pass


def month_bounds(month: str) -> tuple[date, date]:
    """[first day, first day of the next month) of `month` (YYYY-MM); ValueError when it is not one."""
    first = date.fromisoformat(f"{month}-01")
    return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _reference(policy_number: str) -> str:
    return policy_number.rsplit("-", 1)[0]


# --- the premiums, from the books ---------------------------------------------------------------------------------

def _premiums(session: Session, code: str, start: date, end: date) -> list[PremiumLine]:
    entries = (select(JournalEntry.id).join(Posting, Posting.entry_id == JournalEntry.id)
               .join(Account, Account.id == Posting.account_id)
               .where(JournalEntry.event_kind == EVENT_KIND, Account.code == insurer_payable(code),
                      JournalEntry.effective_date >= start, JournalEntry.effective_date < end))
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.event_ref, JournalEntry.reverses_id, JournalEntry.details,
               Account.code, Posting.amount_minor)
        .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Account.id == Posting.account_id)
        .where(JournalEntry.id.in_(entries)).order_by(JournalEntry.id)).all()
    lines: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for _id, event_ref, reverses_id, details, account, amount in rows:
        contract_ref, month = event_ref.rsplit(":", 1)
        line = lines[(contract_ref, month)]
        refund = reverses_id is not None or "kept_of" in (details or {})
        if account == CLIENT_MONEY:
            line[1 if refund else 0] += -amount if refund else amount
        elif account == INCOME:
            line[2] -= amount
        elif account.startswith(INSURER_PAYABLE):
            line[3] -= amount
    contracts = {c.public_id: c for c in session.scalars(select(Contract).where(
        Contract.public_id.in_({ref for ref, _m in lines})))}
    out = []
    for (ref, month), (collected, refunded, commission, owed) in lines.items():
        contract = contracts.get(ref)
        out.append(PremiumLine(contract.policy_number if contract else ref,
                               COVER_OF.get(contract.product_line) if contract else None, month, collected,
                               refunded, commission, owed))
    return sorted(out, key=lambda p: (p.policy_number, p.month))


# --- the subscriptions and their changes --------------------------------------------------------------------------

def _placed(session: Session, insurer: Insurer) -> dict[str, list[Contract]]:
    """The funnel's contracts with this insurer, by subscription reference."""
    by_reference: dict[str, list[Contract]] = defaultdict(list)
    for contract in session.scalars(select(Contract).where(Contract.insurer_id == insurer.id,
                                                           Contract.product_line.in_(list(COVER_OF)))):
        by_reference[_reference(contract.policy_number)].append(contract)
    return by_reference


def _changes(session: Session, insurer: Insurer, start: date, end: date) -> list[Change]:
    placed = _placed(session, insurer)
    if not placed:
        return []
    subscriptions = {s.reference: s for s in session.scalars(select(Subscription).where(
        Subscription.reference.in_(list(placed))))}
    by_public_id = {s.public_id: s for s in subscriptions.values()}
    changes = [Change(ChangeKind.started, s.reference, s.start_on, s.start_on, s.monthly_total_minor)
               for s in subscriptions.values() if start <= s.start_on < end]
    for addition in session.scalars(select(DependantAddition).where(
            DependantAddition.subscription_id.in_([s.id for s in subscriptions.values()]),
            DependantAddition.declared_on >= start, DependantAddition.declared_on < end)):
        changes.append(Change(ChangeKind.addition, addition.subscription.reference, addition.declared_on,
                              addition.covered_from, addition.monthly_minor))
    changes += [Change(ChangeKind.withdrawal, s.reference, s.withdrawn_at.date(), s.ends_on)
                for s in subscriptions.values() if s.withdrawn_at and _at(start) <= s.withdrawn_at < _at(end)]
    for event in session.scalars(select(AuditEvent).where(
            AuditEvent.action == "subscription.cover_end_moved", AuditEvent.subject_id.in_(list(by_public_id)),
            AuditEvent.occurred_at >= _at(start), AuditEvent.occurred_at < _at(end)).order_by(AuditEvent.seq)):
        data = json.loads(event.data or "{}")
        ended = data.get("mission_state") not in (None, "in_post") and data["ends_on"] < data.get("was", "")
        changes.append(Change(ChangeKind.radiation if ended else ChangeKind.end_moved,
                              by_public_id[event.subject_id].reference, event.occurred_at.date(),
                              date.fromisoformat(data["ends_on"])))
    return sorted(changes, key=lambda c: (c.on, c.subscription, c.kind.value))


def bordereau(session: Session, insurer_code: str, month: str, *, currency: str = "EUR") -> Bordereau:
    """The bordereau of `month` (YYYY-MM) for the insurer with this code (UnknownInsurer when there is none)."""
    insurer = session.scalar(select(Insurer).where(Insurer.code == insurer_code))
    if insurer is None:
        raise UnknownInsurer(insurer_code)
    start, end = month_bounds(month)
    return Bordereau(insurer.code, insurer.name, month, currency, _changes(session, insurer, start, end),
                     _premiums(session, insurer.code, start, end))


# --- the table the files share ---------------------------------------------------------------------------------

HEADERS = (N_("Section"), N_("Subscription"), N_("Policy number"), N_("Cover"), N_("Date"), N_("Month of cover"),
           N_("Effective"), N_("Monthly premium"), N_("Premium collected"), N_("Premium refunded"),
           N_("Commission withheld"), N_("Net owed to the insurer"), N_("Currency"))
SECTION_CHANGE, SECTION_PREMIUM, SECTION_TOTAL = N_("Change"), N_("Premium"), N_("Total")


def rows(b: Bordereau, translate) -> list[list]:
    """The header (in the reader's language, through `translate`) and the lines: changes, premiums, the total.
    Amounts are in minor units (the files write them in the currency's units)."""
    t = translate
    out: list[list] = [[t(h) for h in HEADERS]]
    for c in b.changes:
        out.append([t(SECTION_CHANGE), c.subscription, "", t(c.kind.label), c.on, "", c.effective,
                    c.monthly_minor, None, None, None, None, b.currency])
    for p in b.premiums:
        out.append([t(SECTION_PREMIUM), _reference(p.policy_number), p.policy_number,
                    t(p.cover.label) if p.cover else "", None, p.month, None, None, p.collected_minor,
                    p.refunded_minor, p.commission_minor, p.owed_minor, b.currency])
    out.append([t(SECTION_TOTAL), "", "", "", None, b.month, None, None, b.total("collected_minor"),
                b.total("refunded_minor"), b.total("commission_minor"), b.total("owed_minor"), b.currency])
    return out


#: the columns that hold money (minor units in `rows`)
MONEY_COLUMNS = (7, 8, 9, 10, 11)

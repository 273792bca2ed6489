"""Insurer commission statements: import and reconciliation against the ledger, and their resolution.

Plain Python over a SQLAlchemy session (no Flask): functions flush, the caller commits.

How a statement line meets our books — the one rule everything below follows:
- A line names a policy and a period (a month). The policy is looked up among our contracts with that insurer
  in the statement's currency (a policy we hold in another currency is unknown here: nothing is converted).
- The line is about the *posted* term of that contract whose dates overlap the month (term start ≤ the
  month's last day and term end ≥ its first day); when a renewal starts mid-month two terms overlap it and
  the later one counts. No posted term overlapping the month: the line has the wrong term.
- The commission expected for a term is the broker commission posted for it (contract.placed/renewed entries)
  minus the clawback posted for it (contract.cancelled entries); a reversed entry counts for nothing. The
  ledger posts a term's whole commission up front, so the insurer reports a term once, on one statement.
- A term reported again — later in the same file, or after it was reconciled (matched, or a discrepancy
  accepted or adjusted) on an earlier statement — is a duplicate line; so is a second line with the same
  policy and period in one file.
- A statement for month M expects every such contract whose posted term overlaps M, with a commission left
  to collect, and that no earlier statement reported: one absent from the file is missing from the statement.

Receipts post Dr bank / Cr commission receivable:<insurer>. Ageing applies every credit to a receivable
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from core.contracts import Contract, Insurer
from core.db import utcnow
from core.events import CONTRACT_CANCELLED, CONTRACT_PLACED, CONTRACT_RENEWED
from core.i18n import N_

from .chart import month_end, open_account
from .commissions import INCOME, receivable
from .errors import ItemNotOpen, ReconciliationError, StatementAlreadyImported
from .journal import post
from .models import AccountType, InsurerStatement, ItemKind, JournalEntry, ReconciliationItem, Resolution
from .money import credit, debit
from .statement_files import StatementLine, check_currency, parse_statement


ACTIONS = ("accept", "adjust", "dispute")


# --- what we expect: posted terms ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Term:
    contract: Contract
    number: int
    start: date
    end: date
    #: broker commission posted for the term, net of its clawback
    expected_minor: int


def _net_commission(session: Session, insurer: Insurer, currency: str) -> dict[tuple[int, int], int]:
    """(contract id, term number) -> broker commission posted for that term minus its clawback, for the contracts
    with `insurer` in `currency`: their entries joined by key (contract), a reversed one left out."""
    reversal = aliased(JournalEntry)
    rows = session.execute(
        select(Contract.id, JournalEntry.term, JournalEntry.event_kind, JournalEntry.details)
        .join(Contract, Contract.public_id == JournalEntry.contract_ref)
        .where(Contract.insurer_id == insurer.id, Contract.currency == currency,
               JournalEntry.event_kind.in_((CONTRACT_PLACED, CONTRACT_RENEWED, CONTRACT_CANCELLED)),
               JournalEntry.reverses_id.is_(None),
               ~select(reversal.id).where(reversal.reverses_id == JournalEntry.id).exists())
        .order_by(JournalEntry.id))
    posted: dict[tuple[int, int], int] = {}
    clawed: Counter = Counter()
    for contract_id, term, kind, details in rows:
        key = (contract_id, term)
        if kind == CONTRACT_CANCELLED:
            clawed[key] += int(details.get("broker_commission_back_minor") or 0)
        else:
            posted[key] = posted.get(key, 0) + int(details.get("broker_commission_minor") or 0)
    return {key: amount - clawed[key] for key, amount in posted.items()}


def _posted_terms(session: Session, insurer: Insurer, currency: str) -> dict[str, tuple[Contract, list[_Term]]]:
    """Our contracts with `insurer` in `currency`, by normalised policy number, with their posted terms."""
    contracts = session.execute(select(Contract).where(Contract.insurer_id == insurer.id,
                                                       Contract.currency == currency)).scalars().all()
    net = _net_commission(session, insurer, currency)
    return {_norm(c.policy_number): (c, [_Term(c, t.number, t.start_date, t.end_date, net[(c.id, t.number)])
                                         for t in c.terms if (c.id, t.number) in net]) for c in contracts}


def _covering(terms: list[_Term], month: date) -> _Term | None:
    hits = [t for t in terms if t.start <= month_end(month) and t.end >= month]
    return max(hits, key=lambda t: t.number, default=None)


def _norm(policy: str) -> str:
    return re.sub(r"\s+", "", policy or "").upper()


def _earlier_terms(session: Session, insurer: Insurer) -> tuple[set, set]:
    """Terms reported on statements imported before: (all reported, the reconciled ones)."""
    rows = session.execute(select(ReconciliationItem.contract_id, ReconciliationItem.term,
                                  ReconciliationItem.resolution)
                           .join(InsurerStatement, InsurerStatement.id == ReconciliationItem.statement_id)
                           .where(InsurerStatement.insurer_id == insurer.id,
                                  ReconciliationItem.kind.in_((ItemKind.matched, ItemKind.wrong_amount)),
                                  ReconciliationItem.contract_id.is_not(None))).all()
    reported = {(c, t) for c, t, _r in rows}
    reconciled = {(c, t) for c, t, r in rows if r in (Resolution.accepted, Resolution.adjusted)}
    return reported, reconciled


# --- import --------------------------------------------------------------------------------------------------

def import_statement(session: Session, *, insurer: Insurer, period: date, currency: str, filename: str,
                     content: bytes, uploaded_by: str) -> InsurerStatement:
    """Parse the file and reconcile each line against our contracts; nothing is saved when the file is bad."""
    check_currency(currency)
    digest = hashlib.sha256(content).hexdigest()
    if (earlier := _imported(session, insurer, digest)) is not None:
        raise _already(earlier)
    lines = parse_statement(filename, content, currency)
    statement = InsurerStatement(insurer_id=insurer.id, period=period.replace(day=1), currency=currency,
                                 filename=(filename or "statement")[-255:], sha256=digest, uploaded_by=uploaded_by,
                                 reported_total_minor=sum(line.commission_minor for line in lines))
    try:
        with session.begin_nested():
            session.add(statement)
            session.flush()
    except IntegrityError:  # the same file imported meanwhile by someone else
        raise _already(_imported(session, insurer, digest)) from None
    ours = _posted_terms(session, insurer, currency)
    reported, reconciled = _earlier_terms(session, insurer)
    items = _line_items(statement, lines, ours, reconciled, uploaded_by)
    items += _missing_items(statement, lines, ours, reported)
    session.add_all(items)
    session.flush()
    return statement


def _imported(session: Session, insurer: Insurer, digest: str) -> InsurerStatement | None:
    return session.execute(select(InsurerStatement).where(InsurerStatement.insurer_id == insurer.id,
                                                          InsurerStatement.sha256 == digest)).scalar_one_or_none()


def _already(earlier: InsurerStatement | None) -> StatementAlreadyImported:
    when = f"{earlier.created_at:%Y-%m-%d}" if earlier and earlier.created_at else "?"
    return StatementAlreadyImported(
        N_("This file was already imported for this insurer (%(filename)s, on %(date)s): nothing was imported "
           "twice."), filename=earlier.filename if earlier else "?", date=when,
        fields={"file": [N_("This file was already imported for this insurer.")]})


def _line_items(statement: InsurerStatement, lines: list[StatementLine],
                ours: dict[str, tuple[Contract, list[_Term]]], reconciled: set,
                uploaded_by: str) -> list[ReconciliationItem]:
    items = []
    seen_lines: set[tuple[str, date]] = set()
    seen_terms: set[tuple[int, int]] = set()
    for line in lines:
        policy = _norm(line.policy_number)
        contract, terms = ours.get(policy, (None, []))
        term = _covering(terms, line.period)
        item = ReconciliationItem(statement=statement, row_number=line.row_number, policy_number=line.policy_number,
                                  line_period=line.period_text, premium_minor=line.premium_minor,
                                  reported_minor=line.commission_minor, contract_id=contract.id if contract else None,
                                  term=term.number if term else None)
        term_key = (contract.id, term.number) if term else None
        if (policy, line.period) in seen_lines or term_key in seen_terms or term_key in reconciled:
            item.kind = ItemKind.duplicate_line
        elif contract is None:
            item.kind = ItemKind.unknown_policy
        elif term is None:
            item.kind = ItemKind.wrong_term
        else:
            item.expected_minor = term.expected_minor
            item.kind = ItemKind.matched if term.expected_minor == line.commission_minor else ItemKind.wrong_amount
            seen_terms.add(term_key)
        if item.kind is ItemKind.matched:
            item.resolution, item.resolved_by, item.resolved_at = Resolution.accepted, uploaded_by, utcnow()
        seen_lines.add((policy, line.period))
        items.append(item)
    return items


def _missing_items(statement: InsurerStatement, lines: list[StatementLine],
                   ours: dict[str, tuple[Contract, list[_Term]]], reported: set) -> list[ReconciliationItem]:
    in_file = {_norm(line.policy_number) for line in lines}
    items = []
    for policy, (contract, terms) in sorted(ours.items()):
        term = _covering(terms, statement.period)
        if policy in in_file or term is None or term.expected_minor == 0 or (contract.id, term.number) in reported:
            continue
        items.append(ReconciliationItem(statement=statement, kind=ItemKind.missing_from_statement,
                                        policy_number=contract.policy_number, contract_id=contract.id,
                                        term=term.number, expected_minor=term.expected_minor))
    return items


# --- resolution ----------------------------------------------------------------------------------------------

def adjust_refusal(item: ReconciliationItem) -> str | None:
    """Why this item cannot be adjusted (a msgid), or None when it can."""
    if item.kind is ItemKind.unknown_policy:
        return N_("A policy unknown to us cannot be adjusted: accept or dispute it.")
    if item.kind is ItemKind.duplicate_line:
        return N_("A duplicate line cannot be adjusted: its term is reconciled on its first line.")
    if item.reported_minor is None or item.expected_minor is None:
        return N_("Adjusting needs both the insurer's figure and ours.")
    if item.reported_minor == item.expected_minor:
        return N_("The figures agree: there is nothing to adjust.")
    return None


def resolve(session: Session, item: ReconciliationItem, *, action: str, by: str, note: str | None,
            today: date) -> ReconciliationItem:
    """Accept, dispute, or adjust (post a correction so our receivable matches the insurer's figure)."""
    if action not in ACTIONS:
        raise ReconciliationError(N_("Choose accept, adjust or dispute."), fields={"action": [N_("Not a valid choice.")]})
    if item.resolution is not Resolution.open:
        raise ItemNotOpen()
    entry = _post_adjustment(session, item, today) if action == "adjust" else None
    resolution = {"accept": Resolution.accepted, "adjust": Resolution.adjusted, "dispute": Resolution.disputed}[action]
    # compare-and-set: of two people resolving the same line at once, one wins and the other is told
    done = session.execute(update(ReconciliationItem).where(ReconciliationItem.id == item.id,
                                                            ReconciliationItem.resolution == Resolution.open)
                           .values(resolution=resolution, resolved_by=by, resolved_at=utcnow(),
                                   note=(note or "").strip() or None,
                                   adjustment_entry_id=entry.id if entry else None)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise ItemNotOpen()
    session.refresh(item)
    return item


def _post_adjustment(session: Session, item: ReconciliationItem, today: date) -> JournalEntry:
    refusal = adjust_refusal(item)
    if refusal:
        raise ReconciliationError(refusal)
    statement = item.statement
    insurer = session.get(Insurer, statement.insurer_id)
    contract = session.get(Contract, item.contract_id) if item.contract_id else None
    difference = item.reported_minor - item.expected_minor
    currency = statement.currency
    open_account(session, receivable(insurer), AccountType.asset, currency, owner=f"insurer:{insurer.code}")
    open_account(session, INCOME, AccountType.income, currency)
    # a positive difference raises the receivable (the insurer owes more); a negative one lowers it
    entry, _created = post(
        session, key=f"reconciliation.adjusted:{item.public_id}", effective_date=today,
        description=f"Statement adjustment, {item.policy_number} ({statement.period:%Y-%m}): insurer's figure",
        lines=[debit(receivable(insurer), difference, currency), credit(INCOME, difference, currency)],
        event_kind="reconciliation.adjusted", event_ref=item.public_id,
        details={"statement": statement.public_id, "insurer": insurer.code, "policy_number": item.policy_number,
                 "contract": contract.public_id if contract else None, "term": item.term,
                 "line_period": item.line_period, "reported_minor": item.reported_minor,
                 "expected_minor": item.expected_minor, "difference_minor": difference})
    return entry

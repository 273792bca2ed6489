"""When a partner's share falls due, under the payment terms of the agreement it was earned under.

Each commission rule says how many days the broker has to pay and what they count from
(`agreements.models.PaymentTermsBasis`):
- `statement_month_end`: the end of the month of the partner's statement on which the commission appears (the
  month its placement or renewal was posted);
- `premium_received`: the day the insurer's commission on that contract's term reached the broker, i.e. the
  receipt that completed the payment of an insurer statement listing the term. Until then the due date is
  unknown ("N days after the insurer pays").

A payout run pays a partner's available balance less the shares not yet due on the run's execution date. The
balance is made of the newest shares made available (payouts and earlier netting consumed the oldest first), so
the newest releases are walked back until they make up the balance; a release's share is net of any clawback of
the same term taken from what was available. Amounts stay integer minor units.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from agreements.models import Agreement, PaymentTermsBasis
from core.contracts import Contract
from core.events import CONTRACT_CANCELLED, CONTRACT_PLACED, CONTRACT_RENEWED, BusinessEvent

from .chart import month_end
from .models import Account, InsurerReceipt, InsurerStatement, ItemKind, JournalEntry, Posting, ReconciliationItem

RELEASED = "disclosure.released"


@dataclass(frozen=True)
class NotYetDue:
    """A share available to the partner that the payment terms do not make payable on the run's date."""

    contract: str
    policy_number: str
    term: int
    amount_minor: int
    basis: PaymentTermsBasis
    days: int
    #: None: counted from the insurer's payment, which has not come yet
    due_on: date | None


@dataclass(frozen=True)
class _Release:
    contract: str
    term: int
    amount_minor: int


def not_yet_due(session: Session, account: Account, balance_minor: int, *, period_end: date,
                on: date) -> list[NotYetDue]:
    """The shares making up `balance_minor` of the partner's available `account` (as of `period_end`) that are
    not due on `on`, newest first."""
    left, found = balance_minor, []
    for release in _releases_newest_first(session, account, period_end):
        if left <= 0:
            break
        share = min(left, release.amount_minor)
        left -= share
        due = _due(session, release)
        if due is not None and (due.due_on is None or due.due_on > on):
            found.append(NotYetDue(release.contract, due.policy_number, release.term, share, due.basis, due.days,
                                   due.due_on))
    return found


def _releases_newest_first(session: Session, account: Account, period_end: date):
    clawed = _clawed_from_available(session, account)
    rows = session.execute(
        select(JournalEntry.details, Posting.amount_minor).join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id == account.id, Posting.amount_minor < 0, JournalEntry.event_kind == RELEASED,
               Posting.effective_date <= period_end)
        .order_by(Posting.effective_date.desc(), Posting.id.desc())).all()
    for details, amount in rows:
        key = (details.get("contract"), details.get("term"))
        net = -amount - clawed.pop(key, 0)
        if net > 0:
            yield _Release(key[0], key[1], net)


def _clawed_from_available(session: Session, account: Account) -> dict[tuple[str, int], int]:
    clawed: dict[tuple[str, int], int] = {}
    rows = session.execute(
        select(JournalEntry.details, Posting.amount_minor).join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account_id == account.id, Posting.amount_minor > 0,
               JournalEntry.event_kind == CONTRACT_CANCELLED))
    for details, amount in rows:
        key = (details.get("contract"), details.get("term"))
        clawed[key] = clawed.get(key, 0) + amount
    return clawed


@dataclass(frozen=True)
class _Due:
    policy_number: str
    basis: PaymentTermsBasis
    days: int
    due_on: date | None


def _due(session: Session, release: _Release) -> _Due | None:
    """The release's due date under the rule of the agreement its term was earned under (None: no such rule,
    nothing holds the share back)."""
    earned = session.execute(select(JournalEntry).where(
        JournalEntry.event_kind.in_((CONTRACT_PLACED, CONTRACT_RENEWED)), JournalEntry.reverses_id.is_(None),
        JournalEntry.event_ref.in_(_event_refs(session, release.contract)))).scalars()
    entry = next((e for e in earned if e.details.get("term") == release.term), None)
    contract = session.execute(select(Contract).where(Contract.public_id == release.contract)).scalar_one_or_none()
    if entry is None or contract is None or not entry.details.get("agreement"):
        return None
    agreement = session.execute(select(Agreement).where(Agreement.reference == entry.details["agreement"])
                                ).scalar_one_or_none()
    rule = next((r for r in (agreement.rules if agreement else []) if r.product_line is contract.product_line), None)
    if rule is None:
        return None
    if rule.payment_terms_basis is PaymentTermsBasis.premium_received:
        received = commission_received_on(session, contract.id, release.term)
        start = received
    else:
        start = month_end(entry.effective_date)
    due_on = start + timedelta(days=rule.payment_terms_days) if start is not None else None
    return _Due(contract.policy_number, rule.payment_terms_basis, rule.payment_terms_days, due_on)


def _event_refs(session: Session, contract_public_id: str):
    return select(BusinessEvent.public_id).where(BusinessEvent.subject == contract_public_id)


def commission_received_on(session: Session, contract_id: int, term: int) -> date | None:
    """The day the insurer's commission on the contract's term reached the broker: the earliest receipt that
    completed the payment of an insurer statement listing that term. None while no such statement is paid."""
    statements = session.execute(
        select(InsurerStatement).join(ReconciliationItem, ReconciliationItem.statement_id == InsurerStatement.id)
        .where(ReconciliationItem.contract_id == contract_id, ReconciliationItem.term == term,
               ReconciliationItem.kind != ItemKind.missing_from_statement).distinct()).scalars()
    paid_on = [d for d in (_paid_in_full_on(session, s) for s in statements) if d is not None]
    return min(paid_on, default=None)


def _paid_in_full_on(session: Session, statement: InsurerStatement) -> date | None:
    received = 0
    for amount, on in session.execute(select(InsurerReceipt.amount_minor, InsurerReceipt.received_on)
                                      .where(InsurerReceipt.statement_id == statement.id)
                                      .order_by(InsurerReceipt.received_on, InsurerReceipt.id)):
        received += amount
        if received >= statement.reported_total_minor:
            return on
    return None

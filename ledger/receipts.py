"""Money received from insurers: receipts against the commission receivable, what each statement has been paid
(partial, over and under payments stay visible), and the receivables ageing by insurer.

Receipts post Dr bank / Cr commission receivable:<insurer>. Ageing applies every credit to a receivable
(receipts, clawbacks, adjustments) to its oldest debits first. Plain Python, no Flask.
"""
from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from babel.numbers import get_currency_precision
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.contracts import Insurer
from core.i18n import N_

from .balances import balance_as_of
from .chart import open_account
from .commissions import receivable
from .errors import ReceiptConflict, ReconciliationError
from .journal import post
from .models import (Account, AccountType, InsurerReceipt, InsurerStatement, Posting, ReconciliationItem,
                     Resolution)
from .money import credit, debit
from .payouts import BANK
from .statement_files import check_currency


RECEIVABLE_PREFIX = "commission_receivable:"


# --- receipts ------------------------------------------------------------------------------------------------

def record_receipt(session: Session, *, insurer: Insurer, amount_minor: int, currency: str, received_on: date,
                   bank_reference: str, recorded_by: str, today: date,
                   statement: InsurerStatement | None = None) -> tuple[InsurerReceipt, bool]:
    """Money in from the insurer, against its receivable. The same bank reference posts once."""
    reference = (bank_reference or "").strip()
    _check_receipt(insurer, amount_minor, currency, received_on, reference, today, statement)
    earlier = _receipt(session, insurer, reference)
    if earlier is not None:
        return _same_receipt(earlier, amount_minor, currency), False
    open_account(session, BANK, AccountType.asset, currency)
    open_account(session, receivable(insurer), AccountType.asset, currency, owner=f"insurer:{insurer.code}")
    entry, _created = post(
        session, key=f"receipt:{insurer.code}:{reference}", effective_date=today,
        description=f"Commission received from {insurer.name}, bank reference {reference}",
        lines=[debit(BANK, amount_minor, currency), credit(receivable(insurer), amount_minor, currency)],
        event_kind="insurer.receipt", event_ref=reference[:64], event_date=received_on,
        details={"insurer": insurer.code, "bank_reference": reference, "received_on": received_on.isoformat(),
                 "statement": statement.public_id if statement else None, "amount_minor": amount_minor})
    receipt = InsurerReceipt(insurer_id=insurer.id, statement_id=statement.id if statement else None,
                             amount_minor=amount_minor, currency=currency, received_on=received_on,
                             bank_reference=reference, recorded_by=recorded_by, entry_id=entry.id)
    try:
        with session.begin_nested():
            session.add(receipt)
            session.flush()
    except IntegrityError:  # recorded meanwhile by someone else, with the same entry
        return _same_receipt(_receipt(session, insurer, reference), amount_minor, currency), False
    return receipt, True


def _check_receipt(insurer, amount_minor, currency, received_on, reference, today, statement) -> None:
    check_currency(currency)
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise ReconciliationError(N_("A receipt is a positive amount."),
                                  fields={"amount": [N_("Enter an amount above zero.")]})
    if not reference or len(reference) > 64:
        raise ReconciliationError(N_("Enter the bank's reference for this payment (at most 64 characters)."),
                                  fields={"bank_reference": [N_("Enter the bank's reference (at most 64 characters).")]})
    if received_on > today:
        raise ReconciliationError(N_("A receipt cannot be dated in the future."), field="received_on")
    if statement is not None and statement.insurer_id != insurer.id:
        raise ReconciliationError(N_("This statement is from another insurer."), field="statement")
    if statement is not None and statement.currency != currency:
        raise ReconciliationError(N_("The statement is in %(statement)s, the receipt in %(receipt)s: nothing is "
                                     "converted."), statement=statement.currency, receipt=currency,
                                  fields={"currency": [N_("Use the statement's currency.")]})


def _receipt(session: Session, insurer: Insurer, reference: str) -> InsurerReceipt | None:
    return session.execute(select(InsurerReceipt).where(InsurerReceipt.insurer_id == insurer.id,
                                                        InsurerReceipt.bank_reference == reference)
                           ).scalar_one_or_none()


def _same_receipt(earlier: InsurerReceipt, amount_minor: int, currency: str) -> InsurerReceipt:
    if (earlier.amount_minor, earlier.currency) != (amount_minor, currency):
        raise ReceiptConflict(N_("The bank reference %(reference)s was already recorded for another amount "
                                 "(%(amount)s %(currency)s)."), reference=earlier.bank_reference,
                              amount=str(Decimal(earlier.amount_minor).scaleb(-get_currency_precision(
                                  earlier.currency))), currency=earlier.currency,
                              fields={"bank_reference": [N_("This reference was already recorded for another amount "
                                                                 "(%(amount)s %(currency)s).")]})
    return earlier


# --- summaries -----------------------------------------------------------------------------------------------

class PaymentStatus(enum.Enum):
    unpaid = "unpaid"
    partially_paid = "partially_paid"
    paid = "paid"
    overpaid = "overpaid"

    @property
    def label(self) -> str:
        return PAYMENT_STATUS_LABELS[self]


PAYMENT_STATUS_LABELS = {PaymentStatus.unpaid: N_("Unpaid"), PaymentStatus.partially_paid: N_("Partially paid"),
                         PaymentStatus.paid: N_("Paid"), PaymentStatus.overpaid: N_("Overpaid")}


@dataclass(frozen=True)
class StatementSummary:
    currency: str
    #: the insurer's total (the commission column)
    reported_minor: int
    #: what our books expected on this statement (matched, wrong-amount and missing lines)
    expected_minor: int
    #: receipts recorded against this statement
    received_minor: int
    #: reported − received: negative when the insurer paid more than it reported
    outstanding_minor: int
    status: PaymentStatus
    kinds: dict = field(default_factory=dict)
    open_items: int = 0

    @property
    def difference_minor(self) -> int:
        """reported − expected: what the insurer's figures differ from ours by."""
        return self.reported_minor - self.expected_minor


def payment_status(reported_minor: int, received_minor: int) -> PaymentStatus:
    if received_minor == reported_minor:
        return PaymentStatus.paid
    if received_minor > reported_minor and received_minor > 0:
        return PaymentStatus.overpaid
    if received_minor <= 0:
        return PaymentStatus.unpaid
    return PaymentStatus.partially_paid


def statement_summary(session: Session, statement: InsurerStatement) -> StatementSummary:
    expected, kinds, open_items = 0, Counter(), 0
    for kind, resolution, amount in session.execute(select(ReconciliationItem.kind, ReconciliationItem.resolution,
                                                           ReconciliationItem.expected_minor)
                                                    .where(ReconciliationItem.statement_id == statement.id)):
        expected += amount or 0
        kinds[kind] += 1
        open_items += resolution is Resolution.open
    received = int(session.execute(select(func.coalesce(func.sum(InsurerReceipt.amount_minor), 0))
                                   .where(InsurerReceipt.statement_id == statement.id)).scalar_one())
    reported = statement.reported_total_minor
    return StatementSummary(statement.currency, reported, expected, received, reported - received,
                            payment_status(reported, received), dict(kinds), open_items)


# --- receivables ageing --------------------------------------------------------------------------------------

BUCKETS = ((0, 30), (31, 60), (61, 90), (91, None))


@dataclass(frozen=True)
class AgeingRow:
    insurer_code: str
    insurer_name: str
    currency: str
    #: the receivable's balance at the end of the day (negative: the insurer paid more than it owes)
    balance_minor: int
    #: what is still open of the debits aged 0–30, 31–60, 61–90 and over 90 days
    buckets: tuple[int, int, int, int]
    #: credits no debit is left to absorb (zero or negative)
    unapplied_minor: int


def _bucket(age_days: int) -> int:
    return next(i for i, (low, high) in enumerate(BUCKETS) if age_days >= low and (high is None or age_days <= high))


def _aged(session: Session, account: Account, today: date) -> tuple[int, list[int], int]:
    """Credits applied first-in-first-out to the oldest debits leave the newest debits open: walk the debits
    from the newest back until they make up the balance."""
    balance = balance_as_of(session, account, today)
    buckets = [0, 0, 0, 0]
    if balance <= 0:
        return balance, buckets, balance
    left = balance
    result = session.execute(select(Posting.effective_date, Posting.amount_minor).where(
        Posting.account_id == account.id, Posting.amount_minor > 0, Posting.effective_date <= today)
        .order_by(Posting.effective_date.desc(), Posting.id.desc()).execution_options(yield_per=500))
    try:
        for posted_on, amount in result:
            take = min(left, amount)
            buckets[_bucket(max(0, (today - posted_on).days))] += take
            left -= take
            if left == 0:
                break
    finally:
        result.close()
    return balance, buckets, 0


def receivables_ageing(session: Session, today: date) -> list[AgeingRow]:
    """Per insurer and currency: the open commission receivable by age, never summed across currencies."""
    names = dict(session.execute(select(Insurer.code, Insurer.name)).all())
    accounts = session.execute(select(Account).where(Account.code.startswith(RECEIVABLE_PREFIX, autoescape=True))).scalars().all()
    rows = []
    for account in accounts:
        code = account.code.removeprefix(RECEIVABLE_PREFIX)
        balance, buckets, unapplied = _aged(session, account, today)
        rows.append(AgeingRow(code, names.get(code, code), account.currency, balance, tuple(buckets), unapplied))
    return sorted(rows, key=lambda r: (r.insurer_name.lower(), r.currency))


def ageing_totals(rows: list[AgeingRow]) -> dict[str, AgeingRow]:
    """One total row per currency."""
    totals: dict[str, list] = {}
    for r in rows:
        t = totals.setdefault(r.currency, [0, [0, 0, 0, 0], 0])
        t[0] += r.balance_minor
        t[1] = [a + b for a, b in zip(t[1], r.buckets, strict=True)]
        t[2] += r.unapplied_minor
    return {c: AgeingRow("", "", c, b, tuple(k), u) for c, (b, k, u) in sorted(totals.items())}

"""The ledger's records.

The double-entry books: accounts, journal entries, postings, accounting periods, and what the ledger did with
each business event. Amounts are signed integers in minor units: a debit is positive, a credit negative, so an
entry balances when its postings sum to zero in each currency. Entries and postings are append-only (ORM guard
here, triggers in the migration); an account's balance is kept on the account row, and each posting records the
account's balance after it, so a balance as of any date is one index seek.

Posting dates never go backwards on an account (the posting rules refuse it): the running balance stored on the
postings is then also the balance in date order. The business date of the event (a contract's start date)
is recorded on the entry; the posting date is when the books record it.

Around them: the insurers' commission rates, the postings of business events that failed, payout runs, and
insurer commission statements with their reconciliation and the receipts against them.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agreements.models import PaymentTermsBasis
from core.db import Base, append_only, created_at, enum_column, intpk, public_id
from core.i18n import N_
from core.products import ProductLine


class AccountType(enum.Enum):
    asset = "asset"
    liability = "liability"
    income = "income"
    expense = "expense"
    equity = "equity"

    @property
    def debit_normal(self) -> bool:
        return self in (AccountType.asset, AccountType.expense)

    @property
    def label(self) -> str:
        return ACCOUNT_TYPE_LABELS[self]


ACCOUNT_TYPE_LABELS = {AccountType.asset: N_("Asset"), AccountType.liability: N_("Liability"),
                       AccountType.income: N_("Income"), AccountType.expense: N_("Expense"),
                       AccountType.equity: N_("Equity")}


class Account(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("code", "currency"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    #: e.g. "partner_payable:held:<firm public id>", "commission_receivable:<insurer code>", "bank"
    code: Mapped[str] = mapped_column(String(120))
    type: Mapped[AccountType] = mapped_column(enum_column(AccountType))
    currency: Mapped[str] = mapped_column(String(3))
    #: who the account is about: "partner:<public id>", "insurer:<code>", or null for the broker's own
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    closed_at: Mapped[datetime | None]
    #: signed (debits positive), maintained with each posting in the same transaction
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    last_posted_on: Mapped[date | None] = mapped_column(Date)

    @property
    def normal_balance(self) -> int:
        """The balance on the account's normal side (a liability owed shows positive)."""
        return self.balance_minor if self.type.debit_normal else -self.balance_minor


def entry_keys(details: dict | None) -> tuple[str | None, int | None, str | None]:
    """(contract, term, partner firm) as an entry's details name them: the values of its typed key columns."""
    d = details or {}
    return d.get("contract"), d.get("term"), d.get("partner")


@append_only
class JournalEntry(Base):
    __tablename__ = "ledger_entries"
    # few indexes: every entry written updates each of them (issue 17, migration f3a9c1d7e5b2)
    __table_args__ = (Index("ix_ledger_entries_contract_term", "contract_ref", "term"),
                      Index("ix_ledger_entries_partner_kind", "partner_ref", "event_kind"),
                      Index("ix_ledger_entries_kind_date", "event_kind", "effective_date"))

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    #: a business event posts once, however often it is retried
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    #: what was asked for under that key: the same key with another request is refused
    request_hash: Mapped[str] = mapped_column(String(64))
    #: the posting date (the books' date)
    effective_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(500))
    #: the business event that caused it, e.g. ("contract.placed", <event public id>)
    event_kind: Mapped[str | None] = mapped_column(String(64))
    event_ref: Mapped[str | None] = mapped_column(String(64))
    #: the date of the business event (a contract's start date); can differ from the posting date
    event_date: Mapped[date | None] = mapped_column(Date)
    #: facts resolved at posting time (rates, the agreement in force…): never re-priced later
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    #: the keys of `details` readers select by (`entry_keys`): the contract's public id, the term's number, the
    #: partner firm's public id; null on entries about none (payouts, receipts)
    contract_ref: Mapped[str | None] = mapped_column(String(32))
    term: Mapped[int | None]
    partner_ref: Mapped[str | None] = mapped_column(String(32))
    #: the entry this one reverses (a correction); an entry is reversed at most once
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)

    postings: Mapped[list[Posting]] = relationship(order_by="Posting.id", back_populates="entry")


@append_only
class Posting(Base):
    __tablename__ = "ledger_postings"
    __table_args__ = (Index("ix_ledger_postings_account_date", "account_id", "effective_date", "id"),
                      CheckConstraint("amount_minor <> 0", name="amount_not_zero"))

    id: Mapped[intpk]
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    #: signed: debit positive, credit negative
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    effective_date: Mapped[date] = mapped_column(Date)
    #: the account's signed balance right after this posting
    balance_after: Mapped[int] = mapped_column(BigInteger)

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")
    account: Mapped[Account] = relationship()


class Period(Base):
    """A closed month: nothing posts into it any more."""

    __tablename__ = "ledger_periods"

    id: Mapped[intpk]
    #: the first day of the month
    month: Mapped[date] = mapped_column(Date, unique=True)
    closed_at: Mapped[created_at]
    closed_by: Mapped[str] = mapped_column(String(120))


@append_only
class EventOutcome(Base):
    """What the ledger did with a business event: the entry it posted, or why there was nothing to post (a
    commission rounding to nothing, a cancellation outside the clawback window). An event with an outcome is
    no longer pending."""

    __tablename__ = "ledger_event_outcomes"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    #: the business event's public id
    event_ref: Mapped[str] = mapped_column(String(64), unique=True)
    event_kind: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    #: "posted", or the reason nothing was
    outcome: Mapped[str] = mapped_column(String(64))


# --- commission rates and postings of business events --------------------------------------------------------

@append_only
class InsurerRate(Base):
    """The broker's commission from an insurer on a product line, from a date (a change is a new row)."""

    __tablename__ = "ledger_insurer_rates"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    insurer_id: Mapped[int] = mapped_column(ForeignKey("insurers.id"), index=True)
    product_line: Mapped[ProductLine] = mapped_column(enum_column(ProductLine))
    #: a fraction of the premium: 0.1500 = 15 %
    rate: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    effective_from: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(120))


@append_only
class PostingFailure(Base):
    """One attempt to post a business event that was refused, and why. An event with failures and no outcome
    is what the finance overview lists; once it posts, its outcome ends the list's interest in it."""

    __tablename__ = "ledger_posting_failures"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    #: the business event's public id
    event_ref: Mapped[str] = mapped_column(String(64), index=True)
    event_kind: Mapped[str] = mapped_column(String(64))
    #: the domain error's machine-readable code, e.g. "missing_rate"
    code: Mapped[str] = mapped_column(String(64))
    #: the reason as an untranslated msgid (core.i18n.N_) and its parameters
    reason: Mapped[str] = mapped_column(String(500))
    params: Mapped[dict] = mapped_column(JSON, default=dict)


# --- payout runs ---------------------------------------------------------------------------------------------

class RunStatus(enum.Enum):
    prepared = "prepared"
    approved = "approved"
    settled = "settled"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return RUN_STATUS_LABELS[self]


RUN_STATUS_LABELS = {RunStatus.prepared: N_("Prepared, awaiting approval"),
                     RunStatus.approved: N_("Approved, sent to the bank"),
                     RunStatus.settled: N_("Settled"), RunStatus.cancelled: N_("Cancelled, nothing paid")}


class ExclusionReason(enum.Enum):
    no_bank_details = "no_bank_details"
    invalid_iban = "invalid_iban"
    invalid_bic = "invalid_bic"
    no_active_agreement = "no_active_agreement"
    below_minimum = "below_minimum"
    negative_balance = "negative_balance"
    #: available, but the agreement's payment terms do not make it payable by the run's execution date
    not_yet_due = "not_yet_due"

    @property
    def label(self) -> str:
        return EXCLUSION_LABELS[self]


EXCLUSION_LABELS = {
    ExclusionReason.no_bank_details: N_("No bank details on file"),
    ExclusionReason.invalid_iban: N_("The IBAN on file is not valid"),
    ExclusionReason.invalid_bic: N_("The BIC on file is not valid"),
    ExclusionReason.no_active_agreement: N_("No agreement in force"),
    ExclusionReason.below_minimum: N_("Below the partner's minimum payout (carried forward)"),
    ExclusionReason.negative_balance: N_("Negative balance after a clawback (netted on a later payout)"),
    ExclusionReason.not_yet_due: N_("Not yet due under the agreement's payment terms"),
}


class PayoutRun(Base):
    __tablename__ = "ledger_payout_runs"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    #: the bank's message id and the run's human reference, e.g. PO-202611-EUR-3
    reference: Mapped[str] = mapped_column(String(35), unique=True)
    #: the first day of the month the run pays for
    period: Mapped[date] = mapped_column(Date, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus), default=RunStatus.prepared)
    #: the currency while the run is prepared, else null: at most one prepared run per currency (unique)
    open_currency: Mapped[str | None] = mapped_column(String(3), unique=True)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    execution_date: Mapped[date] = mapped_column(Date)
    prepared_by: Mapped[str] = mapped_column(String(64))
    prepared_by_name: Mapped[str] = mapped_column(String(255))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_by_name: Mapped[str | None] = mapped_column(String(255))
    approved_at: Mapped[datetime | None]
    settled_by: Mapped[str | None] = mapped_column(String(64))
    settled_at: Mapped[datetime | None]
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    #: the pain.001 file as sent to the bank (written once, at approval)
    pain001: Mapped[str | None] = mapped_column(Text)
    pain001_sha256: Mapped[str | None] = mapped_column(String(64))
    approval_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    settlement_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

    lines: Mapped[list[PayoutLine]] = relationship(back_populates="run", order_by="PayoutLine.id",
                                                     cascade="all, delete-orphan")
    exclusions: Mapped[list[PayoutExclusion]] = relationship(back_populates="run", order_by="PayoutExclusion.id",
                                                               cascade="all, delete-orphan")


class PayoutLine(Base):
    __tablename__ = "ledger_payout_lines"

    id: Mapped[intpk]
    run_id: Mapped[int] = mapped_column(ForeignKey("ledger_payout_runs.id"), index=True)
    #: the partner firm's public id
    partner: Mapped[str] = mapped_column(String(32), index=True)
    payee_name: Mapped[str] = mapped_column(String(255))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str] = mapped_column(String(11))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    end_to_end_id: Mapped[str] = mapped_column(String(35))

    run: Mapped[PayoutRun] = relationship(back_populates="lines")


class PayoutExclusion(Base):
    __tablename__ = "ledger_payout_exclusions"

    id: Mapped[intpk]
    run_id: Mapped[int] = mapped_column(ForeignKey("ledger_payout_runs.id"), index=True)
    partner: Mapped[str] = mapped_column(String(32))
    payee_name: Mapped[str] = mapped_column(String(255))
    reason: Mapped[ExclusionReason] = mapped_column(enum_column(ExclusionReason))
    #: the available balance left where it is (signed on the partner's side: owed to them is positive)
    balance_minor: Mapped[int] = mapped_column(BigInteger)
    #: not yet due: the share's contract and term, its payment terms, and the day it falls due (null: counted
    #: from the insurer's payment, not received yet)
    policy_number: Mapped[str | None] = mapped_column(String(64))
    term: Mapped[int | None]
    payment_terms_days: Mapped[int | None]
    payment_terms_basis: Mapped[PaymentTermsBasis | None] = mapped_column(enum_column(PaymentTermsBasis))
    due_on: Mapped[date | None] = mapped_column(Date)

    run: Mapped[PayoutRun] = relationship(back_populates="exclusions")


# --- insurer statements, their reconciliation, receipts ------------------------------------------------------

class ItemKind(enum.Enum):
    matched = "matched"
    wrong_amount = "wrong_amount"
    wrong_term = "wrong_term"
    unknown_policy = "unknown_policy"
    duplicate_line = "duplicate_line"
    missing_from_statement = "missing_from_statement"

    @property
    def label(self) -> str:
        return ITEM_KIND_LABELS[self]

    @property
    def is_discrepancy(self) -> bool:
        return self is not ItemKind.matched


ITEM_KIND_LABELS = {
    ItemKind.matched: N_("Matched"),
    ItemKind.wrong_amount: N_("Wrong amount"),
    ItemKind.wrong_term: N_("Wrong term"),
    ItemKind.unknown_policy: N_("Policy unknown to us"),
    ItemKind.duplicate_line: N_("Duplicate line"),
    ItemKind.missing_from_statement: N_("Policy missing from the statement"),
}


class Resolution(enum.Enum):
    open = "open"
    accepted = "accepted"
    adjusted = "adjusted"
    disputed = "disputed"

    @property
    def label(self) -> str:
        return RESOLUTION_LABELS[self]


RESOLUTION_LABELS = {
    Resolution.open: N_("Open"),
    Resolution.accepted: N_("Accepted"),
    Resolution.adjusted: N_("Adjusted (correction posted)"),
    Resolution.disputed: N_("Disputed with the insurer"),
}


class InsurerStatement(Base):
    __tablename__ = "ledger_insurer_statements"
    __table_args__ = (UniqueConstraint("insurer_id", "sha256"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    insurer_id: Mapped[int] = mapped_column(ForeignKey("insurers.id"), index=True)
    #: the first day of the month the statement covers
    period: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    filename: Mapped[str] = mapped_column(String(255))
    #: the file's digest: the same file is not imported twice
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(255))
    #: the sum of the statement's commission column, as the insurer reported it
    reported_total_minor: Mapped[int] = mapped_column(BigInteger, default=0)

    items: Mapped[list[ReconciliationItem]] = relationship(back_populates="statement",
                                                             order_by="ReconciliationItem.id")


class ReconciliationItem(Base):
    __tablename__ = "ledger_reconciliation_items"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    statement_id: Mapped[int] = mapped_column(ForeignKey("ledger_insurer_statements.id"), index=True)
    kind: Mapped[ItemKind] = mapped_column(enum_column(ItemKind))
    #: the line of the file (1 = the first data row); null for a contract missing from the statement
    row_number: Mapped[int | None] = mapped_column(Integer)
    policy_number: Mapped[str] = mapped_column(String(64))
    #: the period as written on the line (e.g. "2026-11")
    line_period: Mapped[str | None] = mapped_column(String(32))
    premium_minor: Mapped[int | None] = mapped_column(BigInteger)
    reported_minor: Mapped[int | None] = mapped_column(BigInteger)
    expected_minor: Mapped[int | None] = mapped_column(BigInteger)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    term: Mapped[int | None] = mapped_column(Integer)
    resolution: Mapped[Resolution] = mapped_column(enum_column(Resolution), default=Resolution.open)
    resolved_by: Mapped[str | None] = mapped_column(String(255))
    resolved_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    adjustment_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

    statement: Mapped[InsurerStatement] = relationship(back_populates="items")


class InsurerReceipt(Base):
    """Money received from an insurer against its commission receivable."""

    __tablename__ = "ledger_insurer_receipts"
    __table_args__ = (UniqueConstraint("insurer_id", "bank_reference"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    insurer_id: Mapped[int] = mapped_column(ForeignKey("insurers.id"), index=True)
    #: the statement the payment settles, when known
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_insurer_statements.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[date] = mapped_column(Date)
    bank_reference: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(255))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))

"""The double-entry ledger's records: accounts, journal entries, postings, accounting periods.

Amounts are signed integers in minor units: a debit is positive, a credit negative, so an entry balances when
its postings sum to zero in each currency. Entries and postings are append-only (ORM guard here, triggers in
the migration); an account's balance is kept on the account row, and each posting records the account's
balance after it, so a balance as of any date is one index seek.

Posting dates never go backwards on an account (the engine refuses it): the running balance stored on the
postings is then also the balance in date order. The business date of the event (a contract's start date)
is recorded on the entry; the posting date is when the books record it.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (JSON, BigInteger, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, append_only, created_at, enum_column, intpk, public_id


class AccountType(enum.Enum):
    asset = "asset"
    liability = "liability"
    income = "income"
    expense = "expense"
    equity = "equity"

    @property
    def debit_normal(self) -> bool:
        return self in (AccountType.asset, AccountType.expense)


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
    __table_args__ = (Index("ix_ledger_entries_contract_term", "contract_ref", "term"),
                      Index("ix_ledger_entries_partner_kind", "partner_ref", "event_kind"))

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    #: a business event posts once, however often it is retried
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    #: what was asked for under that key: the same key with another request is refused
    request_hash: Mapped[str] = mapped_column(String(64))
    #: the posting date (the books' date)
    effective_date: Mapped[date] = mapped_column(Date, index=True)
    description: Mapped[str] = mapped_column(String(500))
    #: the business event that caused it, e.g. ("contract.placed", <event public id>)
    event_kind: Mapped[str | None] = mapped_column(String(64), index=True)
    event_ref: Mapped[str | None] = mapped_column(String(64), index=True)
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

    postings: Mapped[list["Posting"]] = relationship(order_by="Posting.id", back_populates="entry")


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

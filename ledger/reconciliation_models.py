"""Records of insurer commission statements, their reconciliation against our contracts, and bank receipts.

An imported statement is kept with one reconciliation item per statement line (matched or a discrepancy) and
one per contract we expected on it but did not find. Finance resolves each discrepancy: accept it, adjust
(a posted correction of the receivable), or dispute it with the insurer. Receipts record the money that came
in against an insurer's receivable; partial, over and under payments stay visible against the statement.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, created_at, enum_column, intpk, public_id
from core.i18n import N_


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

    items: Mapped[list["ReconciliationItem"]] = relationship(back_populates="statement",
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

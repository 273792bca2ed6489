"""Agreements between the broker and a partner firm, their commission schedules and signatures."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Integer,
                        LargeBinary, Numeric, String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts import Organisation, User
from core.db import Base, enum_column, BigIntPK, created_at, intpk, public_id
from core.i18n import N_
from core.products import ProductLine



class AgreementKind(enum.Enum):
    collaboration = "collaboration"
    introduction = "introduction"

    @property
    def label(self) -> str:
        return {AgreementKind.collaboration: N_("Broker-to-broker collaboration agreement"),
                AgreementKind.introduction: N_("Introduction agreement")}[self]


class AgreementStatus(enum.Enum):
    draft = "draft"
    sent = "sent"
    partner_signed = "partner_signed"
    #: both parties signed; the sealed copy is being produced by the worker
    countersigned = "countersigned"
    active = "active"
    superseded = "superseded"
    terminated = "terminated"

    @property
    def label(self) -> str:
        return AGREEMENT_STATUS_LABELS[self]


AGREEMENT_STATUS_LABELS = {
    AgreementStatus.draft: N_("Draft"),
    AgreementStatus.sent: N_("Sent for signature"),
    AgreementStatus.partner_signed: N_("Signed by the partner"),
    AgreementStatus.countersigned: N_("Countersigned, being sealed"),
    AgreementStatus.active: N_("Active"),
    AgreementStatus.superseded: N_("Superseded"),
    AgreementStatus.terminated: N_("Terminated"),
}

#: statuses in which the agreement governs (or governed) commissions from its effective date
IN_FORCE_STATUSES = (AgreementStatus.active, AgreementStatus.superseded, AgreementStatus.terminated)


class PaymentTermsBasis(enum.Enum):
    """What a commission's payment terms count their days from."""

    #: the end of the month of the partner's statement on which the commission appears
    statement_month_end = "statement_month_end"
    #: the day the broker receives the insurer's commission on the contract's premium
    premium_received = "premium_received"

    @property
    def label(self) -> str:
        return PAYMENT_TERMS_BASIS_LABELS[self]


PAYMENT_TERMS_BASIS_LABELS = {
    PaymentTermsBasis.statement_month_end: N_("from the end of the statement's month"),
    PaymentTermsBasis.premium_received: N_("from the insurer's payment of the commission on the premium"),
}


class SignerParty(enum.Enum):
    partner = "partner"
    broker = "broker"


class Agreement(Base):
    __tablename__ = "agreements"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    #: human-readable reference printed on the document, e.g. AGR-2026-3F9A1C
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[AgreementKind] = mapped_column(enum_column(AgreementKind))
    template_version: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[AgreementStatus] = mapped_column(enum_column(AgreementStatus), index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    #: set when superseded or terminated: the last day it governs
    effective_to: Mapped[date | None] = mapped_column(Date)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("agreements.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the party details, scope and arrangements as rendered (a snapshot: later edits to the firm don't
    #: change a document already sent)
    terms: Mapped[dict] = mapped_column(JSON, default=dict)
    #: the document shown for signature, and its SHA-256; fixed when sent
    document_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    #: the final, sealed copy (document + audit page + PAdES seal)
    sealed_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    sealed_with_timestamp: Mapped[bool] = mapped_column(Boolean, default=False)
    seal_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(Text)
    #: an introduction agreement with recurring commission needs compliance approval with a reason
    recurring_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recurring_approval_reason: Mapped[str | None] = mapped_column(Text)

    organisation = relationship(Organisation)
    rules: Mapped[list[CommissionRule]] = relationship(back_populates="agreement", cascade="all, delete-orphan",
                                                          order_by="CommissionRule.id")
    signatures: Mapped[list[Signature]] = relationship(back_populates="agreement", order_by="Signature.id")
    supersedes: Mapped[Agreement | None] = relationship(remote_side="Agreement.id")

    def signature_by(self, party: SignerParty) -> Signature | None:
        return next((s for s in self.signatures if s.party is party), None)

    @property
    def has_recurring_commission(self) -> bool:
        return any(r.is_recurring for r in self.rules)


class CommissionRule(Base):
    """One line of an agreement's commission schedule. Rates are fractions (0.2500 = 25%) of the broker's
    commission; an introducer's default is a one-off fee per placed contract instead."""

    __tablename__ = "commission_rules"
    __table_args__ = (
        UniqueConstraint("agreement_id", "product_line"),
        CheckConstraint("first_year_rate >= 0 AND first_year_rate <= 1", name="first_year_rate_range"),
        CheckConstraint("renewal_rate >= 0 AND renewal_rate <= 1", name="renewal_rate_range"),
        CheckConstraint("one_off_fee_minor >= 0", name="one_off_fee_positive"),
        CheckConstraint("clawback_days >= 0 AND payment_terms_days >= 0", name="days_positive"),
    )

    id: Mapped[intpk]
    agreement_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("agreements.id", ondelete="CASCADE"),
                                              index=True)
    product_line: Mapped[ProductLine] = mapped_column(enum_column(ProductLine))
    first_year_rate: Mapped[Decimal] = mapped_column(Numeric(7, 4), default=Decimal("0"))
    renewal_rate: Mapped[Decimal] = mapped_column(Numeric(7, 4), default=Decimal("0"))
    #: a fixed fee per placed contract, in minor units of `currency`
    one_off_fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    clawback_days: Mapped[int] = mapped_column(Integer, default=365)
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    #: what the payment terms' days count from
    payment_terms_basis: Mapped[PaymentTermsBasis] = mapped_column(
        enum_column(PaymentTermsBasis), default=PaymentTermsBasis.statement_month_end)

    agreement: Mapped[Agreement] = relationship(back_populates="rules")

    @property
    def is_recurring(self) -> bool:
        return self.renewal_rate > 0


class Signature(Base):
    """Append-only: who signed which exact document, when, from where."""

    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("agreement_id", "party"), UniqueConstraint("agreement_id", "user_id"))

    id: Mapped[intpk]
    agreement_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("agreements.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    party: Mapped[SignerParty] = mapped_column(enum_column(SignerParty, 16))
    typed_name: Mapped[str] = mapped_column(String(255))
    signed_at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(512))
    document_sha256: Mapped[str] = mapped_column(String(64))

    agreement: Mapped[Agreement] = relationship(back_populates="signatures")
    user = relationship(User)

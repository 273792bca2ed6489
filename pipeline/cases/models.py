"""Cases submitted by partner brokers. The specialist's case summary and underwriting sensitivities may touch
on health, so they are stored encrypted and shown only to the submitting firm and the broker's staff."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from compliance.cc_policy import CcReason
from core import subject_keys
from core.accounts import CommunicationModel
from core.contracts import Contract
from core.db import Base, append_only, created_at, enum_column, intpk, public_id, utcnow
from core.i18n import N_
from core.products import ProductLine

from ..leads.models import Consent


class Adviser(enum.Enum):
    """Who advises the client on the international health insurance (the adviser of record, named in the
    collaboration agreement): a specialist broker advises its clients; for a generalist broker's or an
    introducer's client, the broker does."""

    broker = "broker"
    partner = "partner"

    @property
    def label(self) -> str:
        return {Adviser.broker: N_("The broker advises the client"),
                Adviser.partner: N_("The partner firm advises the client, within its licence")}[self]


class BudgetBand(enum.Enum):
    under_3000 = "under_3000"
    from_3000_to_6000 = "from_3000_to_6000"
    from_6000_to_12000 = "from_6000_to_12000"
    over_12000 = "over_12000"

    @property
    def label(self) -> str:
        return {BudgetBand.under_3000: N_("Under 3,000 a year"),
                BudgetBand.from_3000_to_6000: N_("3,000 to 6,000 a year"),
                BudgetBand.from_6000_to_12000: N_("6,000 to 12,000 a year"),
                BudgetBand.over_12000: N_("Over 12,000 a year")}[self]


class CaseStatus(enum.Enum):
    received = "received"
    needs_analysis = "needs_analysis"
    quote_requested = "quote_requested"
    quote_issued = "quote_issued"
    underwriting_questions = "underwriting_questions"
    offer = "offer"
    client_decision = "client_decision"
    contract_issued = "contract_issued"
    active = "active"
    not_pursued = "not_pursued"
    withdrawn = "withdrawn"
    renewal_due = "renewal_due"
    renewed = "renewed"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return CASE_STATUS_LABELS[self]


CASE_STATUS_LABELS = {
    CaseStatus.received: N_("Received"), CaseStatus.needs_analysis: N_("Needs analysis"),
    CaseStatus.quote_requested: N_("Quote requested"), CaseStatus.quote_issued: N_("Quote issued"),
    CaseStatus.underwriting_questions: N_("Underwriting questions"), CaseStatus.offer: N_("Offer"),
    CaseStatus.client_decision: N_("Client decision"), CaseStatus.contract_issued: N_("Contract issued"),
    CaseStatus.active: N_("Active"), CaseStatus.not_pursued: N_("Not pursued"), CaseStatus.withdrawn: N_("Withdrawn"),
    CaseStatus.renewal_due: N_("Renewal due"), CaseStatus.renewed: N_("Renewed"), CaseStatus.cancelled: N_("Cancelled"),
}


def case_key(public_id: str) -> str:
    """The reference of the key sealing a case's client data in append-only records (core.subject_keys)."""
    return f"case:{public_id}"


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("organisation_id", "idempotency_key"),
                      Index("ix_cases_queue", "status", "stage_entered_at"),
                      Index("ix_cases_org_status", "organisation_id", "status", "stage_entered_at"),
                      # the oldest waiting first, across stages (staff queues)
                      Index("ix_cases_stage_age", "stage_entered_at", "id"),
                      # an account manager's cases: counts per stage, and their own queue oldest first
                      Index("ix_cases_assignee_status", "assigned_to_id", "status", "stage_entered_at"),
                      Index("ix_cases_assignee_age", "assigned_to_id", "stage_entered_at", "id"))

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), index=True)
    client_first_name: Mapped[str] = mapped_column(String(100))
    client_last_name: Mapped[str] = mapped_column(String(100))
    client_email: Mapped[str | None] = mapped_column(String(254))
    client_phone: Mapped[str | None] = mapped_column(String(32))
    adults: Mapped[int] = mapped_column(Integer)
    children: Mapped[int] = mapped_column(Integer)
    #: the ages of the people to insure, adults first
    ages: Mapped[list] = mapped_column(JSON)
    nationality: Mapped[str] = mapped_column(String(2))
    country_of_residence: Mapped[str] = mapped_column(String(2))
    travel_countries: Mapped[list] = mapped_column(JSON, default=list)
    start_date: Mapped[date] = mapped_column(Date)
    product_line: Mapped[ProductLine] = mapped_column(enum_column(ProductLine))
    budget_band: Mapped[BudgetBand] = mapped_column(enum_column(BudgetBand))
    current_cover: Mapped[str | None] = mapped_column(String(255))
    renewal_date: Mapped[date | None] = mapped_column(Date)
    communication_model: Mapped[CommunicationModel] = mapped_column(enum_column(CommunicationModel))
    #: the adviser of record, fixed when the case is opened
    adviser: Mapped[Adviser] = mapped_column(enum_column(Adviser, 16), default=Adviser.broker,
                                             server_default="broker")
    #: Fernet tokens (specialist brokers only); see pipeline.cases.crypto
    case_summary_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    underwriting_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus), default=CaseStatus.received, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the introducer's lead this case was converted from
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), unique=True)
    #: when the case entered its current stage (ages and queues read this, not the history)
    stage_entered_at: Mapped[datetime] = mapped_column(default=utcnow)

    consent = relationship(Consent)
    organisation = relationship("Organisation")
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    assigned_to = relationship("User", foreign_keys=[assigned_to_id])
    lead = relationship("Lead")
    contract = relationship(Contract, uselist=False, viewonly=True)
    milestones: Mapped[list[Milestone]] = relationship(order_by="Milestone.id", back_populates="case",
                                                         viewonly=True)

    @property
    def client_initials(self) -> str | None:
        """The only personal data a partner's commission statement shows (carried to the ledger by the
        contract events)."""
        parts = (self.client_first_name, self.client_last_name)
        return "".join(f"{part.strip()[:1].upper()}." for part in parts if part and part.strip()) or None


@append_only
class Milestone(Base):
    """One move of a case through its stages: who, when, a note the partner may read, a note it may not."""

    __tablename__ = "milestones"
    __table_args__ = (Index("ix_milestones_case_id_id", "case_id", "id"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    stage: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus))
    previous_stage: Mapped[CaseStatus | None] = mapped_column(enum_column(CaseStatus))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: the notes, sealed under the case's key (core.subject_keys, "case:<public id>"): they may name the client,
    #: and this table is append-only, so erasing the client destroys the key rather than the rows
    partner_note_sealed: Mapped[str | None] = mapped_column("partner_note", Text)
    internal_note_sealed: Mapped[str | None] = mapped_column("internal_note", Text)

    case: Mapped[Case] = relationship(back_populates="milestones")
    recorded_by = relationship("User")

    @property
    def partner_note(self) -> str | None:
        return subject_keys.open_sealed(object_session(self), self.partner_note_sealed)

    @property
    def internal_note(self) -> str | None:
        return subject_keys.open_sealed(object_session(self), self.internal_note_sealed)


class CcOutcome(enum.Enum):
    sent = "sent"
    withheld = "withheld"

    @property
    def label(self) -> str:
        return {CcOutcome.sent: N_("Sent"), CcOutcome.withheld: N_("Withheld")}[self]


@append_only
class CcLog(Base):
    """Every copy of a key milestone sent to a partner, and every copy withheld, with the reason."""

    __tablename__ = "cc_logs"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    outcome: Mapped[CcOutcome] = mapped_column(enum_column(CcOutcome))
    reason: Mapped[CcReason] = mapped_column(enum_column(CcReason))
    #: "full" (brokers: what they are entitled to) or "milestone_only" (introducers); null when withheld
    detail: Mapped[str | None] = mapped_column(String(16))
    recipients: Mapped[str | None] = mapped_column(String(1000))
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))

    milestone: Mapped[Milestone] = relationship()
    case: Mapped[Case] = relationship()
    organisation = relationship("Organisation")

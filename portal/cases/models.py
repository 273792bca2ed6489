"""Cases submitted by partner brokers. The specialist's case summary and underwriting sensitivities may touch
on health, so they are stored encrypted and shown only to the submitting firm and the broker's staff."""
from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, created_at, enum_column, intpk, public_id
from core.i18n import N_
from core.products import ProductLine

from ..accounts.models import CommunicationModel
from ..leads.models import Consent


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

    @property
    def label(self) -> str:
        return CASE_STATUS_LABELS[self]


CASE_STATUS_LABELS = {
    CaseStatus.received: N_("Received"), CaseStatus.needs_analysis: N_("Needs analysis"),
    CaseStatus.quote_requested: N_("Quote requested"), CaseStatus.quote_issued: N_("Quote issued"),
    CaseStatus.underwriting_questions: N_("Underwriting questions"), CaseStatus.offer: N_("Offer"),
    CaseStatus.client_decision: N_("Client decision"), CaseStatus.contract_issued: N_("Contract issued"),
    CaseStatus.active: N_("Active"), CaseStatus.not_pursued: N_("Not pursued"), CaseStatus.withdrawn: N_("Withdrawn"),
}


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("organisation_id", "idempotency_key"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"))
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
    #: Fernet tokens (specialist brokers only); see portal.cases.crypto
    case_summary_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    underwriting_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus), default=CaseStatus.received, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    consent = relationship(Consent)
    organisation = relationship("Organisation")

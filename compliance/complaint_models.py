"""The complaints register (ACPR recommendation 2022-R-01 style): who complained, about what, the deadlines fixed at
receipt, the owner, the answer and the mediation information given, and the reminders already sent.

What a complaint concerns is kept as the firm and the contract (core tables) and, for what lives higher up (a case,
a lead, a subscription), a typed reference: a kind, a public id and the label the caller gave."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, and_, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from core.accounts import Organisation, User
from core.contracts import Contract
from core.db import Base, created_at, enum_column, intpk, public_id
from core.i18n import N_
from core.products import ProductLine


class ComplaintState(enum.Enum):
    received = "received"
    acknowledged = "acknowledged"
    answered = "answered"
    closed = "closed"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {ComplaintState.received: N_("Received"), ComplaintState.acknowledged: N_("Acknowledged"),
                ComplaintState.answered: N_("Answered"), ComplaintState.closed: N_("Closed")}


class ComplainantKind(enum.Enum):
    client = "client"
    partner = "partner"
    volunteer = "volunteer"

    @property
    def label(self) -> str:
        return COMPLAINANT_LABELS[self]


COMPLAINANT_LABELS = {ComplainantKind.client: N_("A client"), ComplainantKind.partner: N_("A partner firm"),
                      ComplainantKind.volunteer: N_("A volunteer")}


class ComplaintChannel(enum.Enum):
    web_form = "web_form"
    email = "email"
    phone = "phone"
    letter = "letter"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


CHANNEL_LABELS = {ComplaintChannel.web_form: N_("Web form"), ComplaintChannel.email: N_("E-mail"),
                  ComplaintChannel.phone: N_("Telephone"), ComplaintChannel.letter: N_("Letter")}


class ComplaintCategory(enum.Enum):
    advice = "advice"
    information = "information"
    service = "service"
    claims = "claims"
    premium = "premium"
    cancellation = "cancellation"
    data_protection = "data_protection"
    other = "other"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    ComplaintCategory.advice: N_("Advice or sale"),
    ComplaintCategory.information: N_("Information and disclosure"),
    ComplaintCategory.service: N_("Service quality or delay"),
    ComplaintCategory.claims: N_("Claims handling"),
    ComplaintCategory.premium: N_("Premiums and payments"),
    ComplaintCategory.cancellation: N_("Cancellation or renewal"),
    ComplaintCategory.data_protection: N_("Personal data"),
    ComplaintCategory.other: N_("Other"),
}


class ProductGroup(enum.Enum):
    """The report's product split: the partner channel's lines, the volunteers' top-up covers, or none given."""
    partner_channel = "partner_channel"
    volunteer_covers = "volunteer_covers"
    unspecified = "unspecified"

    @property
    def label(self) -> str:
        return GROUP_LABELS[self]


GROUP_LABELS = {ProductGroup.partner_channel: N_("Partner channel"),
                ProductGroup.volunteer_covers: N_("Volunteer covers"),
                ProductGroup.unspecified: N_("No product given")}


class ReminderKind(enum.Enum):
    acknowledge_soon = "acknowledge_soon"
    acknowledge_overdue = "acknowledge_overdue"
    answer_soon = "answer_soon"
    answer_overdue = "answer_overdue"


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_state_received_on", "state", "received_on"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    #: what the complainant and the staff quote, e.g. RCL-2026-12-4F7A2C
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[ComplaintChannel] = mapped_column(enum_column(ComplaintChannel, 16))
    complainant_kind: Mapped[ComplainantKind] = mapped_column(enum_column(ComplainantKind, 16))
    complainant_name: Mapped[str] = mapped_column(String(200))
    complainant_email: Mapped[str | None] = mapped_column(String(254))
    #: the language the complainant wrote in (the answer's language)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    category: Mapped[ComplaintCategory] = mapped_column(enum_column(ComplaintCategory, 24), index=True)
    #: the product line concerned, when known
    product_line: Mapped[ProductLine | None] = mapped_column(enum_column(ProductLine))
    description: Mapped[str] = mapped_column(Text)
    #: the partner firm concerned (or the complaining firm)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    #: a record of a higher package it concerns: kind ("case", "lead", "subscription"…), public id, label
    concerns_kind: Mapped[str | None] = mapped_column(String(32))
    concerns_ref: Mapped[str | None] = mapped_column(String(64))
    concerns_label: Mapped[str | None] = mapped_column(String(200))
    #: the day the complaint reached the broker (deadlines run from it)
    received_on: Mapped[date] = mapped_column(Date)
    acknowledge_due: Mapped[date] = mapped_column(Date)
    answer_due: Mapped[date] = mapped_column(Date)
    state: Mapped[ComplaintState] = mapped_column(enum_column(ComplaintState, 16), default=ComplaintState.received)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: the staff member who transcribed it (null: lodged through the public form)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the signed-in user who lodged it through the form, if any
    lodged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_on: Mapped[date | None] = mapped_column(Date)
    answered_on: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)
    mediation_info: Mapped[str | None] = mapped_column(Text)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    organisation: Mapped[Organisation | None] = relationship()
    contract: Mapped[Contract | None] = relationship()

    @property
    def product_group(self) -> ProductGroup:
        return product_group(self.product_line)

    def acknowledge_overdue(self, today: date) -> bool:
        return self.state is ComplaintState.received and today > self.acknowledge_due

    def answer_overdue(self, today: date) -> bool:
        return self.state in (ComplaintState.received, ComplaintState.acknowledged) and today > self.answer_due

    def overdue(self, today: date) -> bool:
        return self.acknowledge_overdue(today) or self.answer_overdue(today)

    @classmethod
    def overdue_clause(cls, today: date) -> ColumnElement[bool]:
        """`overdue` as a condition in SQL (to count overdue complaints without loading them)."""
        return or_(and_(cls.state == ComplaintState.received, cls.acknowledge_due < today),
                   and_(cls.state.in_((ComplaintState.received, ComplaintState.acknowledged)),
                        cls.answer_due < today))

    @property
    def answered_on_time(self) -> bool | None:
        return None if self.answered_on is None else self.answered_on <= self.answer_due


#: the volunteers' top-up covers (every other line is the partner channel's)
VOLUNTEER_LINES = (ProductLine.volunteer_health_topup, ProductLine.volunteer_prevoyance_topup)


def product_group(line: ProductLine | None) -> ProductGroup:
    if line is None:
        return ProductGroup.unspecified
    if line in VOLUNTEER_LINES:
        return ProductGroup.volunteer_covers
    return ProductGroup.partner_channel


class ComplaintReminder(Base):
    """A reminder sent about a complaint: one of each kind, ever (the reminder command is safe to run again)."""
    __tablename__ = "complaint_reminders"
    __table_args__ = (UniqueConstraint("complaint_id", "kind"),)

    id: Mapped[intpk]
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    kind: Mapped[ReminderKind] = mapped_column(enum_column(ReminderKind, 24))
    sent_at: Mapped[created_at]
    #: the addresses it went to, comma-separated
    recipients: Mapped[str] = mapped_column(Text)

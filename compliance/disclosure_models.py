"""A placed contract's disclosures to the client, as compliance reviews them: the partner firm's declaration of
what it told the client of its role and remuneration (when, how, with an optional evidence file), and each
review decision (append-only)."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts import Organisation, User
from core.contracts import Contract
from core.db import Base, append_only, created_at, enum_column, intpk, public_id
from core.i18n import N_


class DisclosureChannel(enum.Enum):
    """How the partner made its disclosure to the client."""

    in_person = "in_person"
    email = "email"
    letter = "letter"
    video_call = "video_call"
    phone_then_writing = "phone_then_writing"

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


CHANNEL_LABELS = {
    DisclosureChannel.in_person: N_("In person, with a written document"),
    DisclosureChannel.email: N_("By e-mail"),
    DisclosureChannel.letter: N_("By letter"),
    DisclosureChannel.video_call: N_("In a video call, confirmed in writing"),
    DisclosureChannel.phone_then_writing: N_("By phone, confirmed in writing"),
}


class DisclosureState(enum.Enum):
    #: the partner has not declared yet what it disclosed
    awaiting_declaration = "awaiting_declaration"
    #: declared, awaiting compliance's review
    submitted = "submitted"
    approved = "approved"
    #: returned to the partner with reasons, to declare again
    returned = "returned"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    DisclosureState.awaiting_declaration: N_("Awaiting the partner's declaration"),
    DisclosureState.submitted: N_("Awaiting review"),
    DisclosureState.approved: N_("Approved"),
    DisclosureState.returned: N_("Returned to the partner"),
}


class ContractDisclosure(Base):
    """One per contract a partner firm brought: its declaration as it stands, and where the review is."""

    __tablename__ = "contract_disclosures"
    #: the compliance dashboard counts each firm's disclosures by state from the first index alone; the review
    #: queue counts those awaiting review, oldest first, from the second
    __table_args__ = (Index("ix_contract_disclosures_org_state", "organisation_id", "state"),
                      Index("ix_contract_disclosures_state_submitted", "state", "submitted_at"))

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime | None]
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    state: Mapped[DisclosureState] = mapped_column(enum_column(DisclosureState, 32), index=True,
                                                   default=DisclosureState.awaiting_declaration)
    #: what the partner told the client of its role and status (an introducer: that it is not an intermediary)
    role_disclosed: Mapped[str | None] = mapped_column(Text)
    #: what it told the client of its remuneration (nature, who pays it, the amount or its basis)
    remuneration_disclosed: Mapped[str | None] = mapped_column(Text)
    #: the amount disclosed, when one was given (minor units, the contract's currency)
    remuneration_disclosed_minor: Mapped[int | None] = mapped_column(Integer)
    disclosed_on: Mapped[date | None] = mapped_column(Date)
    channel: Mapped[DisclosureChannel | None] = mapped_column(enum_column(DisclosureChannel, 32))
    evidence_name: Mapped[str | None] = mapped_column(String(200))
    evidence_mime: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[bytes | None] = mapped_column(LargeBinary)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    declared_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]

    contract: Mapped[Contract] = relationship()
    organisation: Mapped[Organisation] = relationship()
    declared_by: Mapped[User | None] = relationship(foreign_keys=[declared_by_id])
    reviews: Mapped[list[DisclosureReview]] = relationship(order_by="DisclosureReview.id",
                                                           back_populates="disclosure")


class DisclosureDecision(enum.Enum):
    approved = "approved"
    returned = "returned"

    @property
    def label(self) -> str:
        return DECISION_LABELS[self]


DECISION_LABELS = {DisclosureDecision.approved: N_("Approved"), DisclosureDecision.returned: N_("Returned")}


@append_only
class DisclosureReview(Base):
    """A compliance officer's decision on a contract's disclosures, with the reason."""

    __tablename__ = "disclosure_reviews"
    #: the compliance dashboard finds each disclosure's approval time from this index alone
    __table_args__ = (Index("ix_disclosure_reviews_decision", "decision", "disclosure_id", "decided_at"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    disclosure_id: Mapped[int] = mapped_column(ForeignKey("contract_disclosures.id"), index=True)
    decision: Mapped[DisclosureDecision] = mapped_column(enum_column(DisclosureDecision, 16))
    reason: Mapped[str] = mapped_column(Text)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime]

    disclosure: Mapped[ContractDisclosure] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship()

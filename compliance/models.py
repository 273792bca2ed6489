"""Compliance reviews: a decision about a subject (a firm's claimed status, a recurring introducer
schedule…), with the reviewer and a written reason. Append-only: a new decision is a new row."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts import Organisation, User
from core.db import Base, created_at, enum_column, intpk, public_id


class ReviewKind(enum.Enum):
    partner_status = "partner_status"
    recurring_introducer_commission = "recurring_introducer_commission"


class ReviewDecision(enum.Enum):
    approved = "approved"
    rejected = "rejected"


class Review(Base):
    __tablename__ = "reviews"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    kind: Mapped[ReviewKind] = mapped_column(enum_column(ReviewKind, 40))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    #: what was decided about, e.g. "agreement:<public id>"; empty for the firm itself
    subject_ref: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[ReviewDecision] = mapped_column(enum_column(ReviewDecision, 16))
    reason: Mapped[str] = mapped_column(Text)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime]

    reviewer = relationship(User)
    organisation = relationship(Organisation)

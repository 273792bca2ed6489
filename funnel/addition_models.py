"""A dependant added to a cover in force (funnel.additions): the amendment's record, kept beside the subscription
it changed."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, created_at, intpk, public_id
from core.outbox import OutboxMessage

from .payment_models import Payment


class DependantAddition(Base):
    """A spouse, partner or child the volunteer added to their health top-up once it was in force: from when,
    what it adds to the monthly premium, what was charged for the part of the cover already paid, and the
    certificate it replaced."""

    __tablename__ = "dependant_additions"
    __table_args__ = (UniqueConstraint("subscription_id", "fingerprint"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    dependant_id: Mapped[int] = mapped_column(ForeignKey("volunteer_dependants.id"), unique=True)
    #: SHA-256 of the declaration (who, born when, the event's date): the same form sent again finds this addition
    fingerprint: Mapped[str] = mapped_column(String(64))
    declared_on: Mapped[date] = mapped_column(Date)
    covered_from: Mapped[date] = mapped_column(Date)
    #: the first month (YYYY-MM, as payments name them) whose monthly premium includes the dependant
    billed_from: Mapped[str] = mapped_column(String(7))
    #: what the dependant adds to each month's premium, and what was charged now for the months already begun
    monthly_minor: Mapped[int] = mapped_column(Integer)
    charged_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    #: per cover: {"cover", "formula", "tariff", "monthly", "charged", "months": [{"month", "from", "to", "minor"}]}
    lines: Mapped[list] = mapped_column(JSON)
    #: the charge (null when nothing was due yet)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    #: the certificate this addition replaced (the new one, naming the dependant, is the subscription's)
    replaced_certificate_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    #: the broker's commission on the charge was posted (or there was none to post)
    settled_at: Mapped[datetime | None]
    #: the e-mail carrying the new certificate
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))

    subscription = relationship("Subscription", back_populates="additions")
    dependant = relationship("Dependant")
    payment: Mapped[Payment | None] = relationship()
    message: Mapped[OutboxMessage | None] = relationship()

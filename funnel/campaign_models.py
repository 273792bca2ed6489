"""The campaign's records: one send per volunteer and step (its uniqueness is what makes the campaign run
exactly once), with the opens and clicks measured on it, and each volunteer's choices about campaign e-mail."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, created_at, intpk, public_id
from core.outbox import OutboxMessage

from .models import Volunteer


class CampaignSend(Base):
    """A campaign step sent to a volunteer: inserted in the same transaction as its outbox message, and unique per
    (volunteer, step), so a replayed or concurrent run cannot send it twice."""

    __tablename__ = "campaign_sends"
    __table_args__ = (UniqueConstraint("volunteer_id", "step", name="uq_campaign_sends_volunteer_id_step"),
                      # the KPIs (funnel.kpis): a period's opens and clicks per step, read from the index alone, one
                      # range per step (already in the GROUP BY's order)
                      Index("ix_campaign_sends_step_queued", "step", "queued_at", "opens", "clicks", "volunteer_id"))

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    #: funnel.campaign_plan.CampaignStep.code
    step: Mapped[str] = mapped_column(String(32), index=True)
    #: the day the step fell due for this volunteer, and when the run decided to send it (the campaign's clock)
    due_on: Mapped[date] = mapped_column(Date)
    queued_at: Mapped[datetime]
    #: the language of the template sent (fr or en)
    language: Mapped[str] = mapped_column(String(8))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    #: the personal link it carried, if the step carries one (funnel.journey.AccessLink.public_id)
    link_public_id: Mapped[str | None] = mapped_column(String(32))
    #: measured through the tracking pixel and the redirect links (never for a volunteer who refused tracking)
    first_opened_at: Mapped[datetime | None]
    opens: Mapped[int] = mapped_column(Integer, default=0)
    first_clicked_at: Mapped[datetime | None]
    clicks: Mapped[int] = mapped_column(Integer, default=0)

    volunteer: Mapped[Volunteer] = relationship()
    message: Mapped[OutboxMessage | None] = relationship()


class CampaignPreference(Base):
    """What a volunteer chose about campaign e-mail: to receive no more of it (one click, RFC 8058), and to have
    its opens and clicks not measured. No row: the campaign's defaults (sent, measured)."""

    __tablename__ = "campaign_preferences"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), unique=True)
    unsubscribed_at: Mapped[datetime | None]
    tracking_refused_at: Mapped[datetime | None]

    volunteer: Mapped[Volunteer] = relationship()

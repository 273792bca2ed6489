"""The funnel KPIs' per-volunteer summary: derived data, one row per volunteer who reached a stage of the funnel or
opened / clicked a campaign e-mail carrying the personal quote link. It is what `funnel.kpis` counts the funnel
from (one indexed range read of the period's first invitations instead of every volunteer's raw events).

Kept in the same transaction as the raw records by `funnel.kpi_summary` (called by
`funnel.tracking.record_funnel_event` and the campaign's open and click tracking); filled by its migration from the
raw records; `flask funnel kpis verify` compares it with a recount from the raw records, `flask funnel kpis
rebuild` rebuilds it from them."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


def _flag() -> Mapped[bool]:
    return mapped_column(Boolean, default=False, server_default=false())


class VolunteerFunnel(Base):
    """What a volunteer reached of the funnel (ever). For each stage from "quoted" on: `<stage>` (an event of that
    stage, whatever its cover) and `<stage>_<cover>` (an event of that stage for that cover or for no cover, the
    events a cover filter counts)."""

    __tablename__ = "volunteer_funnels"
    # a period's cohort (whole months) counted by month, step, country and language from this index alone, in its
    # order (no sort): every column the count reads
    __table_args__ = (Index("ix_volunteer_funnels_cohort", "first_invited_month", "first_step", "mission_country",
                            "language", "opened", "clicked", "quoted", "adhesion_started", "signed", "paid",
                            "certificate_issued", "quoted_health", "quoted_prevoyance", "adhesion_started_health",
                            "adhesion_started_prevoyance", "signed_health", "signed_prevoyance", "paid_health",
                            "paid_prevoyance", "certificate_issued_health", "certificate_issued_prevoyance"),)

    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), primary_key=True, autoincrement=False)
    #: the volunteer's, copied (kept equal when the volunteer's change): the funnel's breakdowns and filters, read
    #: with the cohort's rows
    mission_country: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(8))
    #: the volunteer's first "invited" event: its time, its month (first day, UTC) and its campaign step (None: a
    #: link sent by staff)
    first_invited_at: Mapped[datetime | None]
    first_invited_month: Mapped[date | None] = mapped_column(Date)
    first_step: Mapped[str | None] = mapped_column(String(32))
    #: a campaign e-mail carrying the personal link (funnel.kpi_summary.LINK_STEPS) opened (its pixel), clicked
    opened: Mapped[bool] = _flag()
    clicked: Mapped[bool] = _flag()
    quoted: Mapped[bool] = _flag()
    quoted_health: Mapped[bool] = _flag()
    quoted_prevoyance: Mapped[bool] = _flag()
    adhesion_started: Mapped[bool] = _flag()
    adhesion_started_health: Mapped[bool] = _flag()
    adhesion_started_prevoyance: Mapped[bool] = _flag()
    signed: Mapped[bool] = _flag()
    signed_health: Mapped[bool] = _flag()
    signed_prevoyance: Mapped[bool] = _flag()
    paid: Mapped[bool] = _flag()
    paid_health: Mapped[bool] = _flag()
    paid_prevoyance: Mapped[bool] = _flag()
    certificate_issued: Mapped[bool] = _flag()
    certificate_issued_health: Mapped[bool] = _flag()
    certificate_issued_prevoyance: Mapped[bool] = _flag()

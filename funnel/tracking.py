"""The funnel's events: each stage a volunteer reaches, from the invitation to the certificate (or the
withdrawal), with the cover, the zone and the campaign step that brought them. The KPIs are counted from them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.db import utcnow

from .catalogue import ZONES, Cover
from .models import FunnelEvent, FunnelStage, Volunteer


def record_funnel_event(session: Session, volunteer: Volunteer, stage: FunnelStage, *, cover: Cover | None = None,
                        zone: int | None = None, campaign_step: str | None = None, subject: str | None = None,
                        at: datetime | None = None) -> FunnelEvent:
    """Record that `volunteer` reached `stage` (at `at`, now by default). `subject` is the public id of what the
    event is about (a quote, a subscription, a payment). Flushes (which also updates the KPIs' per-volunteer summary,
    funnel.kpi_summary, in the same transaction)."""
    if zone is not None and zone not in ZONES:
        raise ValueError(f"unknown zone {zone!r}")
    event = FunnelEvent(volunteer=volunteer, stage=stage, cover=cover, zone=zone,
                        campaign_step=campaign_step, subject=subject, occurred_at=at or utcnow())
    session.add(event)
    session.flush()
    return event

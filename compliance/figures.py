"""Compliance's figures for the home pages' charts: leads refused for health data, week by week (from the audit
log, which records every refusal without the refused words). One aggregate query."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, UTC

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.audit import AuditEvent

HEALTH_REFUSAL = "lead.health_data_refused"


def week_starts(today: date, weeks: int) -> list[date]:
    """The Mondays of the last `weeks` weeks, oldest first, this week's last."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def health_refusals_by_week(session: Session, today: date, weeks: int = 12) -> list[tuple[date, int]]:
    """(Monday, refusals that week) for the last `weeks` weeks (UTC), oldest first; weeks without one count 0."""
    starts = week_starts(today, weeks)
    bounds = [datetime.combine(d, time(), UTC) for d in starts]
    week = case(*((AuditEvent.occurred_at >= bound, i) for i, bound in reversed(list(enumerate(bounds)))))
    counts = dict(session.execute(select(week, func.count()).where(
        AuditEvent.action == HEALTH_REFUSAL, AuditEvent.occurred_at >= bounds[0]).group_by(week)).all())
    return [(d, counts.get(i, 0)) for i, d in enumerate(starts)]

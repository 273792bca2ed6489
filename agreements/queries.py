"""Read-only agreement rules other packages ask about (the ledger, the finance pages). Nothing here renders,
signs or seals, so importing it loads no PDF machinery."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import IN_FORCE_STATUSES, Agreement


def agreement_in_force(session: Session, organisation_id: int, on: date) -> Agreement | None:
    """The agreement that governs the firm's business on that date (the ledger asks this)."""
    return session.execute(
        select(Agreement).where(Agreement.organisation_id == organisation_id,
                                Agreement.status.in_(IN_FORCE_STATUSES), Agreement.effective_from <= on,
                                (Agreement.effective_to.is_(None)) | (Agreement.effective_to >= on))
        .order_by(Agreement.effective_from.desc(), Agreement.id.desc()).limit(1)
    ).scalar_one_or_none()


def latest_status_by_firm(session: Session) -> dict[int, str]:
    """{organisation id: the status of its newest agreement} (firms without one are absent)."""
    from sqlalchemy import func

    newest = select(Agreement.organisation_id, func.max(Agreement.id).label("id")).group_by(
        Agreement.organisation_id).subquery()
    rows = session.execute(select(Agreement.organisation_id, Agreement.status)
                           .join(newest, newest.c.id == Agreement.id))
    return {org: status.value for org, status in rows}

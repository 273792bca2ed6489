"""Agreements by state, for the staff home pages' chart: one aggregate query."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Agreement, AgreementStatus

BY_STATE = select(Agreement.status, func.count()).group_by(Agreement.status)


def agreements_by_state(session: Session) -> dict[AgreementStatus, int]:
    """Every state, in the order of the enum (states without an agreement count 0)."""
    counts = dict(session.execute(BY_STATE).all())
    return {s: counts.get(s, 0) for s in AgreementStatus}

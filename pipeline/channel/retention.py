"""The retention schedule of what came through the secure channel: documents and answers are purged (the
encrypted bytes set to nothing; the row says what was received and when it was purged) once the case has been
closed for `after_close_days`, or `after_upload_days` after they were received, whichever comes first."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow

from ..cases.models import Case
from ..cases.stages import CLOSED
from .models import HealthAnswers, HealthDocument

DEFAULT_AFTER_CLOSE_DAYS = 90
DEFAULT_AFTER_UPLOAD_DAYS = 365


@dataclass(frozen=True)
class Purged:
    documents: int
    answers: int
    cases: int


def _due(model, now: datetime, after_close_days: int, after_upload_days: int):
    closed_before = now - timedelta(days=after_close_days)
    return (select(model.id, model.case_id).join(Case, Case.id == model.case_id)
            .where(model.purged_at.is_(None),
                   or_(model.created_at <= now - timedelta(days=after_upload_days),
                       and_(Case.status.in_(CLOSED), Case.stage_entered_at <= closed_before))))


def purge(session: Session, *, actor=None, after_close_days: int = DEFAULT_AFTER_CLOSE_DAYS,
          after_upload_days: int = DEFAULT_AFTER_UPLOAD_DAYS, now: datetime | None = None) -> Purged:
    """Purge what is due; audited with the counts (also when there was nothing to purge)."""
    if after_close_days < 0 or after_upload_days < 1:
        raise ValueError("retention periods: at least 0 days after closing, 1 day after upload")
    now = now or utcnow()
    if session.get_bind().dialect.name == "sqlite":
        # overwrite the freed pages with zeros rather than leave the old bytes in the file; PostgreSQL keeps an
        # updated row's old version until VACUUM reclaims it (autovacuum, or schedule one after the purge)
        session.execute(text("PRAGMA secure_delete = ON"))
    cases: set[int] = set()
    counts = {}
    for model, columns in ((HealthDocument, {"data_encrypted": None, "filename_encrypted": None}),
                           (HealthAnswers, {"answers_encrypted": None})):
        due = session.execute(_due(model, now, after_close_days, after_upload_days)).all()
        ids = [row.id for row in due]
        cases |= {row.case_id for row in due}
        for start in range(0, len(ids), 500):
            session.execute(update(model).where(model.id.in_(ids[start:start + 500]))
                            .values(purged_at=now, **columns).execution_options(synchronize_session=False))
        counts[model] = len(ids)
    session.flush()
    session.expire_all()
    result = Purged(documents=counts[HealthDocument], answers=counts[HealthAnswers], cases=len(cases))
    audit.record(session, "health_channel.purged", actor=actor, documents=result.documents,
                 answers=result.answers, cases=result.cases, after_close_days=after_close_days,
                 after_upload_days=after_upload_days)
    return result

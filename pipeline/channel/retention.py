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
from .models import HealthAnswers, HealthDocument, HealthLink

DEFAULT_AFTER_CLOSE_DAYS = 90
DEFAULT_AFTER_UPLOAD_DAYS = 365
#: what a purge sets to nothing, per kind of record (the row stays: what was received, when, when purged)
PURGED_COLUMNS = ((HealthDocument, {"data_encrypted": None, "filename_encrypted": None}),
                  (HealthAnswers, {"answers_encrypted": None}))


def _overwrite_freed_pages(session: Session) -> None:
    # SQLite: overwrite the freed pages with zeros rather than leave the old bytes in the file; PostgreSQL keeps an
    # updated row's old version until VACUUM reclaims it (autovacuum, or schedule one after the purge)
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))


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
    _overwrite_freed_pages(session)
    cases: set[int] = set()
    counts = {}
    for model, columns in PURGED_COLUMNS:
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


def held_for(session: Session, case: Case) -> dict:
    """What the secure channel holds for the case's client, for their data export: the links sent to them and
    what they sent back. The contents stay encrypted under the case keys (the export names each file by its
    SHA-256; the broker sends the files themselves back through the channel on request)."""
    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    links = session.scalars(select(HealthLink).where(HealthLink.case_id == case.id).order_by(HealthLink.id))
    documents = session.scalars(select(HealthDocument).where(HealthDocument.case_id == case.id)
                                .order_by(HealthDocument.id))
    answers = session.scalars(select(HealthAnswers).where(HealthAnswers.case_id == case.id)
                              .order_by(HealthAnswers.id))
    return {
        "links": [{"sent_at": when(link.created_at), "sent_to": link.sent_to, "expires_at": when(link.expires_at),
                   "first_opened_at": when(link.first_opened_at), "revoked_at": when(link.revoked_at)}
                  for link in links],
        "documents": [{"id": doc.public_id, "received_at": when(doc.created_at), "content_type": doc.content_type,
                       "size": doc.size, "sha256": doc.sha256, "purged_at": when(doc.purged_at)}
                      for doc in documents],
        "answers": [{"id": row.public_id, "received_at": when(row.created_at), "purged_at": when(row.purged_at)}
                    for row in answers],
    }


def erase_for(session: Session, case: Case, *, now: datetime, erased_address: str) -> int:
    """The case's client is erased: their documents and answers are purged now, whatever the schedule says, and
    their links stop working and forget the address they were sent to. Returns how many files and answer sets
    were purged."""
    _overwrite_freed_pages(session)
    purged = 0
    for model, columns in PURGED_COLUMNS:
        done = session.execute(update(model).where(model.case_id == case.id, model.purged_at.is_(None))
                               .values(purged_at=now, **columns).execution_options(synchronize_session=False))
        purged += done.rowcount or 0
    session.execute(update(HealthLink).where(HealthLink.case_id == case.id, HealthLink.revoked_at.is_(None))
                    .values(revoked_at=now).execution_options(synchronize_session=False))
    session.execute(update(HealthLink).where(HealthLink.case_id == case.id)
                    .values(sent_to=erased_address).execution_options(synchronize_session=False))
    session.flush()
    return purged

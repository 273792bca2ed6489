"""What the complaints register holds on a complainant, for compliance.privacy (compliance's own table)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import privacy
from .complaint_models import Complaint
from .privacy import Erasure, Holding, Subject


def _complaints(session: Session, subject: Subject) -> list[Complaint]:
    # one name column: the name's words are looked for in it (twice, as first and last name)
    return list(session.scalars(select(Complaint).where(subject.matches(
        Complaint.complainant_email, Complaint.complainant_name, Complaint.complainant_name)).order_by(Complaint.id)))


def find(session: Session, subject: Subject) -> list[Holding]:
    return [Holding("complaint", c.reference, c.complainant_name, c.complainant_email, c.state.label, c.received_on)
            for c in _complaints(session, subject)]


def export(session: Session, subject: Subject) -> dict:
    return {"complaints": [
        {"reference": c.reference, "received_on": c.received_on.isoformat(), "channel": c.channel.value,
         "complainant_kind": c.complainant_kind.value, "complainant_name": c.complainant_name,
         "complainant_email": c.complainant_email, "category": c.category.value, "description": c.description,
         "state": c.state.value, "answer": c.answer, "mediation_info": c.mediation_info,
         "concerns": c.concerns_label} for c in _complaints(session, subject)]}


def erase(session: Session, subject: Subject, erasure: Erasure) -> None:
    """The register keeps the complaint (category, dates, state: what the reports count); the complainant is
    pseudonymised and their identifiers scrubbed from the texts."""
    for c in _complaints(session, subject):
        c.complainant_name, c.complainant_email = erasure.pseudonym, None
        c.description = erasure.scrub(c.description) or "—"
        c.answer, c.mediation_info = erasure.scrub(c.answer), erasure.scrub(c.mediation_info)
        c.concerns_label = erasure.scrub(c.concerns_label)
        erasure.done("complaint", c.reference, "pseudonymised")
    session.flush()


HOLDER = privacy.register(privacy.Holder("complaints", find=find, export=export, erase=erase))

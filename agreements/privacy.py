"""What the agreements hold on a person, for compliance.privacy: the signatures a partner firm's or the broker's
user put on collaboration agreements (the name typed, when, from where). A signed agreement is evidence the broker
must keep: an erasure restricts these records, it does not rewrite them."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance import privacy
from compliance.privacy import Erasure, Holding, Subject
from core.accounts import User

from .models import Signature


def _signatures(session: Session, subject: Subject) -> list[Signature]:
    if not subject.email:
        return []
    return list(session.scalars(select(Signature).join(User, User.id == Signature.user_id)
                                .where(func.lower(User.email) == subject.email).order_by(Signature.id)))


def find(session: Session, subject: Subject) -> list[Holding]:
    return [Holding("signature", s.agreement.public_id, s.typed_name, s.user.email, privacy.SIGNED_AS[s.party.value], s.signed_at)
            for s in _signatures(session, subject)]


def export(session: Session, subject: Subject) -> dict:
    return {"agreement_signatures": [
        {"agreement": s.agreement.public_id, "party": s.party.value, "typed_name": s.typed_name,
         "signed_at": s.signed_at.isoformat(), "ip": s.ip, "user_agent": s.user_agent,
         "document_sha256": s.document_sha256} for s in _signatures(session, subject)]}


def erase(session: Session, subject: Subject, erasure: Erasure) -> None:
    """A signature is the evidence of a signed agreement: kept (restricted) while it is in force, then 5 years."""
    for s in _signatures(session, subject):
        end = s.agreement.effective_to
        until = privacy.years_after(end, privacy.CONTRACT_RETENTION_YEARS) if end else None
        erasure.done("signature", s.agreement.public_id, "restricted", privacy.SIGNATURE_RETENTION, until)


HOLDER = privacy.register(privacy.Holder("agreements", find=find, export=export, erase=erase))

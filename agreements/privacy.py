"""What the agreements hold on a person, for compliance.privacy: the signatures a partner firm's or the broker's
user put on collaboration agreements (the name typed, when, from where). A signed agreement is evidence the broker
must keep: an erasure restricts these records, it does not rewrite them."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance import privacy
from compliance.privacy import Holding, Subject
from core.accounts import User

from .models import Signature


def _signatures(session: Session, subject: Subject) -> list[Signature]:
    if not subject.email:
        return []
    return list(session.scalars(select(Signature).join(User, User.id == Signature.user_id)
                                .where(func.lower(User.email) == subject.email).order_by(Signature.id)))


def find(session: Session, subject: Subject) -> list[Holding]:
    return [Holding("signature", s.agreement.public_id, s.typed_name, s.user.email, s.party.value, s.signed_at)
            for s in _signatures(session, subject)]


def export(session: Session, subject: Subject) -> dict:
    return {"agreement_signatures": [
        {"agreement": s.agreement.public_id, "party": s.party.value, "typed_name": s.typed_name,
         "signed_at": s.signed_at.isoformat(), "ip": s.ip, "user_agent": s.user_agent,
         "document_sha256": s.document_sha256} for s in _signatures(session, subject)]}


HOLDER = privacy.register(privacy.Holder("agreements", find=find, export=export))

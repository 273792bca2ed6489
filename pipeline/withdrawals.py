"""A client withdraws consent, told against a lead. Once the lead became a case, the case decides what stops
(cases.pipeline); before that, the lead records it. Above both leads and cases, so neither imports the other
back."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.accounts import User

from .cases import pipeline
from .cases.models import Case
from .leads.models import Lead, LeadStatus, consent_key
from .leads.services import record_withdrawal


def withdraw_consent(session: Session, user: User, lead: Lead, *, scope: str, reason: str,
                     ip: str | None = None) -> None:
    """Record that the client withdrew consent: to copies of key steps, or to the sharing itself (the lead is
    then no longer pursued). Appended, never edited: the original consent stays as it was given."""
    case = session.execute(select(Case).where(Case.lead_id == lead.id)).scalar_one_or_none()
    if case is not None:
        # the lead became a case: the case carries the same consent and decides what stops
        pipeline.withdraw_consent(session, user, case, scope=scope, reason=reason, ip=ip)
        return
    record_withdrawal(session, user, lead.consent, scope=scope, reason=reason)
    if scope == "all" and lead.status in (LeadStatus.received, LeadStatus.contacted):
        lead.status = LeadStatus.not_pursued
    session.flush()
    audit.record(session, "consent.withdrawn", actor=user, subject=lead, ip=ip, scope=scope,
                 personal={"reason": reason}, personal_key=consent_key(lead.consent.public_id))

"""Key milestones tell the client (when the broker leads the communication) and copy the partner (when the
client consented), through the outbox, and the cc log records every copy sent or withheld. The mail is queued
as a template and its context; the portal renders it in the recipient's language when the worker sends it."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import cc_policy, privacy
from core.accounts import CommunicationModel, PartnerStatus, Role, User
from core.outbox import enqueue_mail

from .models import Case, CcLog, CcOutcome, Milestone
from .stages import KEY_MILESTONES, LEAD_LEVEL


def notify_milestone(session: Session, case: Case, milestone: Milestone, *, news_for_introducer: bool) -> None:
    if milestone.stage not in KEY_MILESTONES:
        return
    consent = case.consent
    context = {"case": case.public_id, "milestone": milestone.public_id,
               "contract": case.contract.public_id if case.contract else None}
    restricted = privacy.restriction_of(session, case.public_id) is not None
    if (case.communication_model in (CommunicationModel.broker_leads, CommunicationModel.hybrid)
            and case.client_email and not consent.withdrawn and not restricted):
        enqueue_mail(session, "milestone_client", to=case.client_email, locale=consent.language, **context)

    org = case.organisation
    introducer = org.status is PartnerStatus.introducer
    recipients = partner_recipients(session, case)
    decision = cc_policy.decide(consented=consent.cc_on_milestones,
                                withdrawn=consent.withdrawn or (consent.cc_on_milestones and not consent.cc_allowed),
                                introducer=introducer, news_for_introducer=news_for_introducer,
                                has_recipient=bool(recipients), firm_wants_copies=bool(org.cc_key_communications),
                                restricted=restricted)
    message = None
    if decision.send:
        template = "milestone_introducer" if introducer else "milestone_partner"
        message = enqueue_mail(session, template, to=[u.email for u in recipients], locale=recipients[0].locale,
                               lead_status=LEAD_LEVEL[milestone.stage].value, **context)
    session.add(CcLog(milestone_id=milestone.id, case_id=case.id, organisation_id=org.id,
                      outcome=CcOutcome.sent if decision.send else CcOutcome.withheld, reason=decision.reason,
                      detail=decision.detail, recipients=",".join(u.email for u in recipients) if decision.send else None,
                      outbox_message_id=message.id if message else None))


def partner_recipients(session: Session, case: Case) -> list[User]:
    """The person at the partner firm who brought the client; if they have left, the firm's administrators."""
    submitter = session.get(User, case.submitted_by_id)
    if submitter is not None and submitter.active and submitter.organisation_id == case.organisation_id:
        return [submitter]
    return list(session.execute(select(User).where(
        User.organisation_id == case.organisation_id, User.role == Role.partner_admin,
        User.active.is_(True)).order_by(User.id)).scalars())

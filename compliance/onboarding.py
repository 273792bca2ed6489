"""Onboarding: the checklist a firm goes through, and compliance's decision on the status it claims."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.i18n import N_
from core.accounts import CommunicationModel, PartnerStatus, communication_models_for
from core.partners import Lifecycle

from .errors import REASON_REQUIRED, CommunicationModelRefused, InvalidRegistration, ReviewRefused
from .models import Review, ReviewDecision, ReviewKind
from .registers import check_registration


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    done: bool
    #: what is missing, shown while not done (a msgid)
    missing: str | None = None


def check_communication_model(status, model) -> None:
    """The firm's status allows the model it chose (an introducer: the broker leads, or hybrid). Either may be
    given as its enum or its value."""
    if model is None or status is None:
        return
    if CommunicationModel(model) not in communication_models_for(PartnerStatus(status)):
        raise CommunicationModelRefused()


def latest_status_review(session: Session, organisation_id: int) -> Review | None:
    return session.execute(select(Review).where(Review.organisation_id == organisation_id,
                                                Review.kind == ReviewKind.partner_status)
                           .order_by(Review.id.desc()).limit(1)).scalar_one_or_none()


def registration_ok(org) -> bool:
    try:
        check_registration(org.register.value if org.register else None, org.registration_number,
                           broker=org.status.is_broker)
    except InvalidRegistration:
        return False
    return True


def checklist(session: Session, org, *, admin_verified: bool, agreement_status: str | None) -> list[ChecklistItem]:
    """Item by item, what the firm has done and what is missing. `agreement_status` is the status of the
    firm's latest agreement (None when there is none)."""
    review = latest_status_review(session, org.id)
    signed_or_later = ("partner_signed", "countersigned", "active", "superseded", "terminated")
    return [
        ChecklistItem("company", N_("Company details"), bool(org.legal_name and org.country),
                      N_("Legal name and country of establishment.")),
        ChecklistItem("registration", N_("Intermediary registration"), registration_ok(org),
                      N_("A broker needs a valid number in a known register (ORIAS, FCA, IVASS RUI, DGSFP…).")),
        ChecklistItem("contacts", N_("Operational contact"), bool(org.contact_name and org.contact_email),
                      N_("Name and e-mail address of the person we work with day to day.")),
        ChecklistItem("zones", N_("Zones of activity and communication model"), bool(org.zones),
                      N_("The countries where the firm's clients live and where it operates.")),
        ChecklistItem("data_sharing", N_("Data-sharing approach"), bool((org.data_sharing_approach or "").strip()),
                      N_("How client data is shared: consent, secure exchange, minimisation.")),
        ChecklistItem("disclosure", N_("Client disclosure approach"), bool((org.disclosure_approach or "").strip()),
                      N_("How the firm discloses its remuneration and conflicts of interest to clients.")),
        ChecklistItem("admin_verified", N_("Administrator's e-mail address verified"), admin_verified,
                      N_("The firm's administrator opens the link we e-mailed and chooses a password.")),
        ChecklistItem("status_review", N_("Status approved by compliance"),
                      review is not None and review.decision is ReviewDecision.approved,
                      N_("Compliance reviews the status the firm claims.") if review is None
                      else N_("Compliance rejected the claimed status: see the reason.")),
        ChecklistItem("agreement_sent", N_("Agreement prepared and sent for signature"),
                      agreement_status not in (None, "draft"), N_("The broker prepares and sends the agreement.")),
        ChecklistItem("partner_signed", N_("Agreement signed by the firm"), agreement_status in signed_or_later,
                      N_("The firm's administrator reviews and signs the agreement in the portal.")),
        ChecklistItem("active", N_("Agreement countersigned and sealed"),
                      agreement_status in ("active", "superseded") and org.lifecycle is Lifecycle.active,
                      N_("The broker countersigns; the sealed copy is e-mailed to the signers.")),
    ]


def decide_status(session: Session, actor, org, *, approve: bool, reason: str, ip: str | None = None) -> Review:
    """Compliance approves or rejects the status a firm claims, with a written reason."""
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ReviewRefused(REASON_REQUIRED, field="reason")
    if org.lifecycle not in (Lifecycle.applied, Lifecycle.under_review):
        raise ReviewRefused(N_("This firm's status was already decided."))
    if approve and not registration_ok(org):
        raise ReviewRefused(N_("A firm claiming broker status cannot be approved without a valid registration "
                               "number in a known register."))
    review = Review(kind=ReviewKind.partner_status, organisation_id=org.id, decision=(
        ReviewDecision.approved if approve else ReviewDecision.rejected), reason=reason, reviewer_id=actor.id,
        decided_at=utcnow())
    session.add(review)
    org.lifecycle = Lifecycle.approved if approve else Lifecycle.rejected
    session.flush()
    audit.record(session, "organisation.status_approved" if approve else "organisation.status_rejected",
                 actor=actor, subject=org, ip=ip, status=org.status.value, reason=reason)
    return review


def set_suspended(session: Session, actor, org, *, suspended: bool, reason: str, ip: str | None = None) -> None:
    """Suspension blocks the firm's new leads and cases at once; reinstatement restores an active firm."""
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ReviewRefused(REASON_REQUIRED, field="reason")
    if suspended and org.lifecycle is not Lifecycle.active:
        raise ReviewRefused(N_("Only an active firm can be suspended."))
    if not suspended and org.lifecycle is not Lifecycle.suspended:
        raise ReviewRefused(N_("Only a suspended firm can be reinstated."))
    org.lifecycle = Lifecycle.suspended if suspended else Lifecycle.active
    session.flush()
    audit.record(session, "organisation.suspended" if suspended else "organisation.reinstated", actor=actor,
                 subject=org, ip=ip, reason=reason)

"""What the volunteer funnel holds on a volunteer (a data subject), for compliance.privacy: the roster's record and
their dependants, their subscriptions (the adhesion's holder details, beneficiaries, signature), the consent
receipt of each adhesion, their payments, the contracts placed for them, and the campaign e-mails sent to them
(with their opens and clicks, and their choices)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import privacy
from compliance.privacy import Erasure, Holding, Subject
from core import subject_keys
from core.contracts import Contract
from pipeline.leads.models import consent_key
from pipeline.privacy import ERASED, consent_receipt

from .activation import policy_number
from .campaign_models import CampaignPreference, CampaignSend
from .catalogue import Cover
from .models import Subscription, SubscriptionState, Volunteer, roster_key, volunteer_key
from .payment_models import Payment


def _volunteers(session: Session, subject: Subject) -> list[Volunteer]:
    return list(session.scalars(select(Volunteer).where(subject.matches(Volunteer.email, Volunteer.first_name,
                                                                        Volunteer.last_name)).order_by(Volunteer.id)))


def _subscriptions(session: Session, volunteer: Volunteer) -> list[Subscription]:
    return list(session.scalars(select(Subscription).where(Subscription.volunteer_id == volunteer.id)
                                .order_by(Subscription.id)))


def _contracts(session: Session, subscription: Subscription) -> list[Contract]:
    numbers = [policy_number(subscription, Cover(value)) for value in subscription.choices]
    return list(session.scalars(select(Contract).where(Contract.policy_number.in_(numbers), Contract.case_id.is_(None))
                                .order_by(Contract.id)))


def find(session: Session, subject: Subject) -> list[Holding]:
    rows = []
    for volunteer in _volunteers(session, subject):
        rows.append(Holding("volunteer", volunteer.public_id, volunteer.full_name, volunteer.email,
                            volunteer.state.label, volunteer.created_at))
        for sub in _subscriptions(session, volunteer):
            rows.append(Holding("subscription", sub.public_id, volunteer.full_name, sub.holder.get("email"),
                                sub.state.label, sub.created_at, sub.holder.get("phone")))
            if sub.consent is not None:
                rows.append(Holding("consent", sub.consent.public_id, volunteer.full_name, None,
                                    privacy.CONSENT_WITHDRAWN if sub.consent.withdrawn else privacy.CONSENT_GIVEN,
                                    sub.consent.given_at))
            rows += [Holding("contract", c.public_id, volunteer.full_name, volunteer.email, c.status.label,
                             c.start_date) for c in _contracts(session, sub)]
    return rows


def _subscription(session: Session, sub: Subscription) -> dict:
    signature = sub.signature
    return {"id": sub.public_id, "reference": sub.reference, "state": sub.state.value, "language": sub.language,
            "choices": dict(sub.choices), "persons": list(sub.persons), "holder": dict(sub.holder or {}),
            "beneficiaries": sub.beneficiaries, "monthly_total_minor": sub.monthly_total_minor,
            "currency": sub.currency, "start_on": sub.start_on.isoformat(), "ends_on": sub.ends_on.isoformat(),
            "signed_at": sub.signed_at.isoformat() if sub.signed_at else None,
            "signature": None if signature is None else {
                "typed_name": signature.typed_name, "email": signature.email, "ip": signature.ip,
                "user_agent": signature.user_agent, "signed_at": signature.signed_at.isoformat(),
                "document_sha256": signature.document_sha256},
            "consent": consent_receipt(sub.consent) if sub.consent is not None else None,
            "contracts": [{"id": c.public_id, "policy_number": c.policy_number, "status": c.status.value,
                           "premium_minor": c.premium_minor, "currency": c.currency}
                          for c in _contracts(session, sub)]}


def _volunteer(session: Session, volunteer: Volunteer) -> dict:
    payments = session.scalars(select(Payment).where(Payment.volunteer_id == volunteer.id).order_by(Payment.id))
    return {"id": volunteer.public_id, "file_ref": volunteer.file_ref, "first_name": volunteer.first_name,
            "last_name": volunteer.last_name, "email": volunteer.email,
            "birth_date": volunteer.birth_date.isoformat(), "programme": volunteer.programme.value,
            "mission_country": volunteer.mission_country, "mission_start": volunteer.mission_start.isoformat(),
            "mission_end": volunteer.mission_end.isoformat(), "language": volunteer.language,
            "state": volunteer.state.value,
            "dependants": [{"id": d.public_id, "category": d.category.value, "first_name": d.first_name,
                            "last_name": d.last_name, "birth_date": d.birth_date.isoformat(),
                            "removed": d.removed_at is not None} for d in volunteer.dependants],
            "subscriptions": [_subscription(session, s) for s in _subscriptions(session, volunteer)],
            "payments": [{"id": p.public_id, "purpose": p.purpose, "amount_minor": p.amount_minor,
                          "currency": p.currency, "state": p.state.value, "created_at": p.created_at.isoformat()}
                         for p in payments],
            "campaign": _campaign(session, volunteer)}


def _campaign(session: Session, volunteer: Volunteer) -> dict:
    """The campaign e-mails sent to the volunteer, what was measured of them, and their choices."""
    sends = session.scalars(select(CampaignSend).where(CampaignSend.volunteer_id == volunteer.id)
                            .order_by(CampaignSend.id))
    pref = session.scalars(select(CampaignPreference).where(CampaignPreference.volunteer_id == volunteer.id)).first()
    when = lambda value: value.isoformat() if value else None  # noqa: E731
    return {"emails": [{"step": s.step, "queued_at": when(s.queued_at), "language": s.language,
                        "first_opened_at": when(s.first_opened_at), "opens": s.opens,
                        "first_clicked_at": when(s.first_clicked_at), "clicks": s.clicks} for s in sends],
            "unsubscribed_at": when(pref.unsubscribed_at) if pref else None,
            "tracking_refused_at": when(pref.tracking_refused_at) if pref else None}


def export(session: Session, subject: Subject) -> dict:
    return {"volunteers": [_volunteer(session, v) for v in _volunteers(session, subject)]}


# --- erasure ------------------------------------------------------------------------------------------------------

#: a subscription in these states was signed: the adhesion is a concluded contract (kept under the legal duty)
SIGNED = (SubscriptionState.signed, SubscriptionState.payment_pending, SubscriptionState.active,
          SubscriptionState.withdrawn)


def _kept_until(session: Session, volunteer: Volunteer) -> date | None:
    """The day the duty to keep the volunteer's records ends (None: no signed adhesion, nothing to keep)."""
    ends = [sub.ends_on for sub in _subscriptions(session, volunteer)
            if sub.state in SIGNED or sub.signed_at is not None]
    return privacy.years_after(max(ends), privacy.CONTRACT_RETENTION_YEARS) if ends else None


def _pseudonymise(session: Session, volunteer: Volunteer, erasure: Erasure) -> set[str]:
    volunteer.first_name, volunteer.last_name = ERASED, erasure.pseudonym
    volunteer.email = f"{erasure.pseudonym}@erased.invalid"
    volunteer.birth_date = date(volunteer.birth_date.year, 1, 1)
    volunteer.end_reason = None
    for dependant in volunteer.dependants:
        dependant.first_name = dependant.last_name = None
        dependant.birth_date = date(dependant.birth_date.year, 1, 1)
    keys = {volunteer_key(volunteer.public_id), roster_key(volunteer.file_ref)}
    for sub in _subscriptions(session, volunteer):
        sub.holder, sub.beneficiaries = {}, None
        sub.document_pdf = None
        if sub.consent is not None:
            keys.add(consent_key(sub.consent.public_id))
        erasure.done("subscription", sub.public_id, "pseudonymised")
    return keys


def erase(session: Session, subject: Subject, erasure: Erasure) -> None:
    """A volunteer who never signed an adhesion is pseudonymised (their roster records and audit details
    shredded); one who signed is kept (restricted) for 5 years after their cover ends."""
    keys: set[str] = set()
    for volunteer in _volunteers(session, subject):
        until = _kept_until(session, volunteer)
        if until is not None:
            erasure.done("volunteer", volunteer.public_id, "restricted", privacy.CONTRACT_RETENTION, until)
            continue
        keys |= _pseudonymise(session, volunteer, erasure)
        erasure.done("volunteer", volunteer.public_id, "pseudonymised")
    subject_keys.destroy(session, keys, now=erasure.now)
    erasure.outcomes += [privacy.Outcome("key", ref, "shredded") for ref in sorted(keys)]
    session.flush()


HOLDER = privacy.register(privacy.Holder("funnel", find=find, export=export, erase=erase))

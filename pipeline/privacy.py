"""What the pipeline holds on a client (a data subject), for compliance.privacy: their leads and cases, the
consents captured with them, the milestones, and the contracts placed from the cases."""
from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from compliance import privacy
from compliance.privacy import Erasure, Holding, Subject
from core import audit, subject_keys
from core.db import utcnow
from core.contracts import Contract

from .cases.models import Case, Milestone, case_key
from .channel import retention as channel
from .leads.models import AttributionDecision, Consent, Lead, consent_key, lead_key

#: what replaces an erased person's first name (the pseudonym replaces the last name)
ERASED = "—"


def _leads(session: Session, subject: Subject) -> list[Lead]:
    return list(session.scalars(select(Lead).where(subject.matches(Lead.email, Lead.first_name, Lead.last_name))
                                .order_by(Lead.id)))


def _cases(session: Session, subject: Subject) -> list[Case]:
    return list(session.scalars(select(Case).where(subject.matches(Case.client_email, Case.client_first_name,
                                                                   Case.client_last_name)).order_by(Case.id)))


def _consents(leads: list[Lead], cases: list[Case]) -> list[Consent]:
    seen: dict[int, Consent] = {}
    for record in [*leads, *cases]:
        seen.setdefault(record.consent.id, record.consent)
    return list(seen.values())


def consent_receipt(consent: Consent, *, reasons: bool = True) -> dict:
    """A consent as a receipt (the register's fields), with its withdrawals."""
    return {
        "id": consent.public_id, "given_at": consent.given_at.isoformat(),
        "collection_method": consent.collection_method.value, "jurisdiction": consent.jurisdiction,
        "language": consent.language, "purposes": list(consent.purposes), "policy_version": consent.policy_version,
        "text_version": consent.text_version, "controller": consent.controller,
        "special_category": consent.special_category,
        "withdrawals": [{"at": w.created_at.isoformat(), "scope": w.scope,
                         **({"reason": w.reason} if reasons else {})} for w in consent.withdrawals],
        "withdrawn": consent.withdrawn,
    }


def find(session: Session, subject: Subject) -> list[Holding]:
    leads, cases = _leads(session, subject), _cases(session, subject)
    rows = [Holding("lead", lead.public_id, f"{lead.first_name} {lead.last_name}", lead.email, lead.status.label,
                    lead.created_at, lead.phone) for lead in leads]
    rows += [Holding("case", case.public_id, f"{case.client_first_name} {case.client_last_name}", case.client_email,
                     case.status.label, case.created_at, case.client_phone) for case in cases]
    rows += [Holding("contract", case.contract.public_id, f"{case.client_first_name} {case.client_last_name}",
                     case.client_email, case.contract.status.label, case.contract.start_date)
             for case in cases if case.contract is not None]
    rows += [Holding("consent", consent.public_id, "", None,
                     privacy.CONSENT_WITHDRAWN if consent.withdrawn else privacy.CONSENT_GIVEN,
                     consent.given_at)
             for consent in _consents(leads, cases)]
    return rows


def _lead(lead: Lead) -> dict:
    return {"id": lead.public_id, "created_at": lead.created_at.isoformat(), "first_name": lead.first_name,
            "last_name": lead.last_name, "email": lead.email, "phone": lead.phone,
            "country_of_residence": lead.country_of_residence, "timeline": lead.timeline,
            "need_category": lead.need_category.value, "need_summary": lead.need_summary, "language": lead.language,
            "status": lead.status.value, "consent": lead.consent.public_id}


def _contract(contract: Contract) -> dict:
    return {"id": contract.public_id, "policy_number": contract.policy_number,
            "product_line": contract.product_line.value, "premium_minor": contract.premium_minor,
            "currency": contract.currency, "start_date": contract.start_date.isoformat(),
            "status": contract.status.value}


def _case(session: Session, case: Case) -> dict:
    milestones = session.scalars(select(Milestone).where(Milestone.case_id == case.id).order_by(Milestone.id))
    return {"id": case.public_id, "created_at": case.created_at.isoformat(),
            "first_name": case.client_first_name, "last_name": case.client_last_name, "email": case.client_email,
            "phone": case.client_phone, "adults": case.adults, "children": case.children, "ages": list(case.ages),
            "nationality": case.nationality, "country_of_residence": case.country_of_residence,
            "travel_countries": list(case.travel_countries), "start_date": case.start_date.isoformat(),
            "product_line": case.product_line.value, "budget_band": case.budget_band.value,
            "current_cover": case.current_cover,
            "renewal_date": case.renewal_date.isoformat() if case.renewal_date else None,
            "status": case.status.value, "consent": case.consent.public_id,
            # the specialist's texts stay encrypted at rest; the export says they exist (staff read them on the case)
            "specialist_texts_held": case.case_summary_encrypted is not None or case.underwriting_encrypted is not None,
            "milestones": [{"at": m.created_at.isoformat(), "stage": m.stage.value, "partner_note": m.partner_note}
                           for m in milestones],
            "contract": _contract(case.contract) if case.contract is not None else None,
            "secure_channel": channel.held_for(session, case)}


def export(session: Session, subject: Subject) -> dict:
    leads, cases = _leads(session, subject), _cases(session, subject)
    return {"leads": [_lead(lead) for lead in leads], "cases": [_case(session, case) for case in cases],
            "consents": [consent_receipt(c) for c in _consents(leads, cases)]}


# --- erasure ------------------------------------------------------------------------------------------------------

def _contract_end(contract: Contract) -> date:
    if contract.cancelled_on is not None:
        return contract.cancelled_on
    return max((term.end_date for term in contract.terms), default=contract.start_date)


def _pseudonymise_lead(lead: Lead, erasure: Erasure) -> None:
    lead.erased_at = erasure.now
    lead.first_name, lead.last_name = ERASED, erasure.pseudonym
    lead.email = lead.phone = lead.need_summary = None
    lead.match_email = lead.match_phone = None
    lead.match_name = f"{erasure.pseudonym}|{lead.country_of_residence}"
    lead.request_fingerprint = None


def _pseudonymise_case(case: Case, erasure: Erasure) -> None:
    case.client_first_name, case.client_last_name = ERASED, erasure.pseudonym
    case.client_email = case.client_phone = case.current_cover = None
    case.case_summary_encrypted = case.underwriting_encrypted = None
    case.ages, case.request_fingerprint = [], None


def erase(session: Session, subject: Subject, erasure: Erasure) -> None:
    """Leads and cases are pseudonymised, the keys of their notes, reasons and audit details destroyed, what the
    client sent through the secure channel purged; a case whose contract was placed is kept (restricted) for 5 years after the contract ends, with its lead and
    consent."""
    leads, cases = _leads(session, subject), _cases(session, subject)
    kept_leads: set[int] = set()
    keys: set[str] = set()
    for case in cases:
        if case.contract is not None:
            until = privacy.years_after(_contract_end(case.contract), privacy.CONTRACT_RETENTION_YEARS)
            erasure.done("case", case.public_id, "restricted", privacy.CONTRACT_RETENTION, until)
            if case.lead_id is not None:
                kept_leads.add(case.lead_id)
            continue
        _pseudonymise_case(case, erasure)
        keys |= {case_key(case.public_id), consent_key(case.consent.public_id)}
        erasure.done("case", case.public_id, "pseudonymised")
        if channel.erase_for(session, case, now=erasure.now, erased_address=f"{erasure.pseudonym}@erased.invalid"):
            erasure.done("health_channel", case.public_id, "purged")
    for lead in leads:
        if lead.id in kept_leads:
            erasure.done("lead", lead.public_id, "restricted", privacy.CONTRACT_RETENTION)
            continue
        _pseudonymise_lead(lead, erasure)
        keys |= {lead_key(lead.public_id), consent_key(lead.consent.public_id)}
        for decision in session.scalars(select(AttributionDecision).where(
                or_(AttributionDecision.lead_id == lead.id, AttributionDecision.earlier_lead_id == lead.id))):
            decision.reason = erasure.scrub(decision.reason)
        erasure.done("lead", lead.public_id, "pseudonymised")
    subject_keys.destroy(session, keys, now=erasure.now)
    erasure.outcomes += [privacy.Outcome("key", ref, "shredded") for ref in sorted(keys)]
    session.flush()


# --- retention ----------------------------------------------------------------------------------------------------

def stale_leads(session: Session, cutoff: datetime) -> list[Lead]:
    """The leads referred before `cutoff` that never became a case and are not erased yet."""
    converted = select(Case.lead_id).where(Case.lead_id.is_not(None))
    return list(session.scalars(select(Lead).where(Lead.created_at < cutoff, Lead.erased_at.is_(None),
                                                   Lead.id.not_in(converted)).order_by(Lead.id)))


def purge_leads(session: Session, *, retention_days: int, now: datetime | None = None) -> int:
    """Erase the personal data of the leads not converted within `retention_days` (pseudonymised, the keys of
    their consent's reasons and their audit details destroyed); audited with the count. Returns the count."""
    if retention_days < 1:
        raise ValueError("the retention period is at least a day")
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    leads = stale_leads(session, cutoff)
    keys: set[str] = set()
    for lead in leads:
        erasure = Erasure(actor=None, now=now, pseudonym=f"purged-{secrets.token_hex(8)}",
                          identifiers=privacy.holding_identifiers(
                              [Holding("lead", lead.public_id, f"{lead.first_name} {lead.last_name}", lead.email,
                                       "", None, lead.phone)]))
        for decision in session.scalars(select(AttributionDecision).where(
                or_(AttributionDecision.lead_id == lead.id, AttributionDecision.earlier_lead_id == lead.id))):
            decision.reason = erasure.scrub(decision.reason)
        _pseudonymise_lead(lead, erasure)
        keys |= {lead_key(lead.public_id), consent_key(lead.consent.public_id)}
    shredded = subject_keys.destroy(session, keys, now=now)
    session.flush()
    audit.record(session, "privacy.leads_purged", retention_days=retention_days, cutoff=cutoff.isoformat(),
                 leads=len(leads), keys_destroyed=shredded)
    return len(leads)


HOLDER = privacy.register(privacy.Holder("pipeline", find=find, export=export, erase=erase))

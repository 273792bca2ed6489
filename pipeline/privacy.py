"""What the pipeline holds on a client (a data subject), for compliance.privacy: their leads and cases, the
consents captured with them, the milestones, and the contracts placed from the cases."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import privacy
from compliance.privacy import Holding, Subject
from core.contracts import Contract

from .cases.models import Case, Milestone
from .leads.models import Consent, Lead


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
    rows = [Holding("lead", lead.public_id, f"{lead.first_name} {lead.last_name}", lead.email, lead.status.value,
                    lead.created_at) for lead in leads]
    rows += [Holding("case", case.public_id, f"{case.client_first_name} {case.client_last_name}", case.client_email,
                     case.status.value, case.created_at) for case in cases]
    rows += [Holding("contract", case.contract.public_id, f"{case.client_first_name} {case.client_last_name}",
                     case.client_email, case.contract.status.value, case.contract.start_date)
             for case in cases if case.contract is not None]
    rows += [Holding("consent", consent.public_id, "", None,
                     "withdrawn" if consent.withdrawn else "given", consent.given_at)
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
            "contract": _contract(case.contract) if case.contract is not None else None}


def export(session: Session, subject: Subject) -> dict:
    leads, cases = _leads(session, subject), _cases(session, subject)
    return {"leads": [_lead(lead) for lead in leads], "cases": [_case(session, case) for case in cases],
            "consents": [consent_receipt(c) for c in _consents(leads, cases)]}


HOLDER = privacy.register(privacy.Holder("pipeline", find=find, export=export))

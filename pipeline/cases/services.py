"""Partner brokers submit cases: the client, the household, where they live and travel, what they want."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import training
from compliance.consent_receipts import ConsentMethod
from compliance.onboarding import check_communication_model
from core import audit
from core.accounts import CommunicationModel, PartnerStatus, User
from core.countries import is_country
from core.db import utcnow
from core.i18n import N_
from core.products import ProductLine

from ..leads.models import Lead, LeadStatus
from ..errors import FirmNotActive, IdempotencyConflict, LeadRefused, MoveRefused
from ..leads.services import ConsentInput, check_consent, check_contact, match_email, new_consent
from . import crossborder, crypto
from .models import Adviser, BudgetBand, Case
from .pipeline import PIPELINE_ROLES, record_submission
from .stages import LEAD_LEVEL


@dataclass(frozen=True)
class CaseInput:
    client_first_name: str
    client_last_name: str
    client_email: str | None
    client_phone: str | None
    adults: int
    children: int
    ages: list[int]
    nationality: str
    country_of_residence: str
    travel_countries: list[str]
    start_date: date
    product_line: ProductLine
    budget_band: BudgetBand
    current_cover: str | None
    renewal_date: date | None
    communication_model: CommunicationModel
    language: str
    consent: ConsentInput
    #: specialist brokers only
    case_summary: str | None = None
    underwriting_sensitivities: str | None = None

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, default=str).encode()).hexdigest()


def _check(values: CaseInput, status: PartnerStatus, now: datetime) -> None:
    if not values.client_first_name.strip() or not values.client_last_name.strip():
        raise LeadRefused(N_("Enter the client's first and last name."), field="client_last_name")
    check_contact(values.client_email, values.client_phone, email_field="client_email", phone_field="client_phone")
    if not 1 <= values.adults <= 10 or not 0 <= values.children <= 10:
        raise LeadRefused(N_("A household has 1 to 10 adults and 0 to 10 children."), field="adults")
    if len(values.ages) != values.adults + values.children or any(not 0 <= a <= 120 for a in values.ages):
        raise LeadRefused(N_("Give one age (0 to 120) for each person to insure, adults first."), field="ages")
    for field, code in (("nationality", values.nationality), ("country_of_residence", values.country_of_residence)):
        if not is_country(code):
            raise LeadRefused(N_("Use an ISO 3166 two-letter country code."), field=field)
    if not all(is_country(c) for c in values.travel_countries):
        raise LeadRefused(N_("Use ISO 3166 two-letter country codes."), field="travel_countries")
    if values.start_date < now.date() - timedelta(days=1):
        raise LeadRefused(N_("The start date is in the past."), field="start_date")
    is_specialist = status is PartnerStatus.specialist_broker
    for field in ("case_summary", "underwriting_sensitivities"):
        text = getattr(values, field)
        if text and not is_specialist:
            raise LeadRefused(N_("Only specialist brokers send a case summary and underwriting sensitivities; "
                                 "the broker leads the analysis for you."), field=field)
        if text and len(text) > 4000:
            raise LeadRefused(N_("Keep it under 4,000 characters."), field=field)
    check_consent(values.consent, now)


def adviser_for(status: PartnerStatus) -> Adviser:
    """The adviser of record of a case the firm opens: a specialist broker advises; otherwise the broker does
    (a generalist broker introduces and frames, an introducer only introduces)."""
    return Adviser.partner if status is PartnerStatus.specialist_broker else Adviser.broker


def submit_case(session: Session, user: User, values: CaseInput, *, idempotency_key: str | None = None,
                ip: str | None = None, now: datetime | None = None, keys: str = "",
                training_blocks: bool = False,
                method: ConsentMethod = ConsentMethod.partner_form) -> tuple[Case, bool]:
    """`keys`: the case encryption keys (see `crypto`), needed only when the case carries specialist texts.
    `training_blocks`: the broker's policy that a firm whose people lack the past year's training hours submits no
    new case (compliance.training.check_may_submit)."""
    now = now or utcnow()
    org = user.organisation
    if org is None or not org.status.is_broker:
        raise FirmNotActive(N_("Only broker firms submit cases; introducers refer leads."))
    if not org.may_do_business:
        raise FirmNotActive(N_("Your firm cannot submit new business: it has no active agreement."))
    fingerprint = values.fingerprint()
    if idempotency_key:
        existing = session.execute(select(Case).where(Case.organisation_id == org.id,
                                                      Case.idempotency_key == idempotency_key)).scalar_one_or_none()
        if existing is not None:
            if existing.request_fingerprint != fingerprint:
                raise IdempotencyConflict(N_("This Idempotency-Key was already used for a different case."))
            return existing, False
    training.check_may_submit(session, org, now.date(), enforce=training_blocks)  # a replay above is not new
    _check(values, org.status, now)
    summary = crypto.encrypt(values.case_summary, keys)
    underwriting = crypto.encrypt(values.underwriting_sensitivities, keys)
    # the specialist's texts may touch on health: the consent covers special-category data then
    consent = new_consent(session, user, values.consent, values.language, method=method,
                          jurisdiction=values.country_of_residence,
                          special_category=summary is not None or underwriting is not None)
    case = Case(organisation_id=org.id, submitted_by_id=user.id, consent=consent,
                **_client_and_need(values), case_summary_encrypted=summary, underwriting_encrypted=underwriting,
                idempotency_key=idempotency_key, request_fingerprint=fingerprint, adviser=adviser_for(org.status))
    session.add(case)
    session.flush()
    record_submission(session, case, user)
    audit.record(session, "case.submitted", actor=user, subject=case, ip=ip, organisation=org.public_id,
                 product_line=values.product_line.value, adviser=case.adviser.value)
    crossborder.assess_case(session, user, case, now.date(), ip=ip)
    return case, True


def _client_and_need(values: CaseInput) -> dict:
    """The case's columns about the client, the household and the need, as the input gives them (trimmed)."""
    return dict(
        client_first_name=values.client_first_name.strip(), client_last_name=values.client_last_name.strip(),
        client_email=match_email(values.client_email), client_phone=(values.client_phone or "").strip() or None,
        adults=values.adults, children=values.children, ages=list(values.ages),
        nationality=values.nationality, country_of_residence=values.country_of_residence,
        travel_countries=sorted(set(values.travel_countries)), start_date=values.start_date,
        product_line=values.product_line, budget_band=values.budget_band,
        current_cover=(values.current_cover or "").strip() or None, renewal_date=values.renewal_date,
        communication_model=values.communication_model)


def convert_lead(session: Session, user: User, lead: Lead, values: CaseInput, *, ip: str | None = None,
                 now: datetime | None = None) -> Case:
    """An account manager turns an introducer's lead into a case, completing the household and the need with
    the client. The case keeps the lead's consent and belongs to the referring firm, so the introducer is
    copied (milestone level only) and its agreement pays; the introducer never sees the case. A referral that
    lost its attribution to an earlier one is not converted: the earlier one is."""
    now = now or utcnow()
    if user.role not in PIPELINE_ROLES:
        raise MoveRefused(N_("Only the broker's account managers move cases."))
    if lead.in_conflict:
        raise MoveRefused(N_("Decide the attribution of this possible duplicate before working it."))
    if lead.consent.withdrawn or lead.status not in (LeadStatus.received, LeadStatus.contacted):
        raise MoveRefused(N_("Only a received or contacted lead with its consent in place becomes a case."))
    if lead.attributed_organisation_id not in (None, lead.organisation_id):
        raise MoveRefused(N_("This referral was attributed to the earlier one: open the case from the earlier "
                             "referral."))
    if session.execute(select(Case.id).where(Case.lead_id == lead.id)).first():
        raise MoveRefused(N_("This lead is already a case."))
    # Staff complete the household; the specialist-only texts are not theirs to fill here.
    _check(values, PartnerStatus.generalist_broker, now)
    check_communication_model(PartnerStatus.introducer, values.communication_model)  # the referring firm's limits
    case = Case(organisation_id=lead.organisation_id, submitted_by_id=lead.submitted_by_id,
                consent_id=lead.consent_id, lead_id=lead.id, assigned_to_id=user.id, adviser=Adviser.broker,
                **_client_and_need(values), stage_entered_at=now)
    session.add(case)
    session.flush()
    milestone = record_submission(session, case, user)
    lead.status = LEAD_LEVEL[milestone.stage]
    lead.assigned_to_id = lead.assigned_to_id or user.id
    session.flush()
    audit.record(session, "lead.converted", actor=user, subject=lead, ip=ip, case=case.public_id)
    crossborder.assess_case(session, user, case, now.date(), ip=ip)
    return case


def people_involved(session: Session, contract) -> set[int]:
    """Who worked the case a contract was placed from: whoever placed it, the account manager assigned, and every
    user who acted on the case (its audit trail). A reviewer among them is no second pair of eyes."""
    people = {contract.placed_by_id}
    case = session.get(Case, contract.case_id) if contract.case_id else None
    if case is not None:
        people |= crossborder.people_on_case(session, case)
    return {p for p in people if p is not None}

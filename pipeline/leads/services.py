"""Introducers refer consent-minimal leads. One function takes a lead in, from the form and from the API alike."""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from compliance.consent_receipts import PRIVACY_POLICY_VERSION, ConsentMethod, Purpose, controller_of
from compliance.health_data import Verdict, assess
from core import audit, subject_keys
from core.accounts import LANGUAGES, PartnerStatus, User
from core.countries import is_country
from core.db import utcnow
from core.errors import DomainError
from core.i18n import N_

from ..errors import (REASON_REQUIRED, AttributionRefused, FirmNotActive, HealthDataNotAllowed, HealthDataSuspected,
                      IdempotencyConflict, LeadRefused)
from .models import (CHOOSABLE_NEED_CATEGORIES, CONSENT_TEXT_VERSIONS, NEED_SUMMARY_MAX, Consent, Lead, NeedCategory,
                     consent_key, lead_key)

#: column lengths of what is stored normalised: match_email, and each name's share of match_name
CONTACT_LENGTHS = {"email": 254, "name": 100}
TOO_LONG_NORMALISED = N_("This is too long once its characters are written out in full (at most %(max)s).")
URGENCIES = ("asap", "within_3_months", "within_6_months", "later")
#: what a person reads for each urgency a lead's timeline can hold (otherwise it holds the target day)
URGENCY_LABELS = {"asap": N_("As soon as possible"), "within_3_months": N_("Within 3 months"),
                  "within_6_months": N_("Within 6 months"), "later": N_("Later")}
#: the consent statement the partner shows the client; a new wording is a new version
CONSENT_TEXT = N_("I agree that my name, contact details, country of residence, timeline and a short "
                  "description of my need are shared with the broker, who will contact me about international "
                  "health insurance.")
CONSENT_CC_TEXT = N_("I agree that the partner who introduced me is copied on the key steps of my file (quote, "
                     "offer, contract), without medical or price details.")


@dataclass(frozen=True)
class ConsentInput:
    share_with_broker: bool
    cc_on_milestones: bool
    text_version: str
    given_at: datetime


@dataclass(frozen=True)
class LeadInput:
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    country_of_residence: str
    timeline: str
    need_category: str
    need_summary: str | None
    language: str
    consent: ConsentInput

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, default=str).encode()).hexdigest()


# --- matching the same client referred twice ------------------------------------------------------------

def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def match_email(email: str | None) -> str | None:
    return email.strip().casefold() if email and email.strip() else None


def match_phone(phone: str | None) -> str | None:
    if not phone or not phone.strip():
        return None
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("00"):
        digits = digits[2:]
    return digits[-9:] if len(digits) >= 9 else digits or None


def match_name(first: str, last: str, country: str) -> str:
    words = sorted(re.findall(r"\w+", _fold(f"{first} {last}")))
    return f"{' '.join(words)}|{country.upper()}"


# --- validation -----------------------------------------------------------------------------------------

def _too_long(field: str, limit: int):
    return LeadRefused(TOO_LONG_NORMALISED, field=field, max=limit)


def check_contact(email: str | None, phone: str | None, *, email_field: str = "email",
                  phone_field: str = "phone") -> None:
    """How a client can be reached, the same for leads and cases: an e-mail address or a phone number, each
    well-formed, the address short enough to store once case-folded for matching ("ß" becomes "ss")."""
    if not (email or phone):
        raise LeadRefused(N_("Give an e-mail address or a phone number, so the broker can reach the client."),
                          field=email_field)
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email.strip()):
        raise LeadRefused(N_("This e-mail address is not valid."), field=email_field)
    if email and len(match_email(email)) > CONTACT_LENGTHS["email"]:
        raise _too_long(email_field, CONTACT_LENGTHS["email"])
    if phone and not re.fullmatch(r"\+?[\d\s().-]{6,24}", phone.strip()):
        raise LeadRefused(N_("This phone number is not valid."), field=phone_field)


def _check(values: LeadInput, now: datetime) -> None:
    if not values.first_name.strip() or not values.last_name.strip():
        raise LeadRefused(N_("Enter the client's first and last name."), field="last_name")
    for field in ("first_name", "last_name"):
        # the duplicate key (match_name) holds both names decomposed: U+FDFA alone becomes 18 characters
        if len(_fold(getattr(values, field))) > CONTACT_LENGTHS["name"]:
            raise _too_long(field, CONTACT_LENGTHS["name"])
    check_contact(values.email, values.phone)
    if not is_country(values.country_of_residence):
        raise LeadRefused(N_("Use an ISO 3166 two-letter country code."), field="country_of_residence")
    if values.timeline not in URGENCIES:
        try:
            target = date.fromisoformat(values.timeline)
        except ValueError:
            raise LeadRefused(N_("Give a target date (YYYY-MM-DD) or an urgency: asap, "
                                 "within_3_months, within_6_months, later."), field="timeline") from None
        if target < now.date() - timedelta(days=1):
            raise LeadRefused(N_("The target date is in the past."), field="timeline")
    if values.need_category not in {c.value for c in CHOOSABLE_NEED_CATEGORIES}:
        raise LeadRefused(N_("Choose the kind of need."), field="need_category")
    if len((values.need_summary or "").strip()) > NEED_SUMMARY_MAX:
        raise LeadRefused(N_("Keep the note to %(max)s characters."), field="need_summary", max=NEED_SUMMARY_MAX)
    if values.language not in LANGUAGES:
        raise LeadRefused(N_("Choose one of the portal's languages."), field="language")
    check_consent(values.consent, now)


def check_consent(consent: ConsentInput, now: datetime) -> None:
    """The same rule for leads and cases: no consent to share with the broker, nothing is taken in."""
    if not consent.share_with_broker:
        raise LeadRefused(N_("No consent, no lead: the client must agree that their details are "
                             "shared with the broker."), field="consent")
    if consent.text_version not in CONSENT_TEXT_VERSIONS:
        raise LeadRefused(N_("Unknown consent text version."), field="consent")
    if consent.given_at.tzinfo is None or consent.given_at > now + timedelta(minutes=5):
        raise LeadRefused(N_("The consent date must be a past time with a time zone."), field="consent")


def new_consent(session: Session, user: User, consent: ConsentInput, language: str, *, jurisdiction: str,
                method: ConsentMethod, special_category: bool = False) -> Consent:
    """The consent receipt a partner captured with a lead or a case."""
    purposes = [Purpose.share_with_broker.value] + ([Purpose.cc_on_milestones.value] if consent.cc_on_milestones
                                                    else [])
    return Consent(organisation_id=user.organisation_id, captured_by_id=user.id, share_with_broker=True,
                   cc_on_milestones=consent.cc_on_milestones, text_version=consent.text_version,
                   language=language, given_at=consent.given_at, collection_method=method,
                   jurisdiction=jurisdiction, purposes=purposes, policy_version=PRIVACY_POLICY_VERSION,
                   controller=controller_of(session), special_category=special_category)


# --- the operation --------------------------------------------------------------------------------------

def submit_lead(session: Session, user: User, values: LeadInput, *, idempotency_key: str | None = None,
                ip: str | None = None, now: datetime | None = None,
                method: ConsentMethod = ConsentMethod.partner_form) -> tuple[Lead, bool]:
    """(lead, created). A retried request with the same Idempotency-Key returns the first lead; the same key
    with different content is refused. `method`: how the partner collected the consent (form or API)."""
    now = now or utcnow()
    org = user.organisation
    if org is None or org.status is not PartnerStatus.introducer:
        raise FirmNotActive(N_("Only introducer firms refer leads; brokers submit cases."))
    if not org.may_do_business:
        raise FirmNotActive(N_("Your firm cannot submit new business: it has no active agreement."))
    fingerprint = values.fingerprint()
    if idempotency_key:
        existing = session.execute(select(Lead).where(Lead.organisation_id == org.id,
                                                      Lead.idempotency_key == idempotency_key)).scalar_one_or_none()
        if existing is not None:
            if existing.request_fingerprint != fingerprint:
                raise IdempotencyConflict(N_("This Idempotency-Key was already used for a different lead."))
            return existing, False
    _check(values, now)
    note = (values.need_summary or "").strip() or None
    _screen(note or "")
    consent = new_consent(session, user, values.consent, values.language,
                          jurisdiction=values.country_of_residence, method=method)
    lead = Lead(organisation_id=org.id, submitted_by_id=user.id, consent=consent,
                first_name=values.first_name.strip(), last_name=values.last_name.strip(),
                email=(values.email or "").strip() or None, phone=(values.phone or "").strip() or None,
                country_of_residence=values.country_of_residence, timeline=values.timeline,
                need_category=NeedCategory(values.need_category), need_summary=note, language=values.language,
                idempotency_key=idempotency_key, request_fingerprint=fingerprint,
                match_email=match_email(values.email), match_phone=match_phone(values.phone),
                match_name=match_name(values.first_name, values.last_name, values.country_of_residence))
    lead.possible_duplicate_of = _earlier_referral(session, lead)
    lead.attributed_organisation_id = None if lead.possible_duplicate_of else org.id
    session.add(lead)
    session.flush()
    audit.record(session, "lead.submitted", actor=user, subject=lead, ip=ip, organisation=org.public_id,
                 possible_duplicate=lead.possible_duplicate_of.public_id if lead.possible_duplicate_of else None)
    return lead, True


def _screen(note: str) -> None:
    """Refuse a note with health data, or one the screen is unsure about; a clean note passes."""
    assessment = assess(note)
    if assessment.verdict is Verdict.health_data:
        raise HealthDataNotAllowed(assessment.categories)
    if assessment.verdict is Verdict.unsure:
        raise HealthDataSuspected(assessment.categories)


def _earlier_referral(session: Session, lead: Lead) -> Lead | None:
    """The first lead for the same client (same e-mail, phone, or name and country), whoever referred it."""
    conditions = [Lead.match_name == lead.match_name]
    if lead.match_email:
        conditions.append(Lead.match_email == lead.match_email)
    if lead.match_phone:
        conditions.append(Lead.match_phone == lead.match_phone)
    return session.execute(select(Lead).where(or_(*conditions)).order_by(Lead.id).limit(1)).scalar_one_or_none()


def record_refusal(session: Session, user: User, categories: list[str], ip: str | None) -> None:
    """Compliance sees that medical content was refused — which kinds, not the text, which is never stored."""
    # compliance.figures.HEALTH_REFUSAL, written out: the audit-label check reads the action from the call
    audit.record(session, "lead.health_data_refused", actor=user, ip=ip,
                 organisation=user.organisation.public_id if user.organisation else None, categories=categories)


def keep_refusal_trace(session: Session, user: User, refusal: DomainError, ip: str | None) -> None:
    """What stays of a refused referral once its transaction is rolled back: for medical content, which kinds
    were refused (record_refusal); for any other refusal, nothing."""
    if isinstance(refusal, HealthDataNotAllowed):
        record_refusal(session, user, refusal.categories, ip)


def claim(session: Session, user: User, lead: Lead) -> None:
    """An account manager takes the lead; a lead in the conflict queue waits for its attribution first."""
    if lead.in_conflict:
        raise AttributionRefused(N_("Decide the attribution of this possible duplicate before working it."))
    lead.assigned_to_id = user.id
    session.flush()
    audit.record(session, "lead.claimed", actor=user, subject=lead)


def decide_attribution(session: Session, user: User, lead: Lead, *, to_earlier: bool, reason: str,
                       ip: str | None = None) -> None:
    """Which referral counts for this client, and so whose agreement pays the commission."""
    from .models import AttributionDecision, LeadStatus

    reason = (reason or "").strip()
    if len(reason) < 10:
        raise AttributionRefused(REASON_REQUIRED, field="reason")
    if not lead.in_conflict:
        raise AttributionRefused(N_("This lead has no attribution to decide."))
    earlier = lead.possible_duplicate_of
    winner = earlier.organisation_id if to_earlier else lead.organisation_id
    session.add(AttributionDecision(lead_id=lead.id, earlier_lead_id=earlier.id, attributed_organisation_id=winner,
                                    reason=reason, decided_by_id=user.id))
    lead.attributed_organisation_id = winner
    lead.attribution_decided = True
    if to_earlier:
        # the earlier referral is the one worked; this one is closed, and its referrer sees it not pursued
        lead.status = LeadStatus.not_pursued
    session.flush()
    audit.record(session, "lead.attribution_decided", actor=user, subject=lead, ip=ip,
                 earlier=earlier.public_id, attributed_to="earlier" if to_earlier else "this",
                 personal={"reason": reason}, personal_key=lead_key(lead.public_id))


WITHDRAWAL_SCOPES = ("cc_on_milestones", "all")


def record_withdrawal(session: Session, user: User, consent: Consent, *, scope: str, reason: str) -> None:
    """The rule for every consent (leads and cases): a known scope, a recorded reason, once."""
    from .models import ConsentWithdrawal

    if scope not in WITHDRAWAL_SCOPES:
        raise AttributionRefused(N_("Choose what the client withdraws."), field="scope")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise AttributionRefused(REASON_REQUIRED, field="reason")
    scopes = {w.scope for w in consent.withdrawals}
    if "all" in scopes or scope in scopes or (scope == "cc_on_milestones" and not consent.cc_on_milestones):
        raise AttributionRefused(N_("This consent was already withdrawn."))
    consent.withdrawals.append(ConsentWithdrawal(
        scope=scope, recorded_by_id=user.id,
        reason_sealed=subject_keys.seal(session, consent_key(consent.public_id), reason)))
    session.flush()


def set_status(session: Session, user: User, lead: Lead, status, *, ip: str | None = None) -> None:
    """Before a lead becomes a case, the account manager records that the client was contacted, or that the
    referral is not pursued. Later progress comes from the case."""
    from .models import LeadStatus

    allowed = {LeadStatus.received: (LeadStatus.contacted, LeadStatus.not_pursued),
               LeadStatus.contacted: (LeadStatus.not_pursued,)}
    if lead.in_conflict:
        raise AttributionRefused(N_("Decide the attribution of this possible duplicate before working it."))
    if status not in allowed.get(lead.status, ()):
        raise AttributionRefused(N_("This lead cannot move to that status."))
    previous = lead.status
    lead.status = status
    lead.assigned_to_id = lead.assigned_to_id or user.id
    session.flush()
    audit.record(session, "lead.status_changed", actor=user, subject=lead, ip=ip, **{"from": previous.value,
                                                                                    "to": status.value})

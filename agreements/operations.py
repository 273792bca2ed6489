"""The agreement lifecycle: prepare → schedule → send → partner signs → broker countersigns → sealed and
active → superseded or terminated. Operations take a session and values, flush, audit, and never commit."""
from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency, format_percent, get_currency_precision, list_currencies
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.i18n import N_
from core.outbox import enqueue_job
from core.partners import Lifecycle
from core.products import PARTNER_LINES, ProductLine

from . import rendering, templates
from .errors import AlreadySigned, ApprovalRequired, DocumentChanged, NameMismatch, ScheduleInvalid, WrongState
from .models import Agreement, AgreementKind, AgreementStatus, CommissionRule, PaymentTermsBasis, Signature, SignerParty
from .sealing import SealConfig, seal

SEAL_JOB = "agreements.seal"
OPEN_STATUSES = (AgreementStatus.draft, AgreementStatus.sent, AgreementStatus.partner_signed,
                 AgreementStatus.countersigned)


@dataclass(frozen=True)
class BrokerIdentity:
    name: str
    #: e.g. "ORIAS 07000001"
    registration: str


@dataclass(frozen=True)
class RuleValues:
    product_line: ProductLine
    first_year_rate: Decimal = Decimal("0")
    renewal_rate: Decimal = Decimal("0")
    one_off_fee_minor: int = 0
    currency: str = "EUR"
    clawback_days: int = 365
    payment_terms_days: int = 30
    payment_terms_basis: PaymentTermsBasis = PaymentTermsBasis.statement_month_end


def default_rules(kind: AgreementKind) -> list[RuleValues]:
    if kind is AgreementKind.introduction:
        # A one-off fee per placed contract: recurring pay to a non-broker is a known regulatory risk.
        return [RuleValues(line, one_off_fee_minor=15000) for line in PARTNER_LINES]
    return [RuleValues(line, first_year_rate=Decimal("0.3000"), renewal_rate=Decimal("0.1500"))
            for line in PARTNER_LINES]


def kind_for(status) -> AgreementKind:
    return AgreementKind.collaboration if status.is_broker else AgreementKind.introduction


# --- preparing and scheduling --------------------------------------------------------------------------

def prepare_agreement(session: Session, actor, organisation, *, effective_from: date,
                      language: str | None = None) -> Agreement:
    if organisation.lifecycle not in (Lifecycle.approved, Lifecycle.active):
        raise WrongState(N_("An agreement can be prepared only for an approved or active partner firm."))
    open_one = session.execute(select(Agreement).where(
        Agreement.organisation_id == organisation.id, Agreement.status.in_(OPEN_STATUSES))).scalars().first()
    if open_one is not None:
        raise WrongState(N_("This firm already has an agreement in preparation (%(reference)s)."),
                         reference=open_one.reference)
    kind = kind_for(organisation.status)
    version = templates.latest_version(kind.value)
    available = templates.languages_for(kind.value, version)
    wanted = [language] if language else list(organisation.languages or [])
    chosen = next((lang for lang in wanted if lang in available), "en")
    agreement = Agreement(reference=f"AGR-{effective_from.year}-{uuid.uuid4().hex[:6].upper()}",
                          organisation=organisation, kind=kind, template_version=version, language=chosen,
                          status=AgreementStatus.draft, effective_from=effective_from,
                          created_by_id=getattr(actor, "id", None), terms={})
    session.add(agreement)
    _replace_rules(agreement, default_rules(kind))
    session.flush()
    audit.record(session, "agreement.prepared", actor=actor, subject=agreement, kind=kind.value,
                 organisation=organisation.public_id, language=chosen, template_version=version)
    return agreement


def _replace_rules(agreement: Agreement, rules: list[RuleValues], session: Session | None = None) -> None:
    agreement.rules.clear()
    if session is not None:
        session.flush()  # delete the old lines first: a product line is unique per agreement
    for r in rules:
        agreement.rules.append(CommissionRule(
            product_line=r.product_line, first_year_rate=r.first_year_rate, renewal_rate=r.renewal_rate,
            one_off_fee_minor=r.one_off_fee_minor, currency=r.currency, clawback_days=r.clawback_days,
            payment_terms_days=r.payment_terms_days, payment_terms_basis=r.payment_terms_basis))


def _check_rules(rules: list[RuleValues]) -> None:
    if not rules:
        raise ScheduleInvalid(N_("The schedule needs at least one product line."))
    lines = [r.product_line for r in rules]
    if len(set(lines)) != len(lines):
        raise ScheduleInvalid(N_("Each product line may appear only once in the schedule."))
    for r in rules:
        if not (Decimal("0") <= r.first_year_rate <= 1 and Decimal("0") <= r.renewal_rate <= 1):
            raise ScheduleInvalid(N_("Rates are between 0% and 100%."))
        if r.one_off_fee_minor < 0:
            raise ScheduleInvalid(N_("A fee cannot be negative."))
        if not (re.fullmatch(r"[A-Z]{3}", r.currency or "") and r.currency in list_currencies()):
            raise ScheduleInvalid(N_("Use a three-letter ISO 4217 currency code."))
        if not (0 <= r.clawback_days <= 1095 and 0 <= r.payment_terms_days <= 180):
            raise ScheduleInvalid(N_("The clawback window is 0 to 1095 days and payment terms 0 to 180 days."))
        if r.first_year_rate == 0 and r.renewal_rate == 0 and r.one_off_fee_minor == 0:
            raise ScheduleInvalid(N_("Each line needs a rate or a fee: a commission is due on every placed contract."))


def set_schedule(session: Session, actor, agreement: Agreement, rules: list[RuleValues]) -> Agreement:
    if agreement.status is not AgreementStatus.draft:
        raise WrongState(N_("The schedule can be changed only while the agreement is a draft."))
    _check_rules(rules)
    _replace_rules(agreement, rules, session)
    # A changed schedule needs a fresh decision if it is recurring.
    agreement.recurring_approved_by_id = None
    agreement.recurring_approval_reason = None
    session.flush()
    audit.record(session, "agreement.schedule_set", actor=actor, subject=agreement,
                 lines=[{"product_line": r.product_line.value, "first_year_rate": str(r.first_year_rate),
                         "renewal_rate": str(r.renewal_rate), "one_off_fee_minor": r.one_off_fee_minor,
                         "currency": r.currency, "payment_terms_days": r.payment_terms_days,
                         "payment_terms_basis": r.payment_terms_basis.value} for r in rules])
    return agreement


def needs_recurring_approval(agreement: Agreement) -> bool:
    return (agreement.kind is AgreementKind.introduction and agreement.has_recurring_commission
            and agreement.recurring_approved_by_id is None)


def approve_recurring(session: Session, actor, agreement: Agreement, reason: str, *, now: datetime | None = None):
    from compliance.models import Review, ReviewDecision, ReviewKind

    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ScheduleInvalid(N_("Give the reason for the approval (at least 10 characters)."), field="reason")
    if (agreement.status is not AgreementStatus.draft or agreement.kind is not AgreementKind.introduction
            or not agreement.has_recurring_commission):
        raise WrongState(N_("Only a draft introduction agreement with a recurring schedule needs this approval."))
    agreement.recurring_approved_by_id = actor.id
    agreement.recurring_approval_reason = reason
    session.add(Review(kind=ReviewKind.recurring_introducer_commission, organisation_id=agreement.organisation_id,
                       subject_ref=f"agreement:{agreement.public_id}", decision=ReviewDecision.approved,
                       reason=reason, reviewer_id=actor.id, decided_at=now or utcnow()))
    session.flush()
    audit.record(session, "agreement.recurring_approved", actor=actor, subject=agreement, reason=reason)


# --- the document ---------------------------------------------------------------------------------------

def snapshot_terms(organisation, broker: BrokerIdentity) -> dict:
    """What the document says about the parties, frozen when it is sent."""
    return {
        "broker_name": broker.name, "broker_registration": broker.registration,
        "partner_name": organisation.legal_name, "partner_status": organisation.status.value,
        "partner_country": organisation.country, "zones": list(organisation.zones or []),
        "register": organisation.register.value if organisation.register else None,
        "registration_number": organisation.registration_number, "company_number": organisation.company_number,
        "communication_model": organisation.communication_model.value,
        "cc_key_communications": bool(organisation.cc_key_communications),
    }


REGISTER_NAMES = {"orias": "ORIAS", "fca": "FCA", "ivass_rui": "IVASS RUI", "dgsfp": "DGSFP", "other": None}


def _money(minor: int, currency: str, language: str) -> str:
    digits = get_currency_precision(currency)
    return format_currency(Decimal(minor).scaleb(-digits), currency, locale=language)


def build_document(agreement: Agreement) -> templates.RenderedTemplate:
    terms = agreement.terms
    lang = agreement.language
    locale = Locale.parse(lang)
    labels = {**templates.load_labels(lang),
              **templates.template_labels(agreement.kind.value, agreement.template_version, lang)}
    register = REGISTER_NAMES.get(terms.get("register") or "") or terms.get("register")
    if terms.get("registration_number"):
        partner_registration = labels["registration"].format(register=register or "—",
                                                             number=terms["registration_number"])
    else:
        partner_registration = labels["not_registered"]
    context = {
        "reference": agreement.reference, "template_version": agreement.template_version,
        "effective_date": agreement.effective_from.isoformat(),
        "broker_name": terms["broker_name"], "broker_registration": terms["broker_registration"],
        "partner_name": terms["partner_name"], "partner_registration": partner_registration,
        "partner_country": locale.territories.get(terms["partner_country"], terms["partner_country"]),
        "partner_status": labels[f"status_{terms['partner_status']}"],
        "zones": ", ".join(locale.territories.get(z, z) for z in terms["zones"]) or labels["none"],
        "communication_model": labels[f"model_{terms['communication_model']}"],
        "cc_arrangement": labels["cc_yes" if terms["cc_key_communications"] else "cc_no"],
        "governing_language": locale.languages.get(lang, lang),
        # templates from 2027-01 name the party that advises the partner's clients (recorded on each case)
        "adviser": labels.get(f"adviser_{terms['partner_status']}", ""),
        # templates from 2026-12 state each line's payment terms and what they count from
        "payment_terms": "; ".join(
            f"{labels[f'product_{r.product_line.value}']}: "
            f"{labels[f'terms_{r.payment_terms_basis.value}'].format(n=r.payment_terms_days)}" for r in agreement.rules),
    }
    days = labels["days"]
    schedule = [[labels["col_product"], labels["col_first_year"], labels["col_renewal"], labels["col_fee"],
                 labels["col_clawback"], labels["col_terms"]]]
    for rule in agreement.rules:
        schedule.append([
            labels[f"product_{rule.product_line.value}"],
            format_percent(rule.first_year_rate, "#,##0.##%", locale=lang) if rule.first_year_rate else labels["none"],
            format_percent(rule.renewal_rate, "#,##0.##%", locale=lang) if rule.renewal_rate else labels["none"],
            _money(rule.one_off_fee_minor, rule.currency, lang) if rule.one_off_fee_minor else labels["none"],
            days.format(n=rule.clawback_days), days.format(n=rule.payment_terms_days),
        ])
    partner_label = labels["party_introducer" if agreement.kind is AgreementKind.introduction else "party_partner"]
    party_rows = [[labels["party_broker"], f"{terms['broker_name']} — {terms['broker_registration']}"],
                  [partner_label, f"{terms['partner_name']} — {partner_registration}"]]
    return templates.parse(agreement.kind.value, agreement.template_version, lang, context,
                           party_rows=party_rows, schedule_rows=schedule, reference=agreement.reference,
                           signatories=[(labels["party_broker"], terms["broker_name"]),
                                        (partner_label, terms["partner_name"])])


def render_for_review(agreement: Agreement, broker: BrokerIdentity) -> bytes:
    """A draft's PDF as it would be sent (terms taken from the firm now); nothing is stored."""
    if agreement.status is AgreementStatus.draft:
        agreement.terms = snapshot_terms(agreement.organisation, broker)
    return rendering.render(build_document(agreement))


def send_for_signature(session: Session, actor, agreement: Agreement, broker: BrokerIdentity,
                       *, now: datetime | None = None) -> Agreement:
    if agreement.status is not AgreementStatus.draft:
        raise WrongState(N_("Only a draft can be sent for signature."))
    if agreement.organisation.lifecycle not in (Lifecycle.approved, Lifecycle.active):
        raise WrongState(N_("An agreement can be prepared only for an approved or active partner firm."))
    _check_rules([RuleValues(r.product_line, r.first_year_rate, r.renewal_rate, r.one_off_fee_minor, r.currency,
                             r.clawback_days, r.payment_terms_days, r.payment_terms_basis) for r in agreement.rules])
    if needs_recurring_approval(agreement):
        raise ApprovalRequired(N_("A recurring commission for an introducer needs a compliance approval first."))
    agreement.terms = snapshot_terms(agreement.organisation, broker)
    pdf = rendering.render(build_document(agreement))
    agreement.document_pdf, agreement.document_sha256 = pdf, rendering.sha256(pdf)
    agreement.status, agreement.sent_at = AgreementStatus.sent, now or utcnow()
    session.flush()
    audit.record(session, "agreement.sent", actor=actor, subject=agreement, document_sha256=agreement.document_sha256)
    return agreement


# --- signing --------------------------------------------------------------------------------------------

def same_name(a: str, b: str) -> bool:
    """The same name typed, whatever the spacing, case or composition of accents."""
    def norm(s):
        # Keyboards and browsers produce composed or decomposed accents: compare the same text the same way.
        return " ".join(unicodedata.normalize("NFKC", s or "").split()).casefold()

    return norm(a) == norm(b) and bool(norm(a))


def sign(session: Session, agreement: Agreement, user, *, party: SignerParty, typed_name: str, shown_sha256: str,
         ip: str, user_agent: str, now: datetime | None = None) -> Signature:
    """Record one party's signature on exactly the document it was shown."""
    expected = AgreementStatus.sent if party is SignerParty.partner else AgreementStatus.partner_signed
    if any(s.user_id == user.id for s in agreement.signatures) or agreement.signature_by(party):
        raise AlreadySigned(N_("This agreement already carries this signature."))
    entitled = (user.is_partner and user.organisation_id == agreement.organisation_id
                if party is SignerParty.partner else user.is_staff)
    if not entitled:
        raise WrongState(N_("You may not sign this agreement for this party."))
    if agreement.status is not expected:
        raise WrongState(N_("This agreement cannot be signed now (it is %(status)s)."),
                         status=agreement.status.value)
    if shown_sha256 != agreement.document_sha256:
        raise DocumentChanged(N_("The document changed since you opened it. Reload it, read it again, then sign."))
    if not same_name(typed_name, user.full_name):
        raise NameMismatch(N_("Type your full name exactly as it appears on your account: %(name)s."),
                           field="typed_name", name=user.full_name)
    signature = Signature(agreement=agreement, user_id=user.id, party=party, typed_name=" ".join(typed_name.split()),
                          signed_at=now or utcnow(), ip=(ip or "unknown")[:64],
                          user_agent=(user_agent or "unknown")[:512], document_sha256=shown_sha256)
    session.add(signature)
    if party is SignerParty.partner:
        agreement.status = AgreementStatus.partner_signed
    else:
        agreement.status = AgreementStatus.countersigned
        # Sealing runs in the worker: a crash here or there leaves a job that is retried, never a
        # half-sealed file served as final.
        enqueue_job(session, SEAL_JOB, agreement=agreement.public_id)
    session.flush()
    audit.record(session, f"agreement.signed_{party.value}", actor=user, subject=agreement, ip=ip,
                 typed_name=signature.typed_name, document_sha256=shown_sha256)
    return signature


# --- sealing and activation -----------------------------------------------------------------------------

def audit_info(agreement: Agreement, labels: dict) -> rendering.AuditInfo:
    shared = templates.load_labels(agreement.language)
    partner_label = shared["party_introducer" if agreement.kind is AgreementKind.introduction else "party_partner"]
    return rendering.AuditInfo(
        heading=labels["audit"], labels=labels, template_version=agreement.template_version,
        document_sha256=agreement.document_sha256,
        signatures=[rendering.SignatureLine(
            role_label=shared["party_broker"] if s.party is SignerParty.broker else partner_label,
            party=agreement.terms["broker_name"] if s.party is SignerParty.broker else agreement.terms["partner_name"],
            signer_name=f"{s.user.full_name} <{s.user.email}>", typed_name=s.typed_name, signed_at=s.signed_at,
            ip=s.ip, user_agent=s.user_agent, document_sha256=s.document_sha256) for s in agreement.signatures])


def finalise(session: Session, agreement: Agreement, seal_config: SealConfig, *,
             now: datetime | None = None) -> Agreement:
    """Render the final document with its audit page, seal it, and make the agreement active."""
    if agreement.status is AgreementStatus.active:
        return agreement  # a retried job after success changes nothing
    if agreement.status is not AgreementStatus.countersigned:
        raise WrongState(N_("Only a countersigned agreement can be sealed."))
    now = now or utcnow()
    document = build_document(agreement)
    final = rendering.render(document, audit_info(agreement, document.labels))
    sealed = seal(final, seal_config, reason=f"{agreement.reference} sealed by {agreement.terms['broker_name']}")
    agreement.sealed_pdf, agreement.sealed_sha256 = sealed, rendering.sha256(sealed)
    agreement.sealed_with_timestamp = bool(seal_config.tsa_url)
    agreement.seal_error = None
    _supersede_previous(session, agreement, now)
    agreement.status, agreement.activated_at = AgreementStatus.active, now
    _activate_firm(agreement.organisation)
    session.flush()
    audit.record(session, "agreement.activated", actor=None, subject=agreement,
                 sealed_sha256=agreement.sealed_sha256, timestamped=agreement.sealed_with_timestamp)
    return agreement


def record_seal_failure(session: Session, agreement: Agreement, error: str) -> None:
    agreement.seal_error = error[:2000]
    session.flush()


def _supersede_previous(session: Session, agreement: Agreement, now: datetime) -> None:
    previous = session.execute(select(Agreement).where(
        Agreement.organisation_id == agreement.organisation_id, Agreement.status == AgreementStatus.active,
        Agreement.id != agreement.id)).scalars().all()
    for old in previous:
        old.status, old.ended_at = AgreementStatus.superseded, now
        old.effective_to = agreement.effective_from - timedelta(days=1)
        old.end_reason = f"superseded by {agreement.reference}"
        agreement.supersedes = old
        audit.record(session, "agreement.superseded", actor=None, subject=old, by=agreement.public_id)


def _activate_firm(organisation) -> None:
    if organisation.lifecycle is Lifecycle.approved:
        organisation.lifecycle = Lifecycle.active


def terminate(session: Session, actor, agreement: Agreement, *, reason: str, last_day: date,
              now: datetime | None = None) -> Agreement:
    if agreement.status is not AgreementStatus.active:
        raise WrongState(N_("Only an active agreement can be terminated."))
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ScheduleInvalid(N_("Give the reason for the termination (at least 10 characters)."), field="reason")
    agreement.status, agreement.ended_at, agreement.end_reason = AgreementStatus.terminated, now or utcnow(), reason
    agreement.effective_to = max(last_day, agreement.effective_from)
    agreement.organisation.lifecycle = Lifecycle.terminated
    session.flush()
    audit.record(session, "agreement.terminated", actor=actor, subject=agreement, reason=reason,
                 last_day=agreement.effective_to.isoformat())
    return agreement

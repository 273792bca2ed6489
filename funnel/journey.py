"""The volunteer's journey, steps 1 to 4: the personal link that opens their area with no password, the quote
they choose, the adhesion they fill in, and its e-signature with a one-time code (sealed like agreements).

- `issue_link` / `open_link` / `volunteer_of_link`: an expiring, single-purpose token; only its SHA-256 is kept.
- `save_quote`: the covers, formulas and persons chosen, priced by funnel.quotes and kept as a Subscription.
- `start_adhesion`: identity, contact, beneficiaries and start date confirmed; the adhesion document fixed.
  `terms_sent` ties the e-mail carrying the contract terms and the model withdrawal letter (the durable
  medium) to it: the 14-day withdrawal period runs from that e-mail's delivery.
- `send_signature_code` / `sign_adhesion`: the typed name and the e-mailed code sign exactly the document
  shown; the signed copy gets an evidence page and the broker's seal (agreements.sealing).
- `sealed_adhesion`: the verification lookup (/verify) for sealed adhesions.

Every operation takes the session and values, flushes, never commits, and records its audit event and funnel
event. Texts of documents are msgids translated by the `translate` callable the caller passes.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from agreements import rendering
from agreements.operations import same_name
from agreements.sealing import SealConfig, seal
from agreements.templates import RenderedTemplate, Section
from agreements.verification import Verdict
from compliance.consent_receipts import PRIVACY_POLICY_VERSION, ConsentMethod, Purpose
from core import audit
from core.db import new_secret, utcnow
from core.i18n import N_

from . import rules
from .catalogue import FORMULA_LABELS, Cover, Guarantee, PersonCategory
from .eligibility import Confirmation, Relationship, confirmations_for, eligibility_problems
from .errors import DependantNotEligible, FunnelError, QuoteRefused
from .models import (AccessLink, AdhesionSignature, Dependant, FunnelStage, SignatureCode, Subscription,
                     SubscriptionState, Volunteer, volunteer_key)
from .quotes import Quote, quote_for_volunteer
from .tracking import record_funnel_event
from pipeline.leads.models import Consent

LINK_PURPOSE = "volunteer_area"
DEFAULT_LINK_DAYS = 30
CODE_MINUTES = 10
CODE_ATTEMPTS = 5
WITHDRAWAL_DAYS = 14
OPEN_STATES = (SubscriptionState.quoted, SubscriptionState.adhesion_started)
TEMPLATE_VERSION = "adhesion-2026-1"

Translate = Callable[[str], str]


class LinkInvalid(FunnelError):
    code = "link_invalid"
    status = 404
    message = N_("This link is not valid, or it has expired. Ask for a new one.")


class WrongStep(FunnelError):
    code = "wrong_step"
    status = 409


class AlreadySigned(WrongStep):
    code = "already_signed"
    message = N_("This adhesion is already signed.")


class CodeRefused(FunnelError):
    code = "code_refused"
    field = "code"


class AdhesionRefused(FunnelError):
    code = "adhesion_refused"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# --- the personal link -------------------------------------------------------------------------------------------

def issue_link(session: Session, volunteer: Volunteer, *, actor=None, days: int = DEFAULT_LINK_DAYS,
               now: datetime | None = None) -> tuple[AccessLink, str]:
    """A new personal link for `volunteer` (the raw token, to send, is returned once and never stored)."""
    if days < 1:
        raise ValueError("a link lasts at least a day")
    raw = new_secret(32)
    link = AccessLink(volunteer=volunteer, token_hash=hash_token(raw), purpose=LINK_PURPOSE,
                      expires_at=(now or utcnow()) + timedelta(days=days),
                      issued_by_id=getattr(actor, "id", None))
    session.add(link)
    session.flush()
    audit.record(session, "volunteer.link_issued", actor=actor, subject=volunteer, link=link.public_id,
                 expires_at=link.expires_at.isoformat())
    return link, raw


def _usable(link: AccessLink | None, now: datetime) -> bool:
    return (link is not None and link.purpose == LINK_PURPOSE and link.revoked_at is None
            and link.expires_at > now)


def open_link(session: Session, raw: str, *, now: datetime | None = None) -> AccessLink:
    """The link this token is, if it can still be used (LinkInvalid otherwise); records that it was opened."""
    now = now or utcnow()
    if not raw or len(raw) > 128:
        raise LinkInvalid()
    link = session.scalars(select(AccessLink).where(AccessLink.token_hash == hash_token(raw))).first()
    if not _usable(link, now):
        raise LinkInvalid()
    if link.first_opened_at is None:
        link.first_opened_at = now
    record_funnel_event(session, link.volunteer, FunnelStage.link_opened, subject=link.public_id, at=now)
    return link


def volunteer_of_link(session: Session, link_public_id: str, *, now: datetime | None = None) -> Volunteer | None:
    """The volunteer a signed-in link (its public id, kept in the session) speaks for, while it is valid."""
    link = session.scalars(select(AccessLink).where(AccessLink.public_id == link_public_id)).first()
    return link.volunteer if _usable(link, now or utcnow()) else None


# --- the quote ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DependantChoice:
    """A dependant the volunteer wants covered, with the answers to their eligibility confirmations."""

    dependant: Dependant
    relationship: Relationship | None = None
    answers: Mapping[Confirmation, bool] = field(default_factory=dict)


def dependant_field(dependant: Dependant) -> str:
    """The prefix of a dependant's fields in the quote form (and in the errors about them)."""
    return f"d_{dependant.public_id}_"


def _check_dependants(chosen: Sequence[DependantChoice]) -> None:
    problems = {}
    for choice in chosen:
        problems.update(eligibility_problems(choice.dependant.category, choice.relationship, choice.answers,
                                             prefix=dependant_field(choice.dependant)))
    if problems:
        raise DependantNotEligible(N_("Some of the people chosen cannot be covered under the programme's "
                                      "rules."), fields=problems)


def price(session: Session, volunteer: Volunteer, choices: Mapping[Cover, str],
          chosen: Sequence[DependantChoice], *, today: date, start_on: date | None = None) -> Quote:
    """The quote for this choice (eligibility of each dependant checked first)."""
    _check_dependants(chosen)
    return quote_for_volunteer(session, volunteer, choices, subscribed_on=today,
                               dependants=[c.dependant for c in chosen], start_on=start_on)


def _persons(volunteer: Volunteer, chosen: Sequence[DependantChoice]) -> list[dict]:
    return [{"category": PersonCategory.volunteer.value, "ref": volunteer.public_id, "relationship": None,
             "confirmations": {}}] + [
        {"category": c.dependant.category.value, "ref": c.dependant.public_id,
         "relationship": c.relationship.value if c.relationship else None,
         "confirmations": {k.value: bool(c.answers.get(k)) for k in
                           confirmations_for(c.dependant.category, c.relationship)}} for c in chosen]


def _apply_quote(subscription: Subscription, quote: Quote) -> None:
    subscription.quote = quote.as_record()
    subscription.zone = quote.zone
    subscription.monthly_total_minor = quote.monthly_total.minor
    subscription.currency = quote.monthly_total.currency
    subscription.subscribed_on = quote.subscribed_on
    subscription.start_on = quote.start_on
    subscription.ends_on = quote.ends_on
    subscription.commitment_ends_on = max(c.commitment_ends_on for c in quote.covers)


def open_subscription(session: Session, volunteer: Volunteer) -> Subscription | None:
    """The volunteer's subscription still being chosen or filled in, if any."""
    return session.scalars(select(Subscription).where(Subscription.volunteer_id == volunteer.id,
                                                      Subscription.state.in_(OPEN_STATES))
                           .order_by(Subscription.id.desc())).first()


def signed_subscription(session: Session, volunteer: Volunteer) -> Subscription | None:
    return session.scalars(select(Subscription).where(
        Subscription.volunteer_id == volunteer.id,
        Subscription.state.not_in((*OPEN_STATES, SubscriptionState.withdrawn, SubscriptionState.closed)))
        .order_by(Subscription.id.desc())).first()


def save_quote(session: Session, volunteer: Volunteer, choices: Mapping[Cover, str],
               chosen: Sequence[DependantChoice], *, today: date, language: str,
               now: datetime | None = None) -> Subscription:
    """Keep the quote the volunteer chose (replacing the one still open, if any) as their subscription."""
    if signed_subscription(session, volunteer) is not None:
        raise WrongStep(N_("You already signed an adhesion: it is shown in your area."))
    quote = price(session, volunteer, choices, chosen, today=today)
    subscription = open_subscription(session, volunteer)
    if subscription is None:
        subscription = Subscription(volunteer=volunteer, reference=f"ADH-{today.year}-{secrets.token_hex(5).upper()}")
        session.add(subscription)
    subscription.state = SubscriptionState.quoted
    subscription.language = language
    subscription.choices = {cover.value: formula for cover, formula in choices.items()}
    subscription.persons = _persons(volunteer, chosen)
    subscription.document_pdf = subscription.document_sha256 = None
    subscription.updated_at = now or utcnow()
    _apply_quote(subscription, quote)
    session.flush()
    for cover in quote.covers:
        record_funnel_event(session, volunteer, FunnelStage.quoted, cover=cover.cover, zone=quote.zone,
                            subject=subscription.public_id, at=now)
    audit.record(session, "subscription.quoted", subject=subscription, volunteer=volunteer.public_id,
                 monthly_total=subscription.monthly_total_minor)
    return subscription


def chosen_dependants(subscription: Subscription) -> list[DependantChoice]:
    """The dependants the subscription covers, with the answers given when it was quoted."""
    by_ref = {d.public_id: d for d in subscription.volunteer.current_dependants}
    out = []
    for person in subscription.persons[1:]:
        dependant = by_ref.get(person["ref"])
        if dependant is None:
            raise WrongStep(N_("Your declared family changed since the quote: choose again."))
        out.append(DependantChoice(dependant, Relationship(person["relationship"]) if person["relationship"] else None,
                                   {Confirmation(k): v for k, v in person["confirmations"].items()}))
    return out


def current_quote(session: Session, subscription: Subscription, *, today: date,
                  start_on: date | None = None) -> Quote:
    return price(session, subscription.volunteer, {Cover(c): f for c, f in subscription.choices.items()},
                 chosen_dependants(subscription), today=today, start_on=start_on)


# --- the adhesion ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Holder:
    first_name: str
    last_name: str
    email: str
    phone: str
    address: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def _require_state(subscription: Subscription, *states: SubscriptionState) -> None:
    if subscription.state in (SubscriptionState.signed, SubscriptionState.payment_pending, SubscriptionState.active):
        raise AlreadySigned()
    if subscription.state not in states:
        raise WrongStep(N_("This step is not open now: start again from your quote."))


def start_adhesion(session: Session, subscription: Subscription, *, holder: Holder, beneficiaries: str | None,
                   start_on: date, accepted: bool, today: date, translate: Translate,
                   broker_name: str, now: datetime | None = None) -> Subscription:
    """Record the adhesion's details and fix the document to sign (priced again on the chosen start)."""
    _require_state(subscription, *OPEN_STATES)
    volunteer = subscription.volunteer
    fields = {}
    try:
        rules.check_start(start_on, today, volunteer.mission_start, volunteer.mission_end)
    except QuoteRefused as exc:
        fields.update(exc.fields)
    if Cover.prevoyance.value in subscription.choices and not (beneficiaries or "").strip():
        fields["beneficiaries"] = [N_("Name the beneficiaries of the death and disability top-up (or write "
                                      "\"my spouse, failing that my children, failing that my heirs\").")]
    if not accepted:
        fields["accept"] = [N_("Confirm that you received and read the information notice and the pre-contract "
                               "information.")]
    if fields:
        raise AdhesionRefused(N_("Some details of the adhesion need correcting."), fields=fields)
    now = now or utcnow()
    _apply_quote(subscription, current_quote(session, subscription, today=today, start_on=start_on))
    subscription.holder = {"first_name": holder.first_name, "last_name": holder.last_name, "email": holder.email,
                           "phone": holder.phone, "address": holder.address}
    subscription.beneficiaries = (beneficiaries or "").strip() or None
    first = subscription.state is SubscriptionState.quoted
    subscription.state = SubscriptionState.adhesion_started
    subscription.adhesion_started_at = now
    subscription.updated_at = now
    if subscription.consent is None:
        subscription.consent = adhesion_consent(subscription, broker_name, now)
    subscription.document_pdf = rendering.render(adhesion_document(subscription, translate, broker_name))
    subscription.document_sha256 = rendering.sha256(subscription.document_pdf)
    session.flush()
    if first:
        record_funnel_event(session, volunteer, FunnelStage.adhesion_started, zone=subscription.zone,
                            subject=subscription.public_id, at=now)
    audit.record(session, "subscription.adhesion_started", subject=subscription,
                 start_on=subscription.start_on.isoformat(), document_sha256=subscription.document_sha256)
    return subscription


#: the version of the information notice and pre-contract information the volunteer confirms reading
ADHESION_NOTICE_VERSION = "2026-12"


def adhesion_consent(subscription: Subscription, controller: str, now: datetime) -> Consent:
    """The consent receipt of an adhesion: given by the volunteer, for their cover (health data involved)."""
    return Consent(organisation_id=None, captured_by_id=None, share_with_broker=True, cc_on_milestones=False,
                   text_version=ADHESION_NOTICE_VERSION, language=subscription.language, given_at=now,
                   collection_method=ConsentMethod.volunteer_adhesion,
                   jurisdiction=subscription.volunteer.mission_country, purposes=[Purpose.adhesion.value],
                   policy_version=PRIVACY_POLICY_VERSION, controller=controller, special_category=True)


def terms_sent(session: Session, subscription: Subscription, message, *, now: datetime | None = None) -> None:
    """The contract terms and the model withdrawal letter left in this e-mail (an outbox message)."""
    subscription.terms_message = message
    subscription.terms_queued_at = now or utcnow()
    session.flush()
    audit.record(session, "subscription.terms_sent", subject=subscription, message=message.public_id)


def terms_delivered_at(subscription: Subscription) -> datetime | None:
    """When the contract terms and the withdrawal letter were delivered on a durable medium (the e-mail sent)."""
    message = subscription.terms_message
    return message.sent_at if message is not None else None


def withdrawal_ends_on(subscription: Subscription) -> date | None:
    """The last day to withdraw: 14 days from the delivery of the terms (None until they are delivered)."""
    delivered = terms_delivered_at(subscription)
    return delivered.date() + timedelta(days=WITHDRAWAL_DAYS) if delivered else None


# --- the e-signature ------------------------------------------------------------------------------------------------

def _code_hash(subscription: Subscription, code: str) -> str:
    return hmac.new(subscription.public_id.encode(), code.encode(), hashlib.sha256).hexdigest()


def send_signature_code(session: Session, subscription: Subscription, *, now: datetime | None = None) -> str:
    """A new one-time code for signing (the earlier ones stop working); the caller e-mails it."""
    _require_state(subscription, SubscriptionState.adhesion_started)
    now = now or utcnow()
    for old in session.scalars(select(SignatureCode).where(SignatureCode.subscription_id == subscription.id,
                                                           SignatureCode.used_at.is_(None))):
        old.used_at = now
    code = f"{secrets.randbelow(10 ** 6):06d}"
    session.add(SignatureCode(subscription_id=subscription.id, code_hash=_code_hash(subscription, code),
                              expires_at=now + timedelta(minutes=CODE_MINUTES), attempts=0))
    session.flush()
    audit.record(session, "subscription.signature_code_sent", subject=subscription)
    return code


def _live_code(session: Session, subscription: Subscription) -> SignatureCode | None:
    return session.scalars(select(SignatureCode).where(SignatureCode.subscription_id == subscription.id,
                                                       SignatureCode.used_at.is_(None))
                           .order_by(SignatureCode.id.desc())).first()


def count_failed_attempt(session: Session, subscription: Subscription) -> None:
    """What stays of a wrong code once the refusal is rolled back: one attempt fewer."""
    code = _live_code(session, subscription)
    if code is not None:
        code.attempts += 1
        session.flush()


@dataclass(frozen=True)
class Evidence:
    typed_name: str
    code: str
    shown_sha256: str
    ip: str
    user_agent: str


def sign_adhesion(session: Session, subscription: Subscription, evidence: Evidence, *, translate: Translate,
                  broker_name: str, seal_config: SealConfig, now: datetime | None = None) -> AdhesionSignature:
    """Sign exactly the document shown, with the typed name and the e-mailed code; seal the signed copy."""
    # one signature even when two requests race: the row is locked (PostgreSQL) or the database is (SQLite)
    session.execute(select(Subscription.id).where(Subscription.id == subscription.id).with_for_update())
    session.refresh(subscription)
    _require_state(subscription, SubscriptionState.adhesion_started)
    now = now or utcnow()
    if evidence.shown_sha256 != subscription.document_sha256:
        raise WrongStep(N_("The adhesion changed since you opened it. Read it again, then sign."))
    if not same_name(evidence.typed_name, f"{subscription.holder['first_name']} {subscription.holder['last_name']}"):
        raise AdhesionRefused(N_("Type your full name as on the adhesion: %(name)s."), field="typed_name",
                              name=f"{subscription.holder['first_name']} {subscription.holder['last_name']}")
    code = _live_code(session, subscription)
    if code is None or code.expires_at <= now:
        raise CodeRefused(N_("This code has expired. Ask for a new one."))
    if code.attempts >= CODE_ATTEMPTS:
        raise CodeRefused(N_("Too many wrong codes. Ask for a new one."))
    if not hmac.compare_digest(code.code_hash, _code_hash(subscription, evidence.code.strip())):
        raise CodeRefused(N_("This code is not the one we sent."))
    code.used_at = now
    signature = AdhesionSignature(
        subscription=subscription, volunteer_id=subscription.volunteer_id, email=subscription.holder["email"],
        typed_name=" ".join(evidence.typed_name.split())[:200], signed_at=now, ip=(evidence.ip or "unknown")[:64],
        user_agent=(evidence.user_agent or "unknown")[:512], document_sha256=evidence.shown_sha256)
    session.add(signature)
    document = adhesion_document(subscription, translate, broker_name)
    final = rendering.render(document, _audit_info(subscription, signature, document.labels, translate))
    sealed = seal(final, seal_config, reason=f"{subscription.reference} sealed by {broker_name}")
    subscription.sealed_pdf, subscription.sealed_sha256 = sealed, rendering.sha256(sealed)
    subscription.state, subscription.signed_at, subscription.updated_at = SubscriptionState.signed, now, now
    session.flush()
    record_funnel_event(session, subscription.volunteer, FunnelStage.signed, zone=subscription.zone,
                        subject=subscription.public_id, at=now)
    audit.record(session, "subscription.signed", subject=subscription, ip=signature.ip,
                 personal={"typed_name": signature.typed_name},
                 personal_key=volunteer_key(subscription.volunteer.public_id), document_sha256=signature.document_sha256,
                 sealed_sha256=subscription.sealed_sha256)
    return signature


def sealed_adhesion(session: Session, digest: str, reference: str | None) -> Verdict | None:
    """The verification of an uploaded file against the sealed adhesions (see agreements.verification)."""
    found = session.scalars(select(Subscription).where(Subscription.sealed_sha256 == digest)).first()
    if found is not None:
        return Verdict(True, True, found.state.value, None, found.reference, kind="adhesion")
    if reference:
        claimed = session.scalars(select(Subscription).where(Subscription.reference == reference)).first()
        if claimed is not None and claimed.sealed_sha256:
            return Verdict(True, False, claimed.state.value, None, claimed.reference, kind="adhesion")
    return None


# --- the documents --------------------------------------------------------------------------------------------------

def _labels(t: Translate) -> dict:
    return {"page": t(N_("Page %(n)s")), "author": "", "party": t(N_("Party")), "details": t(N_("Details")),
            "signatures": t(N_("Signature")),
            "signature_intro": t(N_("The volunteer signs electronically: typed name and a one-time code sent to "
                                    "their e-mail address.")),
            "name": t(N_("Name")), "date": t(N_("Date")), "signature": t(N_("Signature")),
            "audit": t(N_("Evidence of the electronic signature")),
            "template_version": t(N_("Document version")), "document_sha256": t(N_("SHA-256 of the document")),
            "role": t(N_("Role")), "signer": t(N_("Signed by")), "typed_name": t(N_("Name typed")),
            "signed_at": t(N_("Signed at")), "ip": t(N_("IP address")), "user_agent": t(N_("Browser"))}


def _money(minor: int, currency: str) -> str:
    return f"{minor // 100},{minor % 100:02d} {currency}"


def _guarantee_label(t: Translate, value: str) -> str:
    return t(Guarantee(value).label)


def adhesion_document(subscription: Subscription, t: Translate, broker_name: str) -> RenderedTemplate:
    """The adhesion as it is shown for signature (deterministic: the same subscription renders the same)."""
    v, h, q = subscription.volunteer, subscription.holder, subscription.quote
    labels = _labels(t) | {"author": broker_name}
    party_rows = [
        [t(N_("Volunteer")), f"{h.get('first_name', v.first_name)} {h.get('last_name', v.last_name)}"],
        [t(N_("File reference")), v.file_ref], [t(N_("E-mail")), h.get("email", v.email)],
        [t(N_("Phone")), h.get("phone", "")], [t(N_("Address")), h.get("address", "")],
        [t(N_("Mission country")), t(N_("%(country)s, zone %(zone)s")) % {"country": v.mission_country,
                                                                          "zone": q["zone"]}],
        [t(N_("Mission")), f"{v.mission_start.isoformat()} → {v.mission_end.isoformat()}"],
        [t(N_("Broker")), broker_name]]
    cover_blocks = []
    rows = [[t(N_("Cover")), t(N_("Formula")), t(N_("Person")), t(N_("Monthly premium"))]]
    for c in q["covers"]:
        cover = Cover(c["cover"])
        for p in c["persons"]:
            rows.append([t(cover.label), t(FORMULA_LABELS[c["formula"]]), t(PersonCategory(p["category"]).label),
                         _money(p["monthly"]["minor"], p["monthly"]["currency"])])
        cover_blocks.append(("p", t(N_("%(cover)s: tariff %(tariff)s, minimum commitment until %(until)s.")) % {
            "cover": t(cover.label), "tariff": c["tariff"], "until": c["commitment_ends_on"]}))
        for w in c["waiting_periods"]:
            cover_blocks.append(("bullet", t(N_("Waiting period: %(guarantee)s covered from %(date)s.")) % {
                "guarantee": _guarantee_label(t, w["guarantee"]), "date": w["covered_from"]}))
    rows.append([t(N_("Total")), "", "", _money(q["monthly_total"]["minor"], q["monthly_total"]["currency"])])
    dates = [("p", t(N_("The cover starts on %(start)s and ends with the mission, on %(end)s at the latest.")) % {
        "start": subscription.start_on.isoformat(), "end": subscription.ends_on.isoformat()}),
        ("p", t(N_("Zone table %(ref)s.")) % {"ref": q["zone_table"]})]
    sections = [Section(t(N_("Covers and premiums")), cover_blocks, schedule=True),
                Section(t(N_("Dates")), dates)]
    if subscription.beneficiaries:
        sections.append(Section(t(N_("Beneficiaries (death and disability top-up)")),
                                [("p", subscription.beneficiaries)]))
    sections.append(Section(t(N_("Right of withdrawal")), [("p", t(WITHDRAWAL_TEXT))]))
    return RenderedTemplate(
        kind="adhesion", version=TEMPLATE_VERSION, language=subscription.language,
        title=t(N_("Adhesion to the volunteers' top-up cover")), subtitle=subscription.reference,
        reference=subscription.reference, labels=labels, party_rows=party_rows, sections=sections,
        schedule_rows=rows, signatories=[(t(N_("Volunteer")), f"{h.get('first_name', '')} {h.get('last_name', '')}")])


WITHDRAWAL_TEXT = N_("You may withdraw within 14 calendar days, without giving reasons or paying a penalty. The "
                     "period starts on the day you receive, by e-mail, the contract terms and the model withdrawal "
                     "letter. The premium of the period not covered is refunded.")


def _audit_info(subscription: Subscription, s: AdhesionSignature, labels: dict, t: Translate) -> rendering.AuditInfo:
    return rendering.AuditInfo(
        heading=labels["audit"], labels=labels, template_version=TEMPLATE_VERSION,
        document_sha256=subscription.document_sha256,
        signatures=[rendering.SignatureLine(
            role_label=t(N_("Volunteer")), party=subscription.volunteer.file_ref,
            signer_name=f"{subscription.holder['first_name']} {subscription.holder['last_name']} <{s.email}>",
            typed_name=s.typed_name, signed_at=s.signed_at, ip=s.ip, user_agent=s.user_agent,
            document_sha256=s.document_sha256)])


def terms_document(subscription: Subscription, t: Translate, broker_name: str) -> RenderedTemplate:
    """The information notice, the distance-selling pre-contract information, the contract terms and the model
    withdrawal letter: the durable medium e-mailed before signing (and downloadable in the volunteer area)."""
    v = subscription.volunteer
    notice = [("p", t(N_("The top-up covers are optional and need no medical questionnaire. They add to the "
                         "programme's mandatory plan and end when the mission ends."))),
              ("p", t(N_("Insurance distributed by %(broker)s, broker.")) % {"broker": broker_name})]
    pre_contract = [("bullet", t(N_("Premiums are monthly; the first month is collected when you adhere."))),
                    ("bullet", t(N_("Minimum commitment: 12 months, or the rest of the mission when less than 12 "
                                    "months remain."))),
                    ("bullet", t(N_("Waiting periods apply when you subscribe after the first month of your "
                                    "mission."))),
                    ("bullet", t(WITHDRAWAL_TEXT))]
    letter = [("p", t(N_("To: %(broker)s")) % {"broker": broker_name}),
              ("p", t(N_("I withdraw from my adhesion %(reference)s to the volunteers' top-up cover.")) % {
                  "reference": subscription.reference}),
              ("p", t(N_("Name: %(name)s — file reference: %(file_ref)s")) % {"name": v.full_name,
                                                                              "file_ref": v.file_ref}),
              ("p", t(N_("Date and signature:")))]
    return RenderedTemplate(
        kind="adhesion-terms", version=TEMPLATE_VERSION, language=subscription.language,
        title=t(N_("Contract terms and pre-contract information")), subtitle=subscription.reference,
        reference=f"{subscription.reference}-T", labels=_labels(t) | {"author": broker_name},
        party_rows=[[t(N_("Volunteer")), v.full_name], [t(N_("File reference")), v.file_ref]],
        sections=[Section(t(N_("Information notice")), notice),
                  Section(t(N_("Distance-selling pre-contract information")), pre_contract),
                  Section(t(N_("Model withdrawal letter")), letter)],
        schedule_rows=[], signatories=[])


def render_terms(subscription: Subscription, t: Translate, broker_name: str) -> bytes:
    return rendering.render(terms_document(subscription, t, broker_name))


"""The broker's disclosure document to the client of a case (IDD art. 18-20), and its delivery.

- `produce`: the PDF made from the case, the broker's disclosure settings in force today
  (compliance.broker_disclosure), the remuneration's nature and payer, the partner firm's role and status, and
  the case's demands and needs statement (pipeline.cases.needs), which must exist. In the client's language from
  a versioned template (`pipeline/document_templates/broker_disclosure/<version>/<language>.txt`; a language
  without one falls back to English), rendered by the agreements' machinery (agreements.rendering). The bytes
  and their SHA-256 are kept: what was given is what can be shown again.
- `deliver`: its delivery recorded — by e-mail (the portal queues the mail with the PDF attached and a personal
  link to acknowledge receipt; only the link's SHA-256 is kept, it expires) or by hand (handed over, posted):
  when, how, to whom, which document.
- `acknowledge`: the client, through the link, acknowledges receipt once (time, IP address, browser).
Each operation flushes, audits and never commits.
"""
from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.numbers import format_currency, get_currency_precision
from sqlalchemy import Date, ForeignKey, LargeBinary, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from agreements import rendering
from agreements.templates import RenderedTemplate, fill, parse_text
from compliance import broker_disclosure as settings_rules, privacy
from compliance.broker_disclosure import BrokerDisclosureSettings
from core import audit
from core.accounts import Organisation, PartnerStatus, Role, User
from core.db import Base, append_only, created_at, enum_column, intpk, new_secret, public_id, utcnow
from core.errors import DomainError
from core.i18n import N_
from core.outbox import OutboxMessage

from .cases.models import Case
from .cases.needs import NeedsStatement, current as current_statement

PRODUCERS = (Role.account_manager, Role.admin)
TEMPLATES = Path(__file__).parent / "document_templates" / "broker_disclosure"
TEMPLATE_VERSION = "2026-12"
FALLBACK_LANGUAGE = "en"
LINK_DAYS = 30
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
DETAILS_MAX = 500
#: labels that word one choice (the advice basis, the remuneration, the partner's status), read by name
CHOICE_LABELS = ("advice_", "nature_", "payer_", "partner_", "register_")
REGISTER_NAMES = {"orias": "ORIAS", "fca": "FCA", "ivass_rui": "IVASS RUI", "dgsfp": "DGSFP"}


class RemunerationNature(enum.Enum):
    fee = "fee"
    commission = "commission"
    other = "other"
    mix = "mix"

    @property
    def label(self) -> str:
        return NATURE_LABELS[self]


NATURE_LABELS = {RemunerationNature.fee: N_("A fee paid by the client"),
                 RemunerationNature.commission: N_("A commission included in the premium"),
                 RemunerationNature.other: N_("Another kind of remuneration"),
                 RemunerationNature.mix: N_("A mix of fee and commission")}


class RemunerationPayer(enum.Enum):
    insurer = "insurer"
    client = "client"
    insurer_and_client = "insurer_and_client"

    @property
    def label(self) -> str:
        return PAYER_LABELS[self]


PAYER_LABELS = {RemunerationPayer.insurer: N_("The insurer"), RemunerationPayer.client: N_("The client"),
                RemunerationPayer.insurer_and_client: N_("The insurer and the client")}


class DeliveryMethod(enum.Enum):
    email = "email"
    handed_over = "handed_over"
    posted = "posted"

    @property
    def label(self) -> str:
        return METHOD_LABELS[self]


METHOD_LABELS = {DeliveryMethod.email: N_("By e-mail, with a link to acknowledge receipt"),
                 DeliveryMethod.handed_over: N_("Handed over to the client"),
                 DeliveryMethod.posted: N_("Posted to the client")}


@append_only
class DisclosureDocument(Base):
    """One produced disclosure document: what went into it, the PDF and its SHA-256."""

    __tablename__ = "broker_disclosure_documents"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    template_version: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    settings_id: Mapped[int] = mapped_column(ForeignKey("broker_disclosure_settings.id"))
    statement_id: Mapped[int] = mapped_column(ForeignKey("needs_statements.id"))
    remuneration_nature: Mapped[RemunerationNature] = mapped_column(enum_column(RemunerationNature, 16))
    remuneration_payer: Mapped[RemunerationPayer] = mapped_column(enum_column(RemunerationPayer, 24))
    remuneration_details: Mapped[str | None] = mapped_column(Text)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    produced_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship()
    settings: Mapped[BrokerDisclosureSettings] = relationship()
    statement: Mapped[NeedsStatement] = relationship()
    produced_by: Mapped[User] = relationship()


class DisclosureDelivery(Base):
    """A delivery of a disclosure document to the client, and the client's acknowledgement (once)."""

    __tablename__ = "broker_disclosure_deliveries"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("broker_disclosure_documents.id"), index=True)
    method: Mapped[DeliveryMethod] = mapped_column(enum_column(DeliveryMethod, 16))
    #: the e-mail address, or the person or postal address it was handed or posted to
    recipient: Mapped[str] = mapped_column(String(300))
    #: the day it was handed over or posted (by e-mail: the day it was queued; the outbox says when it left)
    delivered_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    outbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    #: the acknowledgement link (e-mail only): the SHA-256 of the token, never the token
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_ip: Mapped[str | None] = mapped_column(String(64))
    acknowledged_user_agent: Mapped[str | None] = mapped_column(String(300))

    case: Mapped[Case] = relationship()
    document: Mapped[DisclosureDocument] = relationship()
    recorded_by: Mapped[User] = relationship()
    outbox_message: Mapped[OutboxMessage | None] = relationship()


@dataclass(frozen=True)
class Remuneration:
    nature: RemunerationNature
    payer: RemunerationPayer
    details: str | None = None


class DocumentRefused(DomainError):
    code = "disclosure_document_refused"


class NotProducer(DocumentRefused):
    status = 403
    message = N_("Only the broker's account managers produce and send the disclosure document.")


class NeedsStatementMissing(DocumentRefused):
    status = 409
    message = N_("Record the client's demands and needs statement first: the disclosure document includes it.")


class SettingsMissing(DocumentRefused):
    status = 409
    message = N_("No broker disclosure settings are in force: an administrator publishes them first.")


class LinkInvalid(DocumentRefused):
    code = "link_invalid"
    status = 404
    message = N_("This link is not valid, or it has expired. Ask the broker for a new one.")


class AlreadyAcknowledged(DocumentRefused):
    code = "already_acknowledged"
    status = 409
    message = N_("You already acknowledged receipt of this document, on %(when)s.")


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def language_for(language: str | None) -> str:
    """The template's language for a client's language (English when there is none in it)."""
    return language if language and (TEMPLATES / TEMPLATE_VERSION / f"{language}.txt").is_file() \
        else FALLBACK_LANGUAGE


# --- the document ------------------------------------------------------------------------------------------------

def _money(minor: int, currency: str, language: str) -> str:
    amount = Decimal(minor).scaleb(-get_currency_precision(currency))
    return format_currency(amount, currency, locale=language)


def _country(code: str, language: str) -> str:
    return Locale.parse(language).territories.get(code, code)


def _raw_template(language: str) -> str:
    return (TEMPLATES / TEMPLATE_VERSION / f"{language}.txt").read_text(encoding="utf-8")


def _raw_labels(raw: str) -> dict[str, str]:
    labels = {}
    for line in raw.splitlines():
        if line.strip().startswith("@label "):
            key, _, text = line.strip()[7:].partition(" ")
            labels[key] = text
    return labels


def _partner_text(labels: dict, firm: Organisation | None, context: dict) -> str:
    if firm is None:
        return fill(labels["partner_none"], context)
    number = firm.registration_number or "—"
    register = REGISTER_NAMES.get(firm.register.value, labels["register_other"]) if firm.register else \
        labels["register_other"]
    key = "partner_introducer" if firm.status is PartnerStatus.introducer else "partner_broker"
    return fill(labels[key], context | {"partner": firm.legal_name, "partner_register": register,
                                        "partner_number": number})


def document_content(case: Case, settings: BrokerDisclosureSettings, statement: NeedsStatement,
                     remuneration: Remuneration, *, language: str, reference: str, on: date) -> RenderedTemplate:
    """The document as the template lays it out (deterministic: the same inputs render the same PDF)."""
    language = language_for(language)
    raw = _raw_template(language)
    labels = _raw_labels(raw)
    client = f"{case.client_first_name} {case.client_last_name}"
    base = {"broker": settings.legal_name, "address": settings.address.replace("\n", ", "),
            "register": settings.register, "registration_number": settings.registration_number,
            "client": client, "reference": reference, "date": on.isoformat(), "version": TEMPLATE_VERSION,
            "insurer_list": ", ".join(settings.insurers)}
    context = base | {
        "advice": fill(labels[f"advice_{settings.advice_basis.value}"], base),
        "nature": fill(labels[f"nature_{remuneration.nature.value}"], base),
        "payer": fill(labels[f"payer_{remuneration.payer.value}"], base),
        "remuneration_details": remuneration.details or "",
        "partner_role": _partner_text(labels, case.organisation, base),
        "complaints": settings.complaints_procedure, "mediation": settings.mediation_procedure}
    lists = {"insurers": settings.insurers, "holdings": settings.holdings,
             "details": [remuneration.details] if remuneration.details else []}
    parsed = parse_text(raw, context, lists=lists, keep_label=lambda key: not key.startswith(CHOICE_LABELS))
    title, subtitle, sections = parsed.title, parsed.subtitle, parsed.sections
    L = parsed.labels  # the wording of a choice is already in the context
    party_rows = [[L["row_distributor"], settings.legal_name], [L["row_address"], settings.address],
                  [L["row_registration"], f"{settings.register} {settings.registration_number}"],
                  [L["row_client"], client], [L["row_reference"], reference],
                  [L["row_date"], on.isoformat()], [L["row_version"], TEMPLATE_VERSION]]
    schedule_rows = [[L["dn_item"], L["dn_answer"]], [L["dn_needs"], statement.needs],
                     [L["dn_budget"], _money(statement.budget_minor, statement.budget_currency, language)],
                     [L["dn_countries"], ", ".join(_country(c, language) for c in statement.countries)],
                     [L["dn_cover"], statement.chosen_cover], [L["dn_reasons"], statement.reasons]]
    return RenderedTemplate(kind="broker-disclosure", version=TEMPLATE_VERSION, language=language, title=title,
                            subtitle=subtitle, reference=reference, labels=L | {"author": settings.legal_name},
                            party_rows=party_rows, sections=sections, schedule_rows=schedule_rows,
                            signatories=[(L["row_client"], client)])


def _next_reference(session: Session, case: Case) -> str:
    count = len(session.scalars(select(DisclosureDocument.id).where(DisclosureDocument.case_id == case.id)).all())
    return f"DD-{case.public_id[:8].upper()}-{count + 1}"


def _ready(session: Session, actor: User, case: Case, on: date) -> tuple[BrokerDisclosureSettings, NeedsStatement]:
    if actor.role not in PRODUCERS:
        raise NotProducer()
    statement = current_statement(session, case)
    if statement is None:
        raise NeedsStatementMissing()
    settings = settings_rules.in_force(session, on)
    if settings is None:
        raise SettingsMissing()
    return settings, statement


def _clean_remuneration(remuneration: Remuneration) -> Remuneration:
    details = " ".join((remuneration.details or "").split()) or None
    if details and len(details) > DETAILS_MAX:
        raise DocumentRefused(N_("At most 500 characters."), field="remuneration_details")
    return Remuneration(remuneration.nature, remuneration.payer, details)


def preview(session: Session, actor: User, case: Case, remuneration: Remuneration, *, language: str,
            on: date) -> bytes:
    """The PDF as it would be produced now (nothing recorded)."""
    settings, statement = _ready(session, actor, case, on)
    return rendering.render(document_content(case, settings, statement, _clean_remuneration(remuneration),
                                             language=language, reference=_next_reference(session, case), on=on))


def produce(session: Session, actor: User, case: Case, remuneration: Remuneration, *, language: str,
            on: date | None = None, ip: str | None = None) -> DisclosureDocument:
    """Produce and keep the disclosure document (see the module)."""
    on = on or utcnow().date()
    settings, statement = _ready(session, actor, case, on)
    remuneration = _clean_remuneration(remuneration)
    reference = _next_reference(session, case)
    language = language_for(language)
    pdf = rendering.render(document_content(case, settings, statement, remuneration, language=language,
                                            reference=reference, on=on))
    document = DisclosureDocument(case_id=case.id, reference=reference, template_version=TEMPLATE_VERSION,
                                  language=language, settings_id=settings.id, statement_id=statement.id,
                                  remuneration_nature=remuneration.nature, remuneration_payer=remuneration.payer,
                                  remuneration_details=remuneration.details, pdf=pdf,
                                  sha256=rendering.sha256(pdf), produced_by_id=actor.id)
    session.add(document)
    session.flush()
    audit.record(session, "disclosure_document.produced", actor=actor, subject=case, ip=ip,
                 document=document.public_id, reference=reference, language=language, sha256=document.sha256,
                 settings=settings.public_id, statement_version=statement.version)
    return document


# --- delivery and acknowledgement --------------------------------------------------------------------------------

def deliver(session: Session, actor: User, document: DisclosureDocument, method: DeliveryMethod, recipient: str, *,
            delivered_on: date | None = None, link_days: int = LINK_DAYS, ip: str | None = None,
            now: datetime | None = None) -> tuple[DisclosureDelivery, str | None]:
    """Record the delivery of `document`. By e-mail, returns also the raw acknowledgement token (to put in the
    link, once: only its hash is kept); the caller queues the mail and ties it with `mail_queued`."""
    if actor.role not in PRODUCERS:
        raise NotProducer()
    now = now or utcnow()
    recipient = " ".join((recipient or "").split())
    if method is DeliveryMethod.email and privacy.restriction_of(session, document.case.public_id) is not None:
        raise DocumentRefused(privacy.RESTRICTED)
    if method is DeliveryMethod.email and (not EMAIL.fullmatch(recipient) or len(recipient) > 254):
        raise DocumentRefused(N_("Enter the client's e-mail address."), field="recipient")
    if not recipient or len(recipient) > 300:
        raise DocumentRefused(N_("Say to whom, or to which address, it was given (at most 300 characters)."),
                              field="recipient")
    delivered_on = now.date() if method is DeliveryMethod.email else delivered_on
    if delivered_on is None or delivered_on > now.date() or delivered_on < document.created_at.date():
        raise DocumentRefused(N_("Enter the day it was given: not in the future, not before the document was "
                                 "produced."), field="delivered_on")
    raw = None
    delivery = DisclosureDelivery(case_id=document.case_id, document_id=document.id, method=method,
                                  recipient=recipient, delivered_on=delivered_on, recorded_by_id=actor.id)
    if method is DeliveryMethod.email:
        raw = new_secret(32)
        delivery.token_hash, delivery.expires_at = hash_token(raw), now + timedelta(days=link_days)
    session.add(delivery)
    session.flush()
    audit.record(session, "disclosure_document.delivered", actor=actor, subject=document.case, ip=ip,
                 delivery=delivery.public_id, document=document.reference, sha256=document.sha256,
                 method=method.value, recipient=recipient, delivered_on=delivered_on.isoformat())
    return delivery, raw


def mail_queued(session: Session, delivery: DisclosureDelivery, message: OutboxMessage) -> None:
    delivery.outbox_message_id = message.id
    session.flush()


def _by_token(session: Session, raw: str, now: datetime) -> DisclosureDelivery:
    if not raw or len(raw) > 128:
        raise LinkInvalid()
    delivery = session.scalars(select(DisclosureDelivery)
                               .where(DisclosureDelivery.token_hash == hash_token(raw))).first()
    if delivery is None or delivery.expires_at is None or delivery.expires_at <= now:
        raise LinkInvalid()
    return delivery


def delivery_of_link(session: Session, raw: str, *, now: datetime | None = None) -> DisclosureDelivery:
    """The delivery this acknowledgement link is for, while it is valid (LinkInvalid otherwise)."""
    return _by_token(session, raw, now or utcnow())


def acknowledge(session: Session, raw: str, *, ip: str | None, user_agent: str | None,
                now: datetime | None = None) -> DisclosureDelivery:
    """The client acknowledges receipt through the link: once (a second time is refused, saying when)."""
    now = now or utcnow()
    delivery = _by_token(session, raw, now)
    if delivery.acknowledged_at is not None:
        raise AlreadyAcknowledged(when=delivery.acknowledged_at.strftime("%Y-%m-%d %H:%M UTC"))
    # compare-and-set: two clicks at once record one acknowledgement
    done = session.execute(update(DisclosureDelivery).where(DisclosureDelivery.id == delivery.id,
                                                            DisclosureDelivery.acknowledged_at.is_(None))
                           .values(acknowledged_at=now, acknowledged_ip=(ip or "")[:64] or None,
                                   acknowledged_user_agent=(user_agent or "")[:300] or None)
                           .execution_options(synchronize_session=False)).rowcount
    session.refresh(delivery)
    if done != 1:
        raise AlreadyAcknowledged(when=delivery.acknowledged_at.strftime("%Y-%m-%d %H:%M UTC"))
    audit.record(session, "disclosure_document.acknowledged", subject=delivery.case, ip=ip,
                 delivery=delivery.public_id, document=delivery.document.reference)
    return delivery


def documents_of(session: Session, case: Case) -> list[DisclosureDocument]:
    return list(session.scalars(select(DisclosureDocument).where(DisclosureDocument.case_id == case.id)
                                .order_by(DisclosureDocument.id.desc())))


def deliveries_of(session: Session, case: Case) -> list[DisclosureDelivery]:
    return list(session.scalars(select(DisclosureDelivery).where(DisclosureDelivery.case_id == case.id)
                                .order_by(DisclosureDelivery.id.desc())))

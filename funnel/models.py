"""The funnel's records: tariff and zone-table versions (append-only, effective-dated), the volunteers and
their declared dependants as the roster feed keeps them, the roster's event log, and the funnel's events."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer, LargeBinary,
                        String, Text, UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, append_only, created_at, enum_column, intpk, new_public_id, public_id
from core.i18n import N_
from core.outbox import OutboxMessage
from pipeline.leads.models import Consent

from .catalogue import Cover, PersonCategory, Programme
from .addition_models import DependantAddition
from .payment_models import Payment, SavedPaymentMethod

# --- products: tariff and zone-table versions --------------------------------------------------------------------


@append_only
class TariffVersion(Base):
    """One cover's tariff from a date on. Never changed: a new price is a new version, and a quote or a
    contract names the version it used by `ref`."""

    __tablename__ = "tariff_versions"
    __table_args__ = (Index("ix_tariff_versions_cover_effective", "cover", "effective_from"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    #: stable reference recorded by quotes and contracts, e.g. "health-2026-01-01-1"
    ref: Mapped[str] = mapped_column(String(48), unique=True)
    cover: Mapped[Cover] = mapped_column(enum_column(Cover))
    effective_from: Mapped[date] = mapped_column(Date)
    #: the grid as data (see funnel.grid for its shape; read it through funnel.tariffs, which validates it)
    grid: Mapped[dict] = mapped_column(JSON)
    notes: Mapped[str] = mapped_column(Text, default="")
    #: the staff member who entered it (null: loaded by the system, e.g. the sample data)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


@append_only
class ZoneTable(Base):
    """Which zone each mission country is in, from a date on; reviewed_on says when staff last checked it."""

    __tablename__ = "zone_tables"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    ref: Mapped[str] = mapped_column(String(48), unique=True)
    effective_from: Mapped[date] = mapped_column(Date, index=True)
    reviewed_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    countries: Mapped[list[ZoneTableCountry]] = relationship(order_by="ZoneTableCountry.country")


@append_only
class ZoneTableCountry(Base):
    __tablename__ = "zone_table_countries"
    __table_args__ = (UniqueConstraint("zone_table_id", "country"),
                      CheckConstraint("zone BETWEEN 1 AND 3", name="zone_known"))

    id: Mapped[intpk]
    zone_table_id: Mapped[int] = mapped_column(ForeignKey("zone_tables.id"))
    #: ISO 3166-1 alpha-2
    country: Mapped[str] = mapped_column(String(2))
    zone: Mapped[int] = mapped_column(Integer)


# --- volunteers, as the roster feed keeps them --------------------------------------------------------------------


class VolunteerState(enum.Enum):
    in_post = "in_post"
    radiated = "radiated"
    interrupted = "interrupted"

    @property
    def label(self) -> str:
        return VOLUNTEER_STATE_LABELS[self]


VOLUNTEER_STATE_LABELS = {
    VolunteerState.in_post: N_("On mission"),
    VolunteerState.radiated: N_("Mission ended"),
    VolunteerState.interrupted: N_("Mission interrupted"),
}


#: a volunteer's or dependant's public id, also the "sentinel" SQLAlchemy needs to insert a batch of them in one
#: statement on SQLite (which cannot tell the generated keys apart otherwise): see funnel.roster
def _sentinel_public_id() -> Column:
    return Column(String(32), unique=True, nullable=False, default=new_public_id, insert_sentinel=True)


def volunteer_key(public_id: str) -> str:
    """The reference of the key sealing a volunteer's personal data in append-only records (core.subject_keys)."""
    return f"volunteer:{public_id}"


def roster_key(file_ref: str) -> str:
    """The key sealing the roster's raw records of one file reference (the roster's events are append-only)."""
    return f"roster:{file_ref}"


class Volunteer(Base):
    __tablename__ = "volunteers"
    # the KPIs (funnel.kpis): the volunteers in post each month of a period counted from this index alone
    __table_args__ = (Index("ix_volunteers_mission_period", "mission_start", "mission_end", "mission_country",
                            "language"),)

    id: Mapped[intpk]
    public_id: Mapped[str] = _sentinel_public_id()
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime | None]
    #: the programme operator's file reference (the roster's key)
    file_ref: Mapped[str] = mapped_column(String(32), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    birth_date: Mapped[date] = mapped_column(Date)
    programme: Mapped[Programme] = mapped_column(enum_column(Programme, length=8))
    #: ISO 3166-1 alpha-2
    mission_country: Mapped[str] = mapped_column(String(2), index=True)
    mission_start: Mapped[date] = mapped_column(Date)
    #: the mission's last day: planned, moved by a prolongation, or brought forward by a radiation or interruption
    mission_end: Mapped[date] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(8))
    state: Mapped[VolunteerState] = mapped_column(enum_column(VolunteerState), default=VolunteerState.in_post)
    #: why the mission was interrupted, as the operator said it
    end_reason: Mapped[str | None] = mapped_column(String(200))
    #: the time of the newest roster event applied to the identity and contact details, and to the mission's
    #: end and state: an older event arriving later changes neither
    details_as_of: Mapped[datetime]
    mission_as_of: Mapped[datetime]

    dependants: Mapped[list[Dependant]] = relationship(back_populates="volunteer", order_by="Dependant.id")

    @property
    def current_dependants(self) -> list[Dependant]:
        return [d for d in self.dependants if d.removed_at is None]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class DependantSource(enum.Enum):
    roster = "roster"
    volunteer = "volunteer"


class Dependant(Base):
    """A spouse, partner or child the roster carried or the volunteer declared. A roster update that no longer
    lists a dependant marks it removed (what was covered stays traceable)."""

    __tablename__ = "volunteer_dependants"
    __table_args__ = (CheckConstraint("category IN ('spouse', 'child')", name="dependant_category"),)

    id: Mapped[intpk]
    public_id: Mapped[str] = _sentinel_public_id()
    created_at: Mapped[created_at]
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    category: Mapped[PersonCategory] = mapped_column(enum_column(PersonCategory))
    birth_date: Mapped[date] = mapped_column(Date)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[DependantSource] = mapped_column(enum_column(DependantSource))
    #: the birth, adoption, marriage... that made them a dependant, when declared after the adhesion
    event_date: Mapped[date | None] = mapped_column(Date)
    declared_on: Mapped[date | None] = mapped_column(Date)
    removed_at: Mapped[datetime | None]

    volunteer: Mapped[Volunteer] = relationship(back_populates="dependants")


# --- the roster feed's log --------------------------------------------------------------------------------------


class RosterEventKind(enum.Enum):
    affiliation = "affiliation"
    radiation = "radiation"
    prolongation = "prolongation"
    interruption = "interruption"

    @property
    def label(self) -> str:
        return ROSTER_EVENT_LABELS[self]


ROSTER_EVENT_LABELS = {
    RosterEventKind.affiliation: N_("Affiliation"),
    RosterEventKind.radiation: N_("Mission ended"),
    RosterEventKind.prolongation: N_("Mission extended"),
    RosterEventKind.interruption: N_("Mission interrupted"),
}


class Outcome(enum.Enum):
    created = "created"
    updated = "updated"
    unchanged = "unchanged"
    rejected = "rejected"

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]


OUTCOME_LABELS = {
    Outcome.created: N_("Volunteer added"),
    Outcome.updated: N_("Volunteer updated"),
    Outcome.unchanged: N_("No change"),
    Outcome.rejected: N_("Rejected"),
}


class RosterSource(enum.Enum):
    api = "api"
    csv = "csv"


class RosterImport(Base):
    """One delivery of roster events (an API batch, a CSV file): the import history staff see."""

    __tablename__ = "roster_imports"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    source: Mapped[RosterSource] = mapped_column(enum_column(RosterSource))
    filename: Mapped[str | None] = mapped_column(String(255))
    #: who sent it: the operator's service account, or the staff member who uploaded the file
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    #: events already applied by an earlier delivery, answered as then
    replayed: Mapped[int] = mapped_column(Integer, default=0)


@append_only
class RosterEvent(Base):
    """Each record of a delivery and what became of it. An applied event's id is unique: a replay finds it and
    answers as before. A rejected record keeps no claim on its id, so the operator can send it again, corrected."""

    __tablename__ = "roster_events"
    __table_args__ = (
        Index("uq_roster_events_applied_event_id", "event_id", unique=True,
              sqlite_where=text("outcome <> 'rejected'"), postgresql_where=text("outcome <> 'rejected'")),
        Index("ix_roster_events_import_position", "import_id", "position"),
    )

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    import_id: Mapped[int] = mapped_column(ForeignKey("roster_imports.id"))
    #: the record's place in its delivery (0-based)
    position: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str | None] = mapped_column(String(64))
    #: as sent (a rejected record may carry an unknown kind)
    kind: Mapped[str | None] = mapped_column(String(32))
    file_ref: Mapped[str | None] = mapped_column(String(32), index=True)
    occurred_at: Mapped[datetime | None]
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("volunteers.id"), index=True)
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome))
    #: for a rejected record: {field: [{"code": ..., "message": msgid}]}
    reasons: Mapped[dict] = mapped_column(JSON, default=dict)
    #: the volunteer's fields the event changed
    changed: Mapped[list] = mapped_column(JSON, default=list)
    #: a newer event had already set what this one would have changed
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    #: SHA-256 of the record as sent (canonical JSON): the same id with other content is not a replay
    fingerprint: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)

    roster_import: Mapped[RosterImport] = relationship()
    volunteer: Mapped[Volunteer | None] = relationship()


# --- the funnel's events ----------------------------------------------------------------------------------------


class FunnelStage(enum.Enum):
    invited = "invited"
    link_opened = "link_opened"
    quoted = "quoted"
    adhesion_started = "adhesion_started"
    signed = "signed"
    payment_method_accepted = "payment_method_accepted"
    paid = "paid"
    certificate_issued = "certificate_issued"
    withdrawn = "withdrawn"

    @property
    def label(self) -> str:
        return FUNNEL_STAGE_LABELS[self]


FUNNEL_STAGE_LABELS = {
    FunnelStage.invited: N_("Invited"),
    FunnelStage.link_opened: N_("Link opened"),
    FunnelStage.quoted: N_("Quoted"),
    FunnelStage.adhesion_started: N_("Adhesion started"),
    FunnelStage.signed: N_("Signed"),
    FunnelStage.payment_method_accepted: N_("Payment method accepted"),
    FunnelStage.paid: N_("Paid"),
    FunnelStage.certificate_issued: N_("Certificate issued"),
    FunnelStage.withdrawn: N_("Withdrew within 14 days"),
}


@append_only
class FunnelEvent(Base):
    """A volunteer reached a stage of the funnel: the KPIs are counted from these."""

    __tablename__ = "funnel_events"
    __table_args__ = (Index("ix_funnel_events_stage_occurred", "stage", "occurred_at"),
                      # the KPIs (funnel.kpis): each volunteer's first invitation and the stages reached, read from
                      # the index alone
                      Index("ix_funnel_events_stage_volunteer_occurred", "stage", "volunteer_id", "occurred_at",
                            "campaign_step"))

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    occurred_at: Mapped[datetime]
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    stage: Mapped[FunnelStage] = mapped_column(enum_column(FunnelStage))
    cover: Mapped[Cover | None] = mapped_column(enum_column(Cover))
    zone: Mapped[int | None] = mapped_column(Integer)
    #: the campaign's step that brought the volunteer here (e.g. "d+10"), when a campaign did
    campaign_step: Mapped[str | None] = mapped_column(String(32))
    #: the public id of what the event is about (a quote, a subscription, a payment), when there is one
    subject: Mapped[str | None] = mapped_column(String(32))

    volunteer: Mapped[Volunteer] = relationship()


# --- the volunteer's journey: personal links, subscriptions, their signature -----------------------------------


class AccessLink(Base):
    """A personal, expiring link that signs a volunteer in to their own area with no password. Only the
    SHA-256 of its token is kept; the token itself is in the e-mail (or the staff member's hands) alone."""

    __tablename__ = "volunteer_access_links"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: what the link is for (single-purpose): "volunteer_area"
    purpose: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime]
    #: the staff member who issued it by hand (null: the system, e.g. a campaign)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_opened_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    volunteer: Mapped[Volunteer] = relationship()


class SubscriptionState(enum.Enum):
    quoted = "quoted"
    adhesion_started = "adhesion_started"
    signed = "signed"
    payment_pending = "payment_pending"
    active = "active"
    withdrawn = "withdrawn"
    #: the mission ended before the subscription was active (funnel.cover_end)
    closed = "closed"
    #: a premium failed (a card declined, a SEPA debit returned): the recovery sequence runs (funnel.dunning);
    #: the cover and its certificate stay valid until the suspension
    past_due = "past_due"
    #: still unpaid at the sequence's litigation step: staff pursue the amount due
    litigation = "litigation"
    #: still unpaid at the suspension day: no cover until paid
    suspended = "suspended"
    #: still unpaid at the end day: the cover ended for non-payment (final)
    ended_non_payment = "ended_non_payment"

    @property
    def label(self) -> str:
        return SUBSCRIPTION_STATE_LABELS[self]


SUBSCRIPTION_STATE_LABELS = {
    SubscriptionState.quoted: N_("Quoted"),
    SubscriptionState.adhesion_started: N_("Adhesion in progress"),
    SubscriptionState.signed: N_("Signed"),
    SubscriptionState.payment_pending: N_("Awaiting payment"),
    SubscriptionState.active: N_("Active"),
    SubscriptionState.withdrawn: N_("Withdrawn"),
    SubscriptionState.closed: N_("Closed: the mission ended"),
    SubscriptionState.past_due: N_("Past due: a premium is unpaid"),
    SubscriptionState.litigation: N_("Litigation: premiums unpaid"),
    SubscriptionState.suspended: N_("Cover suspended for non-payment"),
    SubscriptionState.ended_non_payment: N_("Cover ended for non-payment"),
}


class Subscription(Base):
    """A volunteer's top-up cover, from the quote they chose to the signed adhesion (payment comes later)."""

    __tablename__ = "subscriptions"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime | None]
    #: printed on the adhesion (and its PDF subject), e.g. ADH-2026-3F9A1C7B
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    state: Mapped[SubscriptionState] = mapped_column(enum_column(SubscriptionState), index=True)
    language: Mapped[str] = mapped_column(String(8))
    #: {cover: formula code}
    choices: Mapped[dict] = mapped_column(JSON)
    #: who is covered: [{"category", "ref", "relationship", "confirmations": {...}}], the volunteer first
    persons: Mapped[list] = mapped_column(JSON)
    #: funnel.quotes.Quote.as_record(): the tariff and zone versions used, and every amount
    quote: Mapped[dict] = mapped_column(JSON)
    zone: Mapped[int] = mapped_column(Integer)
    monthly_total_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    subscribed_on: Mapped[date] = mapped_column(Date)
    start_on: Mapped[date] = mapped_column(Date)
    commitment_ends_on: Mapped[date] = mapped_column(Date)
    #: the cover's last day: the mission's end, which it follows when the roster moves it (funnel.cover_end)
    ends_on: Mapped[date] = mapped_column(Date)
    #: the last day the volunteer chose for their cover, before the mission's end (null: with the mission): a
    #: prolongation of the mission does not move it, an earlier end of the mission does
    chosen_end_on: Mapped[date | None] = mapped_column(Date)
    #: closed because the mission ended before the cover was active: when, and the state it was in (a newer
    #: roster event that continues the mission reopens it in that state)
    closed_at: Mapped[datetime | None]
    closed_from: Mapped[SubscriptionState | None] = mapped_column(enum_column(SubscriptionState))
    #: the adhesion: identity and contact details as the volunteer confirmed them
    holder: Mapped[dict] = mapped_column(JSON, default=dict)
    #: the prévoyance top-up's beneficiary clause
    beneficiaries: Mapped[str | None] = mapped_column(Text)
    adhesion_started_at: Mapped[datetime | None]
    #: the consent receipt of the adhesion (the information notice read, the data processed for the cover)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"))
    #: the e-mail carrying the contract terms and the model withdrawal letter (the durable medium): the
    #: withdrawal period runs from its delivery (the outbox records when it was sent)
    terms_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    terms_queued_at: Mapped[datetime | None]
    #: the adhesion shown for signature, and its SHA-256
    document_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    #: the signed adhesion with its evidence page, sealed with the broker's certificate
    sealed_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    signed_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    #: the first month's payment (the latest attempt: a declined card leaves a failed one, a retry replaces it)
    first_payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    #: the card or SEPA mandate accepted for the later months
    payment_method_id: Mapped[int | None] = mapped_column(ForeignKey("saved_payment_methods.id"))
    method_accepted_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    #: the insurance certificate (attestation), sealed like the adhesion, in the volunteer's language
    certificate_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    certificate_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    certificate_issued_at: Mapped[datetime | None]
    #: the e-mail that carried the certificate (through the outbox)
    certificate_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))

    volunteer: Mapped[Volunteer] = relationship()
    consent: Mapped[Consent | None] = relationship()
    terms_message: Mapped[OutboxMessage | None] = relationship(foreign_keys=[terms_message_id])
    certificate_message: Mapped[OutboxMessage | None] = relationship(foreign_keys=[certificate_message_id])
    first_payment: Mapped[Payment | None] = relationship(foreign_keys=[first_payment_id])
    payment_method: Mapped[SavedPaymentMethod | None] = relationship(
        foreign_keys=[payment_method_id])
    signature: Mapped[AdhesionSignature | None] = relationship(back_populates="subscription", uselist=False)
    #: dependants added once the cover was in force (funnel.additions), oldest first
    additions: Mapped[list[DependantAddition]] = relationship(back_populates="subscription",
                                                              order_by="DependantAddition.id")


class SignatureCode(Base):
    """A one-time code e-mailed to the volunteer to sign their adhesion: hashed, expiring, a few attempts."""

    __tablename__ = "adhesion_signature_codes"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None]


@append_only
class AdhesionSignature(Base):
    """The volunteer's signature of their adhesion: who, the name typed, when, from where, and on which
    document (its SHA-256). One per subscription."""

    __tablename__ = "adhesion_signatures"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), unique=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"))
    email: Mapped[str] = mapped_column(String(254))
    typed_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(512))
    document_sha256: Mapped[str] = mapped_column(String(64))

    subscription: Mapped[Subscription] = relationship(back_populates="signature")

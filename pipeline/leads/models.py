"""Consents and consent-minimal leads referred by introducers.

A lead holds only what an introducer may pass: name, contact, country of residence, timeline, the kind of need
(a category), an optional short note and language — nothing else, and never medical details. Consents and their withdrawals are
append-only records.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from compliance.consent_receipts import ConsentMethod
from core import subject_keys
from core.db import Base, append_only, created_at, enum_column, intpk, public_id
from core.i18n import N_

CONSENT_TEXT_VERSIONS = ("2026-11",)


def lead_key(public_id: str) -> str:
    """The reference of the key sealing personal data about a lead in append-only records."""
    return f"lead:{public_id}"


def consent_key(public_id: str) -> str:
    """The reference of the key sealing personal data about a consent in append-only records."""
    return f"consent:{public_id}"


@append_only
class Consent(Base):
    """A consent receipt: what the person agreed to, for which purposes, as captured by a partner (leads, cases)
    or given by the volunteer on their adhesion; the text and policy version and language shown, when, how,
    under which jurisdiction, to which controller. Withdrawals are records of their own."""

    __tablename__ = "consents"
    #: the compliance dashboard counts each firm's consents, and those allowing copies, from this index alone
    __table_args__ = (Index("ix_consents_org_cc", "organisation_id", "cc_on_milestones"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    #: the partner firm and user who captured it (null: given by the person directly, e.g. a volunteer)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    captured_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    collection_method: Mapped[ConsentMethod] = mapped_column(enum_column(ConsentMethod, length=24))
    #: ISO 3166-1 alpha-2 of the person's country of residence as given with the consent
    jurisdiction: Mapped[str] = mapped_column(String(8))
    #: compliance.consent_receipts.Purpose values the person agreed to
    purposes: Mapped[list] = mapped_column(JSON)
    #: the privacy notice version in force (compliance.consent_receipts.PRIVACY_POLICY_VERSION)
    policy_version: Mapped[str] = mapped_column(String(16))
    #: the data controller the consent was given to
    controller: Mapped[str] = mapped_column(String(200))
    #: special-category (health) data is processed under this consent
    special_category: Mapped[bool] = mapped_column(Boolean)
    #: the client agreed to have their details shared with the broker (required for any lead or case)
    share_with_broker: Mapped[bool] = mapped_column(Boolean)
    #: the client agreed that the partner is copied on key milestones
    cc_on_milestones: Mapped[bool] = mapped_column(Boolean)
    text_version: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    given_at: Mapped[datetime]

    withdrawals: Mapped[list[ConsentWithdrawal]] = relationship(order_by="ConsentWithdrawal.id")

    @property
    def withdrawn(self) -> bool:
        return any(w.scope == "all" for w in self.withdrawals)

    @property
    def cc_allowed(self) -> bool:
        return self.cc_on_milestones and not any(w.scope in ("cc_on_milestones", "all") for w in self.withdrawals)


@append_only
class ConsentWithdrawal(Base):
    __tablename__ = "consent_withdrawals"

    id: Mapped[intpk]
    #: the review queue lists the withdrawals oldest first from its index
    created_at: Mapped[created_at] = mapped_column(index=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), index=True)
    #: "cc_on_milestones" or "all"
    scope: Mapped[str] = mapped_column(String(32))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: the reason, sealed under the consent's key (core.subject_keys, "consent:<public id>"): it may name the
    #: client, and this table is append-only, so erasing the client destroys the key rather than the row
    reason_sealed: Mapped[str] = mapped_column("reason", Text)

    @property
    def reason(self) -> str | None:
        return subject_keys.open_sealed(object_session(self), self.reason_sealed)


class LeadStatus(enum.Enum):
    """What an introducer sees: milestone-level progress only."""

    received = "received"
    contacted = "contacted"
    quote_in_progress = "quote_in_progress"
    contract_issued = "contract_issued"
    not_pursued = "not_pursued"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return LEAD_STATUS_LABELS[self]


LEAD_STATUS_LABELS = {
    LeadStatus.received: N_("Received"),
    LeadStatus.contacted: N_("Client contacted"),
    LeadStatus.quote_in_progress: N_("Quote in progress"),
    LeadStatus.contract_issued: N_("Contract issued"),
    LeadStatus.not_pursued: N_("Not pursued"),
    LeadStatus.cancelled: N_("Contract cancelled"),
}


class NeedCategory(enum.Enum):
    """What kind of client the referral is about. A lead carries its need as one of these rather than as free
    text, so that little can travel with it; ``unspecified`` marks the leads referred before the field existed."""

    individual_expatriate = "individual_expatriate"
    family_relocation = "family_relocation"
    student = "student"
    retiree_abroad = "retiree_abroad"
    small_business_team = "small_business_team"
    other = "other"
    unspecified = "unspecified"

    @property
    def label(self) -> str:
        return NEED_CATEGORY_LABELS[self]


NEED_CATEGORY_LABELS = {
    NeedCategory.individual_expatriate: N_("Individual expatriate"),
    NeedCategory.family_relocation: N_("Family relocation"),
    NeedCategory.student: N_("Student abroad"),
    NeedCategory.retiree_abroad: N_("Retiree abroad"),
    NeedCategory.small_business_team: N_("Small business team"),
    NeedCategory.other: N_("Other need"),
    NeedCategory.unspecified: N_("Not specified (referred before the need categories)"),
}
#: what a new lead may choose (``unspecified`` only back-fills the older leads)
CHOOSABLE_NEED_CATEGORIES = tuple(c for c in NeedCategory if c is not NeedCategory.unspecified)
NEED_SUMMARY_MAX = 500


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("organisation_id", "idempotency_key"),
        Index("ix_leads_match_email", "match_email"),
        Index("ix_leads_match_phone", "match_phone"),
        Index("ix_leads_match_name", "match_name"),
        Index("ix_leads_queue", "status", "created_at"),
        Index("ix_leads_status_assignee", "status", "assigned_to_id"),
        # an introducer's home: its referrals in progress by status, and the oldest, from the index alone
        Index("ix_leads_org_status", "organisation_id", "status", "created_at"),
        # the conflict queue: few rows among many
        Index("ix_leads_conflicts", "possible_duplicate_of_id",
              sqlite_where=text("possible_duplicate_of_id IS NOT NULL"),
              postgresql_where=text("possible_duplicate_of_id IS NOT NULL")),
        # the unassigned queue: counted (the account manager's home) and listed oldest first from the index alone,
        # conflicts left out by the columns it carries (assigned_to_id, always NULL here, is in it so that SQLite's
        # planner sees it match as many terms as ix_leads_status_assignee, and prefers it for covering the count)
        Index("ix_leads_unassigned", "status", "assigned_to_id", "created_at", "possible_duplicate_of_id",
              "attribution_decided",
              sqlite_where=text("assigned_to_id IS NULL"), postgresql_where=text("assigned_to_id IS NULL")),
    )

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    #: ISO 3166-1 alpha-2
    country_of_residence: Mapped[str] = mapped_column(String(2))
    #: an ISO date (target start) or an urgency: asap, within_3_months, within_6_months, later
    timeline: Mapped[str] = mapped_column(String(32))
    need_category: Mapped[NeedCategory] = mapped_column(enum_column(NeedCategory))
    #: an optional short note, screened for health data before it is stored
    need_summary: Mapped[str | None] = mapped_column(String(NEED_SUMMARY_MAX))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[LeadStatus] = mapped_column(enum_column(LeadStatus), default=LeadStatus.received)
    #: the API client's Idempotency-Key and a fingerprint of what it sent with it
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    #: normalised identifiers used to find the same client referred twice
    match_email: Mapped[str | None] = mapped_column(String(254))
    match_phone: Mapped[str | None] = mapped_column(String(32))
    match_name: Mapped[str] = mapped_column(String(210))
    #: an earlier lead for the same client: this one waits in the conflict queue for an attribution decision
    possible_duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    attribution_decided: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the firm whose agreement pays the commission for this client (the referrer unless decided otherwise)
    attributed_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    #: the account manager working the lead
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: when the client's personal data was erased (an erasure request, or the retention purge): pseudonymised
    erased_at: Mapped[datetime | None]

    consent: Mapped[Consent] = relationship()
    organisation = relationship("Organisation", foreign_keys=[organisation_id])
    attributed_organisation = relationship("Organisation", foreign_keys=[attributed_organisation_id])
    assigned_to = relationship("User", foreign_keys=[assigned_to_id])
    possible_duplicate_of: Mapped[Lead | None] = relationship(remote_side="Lead.id")

    @property
    def in_conflict(self) -> bool:
        return self.possible_duplicate_of_id is not None and not self.attribution_decided


class AttributionDecision(Base):
    """An account manager's decision on which referral of the same client counts, with the reason."""

    __tablename__ = "attribution_decisions"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    earlier_lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    attributed_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

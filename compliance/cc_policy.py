"""Who may be copied on a client's key milestones, and how much they may read (GDPR art. 5(1)(c), DESIGN §1).

A partner is copied only when the client consented to it and has not withdrawn that consent, and only when the
firm asked to be copied (its "copy us on key client communications" preference). Brokers read
the details they are entitled to; introducers hear of milestones only, and only of those that change what
they can see (received, contacted, quote in progress, contract issued, cancelled) — never offers, insurers or
premiums. Every decision, sent or withheld, carries its reason so that the cc log can show it.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from core.i18n import N_


class CcReason(enum.Enum):
    consent_given = "consent_given"
    no_consent = "no_consent"
    consent_withdrawn = "consent_withdrawn"
    #: the partner firm asked not to be copied on key client communications (its onboarding preference)
    firm_opted_out = "firm_opted_out"
    #: introducers hear of milestones only: the details are withheld, or the step is not news at their level
    introducer_detail_filter = "introducer_detail_filter"
    no_recipient = "no_recipient"
    #: the client asked to be erased; their case is kept under a legal duty and not used (GDPR art. 18)
    processing_restricted = "processing_restricted"

    @property
    def label(self) -> str:
        return CC_REASON_LABELS[self]


CC_REASON_LABELS = {
    CcReason.consent_given: N_("The client consented to copies of key steps"),
    CcReason.no_consent: N_("The client did not consent to copies of key steps"),
    CcReason.consent_withdrawn: N_("The client withdrew consent"),
    CcReason.firm_opted_out: N_("The partner firm asked not to be copied on key steps"),
    CcReason.introducer_detail_filter: N_("Introducer: milestone only, no detail"),
    CcReason.no_recipient: N_("Nobody active at the partner firm to copy"),
    CcReason.processing_restricted: N_("The client asked to be erased: their case is kept, not used"),
}

FULL = "full"
MILESTONE_ONLY = "milestone_only"


@dataclass(frozen=True)
class CcDecision:
    send: bool
    reason: CcReason
    #: FULL or MILESTONE_ONLY when sent, None when withheld
    detail: str | None


def decide(*, consented: bool, withdrawn: bool, introducer: bool, news_for_introducer: bool,
           has_recipient: bool, firm_wants_copies: bool, restricted: bool = False) -> CcDecision:
    """The copy of one key milestone to the partner who brought the client. The client's consent allows a copy;
    the firm's own preference (`firm_wants_copies`) decides whether it wants one; nothing goes about a client
    whose records are restricted after an erasure request."""
    if restricted:
        return CcDecision(False, CcReason.processing_restricted, None)
    if withdrawn:
        return CcDecision(False, CcReason.consent_withdrawn, None)
    if not consented:
        return CcDecision(False, CcReason.no_consent, None)
    if not firm_wants_copies:
        return CcDecision(False, CcReason.firm_opted_out, None)
    if introducer and not news_for_introducer:
        return CcDecision(False, CcReason.introducer_detail_filter, None)
    if not has_recipient:
        return CcDecision(False, CcReason.no_recipient, None)
    if introducer:
        return CcDecision(True, CcReason.introducer_detail_filter, MILESTONE_ONLY)
    return CcDecision(True, CcReason.consent_given, FULL)

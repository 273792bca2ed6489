"""The stages of a case: the moves allowed between them, which ones the client and partner hear of, and what an
introducer may know of them. Data only, read by the pipeline, its notifications and the portal."""
from __future__ import annotations

from core.i18n import N_

from ..leads.models import LeadStatus
from .models import CaseStatus

S = CaseStatus

TRANSITIONS: dict[CaseStatus, tuple[CaseStatus, ...]] = {
    S.received: (S.needs_analysis, S.not_pursued, S.withdrawn),
    S.needs_analysis: (S.quote_requested, S.not_pursued, S.withdrawn),
    S.quote_requested: (S.quote_issued, S.not_pursued, S.withdrawn),
    S.quote_issued: (S.underwriting_questions, S.offer, S.not_pursued, S.withdrawn),
    S.underwriting_questions: (S.offer, S.not_pursued, S.withdrawn),
    S.offer: (S.client_decision, S.underwriting_questions, S.not_pursued, S.withdrawn),
    S.client_decision: (S.contract_issued, S.offer, S.not_pursued, S.withdrawn),
    S.contract_issued: (S.active, S.cancelled),
    S.active: (S.renewal_due, S.cancelled),
    S.renewal_due: (S.renewed, S.cancelled),
    S.renewed: (S.renewal_due, S.cancelled),
    S.not_pursued: (),
    S.withdrawn: (),
    S.cancelled: (),
}

#: the milestones the client hears of and the partner is copied on (with consent)
KEY_MILESTONES = frozenset({S.quote_issued, S.underwriting_questions, S.offer, S.contract_issued, S.cancelled,
                            S.renewal_due})
#: before the contract: the work in progress that dashboards count and age
OPEN_STAGES = (S.received, S.needs_analysis, S.quote_requested, S.quote_issued, S.underwriting_questions, S.offer,
               S.client_decision)
IN_FORCE = (S.contract_issued, S.active, S.renewal_due, S.renewed)
CLOSED = (S.not_pursued, S.withdrawn, S.cancelled)

NEXT_STEP = {
    S.received: N_("The broker analyses the need with the client"),
    S.needs_analysis: N_("The broker asks insurers for quotes"),
    S.quote_requested: N_("Insurers answer with quotes"),
    S.quote_issued: N_("The insurer's questions or an offer"),
    S.underwriting_questions: N_("The client answers the insurer's questions"),
    S.offer: N_("The client decides"),
    S.client_decision: N_("The insurer issues the contract"),
    S.contract_issued: N_("Cover starts"),
    S.active: N_("Renewal"),
    S.renewal_due: N_("The client renews"),
    S.renewed: N_("Next renewal"),
}

#: what an introducer may know of the case its lead became
LEAD_LEVEL = {
    S.received: LeadStatus.contacted, S.needs_analysis: LeadStatus.contacted,
    S.quote_requested: LeadStatus.quote_in_progress, S.quote_issued: LeadStatus.quote_in_progress,
    S.underwriting_questions: LeadStatus.quote_in_progress, S.offer: LeadStatus.quote_in_progress,
    S.client_decision: LeadStatus.quote_in_progress, S.contract_issued: LeadStatus.contract_issued,
    S.active: LeadStatus.contract_issued, S.renewal_due: LeadStatus.contract_issued,
    S.renewed: LeadStatus.contract_issued, S.not_pursued: LeadStatus.not_pursued,
    S.withdrawn: LeadStatus.not_pursued, S.cancelled: LeadStatus.cancelled,
}

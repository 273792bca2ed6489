"""Every value a person reads, and its label: the one list of labelled enums of every package.

Each enum keeps its labels beside it (a `label` property over an N_-marked dict, as core/accounts.py does);
audit actions have theirs in core/audit_labels.py. This module gathers them, so a value met without its enum (an
audit event's details, an outbox job, a roster event) still reads as a word, never as its code; a lead's
timeline reads through portal.i18n.timeline_label.
tests/portal/test_labels.py checks every enum stored in a column is here (or says why no one reads it) and
that every label is translated in all six catalogs.
"""
from __future__ import annotations

import enum
from functools import cache

from agreements.models import AgreementKind, AgreementStatus, PaymentTermsBasis
from compliance.broker_disclosure import AdviceBasis
from compliance.cc_policy import CcReason
from compliance.complaint_models import (ComplainantKind, ComplaintCategory, ComplaintChannel, ComplaintState,
                                         ProductGroup)
from compliance.consent_receipts import ConsentMethod, Purpose
from compliance.crossborder import CrossBorderOutcome, NotificationBasis
from compliance.disclosure_models import DisclosureChannel, DisclosureDecision, DisclosureState
from compliance.training import TrainingFormat
from core.accounts import CommunicationModel, PartnerStatus, Register, Role
from core.contracts import ContractStatus
from core.i18n import N_
from core.outbox import OUTBOX_TEMPLATE_LABELS, OutboxState
from core.partners import Lifecycle
from core.products import ProductLine
from funnel.catalogue import Cover, Guarantee, LimitBasis, PersonCategory, Programme
from funnel.collection_models import DunningKind, DunningState
from funnel.models import FunnelStage, Outcome, RosterEventKind, SubscriptionState, VolunteerState
from funnel.payment_models import MethodKind, MethodState, PaymentState
from ledger.models import AccountType, ExclusionReason, ItemKind, Resolution, RunStatus
from ledger.receipts import PaymentStatus
from ledger.statements import LineKind
from pipeline.broker_disclosure import DeliveryMethod, RemunerationNature, RemunerationPayer
from pipeline.cases.models import Adviser, BudgetBand, CaseStatus, CcOutcome
from pipeline.leads.models import LeadStatus, NeedCategory

#: the enums whose values people read, each member with a `label` msgid. Listed by hand: the test finds the
#: enums stored in columns and fails on one missing here (or from UNSHOWN).
LABELLED: tuple[type[enum.Enum], ...] = (
    AgreementKind, AgreementStatus, PaymentTermsBasis, AdviceBasis, CcReason, ComplainantKind, ComplaintCategory,
    ComplaintChannel, ComplaintState, ProductGroup, ConsentMethod, Purpose, CrossBorderOutcome, NotificationBasis,
    DisclosureChannel, DisclosureDecision, DisclosureState, TrainingFormat, CommunicationModel, PartnerStatus,
    Register, Role, ContractStatus, OutboxState, Lifecycle, ProductLine, Cover, Guarantee, LimitBasis,
    PersonCategory, Programme, FunnelStage, Outcome, RosterEventKind, SubscriptionState, VolunteerState, MethodKind,
    MethodState, PaymentState, DunningKind, DunningState, ExclusionReason, ItemKind, Resolution, RunStatus, PaymentStatus, LineKind,
    DeliveryMethod, RemunerationNature, RemunerationPayer, BudgetBand, CaseStatus, CcOutcome, LeadStatus,
    NeedCategory, AccountType, Adviser,
)

#: enums stored in columns that no page shows as such, with where their meaning reaches people instead
UNSHOWN: dict[str, str] = {
    "agreements.models.SignerParty": "shown through the signature actions' labels (agreement.signed_<party>)",
    "compliance.complaint_models.ReminderKind": "each reminder is an e-mail with its own wording",
    "compliance.models.ReviewDecision": "the review pages say approved / rejected in their own sentences",
    "compliance.models.ReviewKind": "each kind of review has its own page",
    "core.outbox.OutboxKind": "the outbox lists e-mails and jobs by their template's label",
    "funnel.models.DependantSource": "internal: who declared a dependant decides what may change it",
    "funnel.models.RosterSource": "the import list shows the file name, or the API",
    "portal.accounts.models.TokenPurpose": "each purpose has its own e-mail and page",
}


@cache
def _value_labels() -> dict[str, str]:
    """value -> msgid over every labelled enum, for values met without their enum (an audit event's details);
    a value several enums hold reads as the first one's label (a word in any case, never the code)."""
    found: dict[str, str] = {}
    for kind in LABELLED:
        for member in kind:
            if isinstance(member.value, str):
                found.setdefault(member.value, member.label)
    return found


# The functions below return msgids; the caller translates them (`tr(...)`), so this module needs nothing of the
# portal's and portal.i18n can offer them to the templates.

def value_label(value: str) -> str | None:
    """A stored value's label (a msgid), when a labelled enum holds it."""
    return _value_labels().get(value)


#: the integration campaign's e-mails: one template per step and language (campaign/<step>.<language>)
CAMPAIGN_TEMPLATES, CAMPAIGN_MAIL = "campaign/", N_("Integration campaign e-mail")


def outbox_label(template: str) -> str:
    """What an outbox message not rendered yet is (a msgid), by its template or job name."""
    if template.startswith(CAMPAIGN_TEMPLATES):
        return CAMPAIGN_MAIL
    return OUTBOX_TEMPLATE_LABELS.get(template, template)


def roster_kind(kind: str | None) -> str:
    """A roster event's kind as a msgid ("" for none; an unknown kind as it came)."""
    if not kind:
        return ""
    try:
        return RosterEventKind(kind).label
    except ValueError:
        return kind

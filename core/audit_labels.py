"""What the audit log calls each action and each kind of record, in one place.

Every action passed to `core.audit.record` anywhere in the code has its label here (tests/core/test_audit_labels.py
scans the sources), marked for translation; the portal translates it in the reader's language. A new action
without a label fails that test rather than showing as a raw code to the compliance officer.
"""
from __future__ import annotations

from .i18n import N_

#: action -> label (a msgid). Grouped by what the action is about, in the order the filter lists them.
ACTION_LABELS: dict[str, str] = {
    # sign-in and accounts
    "auth.login": N_("Signed in"),
    "auth.login_failed": N_("Sign-in failed"),
    "auth.login_refused": N_("Sign-in refused (API-only account)"),
    "user.created": N_("User created"),
    "user.role_changed": N_("User role changed"),
    "user.organisation_changed": N_("User moved to another firm"),
    "user.activated": N_("User activated"),
    "user.deactivated": N_("User deactivated"),
    "user.password_link_sent": N_("Password link sent"),
    "user.password_set": N_("Password set"),
    "api_token.created": N_("API token created"),
    "api_token.revoked": N_("API token revoked"),
    "api_token.revoked_all": N_("All API tokens revoked"),
    # partner firms
    "organisation.applied": N_("Firm applied to become a partner"),
    "organisation.created": N_("Partner firm created"),
    "organisation.updated": N_("Partner firm details changed"),
    "organisation.status_changed": N_("Partner firm status changed"),
    "organisation.status_approved": N_("Partner status approved"),
    "organisation.status_rejected": N_("Partner status rejected"),
    "organisation.suspended": N_("Partner firm suspended"),
    "organisation.reinstated": N_("Partner firm reinstated"),
    "organisation.bank_details_changed": N_("Payout bank details changed"),
    # agreements
    "agreement.prepared": N_("Agreement prepared"),
    "agreement.schedule_set": N_("Commission schedule set"),
    "agreement.recurring_approved": N_("Recurring fee approved"),
    "agreement.sent": N_("Agreement sent for signature"),
    "agreement.signed_partner": N_("Agreement signed by the partner"),
    "agreement.signed_broker": N_("Agreement countersigned by the broker"),
    "agreement.activated": N_("Agreement in force"),
    "agreement.superseded": N_("Agreement superseded"),
    "agreement.terminated": N_("Agreement terminated"),
    # leads and cases
    "lead.submitted": N_("Lead referred"),
    "lead.health_data_refused": N_("Lead refused: health information"),
    "lead.claimed": N_("Lead claimed"),
    "lead.attribution_decided": N_("Lead attribution decided"),
    "lead.status_changed": N_("Lead status changed"),
    "lead.converted": N_("Lead turned into a case"),
    "case.submitted": N_("Case submitted"),
    "case.claimed": N_("Case claimed"),
    "case.moved": N_("Case moved to another stage"),
    "consent.withdrawn": N_("Consent withdrawn"),
    # contracts and commissions
    "contract.placed": N_("Contract placed"),
    "contract.cancelled": N_("Contract cancelled"),
    "commission.rate_missing": N_("Commission not posted: no insurer rate"),
    "disclosure.released": N_("Held commission released"),
    "insurer.created": N_("Insurer added"),
    "insurer.activated": N_("Insurer activated"),
    "insurer.deactivated": N_("Insurer deactivated"),
    "insurer_rate.set": N_("Insurer commission rate set"),
    "insurer_statement.imported": N_("Insurer statement imported"),
    "insurer_receipt.recorded": N_("Insurer payment recorded"),
    "reconciliation_item.resolved": N_("Statement line resolved"),
    "payout_run.prepared": N_("Payout run prepared"),
    "payout_run.approved": N_("Payout run approved"),
    "payout_run.settled": N_("Payout run settled"),
    "payout_run.cancelled": N_("Payout run cancelled"),
    # volunteers' top-up cover
    "roster.imported": N_("Volunteer roster imported"),
    "volunteer.link_issued": N_("Personal link sent to a volunteer"),
    "tariff.version_added": N_("Tariff version added"),
    "zone_table.added": N_("Zone table added"),
    "subscription.quoted": N_("Adhesion quoted"),
    "subscription.adhesion_started": N_("Adhesion started"),
    "subscription.terms_sent": N_("Adhesion terms sent"),
    "subscription.signature_code_sent": N_("Signature code sent"),
    "subscription.signed": N_("Adhesion signed"),
    "subscription.payment_pending": N_("Adhesion awaiting payment"),
    "subscription.payment_method_accepted": N_("Payment method accepted"),
    "subscription.active": N_("Cover active"),
    "subscription.certificate_issued": N_("Certificate of cover issued"),
    "subscription.certificate_sent": N_("Certificate of cover sent"),
    "subscription.cover_end_moved": N_("End of cover moved"),
    "subscription.closed": N_("Adhesion closed"),
    "subscription.reopened": N_("Adhesion reopened"),
    "subscription.withdrawn": N_("Adhesion withdrawn (cooling-off)"),
    "subscription.payment_refunded": N_("Adhesion payment refunded"),
    "payment.created": N_("Payment started"),
    "payment.state": N_("Payment status changed"),
    "payment.refunded": N_("Payment refunded"),
    "payment.cheque_recorded": N_("Cheque recorded"),
    "payment_method.saved": N_("Payment method saved"),
    "payment.refund_owed": N_("Refund owed, to pay back by transfer"),
    "subscription.dependant_added": N_("Person added to the cover"),
    "subscription.certificate_reissued": N_("Certificate of cover reissued"),
    "contract.amended": N_("Contract premium amended"),
    # compliance
    "disclosure.declared": N_("Disclosures declared by the partner"),
    "disclosure.approved": N_("Disclosures approved"),
    "disclosure.returned": N_("Disclosures returned to the partner"),
    "disclosure_settings.published": N_("Broker's disclosure settings published"),
    "needs_statement.recorded": N_("Demands and needs statement recorded"),
    "disclosure_document.produced": N_("Broker's disclosure document produced"),
    "disclosure_document.delivered": N_("Broker's disclosure document given to the client"),
    "disclosure_document.acknowledged": N_("Client acknowledged receipt of the disclosure document"),
    "queue.assigned": N_("Review item assigned"),
    "queue.reviewed": N_("Review item marked reviewed"),
    "complaint.received": N_("Complaint received"),
    "complaint.assigned": N_("Complaint assigned"),
    "complaint.acknowledged": N_("Complaint acknowledged"),
    "complaint.answered": N_("Complaint answered"),
    "complaint.closed": N_("Complaint closed"),
    "complaint.reminded": N_("Complaint reminder sent"),
    "training.recorded": N_("Training recorded"),
    "training.alerts_raised": N_("Training alerts raised"),
}

#: the kinds of record events are about (their table names) -> label
SUBJECT_LABELS: dict[str, str] = {
    "users": N_("Person"),
    "organisations": N_("Partner firm"),
    "agreements": N_("Agreement"),
    "leads": N_("Lead"),
    "cases": N_("Case"),
    "contracts": N_("Contract"),
    "insurers": N_("Insurer"),
    "ledger_insurer_statements": N_("Insurer statement"),
    "ledger_insurer_receipts": N_("Insurer payment"),
    "ledger_reconciliation_items": N_("Statement line"),
    "ledger_payout_runs": N_("Payout run"),
    "api_tokens": N_("API token"),
    "volunteers": N_("Volunteer"),
    "roster_imports": N_("Roster import"),
    "tariff_versions": N_("Tariff version"),
    "zone_tables": N_("Zone table"),
    "subscriptions": N_("Adhesion"),
    "payments": N_("Payment"),
    "saved_payment_methods": N_("Payment method"),
    "contract_disclosures": N_("Contract disclosures"),
    "broker_disclosure_settings": N_("Broker's disclosure settings"),
    "complaints": N_("Complaint"),
    "training_records": N_("Training record"),
}


def action_label(action: str) -> str:
    """The action's msgid; an action without one (recorded by code older than its label) shows as its code."""
    return ACTION_LABELS.get(action, action)


def subject_label(subject_type: str | None) -> str:
    return SUBJECT_LABELS.get(subject_type or "", subject_type or "")

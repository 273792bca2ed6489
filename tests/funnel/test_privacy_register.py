"""The consent register and the data-subject lookup, without the web: every consent is a receipt, and a person
is found across leads, cases, contracts, volunteers and consents by e-mail or by name."""
from __future__ import annotations

from datetime import date

from cryptography.fernet import Fernet

from compliance import privacy
from compliance.consent_receipts import PRIVACY_POLICY_VERSION, ConsentMethod, controller_of
from funnel import journey
from funnel import privacy as _funnel_privacy  # noqa: F401  (registers the funnel's holder)
from funnel.catalogue import Cover
from pipeline import privacy as _pipeline_privacy  # noqa: F401
from pipeline.cases.services import submit_case
from pipeline.leads.services import submit_lead
from tests.pipeline.case_data import case_input, lead_input

TODAY = date(2026, 12, 7)
START = date(2026, 12, 17)


def same(text: str) -> str:
    return text


def test_a_lead_and_a_case_carry_a_consent_receipt(session, introducer, broker, new_lead, new_case):
    lead = new_lead(introducer, "Ana")
    new_case(broker, "Marc")
    case, _ = submit_case(session, broker, case_input("Zoe", case_summary="Back surgery in 2019, fully recovered"),
                          keys=Fernet.generate_key().decode())
    receipt = lead.consent
    assert receipt.collection_method is ConsentMethod.partner_form
    assert receipt.jurisdiction == "PT" and receipt.language == "en"
    assert receipt.purposes == ["share_with_broker", "cc_on_milestones"]
    assert receipt.policy_version == PRIVACY_POLICY_VERSION and receipt.text_version == "2026-11"
    assert receipt.controller == controller_of(session) and receipt.special_category is False
    # the specialist's texts may touch on health: special-category data
    assert case.consent.special_category is True and case.consent.jurisdiction == "AE"
    api_lead, _ = submit_lead(session, introducer, lead_input("Bea", cc=False), method=ConsentMethod.partner_api)
    assert api_lead.consent.collection_method is ConsentMethod.partner_api
    assert api_lead.consent.purposes == ["share_with_broker"]


def test_the_adhesion_records_the_volunteers_consent(session, products, make_volunteer):
    lea = make_volunteer(email="lea.martin@example.org")
    subscription = journey.save_quote(session, lea, {Cover.prevoyance: "standard"}, [], today=TODAY, language="fr")
    holder = journey.Holder("Léa", "Martin", "lea.martin@example.org", "+1 212 555 0100", "12 Main Street")
    journey.start_adhesion(session, subscription, holder=holder, beneficiaries="my heirs", start_on=START,
                           accepted=True, today=TODAY, translate=same, broker_name="Broker SAS")
    consent = subscription.consent
    assert consent.collection_method is ConsentMethod.volunteer_adhesion
    assert consent.organisation_id is None and consent.captured_by_id is None
    assert consent.controller == "Broker SAS" and consent.language == "fr" and consent.jurisdiction == "US"
    assert consent.purposes == ["adhesion"] and consent.special_category is True
    # starting again (a new start date) keeps the one receipt
    journey.start_adhesion(session, subscription, holder=holder, beneficiaries="my heirs", start_on=START,
                           accepted=True, today=TODAY, translate=same, broker_name="Broker SAS")
    assert subscription.consent is consent


def test_a_person_is_found_across_the_packages_by_email_or_name(session, products, make_volunteer, introducer,
                                                                 broker, new_lead, new_case):
    new_lead(introducer, "Ana")
    new_case(broker, "Ana", client_last_name="Silva")
    new_case(broker, "Marc")
    make_volunteer(first_name="Ana", last_name="Silva", email="ana.volunteer@example.org")
    by_email = privacy.look_up(session, privacy.Subject(email=" ANA@example.org "))
    assert sorted(h.kind for h in by_email) == ["case", "consent", "consent", "lead"]
    by_name = privacy.look_up(session, privacy.Subject(name="silva ana"))
    assert sorted(h.kind for h in by_name) == ["case", "consent", "consent", "lead", "volunteer"]
    assert all("Marc" not in h.name for h in by_name)
    assert privacy.look_up(session, privacy.Subject(email="nobody@example.org")) == []

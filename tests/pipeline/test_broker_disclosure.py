"""The demands and needs statement (the offer waits for it; versioned; no medical information), and the broker's
disclosure document: produced from the case and the settings in force, in the client's language (French and
English here, the others falling back to English), its delivery recorded, and the client's acknowledgement through
the link, once."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from compliance import broker_disclosure as settings
from compliance.broker_disclosure import AdviceBasis, SettingsInput
from core.accounts import PartnerStatus, Role
from core.audit import AuditEvent
from core.db import utcnow
from core.errors import AppendOnlyViolation
from pipeline import broker_disclosure as documents
from pipeline.broker_disclosure import DeliveryMethod, Remuneration, RemunerationNature, RemunerationPayer
from pipeline.cases import needs
from pipeline.cases.models import CaseStatus as S
from pipeline.cases.pipeline import move
from pipeline.errors import MoveRefused
from pipeline.cases.services import convert_lead
from tests.pipeline.case_data import case_input, check_local_licensing, needs_input, record_needs, walk

TO_QUOTE = (S.needs_analysis, S.quote_requested, S.quote_issued)
def today():
    """The day now (read per use: the suite may run across midnight)."""
    return utcnow().date()
COMMISSION = Remuneration(RemunerationNature.commission, RemunerationPayer.insurer)


def publish(session, **changes):
    values = dict(effective_from=today(), legal_name="BIG Insurance Brokers SAS",
                  address="12 rue de la Paix, 75002 Paris, France", register="ORIAS", registration_number="07000001",
                  advice_basis=AdviceBasis.fair_analysis, insurers=["Allianz Care", "Cigna Global"], holdings=[],
                  complaints_procedure="Write to reclamations@broker.example: we answer within two months.",
                  mediation_procedure="La Médiation de l'Assurance, TSA 50110, 75441 Paris Cedex 09.")
    values.update(changes)
    admin = session.scalars(select(documents.User).where(documents.User.role == Role.admin)).first()
    version = settings.publish(session, admin, SettingsInput(**values), today=today())
    session.commit()
    return version


@pytest.fixture
def ready(session, make_user, manager, broker, new_case):
    """A case at "quote issued" with its statement recorded, and the settings in force."""
    make_user(Role.admin)
    publish(session)
    case = new_case(broker)
    walk(session, manager, case, *TO_QUOTE)
    record_needs(session, manager, case)
    return case


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


# --- the demands and needs statement -----------------------------------------------------------------------------

def test_the_offer_waits_for_the_demands_and_needs_statement(session, manager, broker, new_case):
    case = new_case(broker)
    walk(session, manager, case, *TO_QUOTE)
    check_local_licensing(session, manager, case)  # the client lives in the UAE: that check is recorded already
    with pytest.raises(MoveRefused) as refused:
        move(session, manager, case, S.offer)
    assert "demands and needs statement" in str(refused.value) and "case page" in str(refused.value)
    session.rollback()
    assert case.status is S.quote_issued
    record_needs(session, manager, case)
    move(session, manager, case, S.offer)
    session.commit()
    assert case.status is S.offer


def test_a_new_statement_replaces_the_previous_one_and_the_history_stays(session, manager, broker, new_case):
    case = new_case(broker)
    first = record_needs(session, manager, case)
    second = record_needs(session, manager, case, budget_minor=1_200_000, countries=["AE"])
    assert (first.version, second.version) == (1, 2)
    assert needs.current(session, case) == second and needs.history(session, case) == [second, first]
    assert second.countries == ["AE"] and second.budget_minor == 1_200_000
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "needs_statement.recorded"))
    assert len(actions.all()) == 2
    first.needs = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        session.commit()
    session.rollback()


def test_medical_information_is_refused_and_nothing_is_kept(session, manager, broker, new_case):
    case = new_case(broker)
    with pytest.raises(needs.NeedsRefused) as refused:
        needs.record(session, manager, case, needs_input(needs="Cover needed; the client has diabetes and asthma."))
    assert set(refused.value.fields) == {"needs"} and "No medical information" in refused.value.fields["needs"][0]
    session.rollback()
    assert needs.current(session, case) is None


@pytest.mark.parametrize("changes,fields", [
    ({"needs": "short", "reasons": ""}, {"needs", "reasons"}),
    ({"budget_minor": 0, "budget_currency": "eur"}, {"budget", "budget_currency"}),
    ({"countries": []}, {"countries"}),
    ({"countries": ["France"]}, {"countries"}),
])
def test_an_incomplete_statement_is_refused(session, manager, broker, new_case, changes, fields):
    with pytest.raises(needs.NeedsRefused) as refused:
        needs.record(session, manager, new_case(broker), needs_input(**changes))
    assert set(refused.value.fields) == fields


@pytest.mark.parametrize("role", [Role.partner_admin, Role.compliance, Role.finance])
def test_only_the_broker_s_account_managers_record_it(session, make_user, broker, new_case, role):
    case = new_case(broker)
    user = broker if role is Role.partner_admin else make_user(role)
    with pytest.raises(needs.NotRecorder):
        needs.record(session, user, case, needs_input())


# --- the disclosure document -------------------------------------------------------------------------------------

def test_the_document_in_english_says_what_the_broker_must_disclose(session, manager, ready):
    document = documents.produce(session, manager, ready, Remuneration(
        RemunerationNature.mix, RemunerationPayer.insurer_and_client, "A fee of 150 EUR and the insurer's commission."),
        language="en")
    session.commit()
    assert document.sha256 == documents.rendering.sha256(document.pdf) and document.language == "en"
    text = text_of(document.pdf)
    for expected in ("Information about your broker", "BIG Insurance Brokers SAS", "12 rue de la Paix",
                     "ORIAS under number 07000001", "fair and personal analysis", "Allianz Care", "Cigna Global",
                     "None: BIG Insurance Brokers SAS holds no such share",
                     "a mix of a fee and a commission", "partly by the insurer and partly by you",
                     "A fee of 150 EUR", ready.organisation.legal_name, "an insurance broker registered with ORIAS",
                     ready.organisation.registration_number, "reclamations@broker.example", "Médiation de l'Assurance",
                     "Family cover for a posting in Dubai", "€9,000.00", "United Arab Emirates", "France",
                     "Allianz Care Premier", "Covers the family in the UAE", document.reference,
                     documents.TEMPLATE_VERSION):
        assert expected in text, expected
    assert "diabetes" not in text


def test_the_document_in_french_for_an_introducer_tied_with_holdings(session, manager, make_introducer, new_lead,
                                                                     make_user):
    make_user(Role.admin)
    publish(session, advice_basis=AdviceBasis.tied, insurers=["Allianz Care"],
            holdings=["Allianz Care détient 12 % du capital du courtier"])
    introducer = make_introducer()
    case = convert_lead(session, manager, new_lead(introducer), case_input(language="fr"))
    session.commit()
    record_needs(session, manager, case)
    document = documents.produce(session, manager, case, Remuneration(RemunerationNature.commission,
                                                                      RemunerationPayer.insurer), language="fr")
    text = text_of(document.pdf)
    for expected in ("Informations sur votre courtier", "immatriculé auprès de ORIAS sous le numéro 07000001",
                     "obligation contractuelle de travailler exclusivement", "Allianz Care détient 12 %",
                     "commission, incluse dans la prime", "versée par l'assureur",
                     "n'est pas intermédiaire en assurance", introducer.organisation.legal_name,
                     "Vos exigences et besoins", "Émirats arabes unis", "Accusé de réception"):
        assert expected in text, expected
    assert introducer.organisation.status is PartnerStatus.introducer


def test_other_languages_fall_back_to_english(session, manager, ready):
    document = documents.produce(session, manager, ready, COMMISSION, language="uk")
    assert document.language == "en" and "Information about your broker" in text_of(document.pdf)


def test_the_document_needs_the_statement_and_settings_in_force(session, manager, broker, new_case, make_user):
    case = new_case(broker)
    with pytest.raises(documents.NeedsStatementMissing):
        documents.produce(session, manager, case, COMMISSION, language="en")
    record_needs(session, manager, case)
    with pytest.raises(documents.SettingsMissing):
        documents.produce(session, manager, case, COMMISSION, language="en")
    make_user(Role.admin)
    publish(session, effective_from=today() + timedelta(days=1))
    with pytest.raises(documents.SettingsMissing):  # published, but not in force yet
        documents.produce(session, manager, case, COMMISSION, language="en")
    with pytest.raises(documents.NotProducer):
        documents.produce(session, broker, case, COMMISSION, language="en")


# --- delivery and acknowledgement --------------------------------------------------------------------------------

def test_an_e_mailed_delivery_is_acknowledged_once(session, manager, ready):
    document = documents.produce(session, manager, ready, COMMISSION, language="en")
    delivery, token = documents.deliver(session, manager, document, DeliveryMethod.email, "marc@example.org")
    session.commit()
    assert token and delivery.token_hash == documents.hash_token(token) and token not in delivery.token_hash
    assert delivery.expires_at > utcnow() + timedelta(days=29)
    acknowledged = documents.acknowledge(session, token, ip="203.0.113.9", user_agent="Firefox/140")
    session.commit()
    assert (acknowledged.acknowledged_ip, acknowledged.acknowledged_user_agent) == ("203.0.113.9", "Firefox/140")
    first = acknowledged.acknowledged_at
    with pytest.raises(documents.AlreadyAcknowledged):
        documents.acknowledge(session, token, ip="198.51.100.1", user_agent="Other")
    session.rollback()
    session.refresh(delivery)
    assert delivery.acknowledged_at == first and delivery.acknowledged_ip == "203.0.113.9"


def test_an_expired_or_tampered_link_is_refused(session, manager, ready):
    document = documents.produce(session, manager, ready, COMMISSION, language="en")
    delivery, token = documents.deliver(session, manager, document, DeliveryMethod.email, "marc@example.org")
    session.commit()
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "", "x" * 200):
        with pytest.raises(documents.LinkInvalid):
            documents.acknowledge(session, bad, ip=None, user_agent=None)
    with pytest.raises(documents.LinkInvalid):
        documents.acknowledge(session, token, ip=None, user_agent=None, now=delivery.expires_at + timedelta(seconds=1))
    session.rollback()
    assert session.get(documents.DisclosureDelivery, delivery.id).acknowledged_at is None


def test_a_delivery_by_hand_is_recorded_with_its_day(session, manager, ready):
    document = documents.produce(session, manager, ready, COMMISSION, language="en")
    with pytest.raises(documents.DocumentRefused) as refused:
        documents.deliver(session, manager, document, DeliveryMethod.posted, "Marc Dupont, Dubai",
                          delivered_on=today() + timedelta(days=1))
    assert "delivered_on" in refused.value.fields
    delivery, token = documents.deliver(session, manager, document, DeliveryMethod.handed_over, "Marc Dupont",
                                        delivered_on=today())
    assert token is None and delivery.token_hash is None and delivery.delivered_on == today()
    with pytest.raises(documents.DocumentRefused):
        documents.deliver(session, manager, document, DeliveryMethod.email, "not an address")
    with pytest.raises(documents.DocumentRefused):
        documents.deliver(session, manager, document, DeliveryMethod.email, "marc dupont@example")


def test_a_produced_document_is_kept_as_it_was(session, manager, ready):
    document = documents.produce(session, manager, ready, COMMISSION, language="en")
    session.commit()
    document.pdf = b"%PDF-forged"
    with pytest.raises(AppendOnlyViolation):
        session.commit()
    session.rollback()
    assert date.today() >= document.created_at.date()

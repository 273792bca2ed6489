"""The journey's rules without the web: the personal link, the quote kept as a subscription, the adhesion's
checks, the signature with its one-time code, and the verification of a sealed adhesion."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from agreements.certificates import certificate_pem, ensure_dev_certificate
from agreements.sealing import SealConfig
from agreements.verification import verify
from funnel import journey
from funnel.catalogue import Cover
from funnel.eligibility import Confirmation, Relationship
from funnel.errors import DependantNotEligible
from funnel.models import AccessLink, FunnelEvent, FunnelStage, SubscriptionState

TODAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
HOLDER = journey.Holder("Léa", "Martin", "lea@example.org", "+1 212 555 0100", "12 Main Street, New York")
SPOUSE_YES = {Confirmation.no_salaried_work: True, Confirmation.not_national_of_mission_country: True,
              Confirmation.lives_in_mission_country: True}


def same(text: str) -> str:
    return text


@pytest.fixture(scope="module")
def seal_config(tmp_path_factory) -> tuple[SealConfig, bytes]:
    password = b"journey seal"
    path = ensure_dev_certificate(tmp_path_factory.mktemp("seal") / "seal.p12", password)
    return SealConfig(str(path), password), certificate_pem(path, password)


def test_a_link_is_stored_hashed_expires_and_opens_only_its_own_volunteer(session, products, make_volunteer):
    lea, hugo = make_volunteer(), make_volunteer(first_name="Hugo")
    link, raw = journey.issue_link(session, lea, days=30, now=NOW)
    assert raw not in (link.token_hash, link.public_id) and link.token_hash == journey.hash_token(raw)
    assert link.expires_at == NOW + timedelta(days=30)
    assert journey.open_link(session, raw, now=NOW + timedelta(days=29)).volunteer is lea
    assert journey.volunteer_of_link(session, link.public_id, now=NOW) is lea
    assert journey.volunteer_of_link(session, link.public_id, now=NOW + timedelta(days=30)) is None
    with pytest.raises(journey.LinkInvalid):
        journey.open_link(session, raw, now=NOW + timedelta(days=30))
    with pytest.raises(journey.LinkInvalid):
        journey.open_link(session, raw[:-1] + ("A" if raw[-1] != "A" else "B"), now=NOW)
    with pytest.raises(ValueError):
        journey.issue_link(session, hugo, days=0)
    assert session.scalars(select(FunnelEvent.stage).where(FunnelEvent.volunteer_id == lea.id)).all() == [
        FunnelStage.link_opened]
    assert session.scalars(select(AccessLink.token_hash)).all() == [link.token_hash]


def test_a_quote_is_kept_with_its_versions_and_replaced_while_open(session, products, make_volunteer):
    lea = make_volunteer(dependants=[{"category": "spouse", "birth_date": "1999-07-14"}])
    spouse = lea.current_dependants[0]
    with pytest.raises(DependantNotEligible) as refused:
        journey.save_quote(session, lea, {Cover.health: "comfort"},
                           [journey.DependantChoice(spouse, Relationship.cohabiting, SPOUSE_YES)],
                           today=TODAY, language="fr")
    prefix = journey.dependant_field(spouse)
    assert set(refused.value.fields) == {f"{prefix}lived_together_3_months", f"{prefix}fully_dependent",
                                         f"{prefix}proof_of_cohabitation"}
    first = journey.save_quote(session, lea, {Cover.health: "comfort"},
                               [journey.DependantChoice(spouse, Relationship.married, SPOUSE_YES)],
                               today=TODAY, language="fr")
    assert first.state is SubscriptionState.quoted and first.zone == 3
    assert first.quote["covers"][0]["tariff"] and first.quote["zone_table"]
    assert first.monthly_total_minor == 6400 + 7600
    assert first.start_on == TODAY + timedelta(days=1) and first.ends_on == lea.mission_end
    again = journey.save_quote(session, lea, {Cover.health: "essential", Cover.prevoyance: "standard"}, [],
                               today=TODAY, language="fr")
    assert again is first and again.monthly_total_minor == 3900 + 900
    assert [p["category"] for p in again.persons] == ["volunteer"]


def test_the_adhesion_checks_its_start_beneficiaries_and_acceptance(session, products, make_volunteer):
    lea = make_volunteer()
    subscription = journey.save_quote(session, lea, {Cover.prevoyance: "standard"}, [], today=TODAY,
                                      language="en")
    with pytest.raises(journey.AdhesionRefused) as refused:
        journey.start_adhesion(session, subscription, holder=HOLDER, beneficiaries=" ", start_on=TODAY,
                               accepted=False, today=TODAY, translate=same, broker_name="Broker")
    assert set(refused.value.fields) == {"start_date", "beneficiaries", "accept"}
    with pytest.raises(journey.AdhesionRefused):
        journey.start_adhesion(session, subscription, holder=HOLDER, beneficiaries="my heirs",
                               start_on=lea.mission_end + timedelta(days=1), accepted=True, today=TODAY,
                               translate=same, broker_name="Broker")
    start = TODAY + timedelta(days=10)
    journey.start_adhesion(session, subscription, holder=HOLDER, beneficiaries="my heirs", start_on=start,
                           accepted=True, today=TODAY, translate=same, broker_name="Broker")
    assert subscription.state is SubscriptionState.adhesion_started and subscription.start_on == start
    assert subscription.document_pdf.startswith(b"%PDF") and len(subscription.document_sha256) == 64
    assert journey.withdrawal_ends_on(subscription) is None  # nothing delivered yet: the period has not started


def test_signing_needs_the_code_and_seals_once(session, products, make_volunteer, seal_config):
    config, pem = seal_config
    lea = make_volunteer()
    subscription = journey.save_quote(session, lea, {Cover.health: "essential"}, [], today=TODAY, language="en")
    journey.start_adhesion(session, subscription, holder=HOLDER, beneficiaries=None, start_on=TODAY + timedelta(1),
                           accepted=True, today=TODAY, translate=same, broker_name="Broker")
    code = journey.send_signature_code(session, subscription, now=NOW)

    def evidence(code, sha=subscription.document_sha256):
        return journey.Evidence("Léa Martin", code, sha, "203.0.113.9", "test browser")

    def sign(code, at=NOW, **kw):
        return journey.sign_adhesion(session, subscription, evidence(code, **kw), translate=same,
                                     broker_name="Broker", seal_config=config, now=at)

    with pytest.raises(journey.WrongStep):
        sign(code, sha="0" * 64)
    with pytest.raises(journey.CodeRefused):
        sign(code, at=NOW + timedelta(minutes=journey.CODE_MINUTES))
    signature = sign(code)
    assert subscription.state is SubscriptionState.signed and signature.document_sha256 == subscription.document_sha256
    with pytest.raises(journey.AlreadySigned):
        sign(code)
    verdict = verify(session, subscription.sealed_pdf, pem, finders=(journey.sealed_adhesion,))
    assert (verdict.kind, verdict.issued_here, verdict.intact, verdict.reference) == (
        "adhesion", True, True, subscription.reference)
    assert verify(session, subscription.document_pdf, pem, finders=(journey.sealed_adhesion,)).intact is False

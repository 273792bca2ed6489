"""The agreement lifecycle as the broker's staff, a partner firm and compliance live it: prepare → schedule →
send → partner signs → broker countersigns → sealed and active → superseded or terminated."""
import hashlib
import unicodedata
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from agreements import operations, queries
from agreements.errors import (
    AlreadySigned,
    ApprovalRequired,
    DocumentChanged,
    NameMismatch,
    ScheduleInvalid,
    WrongState,
)
from agreements.models import Agreement, AgreementKind, AgreementStatus, SignerParty
from compliance.models import Review, ReviewDecision, ReviewKind
from core.accounts import PartnerStatus, Role
from core.audit import AuditEvent
from core.outbox import OutboxKind, OutboxMessage, OutboxState
from core.partners import Lifecycle
from core.products import PARTNER_LINES, ProductLine
from tests.agreements.conftest import BROKER, PARTNER_IP, state_of

RuleValues = operations.RuleValues


def _schedule(agreement):
    return [(r.product_line, r.first_year_rate, r.renewal_rate, r.one_off_fee_minor, r.currency, r.clawback_days,
             r.payment_terms_days) for r in agreement.rules]


def _sign(session, agreement, user, party, *, typed_name=None, shown=None):
    return operations.sign(session, agreement, user, party=party,
                           typed_name=user.full_name if typed_name is None else typed_name,
                           shown_sha256=agreement.document_sha256 if shown is None else shown,
                           ip=PARTNER_IP, user_agent="pytest")


# --- preparing ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status, kind", [
    (PartnerStatus.specialist_broker, AgreementKind.collaboration),
    (PartnerStatus.generalist_broker, AgreementKind.collaboration),
    (PartnerStatus.introducer, AgreementKind.introduction),
])
def test_the_kind_of_agreement_follows_the_firms_status(flow, status, kind):
    firm = flow.firm(status)
    agreement = flow.prepare(firm.org)
    assert agreement.kind is kind
    assert agreement.status is AgreementStatus.draft
    assert agreement.reference.startswith("AGR-2026-")


@pytest.mark.parametrize("languages, asked, expected", [
    (["fr"], None, "fr"),
    (["de", "it"], None, "it"),   # the first of the firm's languages that has a template
    (["de"], None, "en"),         # no German template: English
    ([], None, "en"),
    (["fr"], "uk", "uk"),         # an explicit choice wins
    (["fr"], "de", "en"),
])
def test_language_is_the_firms_when_a_template_exists_else_english(flow, languages, asked, expected):
    firm = flow.firm(languages=languages)
    assert flow.prepare(firm.org, language=asked).language == expected


def test_a_broker_draft_has_first_year_and_renewal_rates_on_every_product_line(flow):
    agreement = flow.prepare(flow.firm(PartnerStatus.specialist_broker).org)
    assert {r.product_line for r in agreement.rules} == set(PARTNER_LINES)
    for rule in agreement.rules:
        assert (rule.first_year_rate, rule.renewal_rate, rule.one_off_fee_minor) == \
            (Decimal("0.3"), Decimal("0.15"), 0)
    assert agreement.has_recurring_commission


def test_an_introducer_draft_pays_a_one_off_fee_and_nothing_recurring(flow, session):
    agreement = flow.prepare(flow.firm(PartnerStatus.introducer).org)
    session.expire_all()  # as stored
    assert {r.product_line for r in agreement.rules} == set(PARTNER_LINES)
    for rule in agreement.rules:
        assert rule.one_off_fee_minor == 15000 and rule.currency == "EUR"
        assert rule.first_year_rate == 0 and rule.renewal_rate == 0
    assert not agreement.has_recurring_commission
    assert not operations.needs_recurring_approval(agreement)


@pytest.mark.parametrize("lifecycle", [Lifecycle.applied, Lifecycle.under_review, Lifecycle.rejected,
                                       Lifecycle.suspended, Lifecycle.terminated])
def test_no_agreement_for_a_firm_that_is_not_approved(flow, session, lifecycle):
    firm = flow.firm(lifecycle=lifecycle)
    with pytest.raises(WrongState):
        operations.prepare_agreement(session, flow.broker_signer, firm.org, effective_from=date(2026, 12, 1))
    session.flush()
    assert session.execute(select(Agreement)).first() is None


def test_no_second_agreement_while_one_is_in_preparation(flow, session):
    firm = flow.firm()
    first = flow.prepare(firm.org)
    for step in ("draft", "sent", "partner_signed", "countersigned"):
        if step == "sent":
            flow.send(first)
        elif step == "partner_signed":
            flow.sign_partner(first, firm.signer)
        elif step == "countersigned":
            flow.sign_broker(first)
        assert first.status.value == step
        with pytest.raises(WrongState, match=first.reference):
            operations.prepare_agreement(session, flow.broker_signer, firm.org, effective_from=date(2027, 1, 1))
        session.flush()
        assert session.execute(select(Agreement.id)).scalars().all() == [first.id]


# --- the schedule -------------------------------------------------------------------------------------------

GOOD = RuleValues(ProductLine.individual, first_year_rate=Decimal("0.25"), renewal_rate=Decimal("0.10"))


@pytest.mark.parametrize("rules", [
    pytest.param([], id="no line"),
    pytest.param([RuleValues(ProductLine.sme, first_year_rate=Decimal("1.01"))], id="rate above 100%"),
    pytest.param([RuleValues(ProductLine.sme, renewal_rate=Decimal("1.5"))], id="renewal above 100%"),
    pytest.param([RuleValues(ProductLine.sme, first_year_rate=Decimal("-0.01"))], id="negative rate"),
    pytest.param([GOOD, RuleValues(ProductLine.individual, one_off_fee_minor=5000)], id="duplicate line"),
    pytest.param([GOOD, RuleValues(ProductLine.family)], id="line with neither rate nor fee"),
    pytest.param([RuleValues(ProductLine.sme, one_off_fee_minor=-100)], id="negative fee"),
    pytest.param([RuleValues(ProductLine.sme, one_off_fee_minor=100, currency="eur")], id="lower-case currency"),
    pytest.param([RuleValues(ProductLine.sme, one_off_fee_minor=100, currency="EURO")], id="four-letter currency"),
    pytest.param([RuleValues(ProductLine.sme, one_off_fee_minor=100, currency="")], id="no currency"),
    pytest.param([RuleValues(ProductLine.sme, one_off_fee_minor=100, clawback_days=2000)], id="clawback too long"),
    pytest.param([RuleValues(ProductLine.sme, one_off_fee_minor=100, payment_terms_days=-1)], id="negative terms"),
])
def test_an_invalid_schedule_is_refused_and_changes_nothing(flow, session, rules):
    agreement = flow.prepare(flow.firm().org)
    before, events = _schedule(agreement), state_of(session, agreement).audit_events
    with pytest.raises(ScheduleInvalid):
        operations.set_schedule(session, flow.broker_signer, agreement, rules)
    assert state_of(session, agreement).audit_events == events
    assert _schedule(agreement) == before


def test_a_currency_code_that_is_not_iso_4217_is_not_sent_for_signature(flow, session):
    """The refusal message promises an ISO 4217 code; a typo such as "EUX" must not reach a signed schedule.
    (The line is arranged on the row itself; sending re-checks the schedule with the same rules.)"""
    agreement = flow.prepare(flow.firm(PartnerStatus.introducer).org)
    agreement.rules[0].currency = "EUX"
    session.commit()
    with pytest.raises(ScheduleInvalid):
        operations.send_for_signature(session, flow.broker_signer, agreement, BROKER)
    state = state_of(session, agreement)
    assert state.status is AgreementStatus.draft and state.document_sha256 is None


def test_a_valid_schedule_replaces_the_default_one(flow, session):
    agreement = flow.prepare(flow.firm().org)
    operations.set_schedule(session, flow.broker_signer, agreement, [
        GOOD, RuleValues(ProductLine.corporate, one_off_fee_minor=25000, currency="GBP", clawback_days=180,
                         payment_terms_days=45)])
    session.commit()
    session.expire_all()
    assert _schedule(agreement) == [
        (ProductLine.individual, Decimal("0.25"), Decimal("0.1"), 0, "EUR", 365, 30),
        (ProductLine.corporate, Decimal("0"), Decimal("0"), 25000, "GBP", 180, 45)]
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "agreement.schedule_set")).scalar_one()


def test_the_schedule_is_frozen_once_sent(flow, session):
    agreement = flow.send(flow.prepare(flow.firm().org))
    before = _schedule(agreement)
    with pytest.raises(WrongState):
        operations.set_schedule(session, flow.broker_signer, agreement, [GOOD])
    state_of(session, agreement)
    assert _schedule(agreement) == before


# --- recurring commission for an introducer needs compliance approval ---------------------------------------

def _recurring_draft(flow, session):
    """An introducer's draft whose individual line pays a renewal rate. Arranged on the rows themselves so that
    these tests exercise the approval rules only (set_schedule has tests of its own)."""
    firm = flow.firm(PartnerStatus.introducer)
    agreement = flow.prepare(firm.org)
    rule = next(r for r in agreement.rules if r.product_line is ProductLine.individual)
    rule.first_year_rate, rule.renewal_rate, rule.one_off_fee_minor = Decimal("0.10"), Decimal("0.05"), 0
    session.commit()
    assert agreement.has_recurring_commission
    return agreement, firm


def test_an_introducer_with_a_renewal_rate_cannot_be_sent_without_approval(flow, session):
    agreement, _firm = _recurring_draft(flow, session)
    with pytest.raises(ApprovalRequired):
        operations.send_for_signature(session, flow.broker_signer, agreement, BROKER)
    state = state_of(session, agreement)
    assert state.status is AgreementStatus.draft and state.document_sha256 is None
    assert agreement.document_pdf is None


def test_approval_needs_a_written_reason_and_is_recorded_as_a_compliance_review(flow, session):
    agreement, firm = _recurring_draft(flow, session)
    officer = flow.user(Role.compliance, full_name="Camille Conformité")
    for reason in ("", "   ", "ok", "too short"):  # "too short" is 9 characters
        with pytest.raises(ScheduleInvalid):
            operations.approve_recurring(session, officer, agreement, reason)
    session.flush()
    assert session.execute(select(Review)).first() is None
    assert agreement.recurring_approved_by_id is None

    operations.approve_recurring(session, officer, agreement, "  Long-standing referral partner, audited 2026.  ")
    session.commit()
    review = session.execute(select(Review)).scalar_one()
    assert review.kind is ReviewKind.recurring_introducer_commission
    assert review.decision is ReviewDecision.approved
    assert review.reason == "Long-standing referral partner, audited 2026."
    assert review.reviewer_id == officer.id and review.organisation_id == firm.org.id
    assert review.subject_ref == f"agreement:{agreement.public_id}"
    assert agreement.recurring_approved_by_id == officer.id

    flow.send(agreement)
    assert agreement.status is AgreementStatus.sent


def test_ten_characters_of_reason_are_enough(flow, session):
    agreement, _firm = _recurring_draft(flow, session)
    officer = flow.user(Role.compliance, full_name="Camille Conformité")
    operations.approve_recurring(session, officer, agreement, "  Pilot 2026  ")  # 10 once trimmed
    session.commit()
    assert session.execute(select(Review.reason)).scalar_one() == "Pilot 2026"
    assert not operations.needs_recurring_approval(agreement)


def test_changing_an_approved_recurring_schedule_needs_a_fresh_approval(flow, session):
    agreement, _firm = _recurring_draft(flow, session)
    officer = flow.user(Role.compliance, full_name="Camille Conformité")
    operations.approve_recurring(session, officer, agreement, "Approved for the 2026 pilot programme.")
    session.commit()
    operations.set_schedule(session, flow.broker_signer, agreement,
                            [RuleValues(ProductLine.individual, renewal_rate=Decimal("0.50"))])
    session.commit()
    assert agreement.recurring_approved_by_id is None and agreement.recurring_approval_reason is None
    with pytest.raises(ApprovalRequired):
        operations.send_for_signature(session, flow.broker_signer, agreement, BROKER)
    assert state_of(session, agreement).status is AgreementStatus.draft


def test_a_broker_partner_with_renewal_rates_needs_no_approval(flow):
    agreement = flow.send(flow.prepare(flow.firm(PartnerStatus.generalist_broker).org))
    assert agreement.has_recurring_commission and agreement.status is AgreementStatus.sent


# --- sending ------------------------------------------------------------------------------------------------

def test_sending_fixes_the_document_and_its_fingerprint(flow, session):
    firm = flow.firm()
    agreement = flow.send(flow.prepare(firm.org))
    session.expire_all()
    assert agreement.status is AgreementStatus.sent and agreement.sent_at is not None
    assert agreement.document_pdf.startswith(b"%PDF-")
    assert agreement.document_sha256 == hashlib.sha256(agreement.document_pdf).hexdigest()
    assert agreement.terms["partner_name"] == firm.org.legal_name
    assert agreement.terms["broker_name"] == BROKER.name
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "agreement.sent")).scalar_one()
    assert event.details()["document_sha256"] == agreement.document_sha256


def test_a_sent_document_does_not_change_when_the_firm_is_edited(flow, session):
    firm = flow.firm(legal_name="Azur Expat Courtage SARL")
    agreement = flow.send(flow.prepare(firm.org))
    sent_pdf, sent_hash = agreement.document_pdf, agreement.document_sha256
    firm.org.legal_name = "Renamed Later SAS"
    session.commit()
    flow.sign_partner(agreement, firm.signer)
    flow.sign_broker(agreement)
    flow.finalise(agreement)
    assert (agreement.document_pdf, agreement.document_sha256) == (sent_pdf, sent_hash)
    assert agreement.terms["partner_name"] == "Azur Expat Courtage SARL"


def test_only_a_draft_is_sent(flow, session):
    agreement = flow.send(flow.prepare(flow.firm().org))
    sent_hash = agreement.document_sha256
    with pytest.raises(WrongState):
        operations.send_for_signature(session, flow.broker_signer, agreement, BROKER)
    assert state_of(session, agreement).document_sha256 == sent_hash


# --- signing ------------------------------------------------------------------------------------------------

def test_partner_then_broker_sign_and_the_seal_job_is_queued(flow, session):
    firm = flow.firm()
    agreement = flow.send(flow.prepare(firm.org))
    partner_sig = flow.sign_partner(agreement, firm.signer, typed_name="  pat   PARTNER ")
    assert agreement.status is AgreementStatus.partner_signed
    assert partner_sig.typed_name == "pat PARTNER"
    assert partner_sig.document_sha256 == agreement.document_sha256 and partner_sig.ip == PARTNER_IP
    assert state_of(session, agreement).seal_jobs == 0

    flow.sign_broker(agreement)
    state = state_of(session, agreement)
    assert state.status is AgreementStatus.countersigned and state.signatures == 2
    job = session.execute(select(OutboxMessage).where(OutboxMessage.job_name == operations.SEAL_JOB)).scalar_one()
    assert job.kind is OutboxKind.job and job.state is OutboxState.pending
    assert job.payload == {"agreement": agreement.public_id}
    assert {s.party for s in agreement.signatures} == {SignerParty.partner, SignerParty.broker}
    assert agreement.sealed_pdf is None  # sealing is the worker's job


def test_signing_in_the_wrong_state_changes_nothing(flow, session):
    firm = flow.firm()
    agreement = flow.prepare(firm.org)
    before = state_of(session, agreement)
    with pytest.raises(WrongState):  # a draft was never shown to anyone
        _sign(session, agreement, firm.signer, SignerParty.partner, shown="0" * 64)
    assert state_of(session, agreement) == before
    assert before.status is AgreementStatus.draft and before.signatures == 0

    flow.send(agreement)
    before = state_of(session, agreement)
    with pytest.raises(WrongState):  # the broker countersigns only after the partner
        _sign(session, agreement, flow.broker_signer, SignerParty.broker)
    assert state_of(session, agreement) == before
    assert before.status is AgreementStatus.sent and before.signatures == 0


def test_signing_a_document_other_than_the_one_sent_changes_nothing(flow, session):
    firm = flow.firm()
    agreement = flow.send(flow.prepare(firm.org))
    before = state_of(session, agreement)
    with pytest.raises(DocumentChanged):
        _sign(session, agreement, firm.signer, SignerParty.partner, shown=hashlib.sha256(b"older").hexdigest())
    assert state_of(session, agreement) == before
    assert before.status is AgreementStatus.sent and before.signatures == 0


def test_the_same_person_cannot_sign_twice(flow, session):
    firm = flow.firm()
    agreement = flow.send(flow.prepare(firm.org))
    flow.sign_partner(agreement, firm.signer)
    before = state_of(session, agreement)
    with pytest.raises(AlreadySigned):  # e.g. the sign button pressed twice
        _sign(session, agreement, firm.signer, SignerParty.partner)
    assert state_of(session, agreement) == before
    assert before.status is AgreementStatus.partner_signed and before.signatures == 1


def test_the_partners_signer_cannot_also_countersign_for_the_broker(flow, session):
    firm = flow.firm()
    agreement = flow.send(flow.prepare(firm.org))
    flow.sign_partner(agreement, firm.signer)
    before = state_of(session, agreement)
    with pytest.raises(AlreadySigned):
        _sign(session, agreement, firm.signer, SignerParty.broker)
    assert state_of(session, agreement) == before
    assert before.status is AgreementStatus.partner_signed and before.signatures == 1 and before.seal_jobs == 0


@pytest.mark.parametrize("typed", ["", "   ", "Pat", "Pat Partners", "Patrick Partner", "P. Partner"])
def test_a_typed_name_that_is_not_the_signers_changes_nothing(flow, session, typed):
    firm = flow.firm(signer_name="Pat Partner")
    agreement = flow.send(flow.prepare(firm.org))
    before = state_of(session, agreement)
    with pytest.raises(NameMismatch, match="Pat Partner"):
        _sign(session, agreement, firm.signer, SignerParty.partner, typed_name=typed)
    assert state_of(session, agreement) == before
    assert before.status is AgreementStatus.sent and before.signatures == 0


def test_a_typed_name_matches_whatever_unicode_form_the_keyboard_produced(flow, session):
    """"Conformité" typed with a combining accent (NFD, e.g. pasted on macOS) is the same name to the signer."""
    firm = flow.firm(signer_name="Camille Conformité")
    agreement = flow.send(flow.prepare(firm.org))
    typed = unicodedata.normalize("NFD", "Camille Conformité")
    assert typed != firm.signer.full_name
    _sign(session, agreement, firm.signer, SignerParty.partner, typed_name=typed)
    assert state_of(session, agreement).status is AgreementStatus.partner_signed


# --- sealing and activation ---------------------------------------------------------------------------------

def test_finalising_seals_and_activates_the_agreement_and_the_firm(flow, session):
    firm = flow.firm()
    assert firm.org.lifecycle is Lifecycle.approved and not firm.org.may_do_business
    agreement = flow.send(flow.prepare(firm.org))
    flow.sign_partner(agreement, firm.signer)
    flow.sign_broker(agreement)
    assert firm.org.lifecycle is Lifecycle.approved  # not before the sealed copy exists
    flow.finalise(agreement)
    session.expire_all()
    assert agreement.status is AgreementStatus.active and agreement.activated_at is not None
    assert firm.org.lifecycle is Lifecycle.active and firm.org.may_do_business
    assert agreement.sealed_pdf.startswith(b"%PDF-")
    assert agreement.sealed_sha256 == hashlib.sha256(agreement.sealed_pdf).hexdigest()
    assert agreement.sealed_sha256 != agreement.document_sha256
    assert agreement.seal_error is None and agreement.sealed_with_timestamp is False
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "agreement.activated")).scalar_one()


def test_only_a_countersigned_agreement_is_sealed(flow, session):
    firm = flow.firm()
    agreement = flow.send(flow.prepare(firm.org))
    flow.sign_partner(agreement, firm.signer)
    with pytest.raises(WrongState):
        operations.finalise(session, agreement, flow.seal.config)
    state_of(session, agreement)
    assert agreement.status is AgreementStatus.partner_signed and agreement.sealed_pdf is None
    assert firm.org.lifecycle is Lifecycle.approved


def test_finalising_twice_is_harmless(active_agreement, flow, session):
    agreement, firm = active_agreement()
    sealed, digest, activated_at = agreement.sealed_pdf, agreement.sealed_sha256, agreement.activated_at
    events = state_of(session, agreement).audit_events
    flow.finalise(agreement)  # e.g. the worker retries a job whose success it did not record
    session.expire_all()
    assert agreement.status is AgreementStatus.active and firm.org.lifecycle is Lifecycle.active
    assert (agreement.sealed_pdf, agreement.sealed_sha256, agreement.activated_at) == (sealed, digest, activated_at)
    assert state_of(session, agreement).audit_events == events


# --- supersession, the agreement in force, termination ------------------------------------------------------

def test_a_new_agreement_supersedes_the_old_one_from_its_effective_date(active_agreement, flow, session):
    first, firm = active_agreement(effective_from=date(2026, 1, 1))
    org_id = firm.org.id
    in_force = lambda day: queries.agreement_in_force(session, org_id, day)  # noqa: E731

    assert in_force(date(2025, 12, 31)) is None
    assert in_force(date(2026, 1, 1)) == first
    assert in_force(date(2030, 1, 1)) == first

    # A new schedule is agreed from 1 July: prepared and signed while the first one still governs.
    second = flow.send(flow.prepare(firm.org, effective_from=date(2026, 7, 1)))
    flow.sign_partner(second, firm.signer)
    flow.sign_broker(second)
    assert in_force(date(2026, 8, 1)) == first  # not sealed yet: the first one still governs
    assert first.status is AgreementStatus.active
    flow.finalise(second)
    session.expire_all()

    assert first.status is AgreementStatus.superseded and first.ended_at is not None
    assert first.effective_to == date(2026, 6, 30)
    assert second.reference in first.end_reason
    assert second.status is AgreementStatus.active and second.supersedes == first
    assert firm.org.lifecycle is Lifecycle.active
    assert in_force(date(2025, 12, 31)) is None
    assert in_force(date(2026, 1, 1)) == first
    assert in_force(date(2026, 6, 30)) == first  # business before 1 July stays under the first agreement
    assert in_force(date(2026, 7, 1)) == second
    assert in_force(date(2031, 1, 1)) == second


def test_termination_needs_a_reason_and_ends_the_partnership(active_agreement, flow, session):
    agreement, firm = active_agreement(effective_from=date(2026, 1, 1))
    before = state_of(session, agreement)
    for reason in ("", "breach", "         x"):
        with pytest.raises(ScheduleInvalid):
            operations.terminate(session, flow.broker_signer, agreement, reason=reason, last_day=date(2026, 9, 30))
    assert state_of(session, agreement) == before
    assert agreement.effective_to is None and firm.org.lifecycle is Lifecycle.active

    operations.terminate(session, flow.broker_signer, agreement, reason="Partner ceased trading in France.",
                         last_day=date(2026, 9, 30))
    session.commit()
    session.expire_all()
    assert agreement.status is AgreementStatus.terminated and agreement.ended_at is not None
    assert agreement.end_reason == "Partner ceased trading in France."
    assert agreement.effective_to == date(2026, 9, 30)
    assert firm.org.lifecycle is Lifecycle.terminated and not firm.org.may_do_business
    assert queries.agreement_in_force(session, firm.org.id, date(2026, 9, 30)) == agreement
    assert queries.agreement_in_force(session, firm.org.id, date(2026, 10, 1)) is None
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "agreement.terminated")).scalar_one()
    assert event.details()["reason"] == "Partner ceased trading in France."

    with pytest.raises(WrongState):  # terminated is final
        operations.terminate(session, flow.broker_signer, agreement, reason="Terminated a second time.",
                             last_day=date(2026, 12, 31))
    with pytest.raises(WrongState):  # and the firm cannot get a new agreement without a new approval
        operations.prepare_agreement(session, flow.broker_signer, firm.org, effective_from=date(2027, 1, 1))


def test_only_an_active_agreement_is_terminated(flow, session):
    agreement = flow.send(flow.prepare(flow.firm().org))
    before = state_of(session, agreement)
    with pytest.raises(WrongState):
        operations.terminate(session, flow.broker_signer, agreement, reason="Changed our minds entirely.",
                             last_day=date(2026, 12, 31))
    assert state_of(session, agreement) == before

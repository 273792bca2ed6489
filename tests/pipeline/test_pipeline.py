"""The case pipeline: account managers move cases through their stages, each move is a milestone kept as written,
placing / renewing / cancelling writes the contract and the business events the ledger posts, and key
milestones tell the client and copy the partner (as far as consent and the partner's status allow)."""
from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from compliance.cc_policy import CcReason
from core.accounts import CommunicationModel, PartnerStatus, Role, User
from core.contracts import Contract, ContractStatus, Insurer
from core.db import utcnow
from core.errors import AppendOnlyViolation
from core.events import BusinessEvent
from core.outbox import OutboxMessage, deliver_due
from core.products import ProductLine
from core.transports import FileTransport
from pipeline.cases.models import Case, CaseStatus, CcLog, CcOutcome, Milestone
from pipeline.cases.pipeline import Placement, move, term_end
from pipeline.cases.services import convert_lead
from pipeline.errors import AttributionRefused, MoveRefused, PlacementRefused
from pipeline.leads.models import Lead, LeadStatus
from pipeline.leads.services import decide_attribution, set_status
from pipeline.withdrawals import withdraw_consent
from tests.pipeline.case_data import case_input, check_local_licensing, record_needs, walk

S = CaseStatus
TODAY = utcnow().date()
CLIENT_EMAIL = "marc@example.org"
TO_QUOTE = (S.needs_analysis, S.quote_requested, S.quote_issued)
TO_DECISION = TO_QUOTE + (S.offer, S.client_decision)
PREMIUM, PREMIUM_SHOWN = 123456, "€1,234.56"
INSURER_NAME = "Allianz Care"
SECRET_NOTE = "Insurer asked about the knee; premium loaded by 10%"


# --- fixtures ------------------------------------------------------------------------------------------------

@pytest.fixture
def insurer(session):
    def make(code="ALLI", name=INSURER_NAME) -> Insurer:
        found = session.execute(select(Insurer).where(Insurer.code == code)).scalar_one_or_none()
        if found is None:
            found = Insurer(code=code, name=name, active=True)
            session.add(found)
            session.commit()
        return found

    return make


def placement(insurer: Insurer, **changes) -> Placement:
    values = dict(insurer=insurer, policy_number="POL-2026-0001", product_line=ProductLine.family,
                  premium_minor=PREMIUM, currency="EUR", start_date=TODAY + timedelta(days=10))
    values.update(changes)
    return Placement(**values)


# --- acting and reading, as the views do ---------------------------------------------------------------------

def place(session, user, case, the_placement, **kw) -> Contract:
    walk(session, user, case, *TO_DECISION)
    move(session, user, case, S.contract_issued, placement=the_placement, **kw)
    session.commit()
    return session.execute(select(Contract).where(Contract.case_id == case.id)).scalar_one()


def history(session, case) -> list[tuple[CaseStatus, CaseStatus | None]]:
    return [(m.stage, m.previous_stage) for m in session.execute(
        select(Milestone).where(Milestone.case_id == case.id).order_by(Milestone.id)).scalars()]


@pytest.fixture
def mails(app):
    """mails(session, template=None) -> the mails sent, as the worker rendered them (with the portal's mail
    templates, hence the app) and delivered them."""
    def sent(session, template: str | None = None) -> list[OutboxMessage]:
        with app.app_context():
            deliver_due(session, FileTransport(tempfile.mkdtemp(prefix="pipeline-mail-")),
                        "Portal <no-reply@portal.test>", batch=100)
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if template:
            query = query.where(OutboxMessage.template == template)
        return list(session.execute(query).scalars())

    return sent


def cc_logs(session, case) -> list[CcLog]:
    return list(session.execute(select(CcLog).where(CcLog.case_id == case.id).order_by(CcLog.id)).scalars())


def cc_for(session, case, stage) -> CcLog:
    return session.execute(select(CcLog).join(Milestone, CcLog.milestone_id == Milestone.id)
                           .where(CcLog.case_id == case.id, Milestone.stage == stage)).scalar_one()


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def status_of(session, case) -> CaseStatus:
    session.expire_all()
    return session.get(Case, case.id).status


# --- 1. submission ------------------------------------------------------------------------------------------

def test_a_submitted_case_has_one_milestone_received_by_the_submitter(session, broker, new_case):
    case = new_case(broker)
    [milestone] = session.execute(select(Milestone).where(Milestone.case_id == case.id)).scalars().all()
    assert milestone.stage is S.received and milestone.previous_stage is None
    assert milestone.recorded_by_id == broker.id
    assert case.status is S.received


# --- 2. the whole life of a case ----------------------------------------------------------------------------

def test_term_end_is_the_last_day_of_a_year_of_cover():
    assert term_end(date(2027, 1, 1)) == date(2027, 12, 31)
    assert term_end(date(2027, 3, 1)) == date(2028, 2, 29)
    assert term_end(date(2028, 2, 29)) == date(2029, 2, 28)


def test_a_case_goes_from_received_to_a_contract_renewed_then_cancelled(session, manager, broker, new_case, insurer):
    case = new_case(broker)
    start = TODAY + timedelta(days=10)
    contract = place(session, manager, case, placement(insurer(), start_date=start))

    assert (contract.organisation_id, contract.insurer.name, contract.policy_number) == (
        broker.organisation_id, INSURER_NAME, "POL-2026-0001")
    assert (contract.product_line, contract.premium_minor, contract.currency, contract.start_date) == (
        ProductLine.family, PREMIUM, "EUR", start)
    assert contract.status is ContractStatus.in_force and contract.placed_by_id == manager.id
    assert [(t.number, t.start_date, t.end_date, t.premium_minor) for t in contract.terms] == [
        (1, start, term_end(start), PREMIUM)]

    walk(session, manager, case, S.active, S.renewal_due)
    move(session, manager, case, S.renewed, renewal_premium_minor=130000)
    session.commit()
    term1, term2 = contract.terms
    assert (term2.number, term2.start_date, term2.end_date, term2.premium_minor) == (
        2, term1.end_date + timedelta(days=1), term_end(term1.end_date + timedelta(days=1)), 130000)
    assert contract.premium_minor == 130000, "the contract shows the current term's premium"

    cancelled_on = term2.start_date + timedelta(days=40)
    move(session, manager, case, S.cancelled, cancelled_on=cancelled_on, partner_note="Client moved home")
    session.commit()
    assert contract.status is ContractStatus.cancelled and contract.cancelled_on == cancelled_on
    assert case.status is S.cancelled

    assert history(session, case) == [
        (S.received, None), (S.needs_analysis, S.received), (S.quote_requested, S.needs_analysis),
        (S.quote_issued, S.quote_requested), (S.offer, S.quote_issued), (S.client_decision, S.offer),
        (S.contract_issued, S.client_decision), (S.active, S.contract_issued), (S.renewal_due, S.active),
        (S.renewed, S.renewal_due), (S.cancelled, S.renewed)]
    assert all(m.recorded_by_id == manager.id for m in case.milestones[1:])

    events = session.execute(select(BusinessEvent).order_by(BusinessEvent.id)).scalars().all()
    assert [(e.kind, e.subject, e.effective_on) for e in events] == [
        ("contract.placed", contract.public_id, start),
        ("contract.renewed", contract.public_id, term2.start_date),
        ("contract.cancelled", contract.public_id, cancelled_on)]
    assert [(e.payload["premium_minor"], e.payload["currency"], e.payload["term"]) for e in events] == [
        (PREMIUM, "EUR", 1), (130000, "EUR", 2), (130000, "EUR", 2)]


# --- 3. refusals --------------------------------------------------------------------------------------------

def assert_nothing_changed(session, case, status, milestones):
    session.rollback()
    assert status_of(session, case) is status
    assert len(history(session, case)) == milestones


@pytest.mark.parametrize("path,to", [
    ((), S.offer),                               # skipping the analysis and the quotes
    ((), S.contract_issued),
    ((S.needs_analysis,), S.received),           # no way back
    ((S.withdrawn,), S.needs_analysis),          # closed is closed
])
def test_impossible_moves_are_refused_and_change_nothing(session, manager, broker, new_case, path, to):
    case = new_case(broker)
    walk(session, manager, case, *path)
    with pytest.raises(MoveRefused) as exc:
        move(session, manager, case, to)
    assert "stage" in exc.value.fields
    assert_nothing_changed(session, case, path[-1] if path else S.received, 1 + len(path))


def test_a_cancelled_case_moves_nowhere(session, manager, broker, new_case, insurer):
    case = new_case(broker)
    place(session, manager, case, placement(insurer()))
    move(session, manager, case, S.cancelled, cancelled_on=TODAY + timedelta(days=20))
    session.commit()
    before = len(history(session, case))
    for to in S:
        with pytest.raises(MoveRefused):
            move(session, manager, case, to, cancelled_on=TODAY + timedelta(days=30), renewal_premium_minor=1000,
                 placement=placement(insurer(), policy_number="POL-OTHER"))
        assert_nothing_changed(session, case, S.cancelled, before)
    assert count(session, Contract) == 1 and count(session, BusinessEvent) == 2


def test_partners_cannot_move_cases(session, broker, new_case):
    case = new_case(broker)
    with pytest.raises(MoveRefused):
        move(session, broker, case, S.needs_analysis)
    assert_nothing_changed(session, case, S.received, 1)


@pytest.mark.parametrize("changes,field", [
    (None, "insurer"),
    ({"currency": "EURO"}, "currency"),
    ({"currency": "eur"}, "currency"),
    ({"premium_minor": 0}, "premium"),
    ({"policy_number": "  "}, "policy_number"),
])
def test_a_placement_without_its_figures_is_refused(session, manager, broker, new_case, insurer, changes, field):
    case = new_case(broker)
    walk(session, manager, case, *TO_DECISION)
    with pytest.raises(PlacementRefused) as exc:
        move(session, manager, case, S.contract_issued,
             placement=None if changes is None else placement(insurer(), **changes))
    assert field in exc.value.fields
    assert_nothing_changed(session, case, S.client_decision, 6)
    assert count(session, Contract) == 0 and count(session, BusinessEvent) == 0


def test_an_insurers_policy_number_is_placed_once(session, manager, broker, new_case, insurer):
    first, second = new_case(broker), new_case(broker, client_first_name="Lea")
    place(session, manager, first, placement(insurer(), policy_number="POL-7"))
    walk(session, manager, second, *TO_DECISION)
    with pytest.raises(PlacementRefused) as exc:
        move(session, manager, second, S.contract_issued, placement=placement(insurer(), policy_number=" POL-7 "))
    assert "policy_number" in exc.value.fields
    assert_nothing_changed(session, second, S.client_decision, 6)
    assert session.execute(select(Contract).where(Contract.case_id == second.id)).first() is None
    # Another insurer may use the same number.
    move(session, manager, second, S.contract_issued,
         placement=placement(insurer("AXA", "AXA Global Healthcare"), policy_number="POL-7"))
    session.commit()
    assert count(session, Contract) == 2


def test_cancelling_and_renewing_need_their_figures(session, manager, broker, new_case, insurer):
    case = new_case(broker)
    contract = place(session, manager, case, placement(insurer()))
    with pytest.raises(PlacementRefused) as exc:
        move(session, manager, case, S.cancelled)
    assert "cancelled_on" in exc.value.fields
    with pytest.raises(PlacementRefused) as exc:
        move(session, manager, case, S.cancelled, cancelled_on=contract.start_date - timedelta(days=1))
    assert "cancelled_on" in exc.value.fields
    assert_nothing_changed(session, case, S.contract_issued, 7)
    walk(session, manager, case, S.active, S.renewal_due)
    with pytest.raises(PlacementRefused) as exc:
        move(session, manager, case, S.renewed, renewal_premium_minor=0)
    assert "premium" in exc.value.fields
    assert_nothing_changed(session, case, S.renewal_due, 9)
    assert len(session.get(Contract, contract.id).terms) == 1


# --- 4. two people at once ----------------------------------------------------------------------------------

def test_of_two_managers_moving_the_same_case_at_once_the_second_is_refused(session, manager, broker, new_case,
                                                                            make_user):
    case = new_case(broker)
    colleague_id = make_user(Role.account_manager).id
    other = Session(session.get_bind())
    try:
        mine = session.get(Case, case.id)
        theirs, colleague = other.get(Case, case.id), other.get(User, colleague_id)
        assert mine.status is theirs.status is S.received

        move(session, manager, mine, S.needs_analysis)
        session.commit()
        with pytest.raises(MoveRefused):
            move(other, colleague, theirs, S.not_pursued)  # allowed from what they saw, but stale
        other.rollback()
    finally:
        other.close()
    assert status_of(session, case) is S.needs_analysis
    assert history(session, case) == [(S.received, None), (S.needs_analysis, S.received)]


# --- 5. history is kept as written --------------------------------------------------------------------------

@pytest.fixture
def quoted_case(session, manager, broker, new_case):
    """A case at quote_issued: it has milestones and a cc log entry."""
    case = new_case(broker)
    walk(session, manager, case, *TO_QUOTE)
    return case


@pytest.mark.parametrize("model,field", [(Milestone, "partner_note_sealed"), (CcLog, "detail")])
def test_milestones_and_cc_logs_cannot_be_edited_or_deleted_in_the_orm(session, quoted_case, model, field):
    row = session.execute(select(model).order_by(model.id.desc()).limit(1)).scalar_one()
    kept = getattr(row, field)
    setattr(row, field, "rewritten")
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()
    session.delete(row)
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()
    assert getattr(session.get(model, row.id), field) == kept


@pytest.mark.parametrize("statement", [
    "UPDATE milestones SET partner_note = 'x'",
    "DELETE FROM milestones WHERE stage = 'received'",   # referenced by no cc log: only the trigger stops it
    "UPDATE cc_logs SET detail = 'x'",
    "DELETE FROM cc_logs",
])
def test_milestones_and_cc_logs_cannot_be_edited_or_deleted_in_sql(session, quoted_case, statement):
    before = (count(session, Milestone), count(session, CcLog))
    with pytest.raises(DatabaseError):
        session.execute(text(statement))
    session.rollback()
    assert (count(session, Milestone), count(session, CcLog)) == before
    assert session.execute(select(Milestone.partner_note_sealed).where(Milestone.partner_note_sealed == "x")).first() is None


# --- 6. who hears of key milestones -------------------------------------------------------------------------

def test_a_milestone_mail_waiting_for_the_worker_is_listed_by_its_template(session, manager, broker, new_case,
                                                                          make_user, login):
    """The portal renders it when the worker sends it: until then the outbox page names what will be sent, in
    words (core.outbox.OUTBOX_TEMPLATE_LABELS), never by its template's code."""
    walk(session, manager, new_case(broker), *TO_QUOTE)
    page = login(make_user(Role.admin)).get("/admin/outbox").get_data(as_text=True)
    assert "Case news for the partner" in page and "Case news for the client" in page
    assert "milestone_partner" not in page and "milestone_client" not in page


def test_a_quote_is_sent_to_the_client_and_copied_to_the_broker(mails, session, manager, broker, new_case):
    case = new_case(broker)
    walk(session, manager, case, *TO_QUOTE)
    [client_mail], [partner_mail] = mails(session, "milestone_client"), mails(session, "milestone_partner")
    assert client_mail.to == CLIENT_EMAIL and client_mail.locale == "en"
    assert "Quote issued" in client_mail.subject
    assert partner_mail.to == broker.email and "Marc Dupont" in partner_mail.subject
    assert count(session, OutboxMessage) == 2
    [log] = cc_logs(session, case)
    assert (log.outcome, log.reason, log.detail) == (CcOutcome.sent, CcReason.consent_given, "full")
    assert log.recipients == broker.email and log.outbox_message_id == partner_mail.id
    assert log.milestone.stage is S.quote_issued


def test_the_broker_reads_the_contract_figures_the_client_not_the_premium(mails, session, manager, broker, new_case,
                                                                          insurer):
    case = new_case(broker)
    place(session, manager, case, placement(insurer(), policy_number="POL-99"))
    partner_mail, client_mail = mails(session, "milestone_partner")[-1], mails(session, "milestone_client")[-1]
    for text_ in (INSURER_NAME, "POL-99", PREMIUM_SHOWN):
        assert text_ in partner_mail.body_text
    assert INSURER_NAME in client_mail.body_text and "POL-99" in client_mail.body_text
    assert "1,234.56" not in client_mail.body_text and "1234.56" not in client_mail.body_text
    assert cc_for(session, case, S.contract_issued).outcome is CcOutcome.sent


def test_steps_that_are_not_key_milestones_notify_nobody(mails, session, manager, broker, new_case):
    case = new_case(broker)
    walk(session, manager, case, S.needs_analysis, S.quote_requested)
    assert mails(session) == [] and cc_logs(session, case) == []


def test_when_the_partner_leads_the_client_hears_nothing_from_the_broker(mails, session, manager, broker, new_case):
    case = new_case(broker, model=CommunicationModel.partner_leads)
    walk(session, manager, case, *TO_QUOTE)
    assert mails(session, "milestone_client") == []
    assert [m.to for m in mails(session, "milestone_partner")] == [broker.email]
    assert cc_logs(session, case)[0].outcome is CcOutcome.sent


def test_without_consent_to_copies_the_broker_is_not_copied(mails, session, manager, broker, new_case):
    case = new_case(broker, cc=False)
    walk(session, manager, case, *TO_QUOTE)
    assert mails(session, "milestone_partner") == []
    assert len(mails(session, "milestone_client")) == 1, "the client still hears of its own file"
    [log] = cc_logs(session, case)
    assert (log.outcome, log.reason, log.detail, log.recipients, log.outbox_message_id) == (
        CcOutcome.withheld, CcReason.no_consent, None, None, None)


def test_a_deactivated_submitter_is_replaced_by_the_firms_administrator(mails, session, manager, make_org, make_user,
                                                                        new_case):
    org = make_org(PartnerStatus.specialist_broker)
    submitter = make_user(Role.partner_member, org)
    make_user(Role.partner_admin, org, active=False)
    admin = make_user(Role.partner_admin, org)
    case = new_case(submitter)
    submitter.active = False
    session.commit()
    walk(session, manager, case, *TO_QUOTE)
    assert [m.to for m in mails(session, "milestone_partner")] == [admin.email]
    assert cc_logs(session, case)[0].recipients == admin.email


def test_nobody_active_at_the_firm_means_no_copy(mails, session, manager, broker, new_case):
    case = new_case(broker)
    broker.active = False
    session.commit()
    walk(session, manager, case, *TO_QUOTE)
    assert mails(session, "milestone_partner") == []
    [log] = cc_logs(session, case)
    assert (log.outcome, log.reason, log.recipients) == (CcOutcome.withheld, CcReason.no_recipient, None)


def test_the_partner_mail_is_in_the_partners_language(mails, session, manager, make_org, make_user, new_case):
    org = make_org(PartnerStatus.specialist_broker)
    french, english = make_user(Role.partner_admin, org, locale="fr"), make_user(Role.partner_admin, org)
    walk(session, manager, new_case(english), *TO_QUOTE)
    walk(session, manager, new_case(french, client_first_name="Lea"), *TO_QUOTE)
    english_mail, french_mail = mails(session, "milestone_partner")
    assert (english_mail.to, english_mail.locale) == (english.email, "en")
    assert (french_mail.to, french_mail.locale) == (french.email, "fr")
    # The French catalog (portal/translations/fr) does not translate the milestone mail strings yet (see
    # tests/portal/test_i18n.py), and the .mo files are only built by `make translations`: so only the language
    # the mail is rendered in is checked. Once a compiled catalog translates the subject, it must differ too.
    from babel.support import Translations

    catalog = Translations.load(str(Path(__file__).resolve().parents[2] / "portal" / "translations"), ["fr"])
    if catalog.gettext("Case %(client)s: %(step)s") != "Case %(client)s: %(step)s":
        assert french_mail.subject.replace("Lea", "Marc") != english_mail.subject


# --- introducers: milestone level only ----------------------------------------------------------------------

@pytest.fixture
def converted(session, manager, introducer, new_lead):
    """An introducer's lead, converted into a case by an account manager: (lead, case)."""
    lead = new_lead(introducer)
    # The consent in a CaseInput is not used for a conversion (the case keeps the lead's), but must be valid.
    case = convert_lead(session, manager, lead, case_input(cc=False))
    session.commit()
    return lead, case


def test_a_converted_lead_becomes_a_case_of_the_introducers_firm(session, manager, introducer, converted):
    lead, case = converted
    assert case.organisation_id == introducer.organisation_id and case.submitted_by_id == introducer.id
    assert case.lead_id == lead.id and case.consent_id == lead.consent_id and case.consent.cc_on_milestones
    assert case.assigned_to_id == manager.id
    assert lead.status is LeadStatus.contacted
    assert history(session, case) == [(S.received, None)]
    assert case.milestones[0].recorded_by_id == manager.id


def test_the_introducer_hears_that_a_quote_is_in_progress(mails, session, manager, introducer, converted):
    lead, case = converted
    walk(session, manager, case, S.needs_analysis, S.quote_requested)
    # quote_requested already shows "quote in progress" on the lead, but it is not a key milestone: the
    # introducer is told at quote_issued, the first key milestone.
    assert lead.status is LeadStatus.quote_in_progress and mails(session) == []
    move(session, manager, case, S.quote_issued, partner_note=SECRET_NOTE)
    session.commit()
    assert lead.status is LeadStatus.quote_in_progress
    log = cc_for(session, case, S.quote_issued)
    assert (log.outcome, log.reason, log.detail) == (CcOutcome.sent, CcReason.introducer_detail_filter,
                                                     "milestone_only")
    [mail] = mails(session, "milestone_introducer")
    assert mail.to == introducer.email and log.outbox_message_id == mail.id
    assert "Quote in progress" in mail.body_text and "Marc Dupont" in mail.subject
    for secret in (SECRET_NOTE, INSURER_NAME, "Quote issued"):
        assert secret not in mail.body_text and secret not in mail.subject


def test_the_introducer_hears_of_milestones_without_any_detail(mails, session, manager, introducer, converted, insurer):
    lead, case = converted
    walk(session, manager, case, *TO_QUOTE)
    told = len(mails(session, "milestone_introducer"))
    check_local_licensing(session, manager, case)
    record_needs(session, manager, case)
    move(session, manager, case, S.offer, partner_note=SECRET_NOTE)
    session.commit()
    assert lead.status is LeadStatus.quote_in_progress
    offer_log = cc_for(session, case, S.offer)
    assert (offer_log.outcome, offer_log.reason, offer_log.outbox_message_id) == (
        CcOutcome.withheld, CcReason.introducer_detail_filter, None), "an offer is no news at the lead's level"
    assert len(mails(session, "milestone_introducer")) == told

    move(session, manager, case, S.client_decision)
    move(session, manager, case, S.contract_issued, partner_note=SECRET_NOTE,
         placement=placement(insurer(), policy_number="POL-INTRO-1"))
    session.commit()
    assert lead.status is LeadStatus.contract_issued
    log = cc_for(session, case, S.contract_issued)
    assert (log.outcome, log.reason, log.detail, log.recipients) == (
        CcOutcome.sent, CcReason.introducer_detail_filter, "milestone_only", introducer.email)
    mail = mails(session, "milestone_introducer")[-1]
    assert mail.to == introducer.email and log.outbox_message_id == mail.id
    assert "Contract issued" in mail.body_text
    for secret in (INSURER_NAME, "POL-INTRO-1", PREMIUM_SHOWN, "1,234.56", SECRET_NOTE):
        assert secret not in mail.body_text and secret not in mail.subject
    assert mails(session, "milestone_partner") == [], "an introducer never gets the broker's copy"


def test_after_the_copy_consent_is_withdrawn_the_introducer_hears_nothing(mails, session, manager, introducer, converted,
                                                                           insurer):
    lead, case = converted
    withdraw_consent(session, introducer, lead, scope="cc_on_milestones",
                     reason="Client phoned us on 21 November to stop the copies")
    session.commit()
    place(session, manager, case, placement(insurer()))
    logs = cc_logs(session, case)
    assert [log.milestone.stage for log in logs] == [S.quote_issued, S.offer, S.contract_issued]
    assert {(log.outcome, log.reason) for log in logs} == {(CcOutcome.withheld, CcReason.consent_withdrawn)}
    assert mails(session, "milestone_introducer") == []
    assert lead.status is LeadStatus.contract_issued, "the lead still shows its progress"


def test_withdrawing_all_consent_stops_the_lead_before_it_becomes_a_case(session, manager, introducer, new_lead):
    lead = new_lead(introducer)
    withdraw_consent(session, manager, lead, scope="all", reason="Client e-mailed: please delete my referral")
    session.commit()
    assert lead.status is LeadStatus.not_pursued and lead.consent.withdrawn
    with pytest.raises(MoveRefused):
        convert_lead(session, manager, lead, case_input())
    session.rollback()
    assert count(session, Case) == 0


def test_withdrawing_all_consent_stops_the_case_the_lead_became(mails, session, manager, introducer, converted):
    lead, case = converted
    walk(session, manager, case, *TO_QUOTE)
    queued = len(mails(session))
    withdraw_consent(session, introducer, lead, scope="all", reason="Client e-mailed: please delete my file")
    session.commit()
    assert status_of(session, case) is S.withdrawn
    assert history(session, case)[-1] == (S.withdrawn, S.quote_issued)
    assert session.get(Lead, lead.id).status is LeadStatus.not_pursued
    assert len(mails(session)) == queued, "nobody is written to about a withdrawal of consent"
    with pytest.raises(MoveRefused):
        move(session, manager, session.get(Case, case.id), S.offer)
    session.rollback()


# --- 7. lead statuses before conversion ---------------------------------------------------------------------

def test_account_manager_records_that_the_client_was_contacted_once(session, manager, introducer, new_lead):
    lead = new_lead(introducer)
    set_status(session, manager, lead, LeadStatus.contacted)
    session.commit()
    assert lead.status is LeadStatus.contacted and lead.assigned_to_id == manager.id
    with pytest.raises(AttributionRefused):
        set_status(session, manager, lead, LeadStatus.contacted)
    session.rollback()
    assert session.get(Lead, lead.id).status is LeadStatus.contacted


@pytest.fixture
def conflict(session, make_org, make_user, new_lead):
    """The same client referred by two introducers: (earlier lead, later lead in the conflict queue)."""
    first = new_lead(make_user(Role.partner_member, make_org(PartnerStatus.introducer)))
    second = new_lead(make_user(Role.partner_member, make_org(PartnerStatus.introducer)), phone=None)
    assert second.in_conflict and second.possible_duplicate_of_id == first.id
    return first, second


def test_a_lead_in_conflict_is_not_worked_before_its_attribution(session, manager, conflict):
    _first, second = conflict
    with pytest.raises(AttributionRefused):
        set_status(session, manager, second, LeadStatus.contacted)
    with pytest.raises(MoveRefused):
        convert_lead(session, manager, second, case_input())
    session.rollback()
    assert session.get(Lead, second.id).status is LeadStatus.received and count(session, Case) == 0


def test_after_the_attribution_the_winning_referral_becomes_the_case(session, manager, conflict):
    first, second = conflict
    decide_attribution(session, manager, second, to_earlier=True,
                       reason="Client confirms the relocation firm introduced her first")
    session.commit()
    # the losing referral is closed for its referrer and cannot be worked
    assert session.get(Lead, second.id).status is LeadStatus.not_pursued
    with pytest.raises(MoveRefused):
        convert_lead(session, manager, second, case_input())
    session.rollback()
    case = convert_lead(session, manager, first, case_input())
    session.commit()
    assert case.organisation_id == first.organisation_id and case.submitted_by_id == first.submitted_by_id
    assert case.lead_id == first.id


# --- 8. conversion refusals ---------------------------------------------------------------------------------

def test_only_staff_convert_a_lead_and_only_once(session, manager, introducer, broker, new_lead):
    lead = new_lead(introducer)
    for outsider in (introducer, broker):
        with pytest.raises(MoveRefused):
            convert_lead(session, outsider, lead, case_input())
        session.rollback()
    assert count(session, Case) == 0 and session.get(Lead, lead.id).status is LeadStatus.received
    convert_lead(session, manager, lead, case_input())
    session.commit()
    with pytest.raises(MoveRefused):
        convert_lead(session, manager, lead, case_input())
    session.rollback()
    assert count(session, Case) == 1

"""The cross-border check of a case: assessed on submission and conversion, a held case moves no further until
compliance (a second pair of eyes) releases it, the host-state check, and the local licensing consideration
outside the EU/EEA before the offer."""
from datetime import date

import pytest
from sqlalchemy import select

from compliance.crossborder import CrossBorderOutcome as O, NotificationBasis as B, record_notification
from core.accounts import Role
from core.audit import AuditEvent
from pipeline.cases import crossborder
from pipeline.cases.models import CaseStatus as S
from pipeline.cases.pipeline import move, withdraw_consent
from pipeline.cases.services import convert_lead
from pipeline.errors import CrossBorderCheckNotAllowed, CrossBorderCheckNotOpen, CrossBorderCheckRefused, MoveRefused
from tests.pipeline.case_data import case_input, record_needs, walk

TO_QUOTE = (S.needs_analysis, S.quote_requested, S.quote_issued)


@pytest.fixture
def officer(make_user):
    return make_user(Role.compliance)


@pytest.fixture
def passported(session, make_broker, make_user):
    """A partner admin of a French broker notified in Belgium (services) and Germany (establishment)."""
    user = make_broker()
    admin = make_user(Role.admin)
    record_notification(session, admin, user.organisation, country="BE", basis=B.freedom_of_services,
                        notified_on=date(2025, 1, 1))
    record_notification(session, admin, user.organisation, country="DE", basis=B.establishment,
                        notified_on=date(2025, 1, 1))
    session.commit()
    return user


def check(session, case):
    return crossborder.check_of(session, case)


def actions(session, case) -> list[str]:
    return session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == case.public_id)
                           .order_by(AuditEvent.id)).all()


@pytest.mark.parametrize("country, outcome, basis", [
    ("FR", O.domestic, None), ("BE", O.host_state_check, B.freedom_of_services),
    ("DE", O.host_state_check, B.establishment), ("IT", O.held, None), ("AE", O.outside_eea, None)])
def test_a_submitted_case_keeps_its_cross_border_outcome(session, passported, new_case, country, outcome, basis):
    case = new_case(passported, country_of_residence=country)
    row = check(session, case)
    assert (row.outcome, row.basis, row.home_country, row.client_country) == (outcome, basis, "FR", country)
    assert row.pending is (outcome is not O.domestic)
    assert ("case.cross_border_assessed" in actions(session, case)) is (outcome is not O.domestic)


def test_a_firm_with_no_notification_on_record_is_flagged_not_held(session, broker, new_case):
    assert check(session, new_case(broker, country_of_residence="IT")).outcome is O.host_state_check


def test_a_converted_lead_is_assessed_against_the_referring_firm(session, manager, make_introducer, new_lead):
    introducer = make_introducer(country="ES")
    lead = new_lead(introducer)  # the client lives in Portugal
    case = convert_lead(session, manager, lead, case_input(cc=False, country_of_residence="PT"))
    session.commit()
    row = check(session, case)
    assert (row.outcome, row.home_country, row.client_country) == (O.host_state_check, "ES", "PT")


def test_a_held_case_moves_on_only_once_compliance_releases_it(session, passported, new_case, manager, officer):
    case = new_case(passported, country_of_residence="IT")
    with pytest.raises(MoveRefused, match="held for compliance"):
        move(session, manager, case, S.needs_analysis)
    session.rollback()
    assert case.status is S.received and check(session, case).pending

    with pytest.raises(CrossBorderCheckRefused) as short:
        crossborder.release_hold(session, officer, case, reason="ok")
    assert "reason" in short.value.fields
    crossborder.release_hold(session, officer, case, reason="Client moved to Milan last week; FoS notification for "
                                                            "IT filed with ACPR, confirmed by e-mail")
    session.commit()
    row = check(session, case)
    assert not row.pending and row.resolved_by_id == officer.id and "Milan" in row.resolution_note
    assert "case.cross_border_released" in actions(session, case)
    walk(session, manager, case, *TO_QUOTE)
    assert case.status is S.quote_issued
    with pytest.raises(CrossBorderCheckNotOpen):
        crossborder.release_hold(session, officer, case, reason="Released a second time, by mistake")


def test_a_held_case_can_still_be_let_go(session, passported, new_case, manager):
    case = new_case(passported, country_of_residence="IT")
    move(session, manager, case, S.not_pursued, internal_note="Client chose a local broker")
    session.commit()
    assert case.status is S.not_pursued


def test_only_a_compliance_officer_who_did_not_work_the_case_releases_it(session, passported, new_case, manager,
                                                                         make_user, officer):
    case = new_case(passported, country_of_residence="IT")
    for user in (manager, make_user(Role.admin), make_user(Role.finance), passported):
        with pytest.raises(CrossBorderCheckNotAllowed):
            crossborder.release_hold(session, user, case, reason="Looks fine to me, release it")
    # the officer acted on the case (recorded the client's withdrawal of copies): no second pair of eyes
    withdraw_consent(session, officer, case, scope="cc_on_milestones", reason="Client phoned compliance")
    session.commit()
    with pytest.raises(CrossBorderCheckNotAllowed, match="worked this case"):
        crossborder.release_hold(session, officer, case, reason="Looks fine to me, release it")
    session.rollback()
    other = make_user(Role.compliance)
    crossborder.release_hold(session, other, case, reason="Checked the ACPR register: IT notified in 2025")
    session.commit()
    assert check(session, case).resolved_by_id == other.id


def test_the_host_state_check_is_marked_done_with_a_note(session, passported, new_case, manager, officer, make_user):
    case = new_case(passported, country_of_residence="BE")
    walk(session, manager, case, *TO_QUOTE, S.offer)  # a flag, not a hold
    with pytest.raises(CrossBorderCheckNotAllowed):
        crossborder.complete_host_state_check(session, make_user(Role.finance), case, note="General good rules ok")
    with pytest.raises(CrossBorderCheckRefused):
        crossborder.complete_host_state_check(session, manager, case, note="ok")
    with pytest.raises(CrossBorderCheckNotOpen):
        crossborder.record_local_licensing(session, manager, case, consideration="Not this kind of check")
    crossborder.complete_host_state_check(session, manager, case, note="Belgian general-good rules: FSMA "
                                                                       "information duties given in French")
    session.commit()
    row = check(session, case)
    assert not row.pending and row.resolved_by_id == manager.id and "FSMA" in row.resolution_note
    assert "case.host_state_checked" in actions(session, case)


def test_outside_the_eu_eea_no_offer_before_the_local_licensing_consideration(session, broker, new_case, manager,
                                                                             officer):
    case = new_case(broker)  # the client lives in the UAE
    for stage in TO_QUOTE:
        move(session, manager, case, stage)
    session.commit()
    with pytest.raises(MoveRefused, match="local licensing"):
        move(session, manager, case, S.offer)
    session.rollback()
    with pytest.raises(CrossBorderCheckNotAllowed):
        crossborder.record_local_licensing(session, officer, case, consideration="UAE: insurer licensed by IA")
    crossborder.record_local_licensing(session, manager, case, consideration="UAE: insurer licensed by IA")
    session.commit()
    record_needs(session, manager, case)  # the offer also waits for the demands and needs statement
    move(session, manager, case, S.offer)
    session.commit()
    row = check(session, case)
    assert case.status is S.offer and row.resolution_note == "UAE: insurer licensed by IA"
    assert row.resolved_by_id == manager.id and row.resolved_at is not None

"""The IDD training register's rules, on a plain session: who is in scope, pro-rata targets, year boundaries,
evidence limits, alerts once per person and point, and the policy that blocks a short firm's new cases."""
from datetime import UTC, date, datetime

import pytest

from compliance import training
from compliance.errors import TrainingRefused, TrainingShortfall
from core.accounts import PartnerStatus, Role

PDF = b"%PDF-1.4\n% a certificate\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
TODAY = date(2026, 12, 7)


def joined(user, session, on: date):
    user.created_at = datetime(on.year, on.month, on.day, 9, tzinfo=UTC)
    session.commit()
    return user


@pytest.fixture
def firm(make_org):
    return make_org(PartnerStatus.specialist_broker)


@pytest.fixture
def admin(make_user, firm, session):
    return joined(make_user(Role.partner_admin, firm), session, date(2020, 1, 1))


@pytest.fixture
def colleague(make_user, firm, session):
    return joined(make_user(Role.partner_member, firm), session, date(2020, 1, 1))


def values(minutes=600, on=date(2026, 3, 10), **kw):
    return training.TrainingInput(**{"provider": "Institut de formation", "completed_on": on,
                                     "duration_minutes": minutes, "format": "webinar",
                                     "themes": ["regulation", "ethics"], **kw})


def record(session, actor, person, minutes=600, on=date(2026, 3, 10), **kw):
    row = training.record_training(session, actor, person, values(minutes, on, **kw), today=TODAY)
    session.commit()
    return row


def test_scope_is_broker_partners_and_distribution_staff_not_introducers(session, make_org, make_user, admin):
    introducer_firm = make_org(PartnerStatus.introducer)
    outsider = make_user(Role.partner_admin, introducer_firm)
    generalist = make_user(Role.partner_member, make_org(PartnerStatus.generalist_broker))
    manager = make_user(Role.account_manager)
    finance = make_user(Role.finance)
    gone = make_user(Role.partner_member, admin.organisation, active=False)
    people = training.people_in_scope(session)
    assert {admin, generalist, manager} <= set(people)
    assert outsider not in people and finance not in people and gone not in people
    assert not training.in_scope(outsider)
    with pytest.raises(TrainingRefused):
        training.record_training(session, make_user(Role.compliance), outsider, values(), today=TODAY)


def test_hours_count_in_the_calendar_year_of_the_training_day(session, admin, colleague):
    record(session, admin, colleague, 300, date(2025, 12, 31))
    record(session, admin, colleague, 240, date(2026, 1, 1))
    record(session, admin, colleague, 60, date(2026, 12, 1))
    rows = {y: training.coverage(session, y, TODAY, organisation=admin.organisation) for y in (2025, 2026)}
    mine = {y: next(r for r in rows[y] if r.user == colleague) for y in rows}
    assert mine[2025].minutes == 300 and mine[2025].target == mine[2025].yearly_target == 900
    assert mine[2025].below
    assert mine[2026].minutes == 300
    # counted at a date inside the year: what was done later is not yet counted
    early = training.coverage(session, 2026, date(2026, 6, 30), people=[colleague])[0]
    assert early.minutes == 240


def test_pro_rata_target_for_the_year_elapsed_and_for_joiners(session, make_user, firm, admin):
    # 2026 is not a leap year: 181 days to 30 June
    assert training.target_minutes(admin, 2026, date(2026, 6, 30)) == 900 * 181 // 365
    assert training.target_minutes(admin, 2026) == 900
    assert training.target_minutes(admin, 2024, date(2024, 12, 31)) == 900  # leap year whole
    newcomer = joined(make_user(Role.partner_member, firm), session, date(2026, 7, 1))
    assert training.target_minutes(newcomer, 2026) == 900 * 184 // 365
    assert training.target_minutes(newcomer, 2026, date(2026, 6, 30)) == 0
    assert training.target_minutes(newcomer, 2025) == 0
    # someone who joined this year owes nothing for last year, and is not listed for it
    assert newcomer not in [r.user for r in training.coverage(session, 2025, TODAY, organisation=firm)]


def test_record_keeps_every_detail_and_is_audited(session, admin, colleague):
    row = record(session, admin, colleague, 90, evidence=PDF, evidence_filename="certificate.pdf")
    assert (row.provider, row.duration_minutes, row.format, row.themes) == (
        "Institut de formation", 90, training.TrainingFormat.webinar, ["regulation", "ethics"])
    assert row.organisation_id == admin.organisation_id and row.recorded_by_id == admin.id
    assert row.evidence == PDF and row.evidence_content_type == "application/pdf"
    from core.audit import AuditEvent
    from sqlalchemy import select
    assert session.execute(select(AuditEvent.action).where(AuditEvent.subject_id == row.public_id)).scalar_one() \
        == "training.recorded"


@pytest.mark.parametrize("change, field", [
    ({"provider": " "}, "provider"),
    ({"completed_on": date(2026, 12, 8)}, "completed_on"),
    ({"completed_on": None}, "completed_on"),
    ({"duration_minutes": 0}, "duration_minutes"),
    ({"duration_minutes": 6001}, "duration_minutes"),
    ({"format": "carrier_pigeon"}, "format"),
    ({"themes": []}, "themes"),
    ({"themes": ["astrology"]}, "themes"),
    ({"evidence": b"MZ\x90\x00 an executable", "evidence_filename": "cert.pdf"}, "evidence"),
    ({"evidence": b"%PDF-" + b"x" * training.EVIDENCE_MAX_BYTES, "evidence_filename": "big.pdf"}, "evidence"),
])
def test_bad_input_is_refused_by_field_and_nothing_is_kept(session, admin, colleague, change, field):
    base = values()
    with pytest.raises(TrainingRefused) as refused:
        training.record_training(session, admin, colleague, training.TrainingInput(**{**base.__dict__, **change}),
                                 today=TODAY)
    assert field in refused.value.fields
    session.rollback()
    assert training.records_of(session, [colleague], (2026,)) == []


def test_images_are_accepted_as_evidence(session, admin, colleague):
    assert record(session, admin, colleague, evidence=PNG, evidence_filename="sheet.png").evidence_content_type \
        == "image/png"


def test_a_partner_admin_records_only_for_their_own_firm(session, make_broker, admin, colleague):
    other_admin = make_broker()
    with pytest.raises(TrainingRefused):
        training.record_training(session, other_admin, colleague, values(), today=TODAY)
    with pytest.raises(TrainingRefused):  # a member records nobody's training, not even their own
        training.record_training(session, colleague, colleague, values(), today=TODAY)


def test_alert_points_are_the_quarter_ends():
    assert training.last_alert_point(date(2026, 3, 30)) is None
    assert training.last_alert_point(date(2026, 3, 31)) == date(2026, 3, 31)
    assert training.last_alert_point(TODAY) == date(2026, 9, 30)
    assert training.last_alert_point(date(2026, 12, 31)) == date(2026, 12, 31)


def test_alerts_are_raised_once_per_person_and_point(session, make_user, admin, colleague, make_introducer):
    record(session, admin, admin, 900, date(2026, 2, 1))
    record(session, admin, colleague, 60, date(2026, 2, 1))
    make_introducer()  # never alerted: introducers are out of scope
    point, found = training.raise_alerts(session, TODAY)
    session.commit()
    assert point == date(2026, 9, 30)
    assert [r.user for r in found] == [colleague]
    assert found[0].target == 900 * 273 // 365
    assert training.raise_alerts(session, TODAY)[1] == []
    # the next point is a new alert
    assert [r.user for r in training.raise_alerts(session, date(2026, 12, 31))[1]] == [colleague]


def test_policy_blocks_a_firm_short_of_last_years_hours_only_when_enforced(session, admin, colleague, make_broker):
    record(session, admin, admin, 900, date(2025, 5, 1))
    record(session, admin, colleague, 899, date(2025, 5, 1))
    training.check_may_submit(session, admin.organisation, TODAY, enforce=False)
    with pytest.raises(TrainingShortfall) as refused:
        training.check_may_submit(session, admin.organisation, TODAY, enforce=True)
    assert refused.value.params == {"year": 2025, "count": 1}
    record(session, admin, colleague, 1, date(2025, 12, 31))
    training.check_may_submit(session, admin.organisation, TODAY, enforce=True)
    # a firm whose only person joined this year owes nothing for last year
    training.check_may_submit(session, make_broker().organisation, TODAY, enforce=True)


def test_the_counts_per_firm_are_those_of_the_coverage(session, make_org, make_user, firm, admin, colleague):
    """What the dashboard and the review queue read (people in scope and those below target, per firm, the broker's
    staff under None) is what the coverage lists person by person, at a date inside a year and for a past year."""
    other = make_org(PartnerStatus.generalist_broker)
    behind = joined(make_user(Role.partner_member, other), session, date(2026, 2, 1))
    joined(make_user(Role.partner_admin, other), session, date(2026, 11, 1))
    joined(make_user(Role.account_manager), session, date(2019, 5, 1))
    make_user(Role.partner_member, make_org(PartnerStatus.introducer))  # out of scope
    record(session, admin, colleague, 900, date(2026, 2, 10))
    record(session, admin, admin, 300, date(2025, 6, 1))
    record(session, make_user(Role.compliance), behind, 60, date(2026, 3, 1))
    for year, at in ((2026, TODAY), (2026, date(2026, 3, 31)), (2025, TODAY)):
        expected = {(f.organisation.id if f.organisation else None): (len(f.people), len(f.below))
                    for f in training.by_firm(training.coverage(session, year, at))}
        assert training.shortfall_by_firm(session, year, at) == expected
        assert training.shortfall_by_firm(session, year, at, organisation=firm) == {firm.id: expected[firm.id]}

"""The complaints register's rules, without Flask: business-day deadlines fixed at receipt, the path from receipt
to closure (audited), what is overdue, the report's figures on a known set, and the reminders each due once."""
from datetime import date

import pytest
from sqlalchemy import select

from compliance import complaints as rules
from compliance.complaint_models import (
    ComplainantKind, Complaint, ComplaintCategory, ComplaintChannel, ComplaintState, ProductGroup, ReminderKind,
)
from compliance.complaint_report import Period, mark_sent, reminders_to_send, report
from compliance.complaints import ComplaintInput, Concerns, DeadlinePolicy, RegisterFilter, add_months
from compliance.errors import ComplaintNotInState, ComplaintRefused
from core.accounts import Role
from core.audit import AuditEvent
from core.products import ProductLine

POLICY = DeadlinePolicy()


def _input(received_on=date(2026, 12, 1), **changes):
    values = dict(channel=ComplaintChannel.email, complainant_kind=ComplainantKind.client,
                  complainant_name="Marie Client", complainant_email="marie@example.test",
                  category=ComplaintCategory.service, description="Nobody answered my three e-mails about my claim.",
                  received_on=received_on, product_line=ProductLine.individual)
    return ComplaintInput(**{**values, **changes})


def _receive(session, actor=None, policy=POLICY, **changes):
    complaint = rules.receive(session, actor, _input(**changes), policy=policy, today=date(2026, 12, 31))
    session.commit()
    return complaint


# --- deadlines ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("received,due", [
    (date(2026, 12, 1), date(2026, 12, 15)),   # Tuesday + 10 business days: two weekends skipped
    (date(2026, 12, 4), date(2026, 12, 18)),   # Friday → Friday two weeks later
    (date(2026, 12, 5), date(2026, 12, 18)),   # received on a Saturday: counting starts Monday
    (date(2026, 12, 25), date(2027, 1, 8)),    # weekends only: no public-holiday calendar is built in
])
def test_acknowledgement_is_due_ten_business_days_after_receipt(received, due):
    assert POLICY.acknowledge_due(received) == due


def test_closed_days_the_deployment_lists_are_skipped():
    policy = DeadlinePolicy(holidays=frozenset({date(2026, 12, 25), date(2027, 1, 1)}))
    assert policy.acknowledge_due(date(2026, 12, 24)) == date(2027, 1, 11)


@pytest.mark.parametrize("received,due", [
    (date(2026, 10, 15), date(2026, 12, 15)),
    (date(2026, 12, 31), date(2027, 3, 1)),    # 28 Feb 2027 is a Sunday: next business day
    (date(2027, 12, 31), date(2028, 2, 29)),   # a leap year's 29 February (a Tuesday)
    (date(2026, 8, 31), date(2026, 11, 2)),    # 31 October 2026 is a Saturday: the next business day
])
def test_the_answer_is_due_two_months_after_receipt_clamped_to_the_month_end(received, due):
    assert POLICY.answer_due(received) == due


def test_add_months_keeps_the_day_or_takes_the_month_end():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 30), 2) == date(2027, 1, 30)
    assert add_months(date(2026, 5, 15), 12) == date(2027, 5, 15)


def test_deadlines_follow_the_configured_policy():
    policy = DeadlinePolicy(acknowledge_business_days=2, answer_months=1)
    assert policy.acknowledge_due(date(2026, 12, 4)) == date(2026, 12, 8)
    assert policy.answer_due(date(2026, 12, 4)) == date(2027, 1, 4)


# --- the path of a complaint ----------------------------------------------------------------------------------

def test_receipt_stores_its_deadlines_and_is_audited(session):
    complaint = _receive(session)
    assert complaint.state is ComplaintState.received and complaint.reference.startswith("RCL-2026-12-")
    assert (complaint.acknowledge_due, complaint.answer_due) == (date(2026, 12, 15), date(2027, 2, 1))
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "complaint.received")).one()
    assert event.subject_id == complaint.public_id and event.actor_label == "system"


def test_a_deadline_change_does_not_move_stored_deadlines(session):
    complaint = _receive(session)
    assert DeadlinePolicy(acknowledge_business_days=5).acknowledge_due(complaint.received_on) != \
        complaint.acknowledge_due
    session.expire_all()
    assert session.get(Complaint, complaint.id).acknowledge_due == date(2026, 12, 15)


def test_bad_input_is_refused_and_records_nothing(session):
    with pytest.raises(ComplaintRefused) as err:
        rules.receive(session, None, _input(description="bad"), policy=POLICY, today=date(2026, 12, 31))
    assert err.value.fields == {"description": ["Describe the complaint (at least 10 characters)."]}
    with pytest.raises(ComplaintRefused):
        rules.receive(session, None, _input(received_on=date(2027, 1, 5)), policy=POLICY, today=date(2026, 12, 31))
    session.rollback()
    assert session.scalars(select(Complaint)).all() == []


def test_received_acknowledged_answered_closed_each_audited_with_its_actor(session, make_user, make_org):
    officer = make_user(Role.compliance, email="officer@broker.test")
    firm = make_org()
    complaint = _receive(session, officer, concerns=Concerns(organisation_id=firm.id, kind="case", ref="abc",
                                                             label="Case of M. Client"))
    rules.assign(session, officer, complaint, officer)
    rules.acknowledge(session, officer, complaint, on=date(2026, 12, 3))
    with pytest.raises(ComplaintNotInState):
        rules.close(session, officer, complaint)
    with pytest.raises(ComplaintRefused) as err:
        rules.answer(session, officer, complaint, text="We apologise.", mediation_info="", on=date(2026, 12, 10))
    assert err.value.fields == {"mediation_info": ["Record the mediation information given to the complainant."]}
    rules.answer(session, officer, complaint, text="We apologise: your claim was paid on 9 December.",
                 mediation_info="La Médiation de l'Assurance, TSA 50110, 75441 Paris Cedex 09", on=date(2026, 12, 10))
    rules.close(session, officer, complaint)
    session.commit()
    assert complaint.state is ComplaintState.closed and complaint.answered_on_time is True
    assert complaint.organisation_id == firm.id and complaint.concerns_label == "Case of M. Client"
    actions = session.execute(select(AuditEvent.action, AuditEvent.actor_label).where(
        AuditEvent.subject_id == complaint.public_id).order_by(AuditEvent.seq)).all()
    assert actions == [("complaint.received", "officer@broker.test"), ("complaint.assigned", "officer@broker.test"),
                       ("complaint.acknowledged", "officer@broker.test"), ("complaint.answered", "officer@broker.test"),
                       ("complaint.closed", "officer@broker.test")]


def test_only_an_active_handler_can_own_a_complaint(session, make_user):
    officer = make_user(Role.compliance)
    complaint = _receive(session)
    with pytest.raises(ComplaintRefused):
        rules.assign(session, officer, complaint, make_user(Role.finance))
    with pytest.raises(ComplaintRefused):
        rules.assign(session, officer, complaint, make_user(Role.compliance, active=False))


def test_overdue_is_derived_from_the_stored_deadlines(session, make_user):
    officer = make_user(Role.compliance)
    complaint = _receive(session)
    assert not complaint.overdue(date(2026, 12, 15)) and complaint.acknowledge_overdue(date(2026, 12, 16))
    rules.acknowledge(session, officer, complaint, on=date(2026, 12, 16))
    assert not complaint.overdue(date(2027, 2, 1)) and complaint.answer_overdue(date(2027, 2, 2))
    filtered = rules.register(session, RegisterFilter(overdue=True), today=date(2027, 2, 2))
    assert filtered == [complaint]
    assert rules.register(session, RegisterFilter(overdue=True), today=date(2027, 2, 1)) == []


def test_the_register_filters(session, make_user):
    officer = make_user(Role.compliance)
    a = _receive(session, category=ComplaintCategory.claims)
    b = _receive(session, product_line=ProductLine.volunteer_health_topup, complainant_kind=ComplainantKind.volunteer)
    c = _receive(session, product_line=None)
    rules.assign(session, officer, a, officer)
    today = date(2026, 12, 2)
    assert rules.register(session, RegisterFilter(category=ComplaintCategory.claims), today=today) == [a]
    assert rules.register(session, RegisterFilter(product=ProductGroup.volunteer_covers), today=today) == [b]
    assert rules.register(session, RegisterFilter(product=ProductGroup.partner_channel), today=today) == [a]
    assert rules.register(session, RegisterFilter(product=ProductGroup.unspecified), today=today) == [c]
    assert rules.register(session, RegisterFilter(owner_id=officer.id), today=today) == [a]
    assert set(rules.register(session, RegisterFilter(owner_id=0), today=today)) == {b, c}


# --- the report -----------------------------------------------------------------------------------------------

def test_report_figures_on_a_known_set(session, make_user):
    officer = make_user(Role.compliance)
    # four complaints in October 2026, one in November, one in September (outside both periods)
    k1 = _receive(session, received_on=date(2026, 10, 1), category=ComplaintCategory.claims)
    k2 = _receive(session, received_on=date(2026, 10, 5), category=ComplaintCategory.claims,
                  product_line=ProductLine.volunteer_health_topup)
    k3 = _receive(session, received_on=date(2026, 10, 20), category=ComplaintCategory.premium,
                  product_line=ProductLine.volunteer_prevoyance_topup)
    _receive(session, received_on=date(2026, 10, 30), category=ComplaintCategory.advice, product_line=None)
    k5 = _receive(session, received_on=date(2026, 11, 2), category=ComplaintCategory.advice)
    _receive(session, received_on=date(2026, 9, 30), category=ComplaintCategory.other)
    mediation = "La Médiation de l'Assurance, TSA 50110, 75441 Paris Cedex 09"
    rules.acknowledge(session, officer, k1, on=date(2026, 10, 3))     # 2 days
    rules.answer(session, officer, k1, text="Answered in full.", mediation_info=mediation, on=date(2026, 10, 21))  # 20
    rules.acknowledge(session, officer, k2, on=date(2026, 10, 9))     # 4 days
    rules.answer(session, officer, k2, text="Answered late, sorry.", mediation_info=mediation,
                 on=date(2026, 12, 15))                               # 71 days, due 5 Dec (Sat) → 7 Dec: late
    rules.acknowledge(session, officer, k3, on=date(2026, 11, 9))     # 20 days: late (due 3 Nov)
    rules.answer(session, officer, k5, text="Answered at once.", mediation_info=mediation, on=date(2026, 11, 2))
    session.commit()

    october = report(session, Period.month(2026, 10), as_of=date(2027, 1, 10))
    assert october.received == 4
    assert october.by_category[ComplaintCategory.claims] == 2 and october.by_category[ComplaintCategory.premium] == 1
    assert october.by_product == {ProductGroup.partner_channel: 1, ProductGroup.volunteer_covers: 2,
                                  ProductGroup.unspecified: 1}
    assert (october.to_acknowledge.count, october.to_acknowledge.median, october.to_acknowledge.mean) == (3, 4.0, 8.7)
    assert (october.to_answer.count, october.to_answer.median, october.to_answer.mean) == (2, 45.5, 45.5)
    assert october.acknowledged_on_time == 2
    # answered (k1 on time, k2 late) or past their deadline unanswered (k3 due 21 Dec; k4 due 30 Dec): 1 of 4
    assert (october.answered_on_time, october.answer_due, october.share_answered_on_time) == (1, 4, 0.25)
    # before k3's and k4's deadlines only the two answered count
    assert report(session, Period.month(2026, 10), as_of=date(2026, 12, 16)).share_answered_on_time == 0.5

    q4 = report(session, Period.quarter(2026, 4), as_of=date(2027, 1, 10))
    assert q4.received == 5 and q4.by_category[ComplaintCategory.advice] == 2
    assert (q4.answered_on_time, q4.answer_due) == (2, 5)
    assert (Period.quarter(2026, 4).start, Period.quarter(2026, 4).end) == (date(2026, 10, 1), date(2026, 12, 31))
    assert ("total", "received", 5) in q4.rows() and ("category", "advice", 2) in q4.rows()


def test_an_empty_period_reports_nothing_measured(session):
    empty = report(session, Period.month(2026, 2), as_of=date(2026, 3, 1))
    assert empty.received == 0 and empty.to_answer.median is None and empty.share_answered_on_time is None


# --- reminders ------------------------------------------------------------------------------------------------

def test_reminders_fall_due_before_and_after_each_deadline_and_are_sent_once(session, make_user):
    officer = make_user(Role.compliance, email="officer@broker.test")
    admin = make_user(Role.admin, email="admin@broker.test")
    complaint = _receive(session)  # acknowledge by Tue 15 Dec, answer by Mon 1 Feb
    assert reminders_to_send(session, date(2026, 12, 10), POLICY) == []
    due = reminders_to_send(session, date(2026, 12, 11), POLICY)   # two business days before the 15th
    assert [(r.kind, [u.email for u in r.recipients]) for r in due] == [
        (ReminderKind.acknowledge_soon, ["officer@broker.test"])]   # unowned: compliance, not the admin
    mark_sent(session, due[0])
    session.commit()
    assert reminders_to_send(session, date(2026, 12, 14), POLICY) == []
    rules.assign(session, officer, complaint, admin)
    overdue = reminders_to_send(session, date(2026, 12, 16), POLICY)
    assert [(r.kind, r.recipients) for r in overdue] == [(ReminderKind.acknowledge_overdue, [admin])]
    mark_sent(session, overdue[0])
    rules.acknowledge(session, admin, complaint, on=date(2026, 12, 17))
    session.commit()
    assert reminders_to_send(session, date(2027, 1, 27), POLICY) == []
    assert [r.kind for r in reminders_to_send(session, date(2027, 1, 28), POLICY)] == [ReminderKind.answer_soon]
    # past the deadline the overdue reminder replaces the one never sent before it
    assert [r.kind for r in reminders_to_send(session, date(2027, 2, 2), POLICY)] == [ReminderKind.answer_overdue]


def test_open_and_overdue_per_firm_are_counted_as_each_complaint_says(session, make_user, make_org):
    """The dashboard's counts (in SQL) agree with `Complaint.overdue`: late to acknowledge, late to answer, on time,
    answered (no longer open), and a complaint naming no firm."""
    officer = make_user(Role.compliance)
    firm, other = make_org(), make_org()
    _receive(session, concerns=Concerns(organisation_id=firm.id), received_on=date(2026, 9, 1))  # late to acknowledge
    late_answer = _receive(session, concerns=Concerns(organisation_id=firm.id), received_on=date(2026, 9, 2))
    rules.acknowledge(session, officer, late_answer, on=date(2026, 9, 4))
    _receive(session, concerns=Concerns(organisation_id=other.id), received_on=date(2026, 12, 28))
    answered = _receive(session, concerns=Concerns(organisation_id=other.id), received_on=date(2026, 9, 3))
    rules.acknowledge(session, officer, answered, on=date(2026, 9, 4))
    rules.answer(session, officer, answered, text="We called you back and fixed the renewal.",
                 mediation_info="The insurance mediator, by post or online.")
    _receive(session, received_on=date(2026, 9, 1))
    session.commit()
    for today in (date(2026, 9, 10), date(2026, 12, 31), date(2027, 3, 1)):
        expected: dict[int, tuple[int, int]] = {}
        for c in session.scalars(select(Complaint).where(Complaint.organisation_id.is_not(None), Complaint.state.in_(
                (ComplaintState.received, ComplaintState.acknowledged)))):
            n, late = expected.get(c.organisation_id, (0, 0))
            expected[c.organisation_id] = n + 1, late + c.overdue(today)
        assert rules.open_by_firm(session, today) == expected
    assert rules.open_by_firm(session, date(2026, 12, 31)) == {firm.id: (2, 2), other.id: (1, 0)}

"""The compliance officer's one review queue: items of every kind from every part of the portal (a firm's status
application, a disclosure to review, a complaint nearing its deadline, a referral refused for health data, a
possible duplicate, a consent withdrawn), with age, filters and assignment; notices marked reviewed with a reason
(four eyes), decisions made where they live; compliance works it, admins read it, nobody else sees it."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from compliance import complaints
from compliance import crossborder as host_states
from compliance.complaint_models import ComplainantKind, ComplaintCategory, ComplaintChannel
from compliance.review_queue import QueueReview
from core import audit
from core.accounts import Lifecycle, PartnerStatus, Role
from core.audit import AuditEvent
from pipeline.withdrawals import withdraw_consent
from tests.conftest import csrf_from
from tests.portal import test_disclosures
from tests.portal.test_disclosures import _declare

world = test_disclosures.world  # the fixture: two firms, a contract each

TODAY = date.today()


@pytest.fixture
def waiting(session, world, make_org, make_user, login, new_lead, introducer, new_case):
    """One item of each kind waiting for compliance."""
    applicant = make_org(PartnerStatus.generalist_broker, legal_name="Gamma Courtage", lifecycle=Lifecycle.applied)
    _declare(login(make_user(Role.partner_admin, world["firm"])), world["contract"])
    complaints.receive(session, None, complaints.ComplaintInput(
        channel=ComplaintChannel.email, complainant_kind=ComplainantKind.client, complainant_name="Ana Lopez",
        complainant_email="ana@example.org", category=ComplaintCategory.service,
        description="Nobody answered my three e-mails about my cover.", received_on=TODAY - timedelta(days=12)),
        policy=complaints.DeadlinePolicy(), today=TODAY)
    audit.record(session, "lead.health_data_refused", actor=introducer,
                 organisation=introducer.organisation.public_id, categories=["diagnosis_or_test", "treatment"])
    first = new_lead(introducer, email="dup@example.org")
    second_firm = make_user(Role.partner_member, make_org(PartnerStatus.introducer, legal_name="Delta Intro"))
    new_lead(second_firm, email="dup@example.org")  # the same client referred again: a possible duplicate
    manager = make_user(Role.account_manager)
    withdraw_consent(session, manager, first, scope="cc_on_milestones", reason="The client asked by phone.")
    # a French broker that notified Belgium only, for a client living in Germany: the case is held
    broker = make_user(Role.partner_admin, make_org(PartnerStatus.specialist_broker, legal_name="Epsilon Courtage"))
    host_states.record_notification(session, make_user(Role.admin), broker.organisation, country="BE",
                                    basis=host_states.NotificationBasis.freedom_of_services,
                                    notified_on=TODAY - timedelta(days=400))
    session.commit()
    new_case(broker, first_name="Hans", country_of_residence="DE")
    session.commit()
    return {"applicant": applicant, "manager": manager}


def test_compliance_sees_every_kind_takes_items_and_marks_notices_reviewed(session, waiting, world, make_user,
                                                                           login):
    officer, colleague = make_user(Role.compliance), make_user(Role.compliance)
    client = login(officer)
    page = client.get("/compliance/queue/").get_data(as_text=True)
    queue = page.split('id="queue"')[1]
    for text in ("Gamma Courtage", "POL-0", "RCL-", "a diagnosis or a test, a treatment", "Ana",
                 "Withdrew consent to copies", "Held: the firm has not notified Germany", "Epsilon Courtage"):
        assert text in queue, text
    counts = page.split('id="counts"')[1].split("</ul>")[0]
    assert "Contract disclosures: <strong>1</strong>" in counts and "Consents withdrawn: <strong>1</strong>" in counts
    only = client.get("/compliance/queue/?kind=complaint").get_data(as_text=True).split('id="queue"')[1]
    assert "RCL-" in only and "POL-0" not in only
    assert "POL-0" not in client.get("/compliance/queue/?older=30").get_data(as_text=True).split('id="queue"')[1]

    # assignment: to a colleague, then the "assigned to me" filter
    token = csrf_from(page)
    disclosure_ref = world["contract"].public_id
    r = client.post("/compliance/queue/assign", data={"csrf_token": token, "kind": "disclosure",
                                                       "ref": disclosure_ref, "assignee": colleague.public_id})
    assert r.status_code == 302
    mine = login(colleague).get("/compliance/queue/?assigned=me").get_data(as_text=True).split('id="queue"')[1]
    assert "POL-0" in mine and "RCL-" not in mine
    assert client.post("/compliance/queue/assign", data={
        "csrf_token": token, "kind": "disclosure", "ref": disclosure_ref,
        "assignee": waiting["manager"].public_id}).status_code == 302  # not a compliance officer: refused
    assert colleague.full_name in client.get("/compliance/queue/?kind=disclosure").get_data(as_text=True)

    # a notice marked reviewed leaves the queue, with the reason, audited; a short reason is refused
    refusal = session.scalar(select(AuditEvent.seq).where(AuditEvent.action == "lead.health_data_refused"))
    data = {"csrf_token": token, "kind": "health_refusal", "ref": str(refusal)}
    client.post("/compliance/queue/review", data={**data, "reason": "ok"})
    assert session.scalar(select(func.count(QueueReview.id))) == 0
    assert client.post("/compliance/queue/review", data={
        **data, "reason": "The introducer was reminded of the rules by phone."}).status_code == 302
    after = client.get("/compliance/queue/").get_data(as_text=True).split('id="queue"')[1]
    assert "a diagnosis or a test, a treatment" not in after
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "queue.reviewed")) == 1

    # a disclosure is decided on its own page, not marked reviewed here
    client.post("/compliance/queue/review", data={"csrf_token": token, "kind": "disclosure", "ref": disclosure_ref,
                                                 "reason": "Looks complete to me, thanks."})
    assert "POL-0" in client.get("/compliance/queue/").get_data(as_text=True).split('id="queue"')[1]


def test_four_eyes_on_a_notice(session, waiting, make_user, login):
    """The officer who recorded a consent withdrawal does not review it."""
    from pipeline.leads.models import ConsentWithdrawal, Lead

    officer = make_user(Role.compliance)
    lead = session.scalars(select(Lead).order_by(Lead.id)).first()
    withdraw_consent(session, officer, lead, scope="all", reason="The client withdrew by letter.")
    session.commit()
    mine = session.scalars(select(ConsentWithdrawal).order_by(ConsentWithdrawal.id.desc())).first()
    client = login(officer)
    token = csrf_from(client.get("/compliance/queue/").get_data(as_text=True))
    r = client.post("/compliance/queue/review", data={"csrf_token": token, "kind": "consent_withdrawal",
                                                       "ref": str(mine.id), "reason": "Checked the letter, fine."})
    assert r.status_code == 302
    assert session.scalar(select(func.count(QueueReview.id))) == 0
    assert "another compliance officer" in client.get("/compliance/queue/").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.admin, Role.finance, Role.account_manager, Role.partner_admin])
def test_only_compliance_works_the_queue_and_admins_read_it(session, waiting, world, make_user, login, role):
    user = make_user(role, world["firm"] if role is Role.partner_admin else None)
    client = login(user)
    page = client.get("/compliance/queue/")
    assert page.status_code == (200 if role is Role.admin else 403)
    if role is Role.admin:
        assert "POL-0" in page.get_data(as_text=True) and 'action="/compliance/queue/assign"' not in \
            page.get_data(as_text=True)
    token = csrf_from(client.get("/").get_data(as_text=True))
    r = client.post("/compliance/queue/assign", data={"csrf_token": token, "kind": "disclosure",
                                                       "ref": world["contract"].public_id,
                                                       "assignee": user.public_id})
    assert r.status_code == 403


def test_the_page_shows_the_oldest_hundred_and_counts_the_rest(session, make_user, login, introducer):
    """More waiting than a page shows: the counts are of everything, the page says how many it does not show, and
    an item marked reviewed leaves both."""
    for _ in range(103):
        audit.record(session, "lead.health_data_refused", actor=introducer,
                     organisation=introducer.organisation.public_id, categories=["treatment"])
    session.commit()
    client = login(make_user(Role.compliance))
    page = client.get("/compliance/queue/").get_data(as_text=True)
    assert "Referrals refused by the health-data screen: <strong>103</strong>" in page
    assert page.split('id="queue"')[1].count('<tr id="item-health_refusal-') == 100
    assert "3 more items wait" in page
    shown = client.get("/compliance/queue/?kind=health_refusal").get_data(as_text=True)
    assert "3 more items wait" in shown and "Referrals refused by the health-data screen: <strong>103</strong>" in shown
    first = min(session.scalars(select(AuditEvent.seq).where(AuditEvent.action == "lead.health_data_refused")),
                key=str)  # a day's items are in the order of their refs
    assert f'id="item-health_refusal-{first}"' in page
    r = client.post("/compliance/queue/review", data={"csrf_token": csrf_from(page), "kind": "health_refusal",
                                                       "ref": str(first), "reason": "Reminded the introducer."})
    assert r.status_code == 302
    after = client.get("/compliance/queue/").get_data(as_text=True)
    assert "<strong>102</strong>" in after and "2 more items wait" in after
    assert f'id="item-health_refusal-{first}"' not in after
    assert "more items wait" not in client.get("/compliance/queue/?assigned=me").get_data(as_text=True)

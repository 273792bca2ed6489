"""The complaints register on the web: anyone lodges a complaint through the public form and gets a reference;
only compliance and the administrators see the register, record, acknowledge, answer and close, and read the
reports; the reminder command e-mails each reminder once."""
import csv
import io
from email.header import decode_header, make_header
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from compliance import complaints as rules
from compliance.complaint_models import (
    ComplainantKind, Complaint, ComplaintCategory, ComplaintChannel, ComplaintReminder, ComplaintState,
)
from compliance.complaints import ComplaintInput, DeadlinePolicy
from core.accounts import Role
from core.audit import AuditEvent
from core.contracts import Contract
from core.db import utcnow
from core.i18n import format_day
from core.outbox import OutboxMessage, deliver_due
from core.products import ProductLine
from core.transports import SmtpTransport
from funnel import journey
from funnel.roster import apply_events
from funnel.seed import seed_sample_products
from funnel.volunteers import find_volunteer
from portal.extensions import db, limiter
from tests.conftest import csrf_from

LODGE = {"complainant_kind": "client", "complainant_name": "Marie Client", "complainant_email": "Marie@Example.test",
         "category": "service", "product_line": "individual", "concerns_label": "Policy AX-123",
         "description": "Nobody answered my three e-mails about the refund of my consultation."}


def _post(client, url, data, page=None):
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def _count(session, model, *where):
    session.expire_all()
    return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _complaint(session, received_on=None, **changes):
    values = dict(channel=ComplaintChannel.email, complainant_kind=ComplainantKind.client,
                  complainant_name="Paul Client", complainant_email="paul@example.test",
                  category=ComplaintCategory.claims, description="My claim has been pending for weeks.",
                  received_on=received_on or utcnow().date(), product_line=ProductLine.family)
    complaint = rules.receive(session, None, ComplaintInput(**{**values, **changes}), policy=DeadlinePolicy())
    session.commit()
    return complaint


# --- the public form ---------------------------------------------------------------------------------------------

def test_anyone_lodges_a_complaint_and_gets_its_reference(client, session):
    r = _post(client, "/complaints/new", LODGE)
    assert r.status_code == 302 and r.location.endswith("/complaints/sent")
    complaint = session.scalars(select(Complaint)).one()
    assert complaint.channel is ComplaintChannel.web_form and complaint.complainant_email == "marie@example.test"
    assert complaint.state is ComplaintState.received and complaint.organisation_id is None
    assert complaint.acknowledge_due == DeadlinePolicy().acknowledge_due(complaint.received_on)
    page = client.get("/complaints/sent").get_data(as_text=True)
    assert complaint.reference in page and "10 business days" in page


def test_a_bad_complaint_gets_field_messages_and_records_nothing(client, session):
    r = _post(client, "/complaints/new", {**LODGE, "description": "bad", "complainant_email": "nope"})
    assert r.status_code == 422 and "Invalid email address." in r.get_data(as_text=True)
    assert _count(session, Complaint) == 0


def test_the_public_form_needs_its_csrf_token(client, session):
    r = client.post("/complaints/new", data=LODGE)
    assert r.status_code in (400, 422) and _count(session, Complaint) == 0


def test_the_public_form_is_rate_limited(client, session, monkeypatch):
    # the limiter is one object for every app: an app made with RATELIMIT_ENABLED=false (tests/portal/test_auth.py)
    # turns it off for the test app too
    monkeypatch.setattr(limiter, "enabled", True)
    for _ in range(5):
        assert _post(client, "/complaints/new", LODGE).status_code == 302
    assert _post(client, "/complaints/new", LODGE).status_code == 429
    assert _count(session, Complaint) == 5


def test_a_signed_in_partner_lodges_for_their_firm(login, broker, session):
    partner = login(broker)
    page = partner.get("/complaints/new").get_data(as_text=True)
    assert broker.organisation.legal_name in page and broker.email in page
    assert '<option selected value="partner">' in page
    r = _post(partner, "/complaints/new", {**LODGE, "complainant_kind": "partner", "complainant_name": "Pierre",
                                           "complainant_email": broker.email})
    assert r.status_code == 302
    complaint = session.scalars(select(Complaint)).one()
    assert complaint.organisation_id == broker.organisation_id and complaint.complainant_kind is ComplainantKind.partner
    assert complaint.reference in partner.get("/complaints/sent").get_data(as_text=True)


def test_a_volunteer_in_their_area_lodges_about_themselves(app, client, session):
    seed_sample_products(session)
    apply_events(session, [{"event": "affiliation", "event_id": "BF-2026-C00001-1", "occurred_at": "2026-11-02T08:00:00Z",
                            "file_ref": "BF-2026-C00001", "first_name": "Léa", "last_name": "Martin",
                            "email": "lea@example.org", "birth_date": "2000-04-02", "programme": "VIE",
                            "mission_country": "US", "mission_start": "2026-11-03", "mission_end": "2027-10-31",
                            "language": "en"}], now=datetime(2026, 12, 1, tzinfo=UTC))
    volunteer = find_volunteer(session, file_ref="BF-2026-C00001")
    _link_row, raw = journey.issue_link(session, volunteer)
    session.commit()
    client.get(f"/v/{raw}")
    page = client.get("/complaints/new").get_data(as_text=True)
    assert '<option selected value="volunteer">' in page and "lea@example.org" in page
    r = _post(client, "/complaints/new", {**LODGE, "complainant_kind": "volunteer", "complainant_name": "Léa Martin",
                                          "complainant_email": "lea@example.org", "concerns_label": "",
                                          "product_line": "volunteer_health_topup"})
    assert r.status_code == 302
    complaint = session.scalars(select(Complaint)).one()
    assert (complaint.concerns_kind, complaint.concerns_ref) == ("volunteer", volunteer.public_id)
    assert complaint.concerns_label == "Léa Martin (BF-2026-C00001)" and complaint.organisation_id is None


# --- who sees the register ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("role,allowed", [(Role.compliance, True), (Role.admin, True), (Role.finance, False),
                                          (Role.account_manager, False), (Role.partner_admin, False),
                                          (Role.partner_member, False), (Role.volunteer, False)])
def test_only_compliance_and_admins_see_the_register(login, make_user, make_org, session, role, allowed):
    complaint = _complaint(session)
    user = make_user(role, make_org() if role in (Role.partner_admin, Role.partner_member) else None)
    c = login(user)
    for url in ("/compliance/complaints", f"/compliance/complaints/{complaint.public_id}",
                "/compliance/complaints/record", "/compliance/complaints/report",
                "/compliance/complaints?format=csv"):
        assert c.get(url).status_code == (200 if allowed else 403), url
    token = csrf_from(c.get("/complaints/new").get_data(as_text=True))
    r = c.post(f"/compliance/complaints/{complaint.public_id}/acknowledge",
               data={"on": date.today().isoformat(), "csrf_token": token})
    assert r.status_code == (302 if allowed else 403)
    assert ("Complaints" in c.get("/").get_data(as_text=True).split("<main")[0]) is allowed


def test_anonymous_visitors_are_sent_to_sign_in(client, session):
    complaint = _complaint(session)
    r = client.get(f"/compliance/complaints/{complaint.public_id}")
    assert r.status_code == 302 and "/login" in r.location


# --- staff work the register ---------------------------------------------------------------------------------------

def test_compliance_records_a_transcribed_complaint_and_works_it_to_closure(login, make_user, broker, session):
    officer = make_user(Role.compliance, email="officer@broker.test")
    admin = make_user(Role.admin, email="admin@broker.test")
    c = login(officer)
    received = utcnow().date() - timedelta(days=3)
    r = _post(c, "/compliance/complaints/record", {
        "channel": "email", "received_on": received.isoformat(), "complainant_kind": "client",
        "complainant_name": "Jeanne Client", "complainant_email": "jeanne@example.test", "locale": "fr",
        "category": "advice", "product_line": "volunteer_health_topup",
        "organisation": broker.organisation.public_id, "policy_number": "", "case_id": "",
        "description": "The cover sold does not match what I asked for.", "owner": admin.public_id})
    assert r.status_code == 302
    complaint = session.scalars(select(Complaint)).one()
    assert complaint.received_on == received and complaint.owner_id == admin.id
    assert complaint.organisation_id == broker.organisation_id and complaint.recorded_by_id == officer.id
    view = f"/compliance/complaints/{complaint.public_id}"
    page = c.get(view).get_data(as_text=True)
    assert "Jeanne Client" in page and format_day(complaint.acknowledge_due, "en") in page

    r = _post(c, f"{view}/assign", {"owner": officer.public_id}, page=view)
    assert r.status_code == 302
    r = _post(c, f"{view}/acknowledge", {"on": utcnow().date().isoformat()}, page=view)
    assert r.status_code == 302
    short = _post(c, f"{view}/answer", {"on": utcnow().date().isoformat(), "answer": "Sorry.",
                                        "mediation_info": "La Médiation de l'Assurance"}, page=view)
    assert short.status_code == 422 and "Field must be between 10 and 8000 characters long." in \
        short.get_data(as_text=True)
    r = _post(c, f"{view}/answer", {"on": utcnow().date().isoformat(),
                                    "answer": "We have reviewed your cover and offer a change free of charge.",
                                    "mediation_info": "La Médiation de l'Assurance, TSA 50110, 75441 Paris"},
              page=view)
    assert r.status_code == 302
    r = _post(c, f"{view}/close", {}, page=view)
    assert r.status_code == 302
    session.expire_all()
    done = session.get(Complaint, complaint.id)
    assert done.state is ComplaintState.closed and done.owner_id == officer.id and done.answered_on_time
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == complaint.public_id)
                              .order_by(AuditEvent.seq)).all()
    assert actions == ["complaint.received", "complaint.assigned", "complaint.assigned", "complaint.acknowledged",
                       "complaint.answered", "complaint.closed"]
    assert "complaint.closed" in c.get(view).get_data(as_text=True)


def test_an_unknown_policy_number_is_a_field_error(login, make_user, session):
    c = login(make_user(Role.compliance))
    r = _post(c, "/compliance/complaints/record", {
        "channel": "phone", "received_on": utcnow().date().isoformat(), "complainant_kind": "volunteer",
        "complainant_name": "Léa", "locale": "fr", "category": "premium", "policy_number": "NOPE-1",
        "description": "I was charged twice this month."})
    assert r.status_code == 422 and "No contract has this policy number." in r.get_data(as_text=True)
    assert _count(session, Complaint) == 0 and _count(session, Contract) == 0


def test_a_future_day_received_is_refused(login, make_user, session):
    c = login(make_user(Role.compliance))
    r = _post(c, "/compliance/complaints/record", {
        "channel": "letter", "received_on": (utcnow().date() + timedelta(days=2)).isoformat(),
        "complainant_kind": "client", "complainant_name": "Léa", "locale": "fr", "category": "other",
        "description": "A letter about the service."})
    assert r.status_code == 422 and "The day received cannot be in the future." in r.get_data(as_text=True)


def test_the_register_filters_and_exports_csv(login, make_user, session):
    officer = make_user(Role.compliance)
    late = _complaint(session, received_on=utcnow().date() - timedelta(days=40), category=ComplaintCategory.claims)
    fresh = _complaint(session, category=ComplaintCategory.premium, product_line=ProductLine.volunteer_health_topup,
                       complainant_name="=HYPERLINK(\"http://x\")")
    c = login(officer)
    page = c.get("/compliance/complaints?overdue=y").get_data(as_text=True)
    assert late.reference in page and fresh.reference not in page
    page = c.get("/compliance/complaints?product=volunteer_covers").get_data(as_text=True)
    assert fresh.reference in page and late.reference not in page
    page = c.get("/compliance/complaints?category=claims&state=received&owner=none").get_data(as_text=True)
    assert late.reference in page and fresh.reference not in page
    r = c.get("/compliance/complaints?format=csv")
    assert r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    by_ref = {row["reference"]: row for row in rows}
    assert by_ref[late.reference]["overdue"] == "yes" and by_ref[fresh.reference]["product_group"] == \
        "volunteer_covers"
    assert by_ref[fresh.reference]["complainant"].startswith("'=")


def test_the_report_page_and_its_csv(login, make_user, session):
    officer = make_user(Role.admin)
    k = _complaint(session, received_on=date(2026, 10, 5))
    rules.acknowledge(session, officer, k, on=date(2026, 10, 7))
    rules.answer(session, officer, k, text="Answered in full.", mediation_info="La Médiation de l'Assurance",
                 on=date(2026, 10, 15))
    _complaint(session, received_on=date(2026, 11, 5), product_line=ProductLine.volunteer_prevoyance_topup)
    session.commit()
    c = login(officer)
    page = c.get("/compliance/complaints/report?period=quarter&year=2026&number=4").get_data(as_text=True)
    assert "2026-Q4" in page and "2 complaints received" in page
    r = c.get("/compliance/complaints/report?period=month&year=2026&number=10&format=csv")
    rows = {(row["section"], row["item"]): row["value"] for row in csv.DictReader(io.StringIO(r.get_data(as_text=True)))}
    assert rows[("total", "received")] == "1" and rows[("days_to_answer", "median")] == "10.0"
    assert rows[("on_time", "share_answered_on_time")] == "1.0"
    assert c.get("/compliance/complaints/report?period=month&year=2026&number=13").status_code == 400


# --- reminders ---------------------------------------------------------------------------------------------------

def test_reminders_are_sent_once_through_smtp(app, session, make_user, smtp_server):
    officer = make_user(Role.compliance, email="officer@broker.test", locale="fr")
    admin = make_user(Role.admin, email="admin@broker.test")
    make_user(Role.finance, email="finance@broker.test")
    today = utcnow().date()
    unowned = _complaint(session, received_on=today - timedelta(days=30))  # acknowledgement overdue
    owned = _complaint(session, received_on=today - timedelta(days=75))    # answer overdue too
    rules.assign(session, officer, owned, admin)
    rules.acknowledge(session, admin, owned, on=today - timedelta(days=70))
    session.commit()

    first = app.test_cli_runner().invoke(args=["compliance", "complaints", "remind"])
    assert first.exit_code == 0, first.output
    assert "2 reminder(s) queued" in first.output
    again = app.test_cli_runner().invoke(args=["compliance", "complaints", "remind"])
    assert "0 reminder(s) queued" in again.output
    assert _count(session, ComplaintReminder) == 2 and _count(session, OutboxMessage) == 2

    sent = deliver_due(db.session, SmtpTransport("127.0.0.1", smtp_server.port, security="none"),
                       "Portal <no-reply@portal.test>", batch=50)
    assert sent.failed == 0
    got = sorted((rcpt[0], str(make_header(decode_header(m["Subject"])))) for rcpt, m in smtp_server.messages)
    assert got == sorted([
        ("admin@broker.test", f"Complaint {owned.reference}: answer overdue since {format_day(owned.answer_due, 'en')}"),
        ("officer@broker.test", f"Réclamation {unowned.reference} : accusé de réception en retard depuis le "
                                f"{format_day(unowned.acknowledge_due, 'fr')}"),
    ])
    body = next(m for rcpt, m in smtp_server.messages if rcpt == ["officer@broker.test"]).get_payload(decode=True)
    assert f"/compliance/complaints/{unowned.public_id}".encode() in body
    assert app.test_cli_runner().invoke(args=["compliance", "complaints", "remind"]).output.endswith(
        "0 reminder(s) queued\n")

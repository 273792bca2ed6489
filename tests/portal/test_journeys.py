"""Journeys as a partner lives them: an agreement to sign is the first thing the administrator sees, the sign page
shows the document itself, a draft is called a draft, and a firm that cannot submit business is not offered to."""
import io
import re
from datetime import date

import pytest
from markupsafe import escape
from sqlalchemy import select

from agreements import operations as ops
from agreements.models import Agreement, AgreementStatus
from core.accounts import PartnerStatus, Role
from core.outbox import deliver_due
from core.partners import Lifecycle
from core.transports import SmtpTransport
from pipeline.cases.models import Case
from pipeline.leads.models import Lead
from portal.extensions import db
from tests.conftest import csrf_from
from tests.factories import PASSWORD

RATE = "30%"  # the default first-year rate of a collaboration schedule, as shown


@pytest.fixture
def sent(app, session, make_org, make_user, login):
    """A firm approved by compliance, whose agreement compliance sent from the agreement page:
    (agreement, firm, its administrator, a member, the compliance officer)."""
    org = make_org(PartnerStatus.specialist_broker, lifecycle=Lifecycle.approved)
    admin = make_user(Role.partner_admin, org, email="claire@azur.example")
    member = make_user(Role.partner_member, org)
    officer = make_user(Role.compliance)
    with app.test_request_context():
        agreement = ops.prepare_agreement(session, officer, org, effective_from=date(2026, 1, 1))
    session.commit()
    c = login(officer)
    view = f"/agreements/{agreement.public_id}"
    r = c.post(f"{view}/send", data={"csrf_token": csrf_from(c.get(view).get_data(as_text=True))})
    assert r.status_code == 302
    session.expire_all()
    return session.get(Agreement, agreement.id), org, admin, member, officer


def test_the_administrator_is_told_by_mail_and_sees_sign_now_on_the_home_page(app, session, sent, login,
                                                                              smtp_server):
    agreement, _org, admin, _member, _officer = sent
    assert agreement.status is AgreementStatus.sent
    with app.app_context():
        result = deliver_due(db.session, SmtpTransport("127.0.0.1", smtp_server.port, security="none"),
                             "Portal <no-reply@portal.test>", batch=50)
        db.session.remove()
    assert result.failed == 0
    [(rcpt, mail)] = smtp_server.messages
    assert rcpt == [admin.email] and agreement.reference in mail["Subject"]
    text = "".join(part.get_payload(decode=True).decode() for part in mail.walk()
                   if part.get_content_type() == "text/plain")
    assert f"/agreements/{agreement.public_id}" in text

    home = login(admin).get("/").get_data(as_text=True)
    assert "Sign now" in home and f'href="/agreements/{agreement.public_id}/sign"' in home
    assert "Approved, agreement in preparation" not in home
    assert "waiting for your signature" in home
    assert "Submit a case" not in home, "nothing to submit before the agreement is in force"


def test_members_see_who_must_sign(sent, login):
    agreement, _org, admin, member, _officer = sent
    home = login(member).get("/").get_data(as_text=True)
    assert agreement.reference in home and admin.full_name in home
    assert "Sign now" not in home and f"/agreements/{agreement.public_id}/sign" not in home


def test_the_sign_page_shows_the_document_with_its_rates_and_download_downloads(sent, login):
    agreement, _org, admin, _member, _officer = sent
    c = login(admin)
    page = c.get(f"/agreements/{agreement.public_id}/sign").get_data(as_text=True)
    document = ops.build_document(agreement)
    assert 'id="agreement-text"' in page and escape(document.title) in page
    assert [s.heading for s in document.sections if escape(s.heading) not in page] == []
    assert RATE in page, "the administrator signs the schedule: it is shown"
    pdf = c.get(f"/agreements/{agreement.public_id}/document.pdf?download=1")
    assert pdf.status_code == 200 and pdf.data == agreement.document_pdf
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    assert 'document.pdf?download=1' in page


def test_the_countersign_page_shows_the_document_to_the_broker(app, session, sent, login):
    agreement, _org, admin, _member, officer = sent
    c = login(admin)
    page = c.get(f"/agreements/{agreement.public_id}/sign").get_data(as_text=True)
    sha = re.search(r'name="document_sha256"[^>]*value="([0-9a-f]{64})"', page).group(1)
    r = c.post(f"/agreements/{agreement.public_id}/sign", data={
        "csrf_token": csrf_from(page), "document_sha256": sha, "typed_name": admin.full_name,
        "password": PASSWORD, "confirm": "y"})
    assert r.status_code == 302
    home = c.get("/").get_data(as_text=True)
    assert "Sign now" not in home and "countersigned" in home
    counter = login(officer).get(f"/agreements/{agreement.public_id}/countersign").get_data(as_text=True)
    assert 'id="agreement-text"' in counter and RATE in counter


def _verify(app, pdf: bytes) -> str:
    anyone = app.test_client()
    token = csrf_from(anyone.get("/verify").get_data(as_text=True))
    return anyone.post("/verify", data={"csrf_token": token, "file": (io.BytesIO(pdf), "copy.pdf")},
                       content_type="multipart/form-data").get_data(as_text=True)


def test_verify_calls_the_copy_for_signature_a_draft(app, sent):
    agreement, *_ = sent
    page = _verify(app, agreement.document_pdf)
    assert "A draft, not a signed copy" in page and agreement.reference in page
    assert "Modified copy" not in page and "do not rely" not in page.lower()


@pytest.mark.parametrize("lifecycle,why", [
    (Lifecycle.approved, "The broker is preparing your agreement"),
    (Lifecycle.suspended, "Your firm is suspended"),
    (Lifecycle.terminated, "Your firm&#39;s agreement has ended"),
    (Lifecycle.under_review, "application is being reviewed"),
])
def test_an_inactive_broker_is_not_offered_a_case_and_is_told_why_once(app, session, make_org, make_user, login,
                                                                        lifecycle, why):
    org = make_org(PartnerStatus.specialist_broker, lifecycle=lifecycle)
    if lifecycle is Lifecycle.approved:
        with app.test_request_context():
            ops.prepare_agreement(session, make_user(Role.compliance), org, effective_from=date(2026, 1, 1))
        session.commit()
    c = login(make_user(Role.partner_admin, org))
    home = c.get("/").get_data(as_text=True)
    assert "Submit a case" not in home and home.count(why) == 1
    assert "/cases/new" not in c.get("/cases/").get_data(as_text=True)

    form = c.get("/cases/new")
    page = form.get_data(as_text=True)
    assert form.status_code == 403 and page.count(why) == 1
    assert 'name="client_first_name"' not in page, "the form is not offered"
    refused = c.post("/cases/new", data={"client_first_name": "Marc", "csrf_token": csrf_from(home)})
    assert refused.status_code == 403
    assert session.execute(select(Case)).first() is None


def test_a_suspended_introducer_is_not_offered_a_referral(session, make_org, make_user, login):
    org = make_org(PartnerStatus.introducer, lifecycle=Lifecycle.suspended)
    c = login(make_user(Role.partner_member, org))
    home = c.get("/").get_data(as_text=True)
    assert "Refer a client" not in home and "Your firm is suspended" in home
    assert "/leads/new" not in c.get("/leads/").get_data(as_text=True)
    form = c.get("/leads/new")
    assert form.status_code == 403 and 'name="first_name"' not in form.get_data(as_text=True)
    assert "Your firm is suspended" in form.get_data(as_text=True)
    assert session.execute(select(Lead)).first() is None


def test_an_active_firm_is_still_offered_a_case(make_broker, login):
    c = login(make_broker())
    home = c.get("/").get_data(as_text=True)
    assert "Submit a case" in home and 'id="no-new-business"' not in home
    assert c.get("/cases/new").status_code == 200

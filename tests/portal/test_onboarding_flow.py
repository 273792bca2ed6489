"""The onboarding journey as people live it: a firm applies, compliance decides, both sides sign, the worker
seals, the signers receive the sealed copy, and anyone can verify it."""
import re

import pytest
from sqlalchemy import func, select

from agreements.models import Agreement, AgreementStatus
from core.accounts import Organisation, PartnerStatus, Role, User
from core.audit import AuditEvent
from core.outbox import OutboxMessage, deliver_due
from core.partners import Lifecycle
from core.transports import SmtpTransport
from portal.extensions import db
from tests.conftest import csrf_from
from tests.factories import PASSWORD

APPLICATION = {
    "legal_name": "Azur Expat Courtage SARL", "company_number": "732 829 320", "country": "FR",
    "status": "specialist_broker", "register": "orias", "registration_number": "07 012 345",
    "zones": ["FR", "AE"], "communication_model": "hybrid", "cc_key_communications": "y", "languages": ["fr"],
    "contact_name": "Claire Azur", "contact_email": "ops@azur.example", "contact_phone": "+33 1 23 45 67 89",
    "data_sharing_approach": "Consent first, then the portal only; never medical details by e-mail.",
    "disclosure_approach": "Written disclosure of role and remuneration before any commitment.",
    "admin_name": "Claire Azur", "admin_email": "claire@azur.example", "accurate": "y",
}


def _post(client, url, data, page=None):
    token = csrf_from(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def _count(session, model, *where):
    session.expire_all()
    return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _apply(client, **changes):
    return _post(client, "/apply", {**APPLICATION, **changes})


def test_application_creates_an_applied_firm_and_invites_its_administrator(client, session):
    r = _apply(client)
    assert r.status_code == 302 and r.location.endswith("/apply/sent")
    org = session.execute(select(Organisation)).scalar_one()
    assert org.lifecycle is Lifecycle.applied and org.registration_number == "07012345"
    assert org.company_number == "732829320" and org.cc_key_communications is True
    admin = session.execute(select(User).where(User.email == "claire@azur.example")).scalar_one()
    assert admin.role is Role.partner_admin and admin.organisation_id == org.id and admin.email_verified_at is None
    invitation = session.execute(select(OutboxMessage)).scalar_one()
    assert invitation.to == "claire@azur.example" and "/password/reset/" in invitation.body_text


@pytest.mark.parametrize("changes,field_message", [
    ({"registration_number": "12"}, "not a valid number for this register"),
    ({"register": "", "registration_number": ""}, "Choose the register the firm is listed in."),
    ({"company_number": "732829321"}, "not valid for the country of establishment"),
    ({"data_sharing_approach": "ok"}, "Field must be between 20 and 4000 characters long."),
    ({"accurate": ""}, "Please confirm to send the application."),
    ({"register": "lloyds"}, "Not a valid choice."),
    # a CLDR pseudo-locale is not a country
    ({"zones": ["FR", "XA"]}, "is not a valid choice"),
])
def test_bad_applications_get_field_messages_and_write_nothing(client, session, changes, field_message):
    r = _apply(client, **changes)
    assert r.status_code == 422 and field_message in r.get_data(as_text=True)
    assert _count(session, Organisation) == 0 and _count(session, User) == 0 and _count(session, OutboxMessage) == 0


def test_an_introducer_needs_no_register(client, session):
    r = _apply(client, status="introducer", register="", registration_number="")
    assert r.status_code == 302
    assert session.execute(select(Organisation.status)).scalar_one() is PartnerStatus.introducer


def _verify_admin_email(client, session):
    session.expire_all()
    msg = session.execute(select(OutboxMessage).where(OutboxMessage.to == "claire@azur.example")).scalars().first()
    path = re.search(r"http://portal\.test(/password/reset/\S+)", msg.body_text).group(1)
    token = csrf_from(client.get(path).get_data(as_text=True))
    client.post(path, data={"password": PASSWORD, "confirm": PASSWORD, "csrf_token": token})


def _sign_in(app, email):
    c = app.test_client()
    token = csrf_from(c.get("/login").get_data(as_text=True))
    assert c.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    return c


def _sign(client, agreement, url, name):
    page = client.get(url).get_data(as_text=True)
    sha = re.search(r'name="document_sha256"[^>]*value="([0-9a-f]{64})"', page).group(1)
    return client.post(url, data={"csrf_token": csrf_from(page), "document_sha256": sha, "typed_name": name,
                                  "password": PASSWORD, "confirm": "y"})


def test_the_whole_journey(app, client, session, make_user, smtp_server):
    # 1. The firm applies and its administrator verifies the address by choosing a password.
    assert _apply(client).status_code == 302
    _verify_admin_email(client, session)
    partner = _sign_in(app, "claire@azur.example")
    checklist = partner.get("/onboarding").get_data(as_text=True)
    assert "Administrator&#39;s e-mail address verified" in checklist
    assert "Compliance reviews the status the firm claims." in checklist  # still to do

    # 2. Compliance approves with a reason; the draft agreement is prepared.
    compliance = make_user(Role.compliance, email="officer@broker.example")
    officer = _sign_in(app, compliance.email)
    org = session.execute(select(Organisation)).scalar_one()
    short = _post(officer, f"/admin/organisations/{org.public_id}/decision", {"decision": "approve", "reason": "ok"},
                  page=f"/admin/organisations/{org.public_id}")
    assert short.status_code == 422 and _count(session, Agreement) == 0
    r = _post(officer, f"/admin/organisations/{org.public_id}/decision",
              {"decision": "approve", "reason": "ORIAS number checked on orias.fr"},
              page=f"/admin/organisations/{org.public_id}")
    assert r.status_code == 302
    agreement = session.execute(select(Agreement)).scalar_one()
    assert agreement.status is AgreementStatus.draft and agreement.language == "fr"
    assert _count(session, AuditEvent, AuditEvent.action == "organisation.status_approved") == 1

    # 3. Compliance sends it; the firm's administrator is told.
    view = f"/agreements/{agreement.public_id}"
    assert _post(officer, f"{view}/send", {}, page=view).status_code == 302
    session.expire_all()
    assert session.get(Agreement, agreement.id).status is AgreementStatus.sent

    # 4. The partner signs: a wrong password changes nothing; the right one signs.
    page = partner.get(f"{view}/sign").get_data(as_text=True)
    sha = re.search(r'name="document_sha256"[^>]*value="([0-9a-f]{64})"', page).group(1)
    wrong = partner.post(f"{view}/sign", data={"csrf_token": csrf_from(page), "document_sha256": sha,
                                               "typed_name": "Claire Azur", "password": "not it", "confirm": "y"})
    assert wrong.status_code == 422 and "The password is incorrect." in wrong.get_data(as_text=True)
    stale = partner.post(f"{view}/sign", data={"csrf_token": csrf_from(page), "document_sha256": "0" * 64,
                                               "typed_name": "Claire Azur", "password": PASSWORD, "confirm": "y"})
    assert stale.status_code == 422 and "The document changed" in stale.get_data(as_text=True)
    assert _sign(partner, agreement, f"{view}/sign", "claire azur").status_code == 302

    # 5. The broker countersigns; the worker seals and e-mails the sealed copy to both signers.
    assert _sign(officer, agreement, f"{view}/countersign", compliance.full_name).status_code == 302
    session.expire_all()
    assert session.get(Agreement, agreement.id).status is AgreementStatus.countersigned
    with app.app_context():
        sent = deliver_due(db.session, SmtpTransport("127.0.0.1", smtp_server.port, security="none"),
                           "Portal <no-reply@portal.test>", batch=50)
        assert sent.failed == 0
        sent = deliver_due(db.session, SmtpTransport("127.0.0.1", smtp_server.port, security="none"),
                           "Portal <no-reply@portal.test>", batch=50)
        db.session.remove()
    session.expire_all()
    sealed = session.get(Agreement, agreement.id)
    assert sealed.status is AgreementStatus.active and sealed.sealed_pdf.startswith(b"%PDF")
    assert session.get(Organisation, org.id).lifecycle is Lifecycle.active
    copies = [m for rcpt, m in smtp_server.messages if m.get_content_maintype() == "multipart"]
    assert [m["Subject"] for m in copies] == [f"Signed agreement {sealed.reference}"] * 2
    recipients = sorted(r for rcpt, m in smtp_server.messages for r in rcpt if m.get_content_maintype() == "multipart")
    assert recipients == sorted(["claire@azur.example", compliance.email])
    attachment = next(part for part in copies[0].walk() if part.get_content_type() == "application/pdf")
    assert attachment.get_payload(decode=True) == sealed.sealed_pdf

    # 6. Anyone can verify the sealed copy; a modified one is reported as modified.
    anyone = app.test_client()
    page = anyone.get("/verify").get_data(as_text=True)
    ok = anyone.post("/verify", data={"csrf_token": csrf_from(page), "file": (__import__("io").BytesIO(
        sealed.sealed_pdf), "copy.pdf")}, content_type="multipart/form-data")
    assert "Authentic and intact" in ok.get_data(as_text=True)
    api = anyone.post("/api/v1/agreements/verify", data={"file": (__import__("io").BytesIO(
        sealed.sealed_pdf + b"%% appended\n"), "copy.pdf")}, content_type="multipart/form-data")
    assert api.get_json() == {"issued_here": True, "intact": False, "status": "active",
                              "agreement_id": sealed.public_id}

    # 7. The checklist is complete.
    checklist = partner.get("/onboarding").get_data(as_text=True)
    assert checklist.count('class="done"') == 11 and 'class="todo"' not in checklist


def test_verify_api_without_a_file_is_a_422(client):
    r = client.post("/api/v1/agreements/verify", data={}, content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["error"]["fields"] == {"file": ["Choose the PDF file to check."]}


def test_compliance_cannot_approve_a_broker_without_a_valid_registration(app, session, make_org, make_user, login):
    org = make_org(PartnerStatus.specialist_broker, lifecycle=Lifecycle.applied, register=None,
                   registration_number=None)
    officer = login(make_user(Role.compliance))
    r = _post(officer, f"/admin/organisations/{org.public_id}/decision",
              {"decision": "approve", "reason": "Looks fine to me, approving"}, page=f"/admin/organisations/{org.public_id}")
    assert r.status_code == 422 and "cannot be approved without a valid registration" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(Organisation, org.id).lifecycle is Lifecycle.applied


def test_only_compliance_decides(app, session, make_org, make_user, login):
    org = make_org(lifecycle=Lifecycle.applied)
    for role in (Role.admin, Role.finance, Role.account_manager):
        c = login(make_user(role))
        r = _post(c, f"/admin/organisations/{org.public_id}/decision",
                  {"decision": "approve", "reason": "I would like to approve"}, page="/")
        assert r.status_code == 403, role


def test_suspension_blocks_business_and_is_audited(app, session, make_org, make_user, login):
    org = make_org()
    assert org.may_do_business
    officer = login(make_user(Role.compliance))
    r = _post(officer, f"/admin/organisations/{org.public_id}/suspension",
              {"action": "suspend", "reason": "Licence lapsed, pending renewal"}, page=f"/admin/organisations/{org.public_id}")
    assert r.status_code == 302
    session.expire_all()
    assert not session.get(Organisation, org.id).may_do_business
    assert _count(session, AuditEvent, AuditEvent.action == "organisation.suspended") == 1


def test_the_zones_are_real_countries_named_in_the_readers_language_with_region_shortcuts(client):
    page = client.get("/apply").get_data(as_text=True)
    zones = page.split('id="zones"')[1].split("</fieldset>")[0]
    assert zones.count('type="checkbox"') == 249
    assert "Pseudo" not in zones and 'value="XA"' not in zones and 'value="EU"' not in zones
    assert 'data-picker-region="eu_eea"' in zones and "Asia and the Middle East" in zones
    france = zones.split('value="FR"')[0].rsplit("<li", 1)[1]
    assert 'data-regions="eu_eea europe"' in france
    # accents do not send a name to the end of the list
    names = re.findall(r'<label for="zones-\d+">([^<]+)</label>', zones)
    assert names.index("Åland Islands") < names.index("Albania")


def test_a_long_form_with_several_errors_lists_them_at_the_top(client):
    page = _apply(client, legal_name="", contact_email="nope", accurate="").get_data(as_text=True)
    summary = page.split('class="flash error error-summary"')[1].split("</div>")[0]
    assert "3 answers need your attention" in summary
    assert 'href="#legal_name"' in summary and 'href="#contact_email"' in summary and 'href="#accurate"' in summary


def test_an_introducer_may_not_choose_to_lead_the_client_communication(client, session):
    r = _apply(client, status="introducer", register="", registration_number="", communication_model="partner_leads")
    assert r.status_code == 422
    assert "An introducer does not lead the communication with the client" in r.get_data(as_text=True)
    assert _count(session, Organisation) == 0
    for model in ("broker_leads", "hybrid"):
        assert _apply(client, status="introducer", register="", registration_number="", communication_model=model,
                      legal_name=f"Relocate {model}", admin_email=f"{model}@relocate.example").status_code == 302

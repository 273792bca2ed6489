"""Administrators manage partner firms and users; partner admins manage their own firm's people."""
from sqlalchemy import func, select

from core.accounts import Organisation, PartnerStatus, Role, User
from core.audit import AuditEvent
from core.outbox import OutboxMessage
from core.partners import Lifecycle
from tests.conftest import csrf_from

ORG_FORM = {"legal_name": "Azur Expat Courtage SARL", "status": "specialist_broker", "register": "orias",
            "registration_number": "07012345", "country": "FR", "zones": ["FR", "AE"],
            "communication_model": "hybrid", "languages": ["fr", "en"]}


def _post(c, url, data, page_url=None):
    token = csrf_from(c.get(page_url or url).get_data(as_text=True))
    return c.post(url, data={**data, "csrf_token": token})


def _count(session, model):
    session.expire_all()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_admin_creates_a_partner_firm(login, make_user, session):
    c = login(make_user(Role.admin))
    r = _post(c, "/admin/organisations/new", ORG_FORM)
    assert r.status_code == 302
    org = session.execute(select(Organisation)).scalar_one()
    assert org.status is PartnerStatus.specialist_broker and org.zones == ["AE", "FR"]
    assert org.languages == ["fr", "en"] and org.registration_number == "07012345"
    page = c.get(r.location).get_data(as_text=True)
    assert "Azur Expat Courtage SARL" in page and "United Arab Emirates" in page
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "organisation.created")).scalar_one()


def test_invalid_firm_form_shows_field_messages_and_writes_nothing(login, make_user, session):
    c = login(make_user(Role.admin))
    bad = {**ORG_FORM, "legal_name": "", "status": "insurer", "country": "XX", "register": "",
           "zones": [], "languages": []}
    r = _post(c, "/admin/organisations/new", bad, "/admin/organisations/new")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert html.count('class="error"') >= 4
    assert "Enter the registration number" not in html  # register left empty
    assert "Choose the register this number belongs to." in html
    assert _count(session, Organisation) == 0


def test_status_change_is_audited(login, make_user, make_org, session):
    org = make_org(PartnerStatus.generalist_broker)
    c = login(make_user(Role.admin))
    r = _post(c, f"/admin/organisations/{org.public_id}/edit", {**ORG_FORM, "legal_name": org.legal_name})
    assert r.status_code == 302
    ev = session.execute(select(AuditEvent).where(AuditEvent.action == "organisation.status_changed")).scalar_one()
    assert ev.details()["changes"]["status"] == ["generalist_broker", "specialist_broker"]
    # A new status is compliance's to approve: the firm's new business waits for that decision.
    session.expire_all()
    changed = session.get(Organisation, org.id)
    assert changed.lifecycle is Lifecycle.under_review and not changed.may_do_business


def test_admin_cannot_give_broker_status_without_a_valid_registration(login, make_user, make_org, session):
    org = make_org(PartnerStatus.introducer)
    c = login(make_user(Role.admin))
    r = _post(c, f"/admin/organisations/{org.public_id}/edit",
              {**ORG_FORM, "legal_name": org.legal_name, "registration_number": "123"})
    assert r.status_code == 422 and "not a valid number for this register" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(Organisation, org.id).status is PartnerStatus.introducer


def test_staff_can_read_firms_but_only_admins_edit(login, make_user, make_org):
    org = make_org()
    c = login(make_user(Role.compliance))
    assert c.get(f"/admin/organisations/{org.public_id}").status_code == 200
    assert c.get(f"/admin/organisations/{org.public_id}/edit").status_code == 403
    assert c.get("/admin/organisations/new").status_code == 403


def test_unknown_firm_is_404(login, make_user):
    c = login(make_user(Role.admin))
    assert c.get("/admin/organisations/" + "f" * 32).status_code == 404


def test_admin_creates_a_user_who_is_invited_by_email(login, make_user, make_org, session):
    org = make_org()
    c = login(make_user(Role.admin))
    r = _post(c, "/admin/users/new", {"email": "New.Person@Example.org", "full_name": "New Person",
                                      "role": "partner_admin", "organisation": org.public_id, "locale": "fr"})
    assert r.status_code == 302
    user = session.execute(select(User).where(User.email == "new.person@example.org")).scalar_one()
    assert user.organisation_id == org.id and user.password_hash is None
    msg = session.execute(select(OutboxMessage)).scalar_one()
    assert msg.to == "new.person@example.org" and msg.locale == "fr" and "/password/reset/" in msg.body_text


def test_partner_role_without_firm_is_refused(login, make_user, session):
    c = login(make_user(Role.admin))
    before = _count(session, User)
    r = _post(c, "/admin/users/new", {"email": "x@example.org", "full_name": "X", "role": "partner_member",
                                      "organisation": "", "locale": "en"})
    assert r.status_code == 422 and "Choose the user&#39;s firm." in r.get_data(as_text=True)
    assert _count(session, User) == before
    assert _count(session, OutboxMessage) == 0


def test_duplicate_email_is_refused(login, make_user, session):
    existing = make_user(Role.finance)
    c = login(make_user(Role.admin))
    r = _post(c, "/admin/users/new", {"email": existing.email.upper(), "full_name": "Dup", "role": "finance",
                                      "organisation": "", "locale": "en"})
    assert r.status_code == 422 and "already in use" in r.get_data(as_text=True)


def test_role_and_organisation_changes_are_audited(login, make_user, make_org, session):
    firm_a, firm_b = make_org(), make_org()
    user = make_user(Role.partner_member, firm_a)
    c = login(make_user(Role.admin))
    r = _post(c, f"/admin/users/{user.public_id}", {"full_name": user.full_name, "role": "partner_admin",
                                                    "organisation": firm_b.public_id, "locale": "en",
                                                    "active": "y"})
    assert r.status_code == 302
    actions = set(session.execute(select(AuditEvent.action)).scalars())
    assert {"user.role_changed", "user.organisation_changed"} <= actions


def test_admin_cannot_demote_themself(login, make_user, session):
    admin = make_user(Role.admin)
    c = login(admin)
    r = _post(c, f"/admin/users/{admin.public_id}", {"full_name": "A", "role": "finance", "organisation": "",
                                                     "locale": "en", "active": "y"})
    assert r.status_code == 422
    session.expire_all()
    assert session.get(User, admin.id).role is Role.admin


def test_admin_sends_a_reset_link(login, make_user, session):
    user = make_user(Role.finance)
    c = login(make_user(Role.admin))
    r = _post(c, f"/admin/users/{user.public_id}/password-link", {}, f"/admin/users/{user.public_id}")
    assert r.status_code == 302
    assert session.execute(select(OutboxMessage).where(OutboxMessage.to == user.email)).scalar_one()


def test_partner_admin_invites_into_their_own_firm_only(login, make_user, make_org, session):
    firm = make_org()
    c = login(make_user(Role.partner_admin, firm))
    r = _post(c, "/firm/members/new", {"email": "colleague@example.org", "full_name": "Col League",
                                       "role": "partner_member", "locale": "en"})
    assert r.status_code == 302
    new = session.execute(select(User).where(User.email == "colleague@example.org")).scalar_one()
    assert new.organisation_id == firm.id and new.role is Role.partner_member


def test_partner_admin_cannot_grant_a_staff_role(login, make_user, make_org, session):
    firm = make_org()
    c = login(make_user(Role.partner_admin, firm))
    r = _post(c, "/firm/members/new", {"email": "sneaky@example.org", "full_name": "Sneaky", "role": "admin",
                                       "locale": "en"})
    assert r.status_code == 422
    assert session.execute(select(User).where(User.email == "sneaky@example.org")).first() is None


def test_audit_log_is_for_admin_and_compliance(login, make_user):
    assert login(make_user(Role.compliance)).get("/audit/").status_code == 200
    assert login(make_user(Role.finance)).get("/audit/").status_code == 403

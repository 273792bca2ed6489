"""Cross-border checks in the portal, through real forms and per role: the firms' notifications on the admin's firm
page (read-only for the partner admin), a held case refused when moved on then released by compliance, the
host-state check and the local licensing consideration on the staff case page, the partner seeing only that a
check is pending, and compliance's list of held and flagged cases."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from compliance.crossborder import HostStateNotification, NotificationBasis as B, record_notification
from core.accounts import Role
from pipeline.cases import crossborder
from pipeline.cases.models import Case, CaseStatus as S
from pipeline.cases.pipeline import move
from tests.conftest import csrf_from
from tests.pipeline.case_data import record_needs

RELEASE_REASON = "Checked with ACPR: the Italian notification was filed on 2 May"
HOST_NOTE = "Belgian general-good rules checked: FSMA information duties met"
LOCAL_NOTE = "UAE: insurer holds an Insurance Authority licence"


@pytest.fixture
def passported(session, make_broker, make_user):
    """A partner admin of a French broker notified in Belgium (freedom to provide services)."""
    user = make_broker()
    record_notification(session, make_user(Role.admin), user.organisation, country="BE",
                        basis=B.freedom_of_services, notified_on=date(2025, 1, 1))
    session.commit()
    return user


def post(client, page: str, url: str, **data):
    return client.post(url, data={"csrf_token": csrf_from(client.get(page).get_data(as_text=True)), **data})


def page_of(case) -> str:
    return f"/cases/{case.public_id}"


def test_only_compliance_and_admins_open_the_cross_border_list(make_user, make_broker, login):
    for role in (Role.compliance, Role.admin):
        assert login(make_user(role)).get("/compliance/cross-border/").status_code == 200
    for user in (make_user(Role.account_manager), make_user(Role.finance), make_broker()):
        assert login(user).get("/compliance/cross-border/").status_code == 403


def test_a_held_case_is_refused_when_moved_on_then_released_by_compliance(session, passported, new_case, make_user,
                                                                          login):
    case = new_case(passported, country_of_residence="IT")
    manager = login(make_user(Role.account_manager))
    page = manager.get(page_of(case)).get_data(as_text=True)
    assert "held for compliance" in page.lower() and "Release the hold" not in page
    refused = post(manager, page_of(case), f"{page_of(case)}/move", stage="needs_analysis")
    assert refused.status_code == 409 and "Compliance must release the hold" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Case, case.id).status is S.received
    assert post(manager, page_of(case), f"{page_of(case)}/cross-border/release",
                reason=RELEASE_REASON).status_code == 403

    officer = login(make_user(Role.compliance))
    listed = officer.get("/compliance/cross-border/?outcome=held").get_data(as_text=True)
    assert "Marc Dupont" in listed
    short = post(officer, page_of(case), f"{page_of(case)}/cross-border/release", reason="fine")
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    released = post(officer, page_of(case), f"{page_of(case)}/cross-border/release",
                    reason=RELEASE_REASON)
    assert released.status_code == 302
    assert RELEASE_REASON in officer.get(page_of(case)).get_data(as_text=True)
    assert "Marc Dupont" not in officer.get("/compliance/cross-border/?outcome=held").get_data(as_text=True)
    assert "Marc Dupont" in officer.get("/compliance/cross-border/?outcome=held&state=done").get_data(as_text=True)

    assert post(manager, page_of(case), f"{page_of(case)}/move", stage="needs_analysis").status_code == 302
    session.expire_all()
    assert session.get(Case, case.id).status is S.needs_analysis
    partner = login(passported).get(page_of(case)).get_data(as_text=True)
    assert RELEASE_REASON not in partner and "compliance check is pending" not in partner


def test_a_compliance_officer_who_worked_the_case_does_not_release_it(session, passported, new_case, make_user,
                                                                        login):
    case = new_case(passported, country_of_residence="IT")
    officer = make_user(Role.compliance)
    client = login(officer)
    assert post(client, page_of(case), f"/cases/{case.public_id}/consent/withdraw", scope="cc_on_milestones",
                reason="The client phoned compliance to stop the copies").status_code == 302
    refused = post(client, page_of(case), f"{page_of(case)}/cross-border/release",
                   reason=RELEASE_REASON)
    assert refused.status_code == 403 and "another compliance officer" in refused.get_data(as_text=True)
    session.expire_all()
    assert crossborder.check_of(session, session.get(Case, case.id)).pending


def test_the_partner_sees_a_pending_host_state_check_never_its_note(session, passported, new_case, make_user, login):
    case = new_case(passported, country_of_residence="BE")
    partner = login(passported)
    page = partner.get(page_of(case)).get_data(as_text=True)
    assert "compliance check is pending" in page and "Mark the host-state check done" not in page
    manager = login(make_user(Role.account_manager))
    assert "Freedom to provide services" in manager.get(page_of(case)).get_data(as_text=True)
    assert post(manager, page_of(case), f"{page_of(case)}/cross-border/host-state-check",
                note=HOST_NOTE).status_code == 302
    assert HOST_NOTE in manager.get(page_of(case)).get_data(as_text=True)
    page = partner.get(page_of(case)).get_data(as_text=True)
    assert HOST_NOTE not in page and "compliance check is pending" not in page
    assert partner.post(f"{page_of(case)}/cross-border/host-state-check",
                        data={"note": HOST_NOTE}).status_code in (400, 403)


def test_outside_the_eu_eea_the_manager_records_the_local_licensing_before_the_offer(session, broker, new_case,
                                                                                     make_user, login):
    case = new_case(broker)  # the client lives in the UAE
    manager_user = make_user(Role.account_manager)
    for stage in (S.needs_analysis, S.quote_requested, S.quote_issued):
        move(session, manager_user, case, stage)
    session.commit()
    manager = login(manager_user)
    refused = post(manager, page_of(case), f"{page_of(case)}/move", stage="offer")
    assert refused.status_code == 409 and "local licensing consideration" in refused.get_data(as_text=True)
    assert login(make_user(Role.finance)).post(
        f"{page_of(case)}/cross-border/local-licensing").status_code in (400, 403)
    empty = post(manager, page_of(case), f"{page_of(case)}/cross-border/local-licensing",
                 consideration="")
    assert empty.status_code == 422
    assert post(manager, page_of(case), f"{page_of(case)}/cross-border/local-licensing",
                consideration=LOCAL_NOTE).status_code == 302
    record_needs(session, manager_user, case)  # the offer also waits for the demands and needs statement
    assert post(manager, page_of(case), f"{page_of(case)}/move", stage="offer").status_code == 302
    assert LOCAL_NOTE not in login(broker).get(page_of(case)).get_data(as_text=True)


def test_admins_and_compliance_keep_the_firms_notifications_the_partner_admin_reads_them(session, make_broker,
                                                                                          make_user, login):
    partner_admin = make_broker()
    org = partner_admin.organisation
    firm_page = f"/admin/organisations/{org.public_id}"
    admin = login(make_user(Role.admin))
    assert post(admin, firm_page, f"/compliance/cross-border/firms/{org.public_id}/notifications", country="DE",
                basis="establishment", notified_on="2026-02-01").status_code == 302
    refused = post(admin, firm_page, f"/compliance/cross-border/firms/{org.public_id}/notifications", country="FR",
                   basis="establishment", notified_on="2026-02-01")
    assert refused.status_code == 422 and "home country is not a host state" in refused.get_data(as_text=True)
    row = session.execute(select(HostStateNotification)).scalar_one()
    assert (row.country, row.basis, row.notified_on) == ("DE", B.establishment, date(2026, 2, 1))

    finance = login(make_user(Role.finance))
    page = finance.get(firm_page).get_data(as_text=True)
    assert "Freedom of establishment" in page and "Record a notification" not in page
    assert post(finance, firm_page, f"/compliance/cross-border/firms/{org.public_id}/notifications", country="BE",
                basis="establishment", notified_on="2026-02-01").status_code == 403

    partner = login(partner_admin).get("/firm/").get_data(as_text=True)
    assert "Host-state notifications" in partner and "Germany" in partner and "Record a notification" not in partner
    member = login(make_user(Role.partner_member, org)).get("/firm/").get_data(as_text=True)
    assert "Host-state notifications" not in member

    officer = login(make_user(Role.compliance))
    ended = (date.today() + timedelta(days=1)).isoformat()
    assert post(officer, firm_page, f"/compliance/cross-border/notifications/{row.public_id}/end",
                ended_on=ended).status_code == 302
    session.expire_all()
    assert session.get(HostStateNotification, row.id).ended_on.isoformat() == ended


def test_the_list_filters_by_outcome_firm_and_age(session, passported, new_case, broker, make_user, login):
    held = new_case(passported, "Held", country_of_residence="IT")
    flagged = new_case(passported, "Flagged", country_of_residence="BE")
    new_case(broker, "Outside")  # outside the EU/EEA: not listed unless asked for
    new_case(passported, "Home", country_of_residence="FR")
    check = crossborder.check_of(session, held)
    check.created_at = check.created_at - timedelta(days=20)
    session.commit()
    officer = login(make_user(Role.compliance))
    listed = officer.get("/compliance/cross-border/").get_data(as_text=True)
    assert "Held Dupont" in listed and "Flagged Dupont" in listed
    assert "Outside Dupont" not in listed and "Home Dupont" not in listed
    old = officer.get("/compliance/cross-border/?older_than=10").get_data(as_text=True)
    assert "Held Dupont" in old and "Flagged Dupont" not in old and "<td>20</td>" in old
    flagged_only = officer.get("/compliance/cross-border/?outcome=host_state_check").get_data(as_text=True)
    assert "Flagged Dupont" in flagged_only and "Held Dupont" not in flagged_only
    outside = officer.get("/compliance/cross-border/?outcome=outside_eea").get_data(as_text=True)
    assert "Outside Dupont" in outside
    other_firm = officer.get(f"/compliance/cross-border/?firm={broker.organisation.public_id}").get_data(as_text=True)
    assert "Held Dupont" not in other_firm and "Flagged" not in other_firm
    assert flagged.public_id in listed


def test_a_partner_on_the_api_reads_that_a_check_holds_its_case(session, passported, new_case, make_user, login,
                                                                client):
    from tests.factories import bearer_headers

    held = new_case(passported, country_of_residence="IT")
    home = new_case(passported, "Lina", country_of_residence="FR")
    headers = bearer_headers(passported)
    assert client.get(f"/api/v1/cases/{held.public_id}", headers=headers).get_json()[
        "compliance_check_pending"] is True
    assert client.get(f"/api/v1/cases/{home.public_id}", headers=headers).get_json()[
        "compliance_check_pending"] is False
    officer = login(make_user(Role.compliance))
    assert post(officer, page_of(held), f"{page_of(held)}/cross-border/release",
                reason=RELEASE_REASON).status_code == 302
    body = client.get(f"/api/v1/cases/{held.public_id}", headers=headers).get_json()
    assert body["compliance_check_pending"] is False and RELEASE_REASON not in str(body)

"""One access rule, one answer, on the web and on the API: what finance may read of the partner pipeline."""
from core.accounts import PartnerStatus, Role
from pipeline.leads.services import submit_lead
from tests.pipeline.case_data import lead_input, walk
from tests.portal.test_cases_api_pipeline import INTERNAL_NOTE, PARTNER_NOTE, S


def test_finance_reads_neither_leads_nor_internal_notes_on_the_web_or_the_api(
        client, session, make_user, make_org, login, broker, manager, new_case, bearer):
    finance = make_user(Role.finance)
    lead, _created = submit_lead(session, make_user(Role.partner_member, make_org(PartnerStatus.introducer)),
                                 lead_input())
    session.commit()
    case = new_case(broker)
    walk(session, manager, case, S.needs_analysis, partner_note=PARTNER_NOTE, internal_note=INTERNAL_NOTE)
    web, token = login(finance), bearer(finance)

    assert web.get("/leads/").status_code == 403
    assert client.get("/api/v1/leads", headers=token).status_code == 403
    assert client.get(f"/api/v1/leads/{lead.public_id}", headers=token).status_code == 403

    page = web.get(f"/cases/{case.public_id}").get_data(as_text=True)
    assert PARTNER_NOTE in page and INTERNAL_NOTE not in page
    history = client.get(f"/api/v1/cases/{case.public_id}/milestones", headers=token)
    assert history.status_code == 200 and INTERNAL_NOTE not in history.get_data(as_text=True)
    assert [m["recorded_by"] for m in history.get_json()["items"]][-1] == manager.full_name
    # the staff who work the case still read it in both places
    assert INTERNAL_NOTE in login(manager).get(f"/cases/{case.public_id}").get_data(as_text=True)
    assert INTERNAL_NOTE in client.get(f"/api/v1/cases/{case.public_id}/milestones",
                                       headers=bearer(manager)).get_data(as_text=True)


def test_a_broker_firm_cannot_list_leads_on_the_api_as_on_the_web(client, login, broker, bearer):
    user = broker
    assert login(user).get("/leads/").status_code == 403
    assert client.get("/api/v1/leads", headers=bearer(user)).status_code == 403


def test_administrators_read_payout_runs_on_the_api_as_on_the_web(client, make_user, login, bearer):
    admin = make_user(Role.admin)
    assert login(admin).get("/finance/payout-runs").status_code == 200
    assert client.get("/api/v1/payout-runs", headers=bearer(admin)).status_code == 200

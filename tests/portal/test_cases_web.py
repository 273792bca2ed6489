"""Cases in the portal, through real forms: brokers submit them, account managers convert leads and move cases
through the pipeline, each role's home page counts its own work, compliance reads the log of copies."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from core.accounts import PartnerStatus, Role
from core.contracts import Contract, Insurer
from core.db import utcnow
from core.products import ProductLine
from pipeline.cases.models import Case, CaseStatus, Milestone
from pipeline.cases.pipeline import Placement, move
from pipeline.leads.models import Lead, LeadStatus
from pipeline.leads.services import set_status
from tests.conftest import csrf_from
from tests.pipeline.case_data import walk

S = CaseStatus
TODAY = utcnow().date()
# A day in the past: the form turns the consent date into noon UTC, which must not lie in the future.
CONSENT_DAY = (utcnow() - timedelta(days=1)).date().isoformat()
SUMMARY = "Family relocating to Dubai, wants worldwide cover excluding the US"
SECRET = "Spouse mentioned a past knee operation; prefers full underwriting"
PARTNER_NOTE = "We asked three insurers for quotes"
INTERNAL_NOTE = "Allianz will probably load the premium"
TO_DECISION = (S.needs_analysis, S.quote_requested, S.quote_issued, S.offer, S.client_decision)


# --- building input -----------------------------------------------------------------------------------------

def case_form(csrf: str, **changes) -> dict:
    """What a broker types into /cases/new; a change of None leaves the field out (an unticked box)."""
    data = {"csrf_token": csrf, "client_first_name": "Marc", "client_last_name": "Dupont",
            "client_email": "marc@example.org", "client_phone": "+33612345678", "adults": "2", "children": "1",
            "ages": "42, 40, 9", "nationality": "FR", "country_of_residence": "AE", "travel_countries": ["FR", "TH"],
            "start_date": (TODAY + timedelta(days=30)).isoformat(), "product_line": "family",
            "budget_band": "from_6000_to_12000", "communication_model": "broker_leads", "language": "en",
            "share_with_broker": "y", "cc_on_milestones": "y", "consent_given_on": CONSENT_DAY}
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}






# --- fixtures and helpers -----------------------------------------------------------------------------------

@pytest.fixture
def insurers(session):
    """Two active insurers (the move form lists them by name, valued by public id)."""
    found = [Insurer(code="ALLI", name="Allianz Care", active=True),
             Insurer(code="AXA", name="AXA Global Healthcare", active=True)]
    session.add_all(found)
    session.commit()
    return found


def count(session, model) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def reload(session, model, obj):
    session.expire_all()
    return session.get(model, obj.id)


def html(response) -> str:
    return response.get_data(as_text=True)


def open_page(client, url: str) -> tuple[str, str]:
    """(page html, its CSRF token)"""
    response = client.get(url)
    assert response.status_code == 200, url
    page = html(response)
    return page, csrf_from(page)


def stage_count(page: str, status: str) -> int:
    """The count in the row of a home page's "in progress" table that links to `status`."""
    match = re.search(rf'status={status}">[^<]+</a></td>\s*<td>(\d+)</td>', page)
    assert match, f"no row for {status}"
    return int(match.group(1))


def move_form(csrf: str, stage: str, **fields) -> dict:
    return {"csrf_token": csrf, "stage": stage, **fields}


# --- submitting a case ----------------------------------------------------------------------------------------

def test_specialist_broker_submits_a_case_and_its_underwriting_text_is_stored_encrypted(session, make_broker, login):
    user = make_broker()
    c = login(user)
    page, csrf = open_page(c, "/cases/new")
    assert 'name="case_summary"' in page and 'name="framed_only"' not in page

    r = c.post("/cases/new", data=case_form(csrf, case_summary=SUMMARY, underwriting_sensitivities=SECRET))
    assert r.status_code == 302, html(r)[:2000]
    case = session.execute(select(Case)).scalar_one()
    assert r.location.endswith(f"/cases/{case.public_id}")

    shown = html(c.get(r.location))
    assert "Marc Dupont" in shown and "Thank you: the case was sent to the broker." in shown
    assert '<strong class="tag">Received</strong>' in shown
    assert SUMMARY in shown and SECRET in shown
    assert (case.organisation_id, case.ages, case.status) == (user.organisation_id, [42, 40, 9], S.received)
    assert [(m.stage, m.recorded_by_id) for m in session.execute(select(Milestone)).scalars()] == [
        (S.received, user.id)]
    raw_underwriting, raw_summary = session.execute(
        text("SELECT underwriting_encrypted, case_summary_encrypted FROM cases")).one()
    assert SECRET.encode() not in bytes(raw_underwriting) and b"Dubai" not in bytes(raw_summary)


def test_generalist_broker_gets_the_guided_form_and_must_confirm_it_only_framed(session, make_broker, login):
    c = login(make_broker(PartnerStatus.generalist_broker))
    page, csrf = open_page(c, "/cases/new")
    assert 'name="case_summary"' not in page and 'name="underwriting_sensitivities"' not in page
    assert 'name="framed_only"' in page and "the broker leads the international health insurance advice" in page

    unconfirmed = c.post("/cases/new", data=case_form(csrf))
    assert unconfirmed.status_code == 422
    assert "Confirm this, or let the broker lead" in html(unconfirmed)
    assert count(session, Case) == 0

    r = c.post("/cases/new", data=case_form(csrf, framed_only="y", case_summary="We recommend the Gold plan",
                                            underwriting_sensitivities=SECRET))
    assert r.status_code == 302
    case = session.execute(select(Case)).scalar_one()
    assert case.case_summary_encrypted is None and case.underwriting_encrypted is None
    assert "We recommend the Gold plan" not in html(c.get(r.location))


@pytest.mark.parametrize("changes,message", [
    ({"ages": "42, 40"}, "Give one age for each person to insure."),
    ({"ages": "forty-two"}, "Give the ages as numbers separated by commas, adults first."),
    ({"share_with_broker": None}, "No consent, no case."),
])
def test_bad_case_input_is_shown_next_to_the_field_and_creates_nothing(session, make_broker, login, changes, message):
    c = login(make_broker())
    _page, csrf = open_page(c, "/cases/new")
    r = c.post("/cases/new", data=case_form(csrf, **changes))
    assert r.status_code == 422 and message in html(r)
    assert count(session, Case) == 0


# --- who may see what -----------------------------------------------------------------------------------------

def test_introducers_cannot_open_cases_and_brokers_cannot_open_another_firms(make_broker, introducer, new_case, login):
    visitor = login(introducer)
    assert visitor.get("/cases/new").status_code == 403
    assert visitor.get("/cases/").status_code == 403

    theirs = new_case(make_broker())
    other_firm = login(make_broker())
    assert other_firm.get(f"/cases/{theirs.public_id}").status_code == 404
    assert "Marc Dupont" not in html(other_firm.get("/cases/"))


def test_internal_notes_and_the_copy_log_are_for_the_brokers_staff_only(session, make_broker, manager, new_case, login):
    user = make_broker()
    case = new_case(user)
    walk(session, manager, case, S.needs_analysis, S.quote_requested)
    walk(session, manager, case, S.quote_issued, partner_note=PARTNER_NOTE, internal_note=INTERNAL_NOTE)

    partner_page = html(login(user).get(f"/cases/{case.public_id}"))
    assert PARTNER_NOTE in partner_page and "Quote issued" in partner_page
    assert INTERNAL_NOTE not in partner_page and "Internal:" not in partner_page
    assert "Copies to the partner" not in partner_page and "The client consented to copies" not in partner_page
    assert manager.full_name not in partner_page, "the partner does not see who recorded each step"

    staff_page = html(login(manager).get(f"/cases/{case.public_id}"))
    assert PARTNER_NOTE in staff_page and INTERNAL_NOTE in staff_page
    assert "Copies to the partner" in staff_page and "The client consented to copies of key steps" in staff_page


# --- the account manager moves the case -----------------------------------------------------------------------

def test_account_manager_moves_a_case_with_notes_and_cannot_skip_stages(session, make_broker, manager, new_case, login):
    case = new_case(make_broker())
    c = login(manager)
    page, csrf = open_page(c, f"/cases/{case.public_id}")
    allowed = re.findall(r'<option value="([a-z_]+)"', page.split('id="stage"')[1].split("</select>")[0])
    assert allowed == ["needs_analysis", "not_pursued", "withdrawn"]

    skipped = c.post(f"/cases/{case.public_id}/move", data=move_form(csrf, "offer", partner_note="Offer sent"))
    assert skipped.status_code == 422 and "Not a valid choice" in html(skipped)
    assert reload(session, Case, case).status is S.received and count(session, Milestone) == 1

    r = c.post(f"/cases/{case.public_id}/move", data=move_form(csrf, "needs_analysis", partner_note=PARTNER_NOTE,
                                                               internal_note=INTERNAL_NOTE))
    assert r.status_code == 302
    shown = html(c.get(r.location))
    assert "The case moved to “Needs analysis”." in shown and '<strong class="tag">Needs analysis</strong>' in shown
    assert PARTNER_NOTE in shown and INTERNAL_NOTE in shown
    case = reload(session, Case, case)
    assert case.status is S.needs_analysis and case.assigned_to_id == manager.id
    last = case.milestones[-1]
    assert (last.stage, last.previous_stage, last.partner_note, last.internal_note, last.recorded_by_id) == (
        S.needs_analysis, S.received, PARTNER_NOTE, INTERNAL_NOTE, manager.id)


def test_placing_a_contract_through_the_form_needs_its_figures(session, make_broker, manager, new_case, insurers, login):
    case = new_case(make_broker())
    walk(session, manager, case, *TO_DECISION)
    c = login(manager)
    page, csrf = open_page(c, f"/cases/{case.public_id}")
    assert "Placing the contract" in page and "Allianz Care" in page
    allianz = insurers[0]
    placing = move_form(csrf, "contract_issued", insurer=allianz.public_id, policy_number="POL-2026-0042",
                        product_line="family", premium="1234.50", currency="EUR",
                        start_date=(TODAY + timedelta(days=10)).isoformat())
    url = f"/cases/{case.public_id}/move"

    no_insurer = c.post(url, data={**placing, "insurer": ""})
    assert no_insurer.status_code == 422
    assert re.search(r'id="insurer-err">Required to place the contract.', html(no_insurer))
    too_precise = c.post(url, data={**placing, "premium": "12.345"})
    assert too_precise.status_code == 422
    assert "no more decimals than the currency has" in html(too_precise)
    assert count(session, Contract) == 0 and reload(session, Case, case).status is S.client_decision

    r = c.post(url, data=placing)
    assert r.status_code == 302, html(r)[:2000]
    contract = session.execute(select(Contract)).scalar_one()
    assert (contract.case_id, contract.insurer_id, contract.policy_number, contract.premium_minor,
            contract.currency, contract.start_date) == (
        case.id, allianz.id, "POL-2026-0042", 123450, "EUR", TODAY + timedelta(days=10))
    shown = html(c.get(r.location))
    assert "Contract issued" in shown and "POL-2026-0042" in shown and "€1,234.50" in shown


@pytest.mark.parametrize("role", [Role.partner_member, Role.partner_admin])
def test_partners_cannot_move_cases(session, make_broker, new_case, login, role):
    user = make_broker(role=role)
    case = new_case(user)
    c = login(user)
    _page, csrf = open_page(c, f"/cases/{case.public_id}")
    r = c.post(f"/cases/{case.public_id}/move", data=move_form(csrf, "needs_analysis"))
    assert r.status_code == 403
    assert reload(session, Case, case).status is S.received and count(session, Milestone) == 1


# --- leads: conversion and status -----------------------------------------------------------------------------

def test_account_manager_converts_a_lead_and_the_introducer_sees_milestones_only(
        session, introducer, manager, new_lead, insurers, login):
    lead = new_lead(introducer)
    c = login(manager)
    page, csrf = open_page(c, f"/leads/{lead.public_id}/convert")
    assert 'value="Ana"' in page and 'value="Silva"' in page

    r = c.post(f"/leads/{lead.public_id}/convert", data={
        "csrf_token": csrf, "client_first_name": "Ana", "client_last_name": "Silva", "client_email": "ana@example.org",
        "adults": "2", "children": "2", "ages": "38, 36, 8, 5", "nationality": "PT", "country_of_residence": "PT",
        "start_date": (TODAY + timedelta(days=20)).isoformat(), "product_line": "family",
        "budget_band": "from_6000_to_12000", "communication_model": "hybrid", "language": "en"})
    assert r.status_code == 302, html(r)[:2000]
    case = session.execute(select(Case)).scalar_one()
    assert r.location.endswith(f"/cases/{case.public_id}") and case.lead_id == lead.id
    assert "The lead is now a case." in html(c.get(r.location))

    referrer = login(introducer)
    lead_page = html(referrer.get(f"/leads/{lead.public_id}"))
    assert "Client contacted" in lead_page

    walk(session, manager, case, *TO_DECISION)
    move(session, manager, case, S.contract_issued, partner_note="Signed with Allianz, premium loaded",
         placement=Placement(insurer=insurers[0], policy_number="POL-INTRO-7", product_line=ProductLine.family,
                             premium_minor=123450, currency="EUR", start_date=TODAY + timedelta(days=20)))
    session.commit()
    lead_page = html(referrer.get(f"/leads/{lead.public_id}"))
    assert "Contract issued" in lead_page
    for secret in ("Allianz", "POL-INTRO-7", "1,234.50", "1234.50", "€", "premium"):
        assert secret not in lead_page, secret
    assert referrer.get(f"/cases/{case.public_id}").status_code == 403


def test_account_manager_records_contacted_then_not_pursued(session, introducer, manager, new_lead, login):
    lead = new_lead(introducer)
    c = login(manager)
    page, csrf = open_page(c, f"/leads/{lead.public_id}")
    assert "The client was contacted" in page and "Open a case" in page

    r = c.post(f"/leads/{lead.public_id}/status", data={"csrf_token": csrf, "status": "contacted"})
    assert r.status_code == 302 and reload(session, Lead, lead).status is LeadStatus.contacted
    page = html(c.get(r.location))
    assert "Lead status recorded." in page and "Client contacted" in page
    assert "The client was contacted" not in page and "Not pursued" in page

    r = c.post(f"/leads/{lead.public_id}/status", data={"csrf_token": csrf, "status": "not_pursued"})
    assert r.status_code == 302
    lead = reload(session, Lead, lead)
    assert lead.status is LeadStatus.not_pursued and lead.assigned_to_id == manager.id
    page = html(c.get(r.location))
    assert "Open a case" not in page

    again = c.post(f"/leads/{lead.public_id}/status", data={"csrf_token": csrf, "status": "contacted"},
                   follow_redirects=True)
    assert "This lead cannot move to that status." in html(again)
    assert reload(session, Lead, lead).status is LeadStatus.not_pursued


# --- home pages -----------------------------------------------------------------------------------------------

def test_broker_home_counts_its_own_cases_by_stage(session, make_broker, manager, new_case, login):
    user = make_broker()
    mine = [new_case(user, name) for name in ("Ana", "Bea", "Cal")]
    walk(session, manager, mine[0], S.needs_analysis)
    walk(session, manager, mine[1], S.not_pursued)  # closed: not in progress
    other_firm = make_broker()
    for name in ("Dan", "Eve", "Fay", "Gus"):
        new_case(other_firm, name)

    home = html(login(user).get("/"))
    assert 'Your cases in progress <span class="muted">(2)</span>' in home
    assert stage_count(home, "received") == 1, "the other firm's four received cases are not counted"
    assert stage_count(home, "needs_analysis") == 1 and stage_count(home, "quote_requested") == 0


def test_introducer_home_counts_its_referrals_by_status(session, make_org, make_user, introducer, manager, new_lead,
                                                        login):
    leads = [new_lead(introducer, name) for name in ("Ana", "Bea", "Cal")]
    set_status(session, manager, leads[0], LeadStatus.contacted)
    session.commit()
    new_lead(make_user(Role.partner_member, introducer.organisation), "Dan")  # a colleague's referral counts
    other_firm = make_user(Role.partner_member, make_org(PartnerStatus.introducer))
    for name in ("Eve", "Fay"):
        new_lead(other_firm, name)

    home = html(login(introducer).get("/"))
    assert 'Your referrals in progress <span class="muted">(4)</span>' in home
    assert stage_count(home, "received") == 3 and stage_count(home, "contacted") == 1
    assert stage_count(home, "quote_in_progress") == 0


def test_account_manager_home_shows_the_case_queue_and_workload(session, make_broker, manager, make_user, new_case,
                                                                login):
    user = make_broker()
    new_case(user, "Newer")
    oldest, worked = new_case(user, "Oldest"), new_case(user, "Worked")
    oldest.stage_entered_at = utcnow() - timedelta(days=12)
    colleague = make_user(Role.account_manager)
    worked.assigned_to_id = colleague.id
    session.commit()

    home = html(login(manager).get("/"))
    unassigned = re.search(r"Open cases nobody works yet</dt><dd><a [^>]*>(\d+)</a>", home)
    assert unassigned and int(unassigned.group(1)) == 2
    waiting = home.split("Cases waiting longest")[1].split("Leads waiting longest")[0]
    assert waiting.index("Oldest Dupont") < waiting.index("Newer Dupont")
    assert waiting.index("Oldest Dupont") < waiting.index("Worked Dupont")
    assert re.search(rf"<tr><td>{colleague.full_name}</td><td>1</td>", home), "the colleague's workload row"


# --- the log of copies ----------------------------------------------------------------------------------------

def test_compliance_reads_every_copy_sent_or_withheld(session, make_broker, manager, make_user, new_case, login):
    user = make_broker()
    copied, not_copied = new_case(user, "Copied"), new_case(user, "Private", cc=False)
    for case in (copied, not_copied):
        walk(session, manager, case, S.needs_analysis, S.quote_requested, S.quote_issued)

    page = html(login(make_user(Role.compliance)).get("/cases/cc-log"))
    rows = re.findall(r"<tr><td>.*?</tr>", page, re.S)
    sent = next(row for row in rows if "Copied Dupont" in row)
    withheld = next(row for row in rows if "Private Dupont" in row)
    assert "Sent" in sent and "The client consented to copies of key steps" in sent and user.email in sent
    assert "Withheld" in withheld and "The client did not consent to copies of key steps" in withheld

    assert "Copied Dupont" not in html(login(make_user(Role.compliance)).get("/cases/cc-log?outcome=withheld"))
    assert login(user).get("/cases/cc-log").status_code == 403
    assert login(make_user(Role.finance)).get("/cases/cc-log").status_code == 403


def test_the_case_forms_offer_only_partner_lines_and_refuse_a_volunteer_top_up(session, make_broker, login):
    c = login(make_broker())
    page, csrf = open_page(c, "/cases/new")
    assert 'value="family"' in page and 'value="volunteer_health_topup"' not in page
    r = c.post("/cases/new", data=case_form(csrf, product_line="volunteer_health_topup"))
    assert r.status_code == 422
    assert "sold online and placed by the system, not through a case" in html(r).replace("&#39;", "'")
    assert count(session, Case) == 0

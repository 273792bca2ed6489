"""The case pipeline on the API: a case's history, list filters with strict query parameters, the contract once
placed, and an introducer's lead that only ever shows milestone-level progress."""
import json
from datetime import timedelta

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

from core.contracts import Insurer
from core.db import utcnow
from core.products import ProductLine
from pipeline.cases.models import CaseStatus
from pipeline.cases.pipeline import Placement, move
from pipeline.cases.services import convert_lead
from pipeline.leads.models import LeadStatus
from pipeline.leads.services import set_status, submit_lead
from tests.pipeline.case_data import case_input, lead_input, walk

S = CaseStatus
TODAY = utcnow().date()
TO_DECISION = (S.needs_analysis, S.quote_requested, S.quote_issued, S.offer, S.client_decision)
PARTNER_NOTE = "We asked three insurers for quotes"
INTERNAL_NOTE = "Allianz will probably load the premium"
INSURER_NAME, POLICY = "Allianz Care", "POL-2026-0042"








# --- fixtures and helpers -----------------------------------------------------------------------------------

@pytest.fixture
def place(session):
    """place(manager, case): walk the case to a contract with Allianz, 1,234.50 EUR a year."""
    def do(manager, case, policy_number=POLICY):
        insurer = session.execute(select(Insurer).where(Insurer.code == "ALLI")).scalar_one_or_none()
        if insurer is None:
            insurer = Insurer(code="ALLI", name=INSURER_NAME, active=True)
            session.add(insurer)
            session.commit()
        walk(session, manager, case, *TO_DECISION)
        move(session, manager, case, S.contract_issued,
             placement=Placement(insurer=insurer, policy_number=policy_number, product_line=ProductLine.family,
                                 premium_minor=123450, currency="EUR", start_date=TODAY + timedelta(days=10)))
        session.commit()

    return do


def assert_validation_error(response, field: str) -> None:
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and error["message"]
    assert set(error["fields"]) == {field} and error["fields"][field]


# --- a case's history ---------------------------------------------------------------------------------------

def test_the_broker_reads_the_history_without_internal_notes(client, session, make_broker, manager, new_case, bearer):
    user = make_broker()
    case = new_case(user)
    walk(session, manager, case, S.needs_analysis, partner_note=PARTNER_NOTE, internal_note=INTERNAL_NOTE)
    walk(session, manager, case, S.quote_requested)

    r = client.get(f"/api/v1/cases/{case.public_id}/milestones", headers=bearer(user))
    assert r.status_code == 200
    items = r.get_json()["items"]
    assert [(m["stage"], m["previous_stage"], m["partner_note"]) for m in items] == [
        ("received", None, None), ("needs_analysis", "received", PARTNER_NOTE),
        ("quote_requested", "needs_analysis", None)]
    assert all(set(m) == {"id", "stage", "previous_stage", "at", "key", "partner_note"} for m in items)
    assert INTERNAL_NOTE not in r.get_data(as_text=True) and manager.full_name not in r.get_data(as_text=True)


def test_staff_read_the_internal_notes_others_are_refused(client, session, make_broker, manager, introducer, new_case,
                                                          bearer):
    case = new_case(make_broker())
    walk(session, manager, case, S.needs_analysis, partner_note=PARTNER_NOTE, internal_note=INTERNAL_NOTE)
    url = f"/api/v1/cases/{case.public_id}/milestones"

    staff = client.get(url, headers=bearer(manager)).get_json()["items"]
    assert [(m["stage"], m["internal_note"], m["recorded_by"]) for m in staff] == [
        ("received", None, case.submitted_by.full_name), ("needs_analysis", INTERNAL_NOTE, manager.full_name)]
    assert client.get(url, headers=bearer(make_broker())).status_code == 404
    assert client.get(url, headers=bearer(introducer)).status_code == 403


# --- listing cases ------------------------------------------------------------------------------------------

def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [c["id"] for c in response.get_json()["items"]]


def test_cases_are_filtered_by_stage_product_line_and_creation_date(client, session, make_broker, manager, new_case,
                                                                    bearer):
    user = make_broker()
    received = new_case(user, "Ana")
    analysed = new_case(user, "Bea", product_line=ProductLine.individual, adults=1, children=0, ages=[35])
    dropped = new_case(user, "Cal")
    walk(session, manager, analysed, S.needs_analysis)
    walk(session, manager, dropped, S.not_pursued)
    dropped.created_at = utcnow() - timedelta(days=10)
    session.commit()
    headers = bearer(user)

    assert ids(client.get("/api/v1/cases?status=open", headers=headers)) == [analysed.public_id, received.public_id]
    assert ids(client.get("/api/v1/cases?status=not_pursued", headers=headers)) == [dropped.public_id]
    assert ids(client.get("/api/v1/cases?product_line=family", headers=headers)) == [
        dropped.public_id, received.public_id]
    since = (TODAY - timedelta(days=2)).isoformat()
    assert ids(client.get(f"/api/v1/cases?created_since={since}", headers=headers)) == [
        analysed.public_id, received.public_id]
    assert ids(client.get(f"/api/v1/cases?created_until={since}", headers=headers)) == [dropped.public_id]
    assert ids(client.get("/api/v1/cases?status=open&product_line=individual", headers=headers)) == [
        analysed.public_id]


def test_cases_are_paged_newest_first(client, make_broker, new_case, bearer):
    user = make_broker()
    cases = [new_case(user, name) for name in ("Ana", "Bea", "Cal")]
    headers = bearer(user)
    first = client.get("/api/v1/cases?per_page=2", headers=headers).get_json()
    assert (first["page"], first["per_page"], first["total"]) == (1, 2, 3)
    assert [c["id"] for c in first["items"]] == [cases[2].public_id, cases[1].public_id]
    second = client.get("/api/v1/cases?per_page=2&page=2", headers=headers).get_json()
    assert (second["page"], second["total"]) == (2, 3)
    assert [c["id"] for c in second["items"]] == [cases[0].public_id]


@pytest.mark.parametrize("query,field", [
    ("colour=red", "colour"), ("status=pending", "status"), ("product_line=pets", "product_line"),
    ("per_page=500", "per_page"), ("created_since=yesterday", "created_since"),
])
def test_unknown_or_bad_query_parameters_are_refused_by_name(client, make_broker, new_case, bearer, query, field):
    user = make_broker()
    new_case(user)
    assert_validation_error(client.get(f"/api/v1/cases?{query}", headers=bearer(user)), field)


def test_the_case_shows_its_contract_once_placed(client, session, make_broker, manager, new_case, bearer, place):
    user = make_broker()
    case = new_case(user)
    headers = bearer(user)
    assert client.get(f"/api/v1/cases/{case.public_id}", headers=headers).get_json()["contract"] is None

    place(manager, case)
    body = client.get(f"/api/v1/cases/{case.public_id}", headers=headers).get_json()
    assert body["status"] == "contract_issued"
    contract = body["contract"]
    assert (contract["insurer"], contract["policy_number"], contract["premium_minor"], contract["currency"],
            contract["product_line"], contract["status"]) == (
        INSURER_NAME, POLICY, 123450, "EUR", "family", "in_force")
    listed = client.get("/api/v1/cases?status=contract_issued", headers=headers).get_json()["items"]
    assert [c["contract"]["policy_number"] for c in listed] == [POLICY]


# --- leads --------------------------------------------------------------------------------------------------

def test_leads_are_filtered_by_status(client, session, introducer, manager, bearer):
    leads = [submit_lead(session, introducer, lead_input(name))[0] for name in ("Ana", "Bea")]
    set_status(session, manager, leads[1], LeadStatus.contacted)
    session.commit()
    headers = bearer(introducer)
    assert ids(client.get("/api/v1/leads?status=contacted", headers=headers)) == [leads[1].public_id]
    assert ids(client.get("/api/v1/leads?status=received", headers=headers)) == [leads[0].public_id]
    assert_validation_error(client.get("/api/v1/leads?status=quote_issued", headers=headers), "status")


def test_an_introducer_reads_its_placed_lead_without_the_contract(client, session, introducer, manager, bearer,
                                                                  place):
    lead, _created = submit_lead(session, introducer, lead_input())
    case = convert_lead(session, manager, lead, case_input("Ana"))
    session.commit()
    place(manager, case, policy_number="POL-INTRO-7")
    headers = bearer(introducer)

    body = client.get(f"/api/v1/leads/{lead.public_id}", headers=headers).get_json()
    assert body["status"] == "contract_issued"
    listed = client.get("/api/v1/leads", headers=headers).get_json()
    assert [item["status"] for item in listed["items"]] == ["contract_issued"]
    for document in (body, listed):
        raw = json.dumps(document)
        for secret in (INSURER_NAME, "POL-INTRO-7", "123450", "insurer", "premium", "policy", "contract\":"):
            assert secret not in raw, secret
    assert client.get(f"/api/v1/cases/{case.public_id}", headers=headers).status_code == 403


# --- the OpenAPI document -----------------------------------------------------------------------------------

def test_openapi_documents_the_history_and_the_case_filters(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    milestones = doc["paths"]["/api/v1/cases/{public_id}/milestones"]["get"]
    assert milestones["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/MilestoneList")
    assert {"401", "403", "404"} <= set(milestones["responses"])
    parameters = {p["name"]: p for p in doc["paths"]["/api/v1/cases"]["get"]["parameters"]}
    assert set(parameters) == {"page", "per_page", "created_since", "created_until", "status", "product_line"}
    assert all(p["in"] == "query" and not p["required"] for p in parameters.values())
    assert "open" in parameters["status"]["schema"]["enum"] and "received" in parameters["status"]["schema"]["enum"]
    assert "422" in doc["paths"]["/api/v1/cases"]["get"]["responses"]

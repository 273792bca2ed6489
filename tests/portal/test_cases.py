"""Partner brokers submit cases over the API; the specialist's underwriting text is encrypted at rest and shown
only to the submitting firm and the broker's staff."""
import pytest
from sqlalchemy import func, select, text

from core.accounts import PartnerStatus, Role
from core.partners import Lifecycle
from pipeline.cases.models import Case

CASE = {"client_first_name": "Marc", "client_last_name": "Dupont", "client_email": "marc@example.org",
        "adults": 2, "children": 1, "ages": [41, 39, 7], "nationality": "FR", "country_of_residence": "AE",
        "travel_countries": ["FR", "TH"], "start_date": "2027-02-01", "product_line": "family",
        "budget_band": "from_6000_to_12000", "current_cover": "Local plan, renews in March",
        "renewal_date": "2027-03-01", "communication_model": "partner_leads", "language": "fr",
        "consent": {"share_with_broker": True, "cc_on_milestones": True, "text_version": "2026-11",
                    "given_at": "2026-11-20T10:00:00Z"}}
SECRET = "Spouse mentioned a past knee operation; prefers full underwriting"


def _count(session):
    session.expire_all()
    return session.execute(select(func.count()).select_from(Case)).scalar_one()


def test_specialist_submits_a_case_with_encrypted_underwriting(client, session, make_broker, bearer):
    user = make_broker()
    r = client.post("/api/v1/cases", json={**CASE, "underwriting_sensitivities": SECRET,
                                           "case_summary": "Family relocating to Dubai"}, headers=bearer(user))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "received" and body["ages"] == [41, 39, 7] and body["underwriting_sensitivities"] == SECRET
    raw = session.execute(text("SELECT underwriting_encrypted, case_summary_encrypted FROM cases")).one()
    assert SECRET.encode() not in bytes(raw[0]) and b"Dubai" not in bytes(raw[1]), "stored encrypted"
    again = client.get(f"/api/v1/cases/{body['id']}", headers=bearer(user))
    assert again.get_json()["underwriting_sensitivities"] == SECRET


def test_staff_read_it_other_firms_get_404(client, session, make_broker, bearer, make_user):
    case_id = client.post("/api/v1/cases", json={**CASE, "underwriting_sensitivities": SECRET},
                          headers=bearer(make_broker())).get_json()["id"]
    staff = client.get(f"/api/v1/cases/{case_id}", headers=bearer(make_user(Role.account_manager)))
    assert staff.status_code == 200 and staff.get_json()["underwriting_sensitivities"] == SECRET
    other = client.get(f"/api/v1/cases/{case_id}", headers=bearer(make_broker()))
    assert other.status_code == 404
    assert client.get("/api/v1/cases", headers=bearer(make_broker())).get_json()["total"] == 0


def test_generalists_cannot_send_underwriting_text(client, session, make_broker, bearer):
    user = make_broker(PartnerStatus.generalist_broker)
    r = client.post("/api/v1/cases", json={**CASE, "underwriting_sensitivities": SECRET}, headers=bearer(user))
    assert r.status_code == 422 and "underwriting_sensitivities" in r.get_json()["error"]["fields"]
    assert _count(session) == 0
    assert client.post("/api/v1/cases", json=CASE, headers=bearer(user)).status_code == 201


@pytest.mark.parametrize("change,field", [
    ({"ages": [41, 39]}, "ages"), ({"adults": 0, "ages": [7]}, "adults"), ({"nationality": "XX"}, "nationality"),
    # CLDR names it ("Pseudo-Accents") but it is no country; nor is the EU
    ({"country_of_residence": "XA"}, "country_of_residence"), ({"travel_countries": ["EU"]}, "travel_countries"),
    ({"start_date": "2020-01-01"}, "start_date"), ({"product_line": "pets"}, "product_line"),
    ({"medical_history": "asthma"}, "medical_history"),
    ({"consent": {**CASE["consent"], "share_with_broker": False}}, "consent"),
])
def test_bad_cases_are_refused_with_the_field_and_write_nothing(client, session, make_broker, bearer, change, field):
    r = client.post("/api/v1/cases", json={**CASE, **change}, headers=bearer(make_broker()))
    assert r.status_code == 422 and field in r.get_json()["error"]["fields"], r.get_json()
    assert _count(session) == 0


def test_introducers_and_inactive_brokers_cannot_submit_cases(client, session, make_broker, bearer):
    assert client.post("/api/v1/cases", json=CASE,
                       headers=bearer(make_broker(PartnerStatus.introducer))).status_code == 403
    suspended = make_broker(lifecycle=Lifecycle.suspended)
    r = client.post("/api/v1/cases", json=CASE, headers=bearer(suspended))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "firm_not_active"
    assert _count(session) == 0


def test_idempotency_on_cases(client, session, make_broker, bearer):
    headers = {**bearer(make_broker()), "Idempotency-Key": "case-7"}
    assert client.post("/api/v1/cases", json=CASE, headers=headers).status_code == 201
    assert client.post("/api/v1/cases", json=CASE, headers=headers).status_code == 200
    assert client.post("/api/v1/cases", json={**CASE, "adults": 1, "ages": [41, 7]},
                       headers=headers).status_code == 409
    assert _count(session) == 1


def test_a_volunteer_top_up_line_is_refused_and_left_out_of_the_documented_enum(client, session, make_broker,
                                                                                 bearer):
    r = client.post("/api/v1/cases", json={**CASE, "product_line": "volunteer_health_topup"},
                    headers=bearer(make_broker()))
    assert r.status_code == 422
    assert "not through a case" in " ".join(r.get_json()["error"]["fields"]["product_line"])
    assert _count(session) == 0
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["CaseIn"]
    assert schema["properties"]["product_line"]["enum"] == ["individual", "family", "sme", "corporate"]

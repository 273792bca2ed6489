"""Introducers refer consent-minimal leads: nothing else travels, never medical details, never without consent."""
import pytest
from sqlalchemy import func, select

from core.accounts import PartnerStatus, Role
from core.audit import AuditEvent
from core.partners import Lifecycle
from pipeline.leads.models import Consent, Lead
from tests.conftest import csrf_from

LEAD = {"first_name": "Ana", "last_name": "Silva", "email": "ana@example.org", "phone": "+33612345678",
        "country_of_residence": "PT", "timeline": "2027-01-15",
        "need_category": "family_relocation",
        "need_summary": "Family of four moving to Lisbon, needs international health cover from January",
        "language": "en",
        "consent": {"share_with_broker": True, "cc_on_milestones": True, "text_version": "2026-11",
                    "given_at": "2026-11-20T10:00:00Z"}}


def _count(session, model):
    session.expire_all()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_api_creates_a_lead_with_its_consent(client, session, make_introducer, bearer):
    user = make_introducer()
    r = client.post("/api/v1/leads", json=LEAD, headers=bearer(user))
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "received" and body["first_name"] == "Ana" and body["consent"]["cc_on_milestones"]
    lead = session.execute(select(Lead)).scalar_one()
    assert lead.organisation_id == user.organisation_id and lead.consent.text_version == "2026-11"
    assert r.headers["Location"].endswith(f"/api/v1/leads/{lead.public_id}")
    assert client.get(f"/api/v1/leads/{lead.public_id}", headers=bearer(user)).get_json()["id"] == lead.public_id


def test_unknown_fields_are_refused_by_name(client, session, make_introducer, bearer):
    user = make_introducer()
    r = client.post("/api/v1/leads", json={**LEAD, "medical_history": "asthma", "date_of_birth": "1980-01-01",
                                           "consent": {**LEAD["consent"], "notes": "x"}}, headers=bearer(user))
    assert r.status_code == 422
    fields = r.get_json()["error"]["fields"]
    assert set(fields) == {"medical_history", "date_of_birth", "consent.notes"}
    assert _count(session, Lead) == 0 and _count(session, Consent) == 0


@pytest.mark.parametrize("consent", [{**LEAD["consent"], "share_with_broker": False},
                                     {k: v for k, v in LEAD["consent"].items() if k != "share_with_broker"}])
def test_no_consent_no_lead(client, session, make_introducer, bearer, consent):
    r = client.post("/api/v1/leads", json={**LEAD, "consent": consent}, headers=bearer(make_introducer()))
    assert r.status_code == 422 and _count(session, Lead) == 0


def test_health_data_is_refused_and_not_stored(client, session, make_introducer, bearer):
    user = make_introducer()
    text = "Moving to Lisbon; my wife is pregnant and I take insulin for diabetes"
    r = client.post("/api/v1/leads", json={**LEAD, "need_summary": text}, headers=bearer(user))
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["code"] == "health_data_not_allowed" and "secure channel" in error["message"]
    assert _count(session, Lead) == 0 and _count(session, Consent) == 0
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "lead.health_data_refused")).scalar_one()
    assert "pregnan" not in event.data and "insulin" not in event.data, "the refused text is not kept anywhere"
    assert event.details()["categories"]


def test_idempotency_key_returns_the_first_lead_and_refuses_a_different_payload(client, session, make_introducer,
                                                                                bearer):
    headers = {**bearer(make_introducer()), "Idempotency-Key": "crm-42"}
    first = client.post("/api/v1/leads", json=LEAD, headers=headers)
    again = client.post("/api/v1/leads", json=LEAD, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"] and _count(session, Lead) == 1
    other = client.post("/api/v1/leads", json={**LEAD, "first_name": "Bea"}, headers=headers)
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert _count(session, Lead) == 1


def test_brokers_and_inactive_introducers_cannot_refer_leads(client, session, make_org, make_user, make_introducer,
                                                             bearer):
    broker = make_user(Role.partner_admin, make_org(PartnerStatus.specialist_broker))
    assert client.post("/api/v1/leads", json=LEAD, headers=bearer(broker)).status_code == 403
    suspended = make_introducer(lifecycle=Lifecycle.suspended)
    r = client.post("/api/v1/leads", json=LEAD, headers=bearer(suspended))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "firm_not_active"
    assert _count(session, Lead) == 0


def test_a_firm_sees_only_its_own_leads(client, session, make_introducer, bearer):
    mine, theirs = make_introducer(), make_introducer()
    lead_id = client.post("/api/v1/leads", json=LEAD, headers=bearer(theirs)).get_json()["id"]
    assert client.get(f"/api/v1/leads/{lead_id}", headers=bearer(mine)).status_code == 404
    assert client.get("/api/v1/leads", headers=bearer(mine)).get_json()["total"] == 0
    assert client.get("/api/v1/leads", headers=bearer(theirs)).get_json()["total"] == 1


def test_the_same_client_referred_twice_goes_to_the_conflict_queue(client, session, make_introducer, bearer,
                                                                   make_user, login):
    first = client.post("/api/v1/leads", json=LEAD, headers=bearer(make_introducer())).get_json()
    second_body = {**LEAD, "email": "ANA@Example.org", "phone": "0033 6 12 34 56 78", "first_name": "Ána"}
    second = client.post("/api/v1/leads", json=second_body, headers=bearer(make_introducer())).get_json()
    session.expire_all()
    lead = session.execute(select(Lead).where(Lead.public_id == second["id"])).scalar_one()
    assert lead.possible_duplicate_of.public_id == first["id"] and lead.in_conflict
    assert second["status"] == "received" and "duplicate" not in str(second), "a partner does not learn of the other"
    manager = login(make_user(Role.account_manager))
    queue = manager.get("/leads/?conflicts=1").get_data(as_text=True)
    assert "possible duplicate" in queue and queue.count("/leads/") >= 1


def test_form_submission_with_consent_and_field_messages(app, session, make_introducer, login):
    c = login(make_introducer())
    page = c.get("/leads/new").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "first_name": "Ana", "last_name": "Silva", "email": "ana@example.org",
            "country_of_residence": "PT", "urgency": "within_3_months", "language": "pt" if False else "en",
            "need_category": "family_relocation",
            "need_summary": "Couple relocating to Porto, looking for international health cover",
            "consent_given_on": "2026-11-20"}
    no_consent = c.post("/leads/new", data=form)
    assert no_consent.status_code == 422 and "No consent, no lead." in no_consent.get_data(as_text=True)
    medical = c.post("/leads/new", data={**form, "share_with_broker": "y",
                                         "need_summary": "He had cancer surgery last year, needs cover"})
    assert medical.status_code == 422 and "Medical details must not be sent" in medical.get_data(as_text=True)
    assert _count(session, Lead) == 0
    ok = c.post("/leads/new", data={**form, "share_with_broker": "y"})
    assert ok.status_code == 302
    assert "Couple relocating to Porto" in c.get(ok.location).get_data(as_text=True)
    assert _count(session, Lead) == 1


def _two_referrals(client, make_introducer, bearer):
    first_firm_user, second_firm_user = make_introducer(), make_introducer()
    first = client.post("/api/v1/leads", json=LEAD, headers=bearer(first_firm_user)).get_json()
    second = client.post("/api/v1/leads", json={**LEAD, "phone": None, "email": "ana@example.org"},
                         headers=bearer(second_firm_user)).get_json()
    return first_firm_user, second_firm_user, first, second


def test_account_manager_decides_the_attribution_with_a_reason(client, session, make_introducer, bearer, make_user,
                                                               login):
    first_user, second_user, first, second = _two_referrals(client, make_introducer, bearer)
    manager = login(make_user(Role.account_manager))
    url = f"/leads/{second['id']}"
    page = manager.get(url).get_data(as_text=True)
    assert "Decide the attribution" in page
    # It cannot be worked before the decision.
    refused = manager.post(f"{url}/claim", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "Decide the attribution of this possible duplicate" in refused.get_data(as_text=True)
    short = manager.post(f"{url}/attribution", data={"csrf_token": csrf_from(page), "to": "earlier", "reason": "x"})
    assert short.status_code == 422
    ok = manager.post(f"{url}/attribution", data={"csrf_token": csrf_from(page), "to": "earlier",
                                                  "reason": "Client confirms the relocation firm introduced her first"})
    assert ok.status_code == 302
    session.expire_all()
    lead = session.execute(select(Lead).where(Lead.public_id == second["id"])).scalar_one()
    assert lead.attribution_decided and lead.attributed_organisation_id == first_user.organisation_id
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "lead.attribution_decided")).scalar_one()
    assert event.details()["attributed_to"] == "earlier"
    # Now it can be worked.
    page = manager.get(url).get_data(as_text=True)
    assert manager.post(f"{url}/claim", data={"csrf_token": csrf_from(page)}).status_code == 302
    session.expire_all()
    assert session.execute(select(Lead).where(Lead.public_id == second["id"])).scalar_one().assigned_to_id


def test_partners_cannot_decide_attributions_or_see_the_other_referrer(client, session, make_introducer, bearer, login):
    first_user, second_user, first, second = _two_referrals(client, make_introducer, bearer)
    partner = login(second_user)
    page = partner.get(f"/leads/{second['id']}").get_data(as_text=True)
    assert "Decide the attribution" not in page and first_user.organisation.legal_name not in page
    r = partner.post(f"/leads/{second['id']}/attribution", data={"csrf_token": csrf_from(page), "to": "this",
                                                                 "reason": "We definitely referred her first"})
    assert r.status_code == 403
    assert partner.get(f"/leads/{first['id']}").status_code == 404


def test_a_single_referral_counts_for_its_referrer(client, session, make_introducer, bearer):
    user = make_introducer()
    lead_id = client.post("/api/v1/leads", json=LEAD, headers=bearer(user)).get_json()["id"]
    lead = session.execute(select(Lead).where(Lead.public_id == lead_id)).scalar_one()
    assert lead.attributed_organisation_id == user.organisation_id and not lead.in_conflict


def test_the_referrer_records_a_withdrawal_of_the_copy_consent(client, session, make_introducer, bearer, login):
    user = make_introducer()
    lead_id = client.post("/api/v1/leads", json=LEAD, headers=bearer(user)).get_json()["id"]
    c = login(user)
    page = c.get(f"/leads/{lead_id}").get_data(as_text=True)
    url = f"/leads/{lead_id}/consent/withdraw"
    short = c.post(url, data={"csrf_token": csrf_from(page), "scope": "cc_on_milestones", "reason": "no"})
    assert short.status_code == 422
    ok = c.post(url, data={"csrf_token": csrf_from(page), "scope": "cc_on_milestones",
                           "reason": "Client phoned us on 21 November to stop the copies"})
    assert ok.status_code == 302
    session.expire_all()
    lead = session.execute(select(Lead).where(Lead.public_id == lead_id)).scalar_one()
    assert not lead.consent.cc_allowed and lead.consent.cc_on_milestones, "the original consent is kept as given"
    assert client.get(f"/api/v1/leads/{lead_id}", headers=bearer(user)).get_json()["consent"]["cc_on_milestones"] is False
    again = c.post(url, data={"csrf_token": csrf_from(page), "scope": "cc_on_milestones",
                              "reason": "Client phoned us again to confirm"})
    assert again.status_code == 422 and "already withdrawn" in again.get_data(as_text=True)
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "consent.withdrawn")).scalar_one()


def test_withdrawing_all_consent_stops_the_lead(client, session, make_introducer, bearer, make_user, login):
    lead_id = client.post("/api/v1/leads", json=LEAD, headers=bearer(make_introducer())).get_json()["id"]
    manager = login(make_user(Role.account_manager))
    page = manager.get(f"/leads/{lead_id}").get_data(as_text=True)
    r = manager.post(f"/leads/{lead_id}/consent/withdraw", data={
        "csrf_token": csrf_from(page), "scope": "all", "reason": "Client e-mailed: please delete my referral"})
    assert r.status_code == 302
    session.expire_all()
    lead = session.execute(select(Lead).where(Lead.public_id == lead_id)).scalar_one()
    assert lead.status.value == "not_pursued" and lead.consent.withdrawn


def test_another_firm_cannot_withdraw(client, session, make_introducer, bearer, login):
    lead_id = client.post("/api/v1/leads", json=LEAD, headers=bearer(make_introducer())).get_json()["id"]
    other = login(make_introducer())
    page = other.get("/leads/").get_data(as_text=True)
    r = other.post(f"/leads/{lead_id}/consent/withdraw", data={"csrf_token": csrf_from(page), "scope": "all",
                                                              "reason": "Trying to meddle with it"})
    assert r.status_code == 404


def test_account_manager_home_shows_the_queue_oldest_first(client, session, make_introducer, bearer, make_user, login):
    user = make_introducer()
    for name in ("Ana", "Bea"):
        client.post("/api/v1/leads", json={**LEAD, "first_name": name, "email": f"{name}@example.org",
                                           "phone": None, "last_name": name + "son"}, headers=bearer(user))
    home = login(make_user(Role.account_manager)).get("/").get_data(as_text=True)
    assert "New leads nobody works yet" in home
    assert home.index("Ana Anason") < home.index("Bea Beason"), "the oldest lead comes first"


# --- the kind of need, the optional note and the health-data screen's verdicts --------------------------------

def test_the_kind_of_need_is_required_and_unknown_kinds_are_refused_by_name(client, session, make_introducer, bearer):
    user = make_introducer()
    missing = client.post("/api/v1/leads", json={k: v for k, v in LEAD.items() if k != "need_category"},
                          headers=bearer(user))
    unknown = client.post("/api/v1/leads", json={**LEAD, "need_category": "medical_evacuation"}, headers=bearer(user))
    backfill_only = client.post("/api/v1/leads", json={**LEAD, "need_category": "unspecified"}, headers=bearer(user))
    for r in (missing, unknown, backfill_only):
        assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"need_category"}
    assert _count(session, Lead) == 0


def test_the_note_is_optional_and_the_kind_is_shown_on_the_lead(client, session, make_introducer, bearer, login):
    user = make_introducer()
    r = client.post("/api/v1/leads", json={**LEAD, "need_category": "student", "need_summary": None},
                    headers=bearer(user))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["need_category"] == "student" and r.get_json()["need_summary"] is None
    page = login(user).get(f"/leads/{r.get_json()['id']}").get_data(as_text=True)
    assert "Student abroad" in page


def test_the_api_documents_the_kinds_of_need(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["components"]["schemas"]["LeadIn"]
    assert body["properties"]["need_category"]["enum"] == [
        "individual_expatriate", "family_relocation", "student", "retiree_abroad", "small_business_team", "other"]
    assert "need_category" in body["required"] and "need_summary" not in body["required"]


@pytest.mark.parametrize("note", [
    "wife is pr3gnant, due in may",             # digits for letters
    "son has d i a b e t e s",                  # spread out
    "u syna diabet, zhena beremenna",           # Russian in Latin letters
    "husband had a heart attack",               # plain
])
def test_disguised_health_data_is_refused_and_not_stored(client, session, make_introducer, bearer, note):
    r = client.post("/api/v1/leads", json={**LEAD, "need_summary": note}, headers=bearer(make_introducer()))
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "health_data_not_allowed"
    assert _count(session, Lead) == 0


def test_a_note_the_screen_is_unsure_about_is_refused_with_a_request_to_remove_health_details(
        client, session, make_introducer, bearer, login):
    user = make_introducer()
    note = "Dad is fighting the big C, moving to Malta"
    r = client.post("/api/v1/leads", json={**LEAD, "need_summary": note}, headers=bearer(user))
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["code"] == "health_data_suspected" and "Remove anything about" in error["fields"]["need_summary"][0]
    assert _count(session, Lead) == 0 and _count(session, Consent) == 0
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "lead.health_data_refused")).scalar_one()
    assert "big" not in event.data.lower() and "malta" not in event.data.lower()
    c = login(user)
    page = c.get("/leads/new").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "first_name": "Ana", "last_name": "Silva", "email": "ana@example.org",
            "country_of_residence": "PT", "urgency": "asap", "language": "en", "need_category": "retiree_abroad",
            "need_summary": "Retiring to Portugal, she is expecting, due in June", "share_with_broker": "y",
            "consent_given_on": "2026-11-20"}
    refused = c.post("/leads/new", data=form)
    assert refused.status_code == 422 and "Remove anything about" in refused.get_data(as_text=True)
    ok = c.post("/leads/new", data={**form, "need_summary": "Retiring to Portugal in June, budget 400 EUR a month"})
    assert ok.status_code == 302 and _count(session, Lead) == 1


def test_leads_referred_before_the_kind_of_need_are_back_filled_as_unspecified(app, client, session, make_introducer,
                                                                                bearer):
    from flask_migrate import downgrade, upgrade

    lead_id = client.post("/api/v1/leads", json=LEAD, headers=bearer(make_introducer())).get_json()["id"]
    session.remove()
    downgrade(revision="7c2d9e4b1a30")
    upgrade()
    lead = session.execute(select(Lead).where(Lead.public_id == lead_id)).scalar_one()
    assert lead.need_category.value == "unspecified" and lead.need_summary == LEAD["need_summary"]

"""The programme operator's roster feed on the API: batches answered record by record, replays answered as
before, at most 500 records a batch, the roster read back without anything the volunteer bought, and the
operator's token let into nothing else."""
from sqlalchemy import func, select

from core.accounts import Role
from core.audit import AuditEvent
from funnel.models import RosterEvent, RosterImport, Volunteer
from funnel.volunteers import declare_dependant
from tests.funnel.conftest import affiliation_record, event_record

BATCH = "/api/v1/volunteers/batch"


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_a_batch_applies_the_valid_records_and_answers_each_with_its_result(session, make_user, bearer, client):
    headers = bearer(make_user(Role.programme_operator))
    good = affiliation_record(dependants=[{"category": "spouse", "birth_date": "1999-07-14"}])
    bad = affiliation_record(mission_country="XY", email="nope")
    late = event_record("prolongation", good["file_ref"], "2026-11-20T08:00:00Z", mission_end="2028-01-31")
    orphan = event_record("radiation", "BF-UNKNOWN", "2026-11-20T08:00:00Z", end_date="2026-12-01")
    response = client.post(BATCH, json={"events": [good, bad, late, orphan, 42]}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert [r["result"] for r in body["results"]] == ["created", "rejected", "updated", "rejected", "rejected"]
    assert (body["received"], body["created"], body["updated"], body["rejected"]) == (5, 1, 1, 3)
    reasons = body["results"][1]["reasons"]
    assert {name: [p["code"] for p in problems] for name, problems in reasons.items()} == {
        "mission_country": ["unknown_country"], "email": ["invalid_email"]}
    assert reasons["email"][0]["message"] == "Give a valid e-mail address."
    assert body["results"][3]["reasons"]["file_ref"][0]["code"] == "unknown_volunteer"
    assert body["results"][2]["changed"] == ["mission_end"]
    assert _count(session, Volunteer) == 1
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "roster.imported")).one()
    assert audit.details()["rejected"] == 3 and audit.subject_id == body["id"]


def test_a_replayed_batch_answers_as_before_and_changes_nothing(session, make_user, bearer, client):
    headers = bearer(make_user(Role.programme_operator))
    events = [affiliation_record() for _ in range(300)]
    first = client.post(BATCH, json={"events": events}, headers=headers).get_json()
    volunteers, logged = _count(session, Volunteer), _count(session, RosterEvent)
    again = client.post(BATCH, json={"events": events}, headers=headers).get_json()
    assert [r["result"] for r in again["results"]] == [r["result"] for r in first["results"]] == ["created"] * 300
    assert all(r["replayed"] for r in again["results"]) and again["replayed"] == 300 and again["created"] == 0
    assert [r["volunteer"] for r in again["results"]] == [r["volunteer"] for r in first["results"]]
    assert (_count(session, Volunteer), _count(session, RosterEvent)) == (volunteers, logged)
    # the same event id with other content is no replay: refused by name
    changed = dict(events[0], last_name="Other")
    refused = client.post(BATCH, json={"events": [changed]}, headers=headers).get_json()["results"][0]
    assert refused["result"] == "rejected" and refused["reasons"]["event_id"][0]["code"] == "event_id_reused"


def test_a_batch_over_500_records_or_empty_is_refused_whole(session, make_user, bearer, client):
    headers = bearer(make_user(Role.programme_operator))
    for events in ([affiliation_record() for _ in range(501)], []):
        response = client.post(BATCH, json={"events": events}, headers=headers)
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert error["code"] == "validation_error"
        assert error["fields"]["events"] == ["Send 1 to 500 events per batch: split a longer roster into several "
                                             "batches."]
    for body in ({"events": "x"}, {"records": []}, {"events": [{}], "extra": 1}):
        assert client.post(BATCH, json=body, headers=headers).status_code == 422
    assert client.post(BATCH, data="not json", headers=headers).status_code == 400
    assert _count(session, RosterImport) == 0 and _count(session, Volunteer) == 0


def test_the_roster_read_back_says_nothing_of_what_the_volunteer_bought(session, make_user, bearer, client):
    from datetime import date

    from funnel.catalogue import PersonCategory

    headers = bearer(make_user(Role.programme_operator))
    record = affiliation_record(dependants=[{"category": "child", "birth_date": "2024-03-01", "first_name": "Noé"}])
    client.post(BATCH, json={"events": [record]}, headers=headers)
    volunteer = session.scalars(select(Volunteer)).one()
    declare_dependant(session, volunteer, PersonCategory.spouse, date(1999, 1, 1), declared_on=date(2026, 12, 1))
    session.commit()
    response = client.get(f"/api/v1/volunteers/{record['file_ref']}", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"file_ref", "first_name", "last_name", "email", "birth_date", "programme",
                         "mission_country", "mission_start", "mission_end", "language", "state", "end_reason",
                         "dependants", "details_as_of", "mission_as_of"}
    assert (body["mission_country"], body["state"], body["mission_end"]) == ("US", "in_post", "2027-10-31")
    # the spouse the volunteer declared in the journey is theirs, not the roster's
    assert body["dependants"] == [{"category": "child", "birth_date": "2024-03-01", "first_name": "Noé",
                                   "last_name": None}]
    missing = client.get("/api/v1/volunteers/BF-NONE", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "volunteer_not_found"


def test_only_the_operator_token_uses_the_roster_and_it_uses_nothing_else(app, make_user, make_org, bearer, client):
    operator = bearer(make_user(Role.programme_operator))
    record = affiliation_record()
    assert client.post(BATCH, json={"events": [record]}, headers=operator).status_code == 200
    for role in (Role.admin, Role.compliance, Role.finance, Role.account_manager, Role.volunteer):
        headers = bearer(make_user(role))
        assert client.post(BATCH, json={"events": [affiliation_record()]}, headers=headers).status_code == 403
        assert client.get(f"/api/v1/volunteers/{record['file_ref']}", headers=headers).status_code == 403
    partner = bearer(make_user(Role.partner_admin, make_org()))
    assert client.get(f"/api/v1/volunteers/{record['file_ref']}", headers=partner).status_code == 403
    # the service account's token opens no other endpoint, not even /me
    me = client.get("/api/v1/me", headers=operator)
    assert me.status_code == 403 and me.get_json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/leads", headers=operator).status_code == 403

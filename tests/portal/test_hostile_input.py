"""Hostile input gets a clear 4xx, never a server error, on both databases: the request guard (NUL bytes, lone
surrogates, JSON nesting), page numbers, statement months, Idempotency-Key and normalised lengths."""
import json

import pytest
from sqlalchemy import func, select

from core.accounts import Organisation, Role
from pipeline.cases.models import Case
from pipeline.leads.models import Lead
from tests.conftest import csrf_from
from tests.factories import bearer_headers
from tests.portal.test_cases import CASE
from tests.portal.test_leads import LEAD

HUGE_PAGE = str(2**64 + 1)


def _count(session, model):
    session.expire_all()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def _error(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    if field is not None:
        assert field in error["fields"], error
    return error


# --- the request guard: JSON ---------------------------------------------------------------------------------

def test_deeply_nested_json_is_a_bad_request(client, session, introducer):
    body = "[" * 100_000 + "]" * 100_000
    r = client.post("/api/v1/leads", data=body, content_type="application/json", headers=bearer_headers(introducer))
    _error(r, 400)
    nested = {**LEAD, "need_summary": json.loads("[" * 60 + "]" * 60)}
    _error(client.post("/api/v1/leads", json=nested, headers=bearer_headers(introducer)), 400)
    assert _count(session, Lead) == 0


@pytest.mark.parametrize("value", ["Ana\x00", "\ud800", "An\udfffa"])
def test_nul_bytes_and_lone_surrogates_in_json_name_the_field(client, session, introducer, broker, value):
    r = client.post("/api/v1/leads", data=json.dumps({**LEAD, "first_name": value}),
                    content_type="application/json", headers=bearer_headers(introducer))
    _error(r, 422, "first_name")
    consent = {**CASE["consent"], "text_version": value}
    r = client.post("/api/v1/cases", data=json.dumps({**CASE, "consent": consent}), content_type="application/json",
                    headers=bearer_headers(broker))
    _error(r, 422, "consent.text_version")
    assert _count(session, Lead) == 0 and _count(session, Case) == 0


def test_nul_bytes_in_api_query_arguments(client, broker, make_user):
    _error(client.get("/api/v1/cases?status=open%00", headers=bearer_headers(broker)), 422, "status")
    finance = bearer_headers(make_user(Role.finance))
    _error(client.get("/api/v1/statements?period=2026-12&organisation=x%00", headers=finance), 422, "organisation")


def test_a_multipart_part_without_a_name(client):
    body = (b'--XX\r\nContent-Disposition: form-data\r\n\r\nnul\x00\r\n--XX\r\nContent-Disposition: form-data; '
            b'name="file"; filename="a.pdf"\r\n\r\n%PDF-1.4\r\n--XX--\r\n')
    r = client.post("/api/v1/agreements/verify", data=body, content_type="multipart/form-data; boundary=XX")
    _error(r, 422, "body")


# --- the request guard: web forms and query arguments --------------------------------------------------------

def test_nul_bytes_at_sign_in_and_application_are_refused_unauthenticated(client, session):
    page = client.get("/login").get_data(as_text=True)
    r = client.post("/login", data={"email": "a\x00@example.test", "password": "x", "csrf_token": csrf_from(page)})
    assert r.status_code == 400 and "cannot be stored" in r.get_data(as_text=True)
    page = client.get("/apply").get_data(as_text=True)
    r = client.post("/apply", data={"csrf_token": csrf_from(page), "legal_name": "Evil\x00 Ltd",
                                    "admin_email": "x@example.test"})
    assert r.status_code == 400
    assert _count(session, Organisation) == 0


def test_nul_bytes_in_a_signed_in_form_and_a_search(session, introducer, make_user, login):
    c = login(introducer)
    page = c.get("/leads/new").get_data(as_text=True)
    r = c.post("/leads/new", data={"csrf_token": csrf_from(page), "first_name": "Ana", "last_name": "Sil\x00va",
                                   "email": "ana@example.org", "country_of_residence": "PT", "urgency": "later",
                                   "language": "en", "share_with_broker": "y", "consent_given_on": "2026-11-20",
                                   "need_summary": "Couple relocating to Porto, looking for cover"})
    assert r.status_code == 400 and _count(session, Lead) == 0
    admin = login(make_user(Role.admin))
    assert admin.get("/admin/users?q=%00").status_code == 400


# --- page numbers --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/leads", "/api/v1/cases", "/api/v1/agreements", "/api/v1/payout-runs"])
def test_api_page_numbers_beyond_64_bits_are_refused(client, make_user, path, broker, introducer):
    finance, staff = bearer_headers(make_user(Role.finance)), bearer_headers(make_user(Role.admin))
    headers = finance if "payout" in path else bearer_headers(broker) if "cases" in path else staff
    _error(client.get(f"{path}?page={HUGE_PAGE}", headers=headers), 422, "page")
    _error(client.get(f"{path}?page=-{HUGE_PAGE}", headers=headers), 422, "page")
    assert client.get(f"{path}?page=3", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/leads/", "/cases/", "/agreements/", "/admin/users", "/admin/organisations",
                                  "/admin/outbox", "/cases/cc-log"])
def test_web_page_numbers_beyond_64_bits_are_refused(make_user, login, path):
    admin = login(make_user(Role.admin))
    assert admin.get(f"{path}?page={HUGE_PAGE}").status_code == 400
    assert admin.get(f"{path}?page=2").status_code == 200


# --- statement months ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("month", ["0000-01", "0001-01", "9999-12"])
def test_statement_months_at_the_ends_of_the_calendar(client, broker, login, month):
    org = broker.organisation
    _error(client.get(f"/api/v1/statements?period={month}", headers=bearer_headers(broker)), 422, "period")
    web = login(broker)
    for url in (f"/statements/{org.public_id}?period={month}", f"/statements/{org.public_id}/{month}.pdf",
                f"/statements/{org.public_id}/{month}.csv"):
        assert web.get(url).status_code == 404, url


# --- lengths: the Idempotency-Key and values that grow when normalised ---------------------------------------

def test_an_idempotency_key_longer_than_its_column(client, session, introducer):
    headers = {**bearer_headers(introducer), "Idempotency-Key": "k" * 129}
    _error(client.post("/api/v1/leads", json=LEAD, headers=headers), 422, "Idempotency-Key")
    assert _count(session, Lead) == 0
    headers["Idempotency-Key"] = "k" * 128
    assert client.post("/api/v1/leads", json=LEAD, headers=headers).status_code == 201


@pytest.mark.parametrize("field, value", [("first_name", "\ufdfa" * 100), ("last_name", "\ufb03" * 100),
                                          ("email", "\u00df" * 60 + "@" + "d" * 180 + ".example")])
def test_lead_values_that_outgrow_their_column_when_normalised(client, session, introducer, field, value):
    r = client.post("/api/v1/leads", json={**LEAD, field: value}, headers=bearer_headers(introducer))
    _error(r, 422, field)
    assert _count(session, Lead) == 0


def test_case_email_that_outgrows_its_column_when_normalised(client, session, broker):
    email = "\ufb00" * 60 + "@" + "d" * 180 + ".example"
    _error(client.post("/api/v1/cases", json={**CASE, "client_email": email}, headers=bearer_headers(broker)), 422,
           "client_email")
    assert _count(session, Case) == 0


# --- contacts on cases are validated as on leads -------------------------------------------------------------

@pytest.mark.parametrize("field, value", [("client_email", "not an e-mail"), ("client_phone", "call me maybe")])
def test_case_contacts_must_be_an_email_and_a_phone(client, session, broker, field, value):
    _error(client.post("/api/v1/cases", json={**CASE, field: value}, headers=bearer_headers(broker)), 422, field)
    assert _count(session, Case) == 0


def test_a_method_not_allowed_names_the_allowed_ones(client):
    api = client.delete("/api/v1/leads")
    _error(api, 405)
    assert set(api.headers["Allow"].split(", ")) >= {"GET", "POST"}
    web = client.put("/login")
    assert web.status_code == 405 and set(web.headers["Allow"].split(", ")) >= {"GET", "POST"}


@pytest.mark.parametrize("token", ["x" * 5000, "a.b.c", "%00", "%ED%A0%80", "eyJ9" * 40])
def test_campaign_links_with_a_forged_token_answer_a_4xx(client, token):
    """The pixel stays a pixel (the mail client shows nothing), a forged click or unsubscribe link is not found."""
    pixel = client.get(f"/c/o/{token}")
    assert pixel.status_code in (200, 400, 404) and pixel.status_code < 500
    for path in (f"/c/l/{token}", f"/c/u/{token}"):
        assert 400 <= client.get(path).status_code < 500, path
    assert 400 <= client.post(f"/c/u/{token}", data={"choice": "\x00"}).status_code < 500


@pytest.mark.parametrize("query", ["step=%00&lang=fr", "step=j10_topup&lang=%ED%A0%80", "step=" + "x" * 5000])
def test_the_campaign_preview_never_errs_on_a_bad_step_or_language(make_user, login, query):
    """An unknown step or language shows the first step in English, or is refused: never a server error."""
    response = login(make_user(Role.admin)).get(f"/campaigns/preview?{query}")
    assert response.status_code < 500

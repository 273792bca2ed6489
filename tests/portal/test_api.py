"""The JSON API: personal tokens, /me, the OpenAPI document and the error shape of DESIGN.md §6."""
from openapi_spec_validator import validate
from sqlalchemy import select

from core.accounts import Role
from core.audit import AuditEvent
from portal.accounts.models import ApiToken
from tests.conftest import csrf_from


def _create_token_in_ui(c, name="CRM sync"):
    token = csrf_from(c.get("/me/tokens").get_data(as_text=True))
    html = c.post("/me/tokens", data={"name": name, "csrf_token": token}).get_data(as_text=True)
    return html.split('id="new-token">')[1].split("<")[0]


def _bearer(raw):
    return {"Authorization": f"Bearer {raw}"}


def _assert_error(response, status, code):
    assert response.status_code == status
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code and body["error"]["message"]


def test_token_shown_once_stored_hashed_and_accepted(login, make_user, make_org, session, client):
    org = make_org()
    user = make_user(Role.partner_admin, org)
    c = login(user)
    raw = _create_token_in_ui(c)
    stored = session.execute(select(ApiToken)).scalar_one()
    assert raw not in stored.token_hash and stored.prefix == raw[:10]
    assert raw not in c.get("/me/tokens").get_data(as_text=True), "the token is shown only once"
    me = client.get("/api/v1/me", headers=_bearer(raw))
    assert me.status_code == 200
    assert me.get_json() == {"id": user.public_id, "email": user.email, "full_name": user.full_name,
                             "role": "partner_admin", "locale": "en",
                             "organisation": {"id": org.public_id, "legal_name": org.legal_name,
                                              "status": org.status.value}}
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "api_token.created")).scalar_one()


def test_revoked_token_is_refused(login, make_user, session, client):
    c = login(make_user(Role.finance))
    raw = _create_token_in_ui(c)
    token = session.execute(select(ApiToken)).scalar_one()
    page = c.get("/me/tokens").get_data(as_text=True)
    assert c.post(f"/me/tokens/{token.public_id}/revoke", data={"csrf_token": csrf_from(page)}).status_code == 302
    _assert_error(client.get("/api/v1/me", headers=_bearer(raw)), 401, "unauthenticated")
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "api_token.revoked")).scalar_one()


def test_cannot_revoke_someone_elses_token(login, make_user, session, app):
    owner = make_user(Role.finance)
    _create_token_in_ui(login(owner))
    token = session.execute(select(ApiToken)).scalar_one()
    other = login(make_user(Role.finance))
    page = other.get("/me/tokens").get_data(as_text=True)
    assert other.post(f"/me/tokens/{token.public_id}/revoke", data={"csrf_token": csrf_from(page)}).status_code == 404


def test_token_of_a_deactivated_user_is_refused(login, make_user, session, client):
    user = make_user(Role.finance)
    raw = _create_token_in_ui(login(user))
    user = session.merge(user)
    user.active = False
    session.commit()
    _assert_error(client.get("/api/v1/me", headers=_bearer(raw)), 401, "unauthenticated")


def test_api_ignores_the_session_cookie(login, make_user):
    c = login(make_user(Role.admin))
    _assert_error(c.get("/api/v1/me"), 401, "unauthenticated")


def test_errors_use_the_json_shape(client):
    _assert_error(client.get("/api/v1/me"), 401, "unauthenticated")
    _assert_error(client.get("/api/v1/me", headers=_bearer("ppt_forged")), 401, "unauthenticated")
    _assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    _assert_error(client.post("/api/v1/openapi.json"), 405, "method_not_allowed")


def test_api_error_messages_are_translated(client):
    r = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert r.get_json()["error"] == {"code": "not_found", "message": "Introuvable.", "fields": {}}


def test_openapi_document_is_valid_and_generated_from_the_schemas(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    validate(doc)
    me = doc["paths"]["/api/v1/me"]["get"]
    schema_ref = me["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref.endswith("/Me")
    assert set(doc["components"]["schemas"]["Me"]["properties"]) == {
        "id", "email", "full_name", "role", "locale", "organisation"}
    assert me["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_api_token_cli_prints_a_working_token(app, make_user, client):
    user = make_user(Role.programme_operator)
    result = app.test_cli_runner().invoke(args=["api-token", "create", user.email])
    assert result.exit_code == 0
    raw = result.stdout.strip()
    assert result.stderr.startswith("expires ")  # the lifetime is shown at creation
    # the operator's token works on its roster endpoints (and only there: /me is refused)
    missing = client.get("/api/v1/volunteers/BF-NONE", headers=_bearer(raw))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "volunteer_not_found"
    assert client.get("/api/v1/me", headers=_bearer(raw)).status_code == 403
    bad = app.test_cli_runner().invoke(args=["api-token", "create", "nobody@example.org"])
    assert bad.exit_code != 0

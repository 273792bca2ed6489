"""API token lifetimes, revocation by a password reset and by an administrator, the remember-me cookie, and
the programme operator's service account (API only)."""
import re
from datetime import timedelta

from sqlalchemy import select

from core.accounts import Role
from core.audit import AuditEvent
from core.db import utcnow
from portal.accounts import operations as ops
from portal.accounts.models import ApiToken
from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.portal.test_api import _assert_error, _bearer


def _create(c, name="CRM sync", days=None):
    token = csrf_from(c.get("/me/tokens").get_data(as_text=True))
    data = {"name": name, "csrf_token": token} | ({"days": days} if days is not None else {})
    return c.post("/me/tokens", data=data)


def _raw(response):
    return response.get_data(as_text=True).split('id="new-token">')[1].split("<")[0]


def _events(session, action):
    session.expire_all()
    return session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


def test_a_new_token_lasts_90_days_and_says_so_at_creation(login, make_user, session):
    c = login(make_user(Role.finance))
    page = c.get("/me/tokens").get_data(as_text=True)
    assert 'name="days"' in page and 'value="90"' in page
    created = _create(c)
    token = session.execute(select(ApiToken)).scalar_one()
    assert timedelta(days=89, hours=23) < token.expires_at - utcnow() <= timedelta(days=90)
    html = created.get_data(as_text=True)
    expiry = html.split('id="new-token-expiry">')[1].split("</p>")[0]
    assert "It works for 90 days, until" in expiry and str(token.expires_at.year) in expiry


def test_the_lifetime_can_be_chosen_within_the_maximum(login, make_user, session):
    c = login(make_user(Role.finance))
    assert _create(c, days=7).status_code == 200
    token = session.execute(select(ApiToken)).scalar_one()
    assert timedelta(days=6, hours=23) < token.expires_at - utcnow() <= timedelta(days=7)
    too_long = _create(c, days=366)
    assert too_long.status_code == 422 and "Choose between 1 and 365 days." in too_long.get_data(as_text=True)
    assert len(session.execute(select(ApiToken)).scalars().all()) == 1


def test_an_expired_token_is_refused_with_401_in_the_error_shape(login, make_user, session, client):
    raw = _raw(_create(login(make_user(Role.finance))))
    assert client.get("/api/v1/me", headers=_bearer(raw)).status_code == 200
    token = session.execute(select(ApiToken)).scalar_one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    response = client.get("/api/v1/me", headers=_bearer(raw))
    _assert_error(response, 401, "token_expired")
    assert "expired" in response.get_json()["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "expired" in login(token.user).get("/me/tokens").get_data(as_text=True)


def test_a_password_reset_revokes_every_token_of_the_user(app, login, make_user, session, client):
    user = make_user(Role.finance)
    c = login(user)
    raws = [_raw(_create(c, name=f"tool {i}")) for i in range(2)]
    other = make_user(Role.finance)
    others_raw = _raw(_create(login(other)))
    forgot = app.test_client()
    forgot.post("/password/forgot", data={"email": user.email,
                                          "csrf_token": csrf_from(forgot.get("/password/forgot").get_data(as_text=True))})
    from core.outbox import OutboxMessage

    session.expire_all()
    body = session.execute(select(OutboxMessage).where(OutboxMessage.to == user.email)).scalar_one().body_text
    path = re.search(r"http://portal\.test(/password/reset/\S+)", body).group(1)
    token = csrf_from(forgot.get(path).get_data(as_text=True))
    assert forgot.post(path, data={"password": "a new passphrase", "confirm": "a new passphrase",
                                   "csrf_token": token}).status_code == 302
    for raw in raws:
        _assert_error(client.get("/api/v1/me", headers=_bearer(raw)), 401, "unauthenticated")
    assert client.get("/api/v1/me", headers=_bearer(others_raw)).status_code == 200
    (event,) = _events(session, "api_token.revoked_all")
    assert event.subject_id == user.public_id and '"count":2' in event.data


def test_an_administrator_lists_and_revokes_a_users_tokens(login, make_user, session, client):
    owner = make_user(Role.programme_operator)
    _token, raw = ops.create_api_token(session, owner, "roster feed")
    session.commit()
    admin = make_user(Role.admin)
    c = login(admin)
    page = c.get(f"/admin/users/{owner.public_id}/tokens")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "roster feed" in html and raw[:10] in html and raw not in html
    assert f"/admin/users/{owner.public_id}/tokens" in c.get(f"/admin/users/{owner.public_id}").get_data(as_text=True)
    token = session.execute(select(ApiToken)).scalar_one()
    revoke = c.post(f"/admin/users/{owner.public_id}/tokens/{token.public_id}/revoke",
                    data={"csrf_token": csrf_from(html)})
    assert revoke.status_code == 302
    _assert_error(client.get("/api/v1/me", headers=_bearer(raw)), 401, "unauthenticated")
    (event,) = _events(session, "api_token.revoked")
    assert event.actor_id == admin.id and event.subject_id == token.public_id
    # another user's token is not reachable through this user's page
    stranger = make_user(Role.finance)
    assert c.post(f"/admin/users/{stranger.public_id}/tokens/{token.public_id}/revoke",
                  data={"csrf_token": csrf_from(html)}).status_code == 404


def test_remember_me_lasts_30_days(app, make_user):
    user = make_user()
    c = app.test_client()
    token = csrf_from(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y", "csrf_token": token})
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith("remember_token="))
    from email.utils import parsedate_to_datetime

    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert timedelta(days=29, hours=23) < expires - utcnow() <= timedelta(days=30)


def test_the_programme_operator_uses_the_api_but_cannot_sign_in_on_the_web(app, make_user, session, client):
    operator = make_user(Role.programme_operator, email="operator@demo.example")
    c = app.test_client()
    token = csrf_from(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"email": operator.email, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 401
    assert "service account for the API" in r.get_data(as_text=True)
    assert c.get("/").status_code == 302  # no session: back to the sign-in page
    assert [e.data for e in _events(session, "auth.login_refused")] == ['{"reason":"api_only"}']
    assert not _events(session, "auth.login")
    # a wrong password gets the generic answer: the refusal reveals nothing without the password
    token = csrf_from(c.get("/login").get_data(as_text=True))
    wrong = c.post("/login", data={"email": operator.email, "password": "a guess", "csrf_token": token})
    assert "service account" not in wrong.get_data(as_text=True)
    _t, raw = ops.create_api_token(session, operator, "roster feed")
    session.commit()
    # its token opens the roster endpoints only (tests/portal/test_roster_api.py)
    assert client.get("/api/v1/volunteers/BF-NONE", headers=_bearer(raw)).status_code == 404
    assert client.get("/api/v1/me", headers=_bearer(raw)).status_code == 403

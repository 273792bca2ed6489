"""Sign-in, rate limits, sessions and password links, as a user meets them."""
import re
from datetime import timedelta

from sqlalchemy import select

from core.accounts import Role, User
from core.audit import AuditEvent
from core.db import utcnow
from core.outbox import OutboxMessage
from portal.accounts.models import PasswordResetToken
from tests.conftest import csrf_from
from tests.factories import PASSWORD

GENERIC = "The e-mail address or password is incorrect."


def _post_login(client, email, password):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def _events(session, action):
    session.expire_all()
    return session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


def test_sign_in_lands_on_the_role_home_and_is_audited(client, session, make_user):
    user = make_user(Role.compliance)
    r = _post_login(client, user.email.upper(), PASSWORD)
    assert r.status_code == 302 and r.location.endswith("/")
    assert "Welcome, " + user.full_name in client.get("/").get_data(as_text=True)
    (event,) = _events(session, "auth.login")
    assert event.actor_id == user.id and event.ip == "127.0.0.1"


def test_passwords_are_hashed_with_argon2id(make_user, session):
    user = make_user()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_wrong_password_and_unknown_account_get_the_same_answer(client, session, make_user):
    user = make_user()
    wrong = _post_login(client, user.email, "not the password")
    unknown = _post_login(client, "nobody@example.test", "whatever it is")
    assert wrong.status_code == unknown.status_code == 401
    assert GENERIC in wrong.get_data(as_text=True) and GENERIC in unknown.get_data(as_text=True)
    assert len(_events(session, "auth.login_failed")) == 2


def test_inactive_account_cannot_sign_in(client, make_user):
    user = make_user(active=False)
    r = _post_login(client, user.email, PASSWORD)
    assert r.status_code == 401 and GENERIC in r.get_data(as_text=True)


def test_failed_attempts_are_limited_per_account_and_address(app, make_user):
    user = make_user()
    for i in range(5):
        assert _post_login(app.test_client(), user.email, f"wrong {i}").status_code == 401
    # even from a fresh browser, and even with the right password, this address waits a while
    blocked = _post_login(app.test_client(), user.email, PASSWORD)
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert 0 < int(blocked.headers["Retry-After"]) <= 60
    # another account from the same address is not affected
    other = make_user()
    assert _post_login(app.test_client(), other.email, PASSWORD).status_code == 302


def test_failed_attempts_are_limited_per_address(app, make_user):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "3 per minute"
    try:
        users = [make_user() for _ in range(4)]
        c = app.test_client()
        for u in users[:3]:
            assert _post_login(c, u.email, "wrong password").status_code == 401
        assert _post_login(c, users[3].email, PASSWORD).status_code == 429
    finally:
        app.config["LOGIN_LIMIT_PER_ADDRESS"] = "30 per minute"


def test_successful_sign_ins_do_not_count_towards_the_limit(app, make_user):
    user = make_user()
    for _ in range(8):
        assert _post_login(app.test_client(), user.email, PASSWORD).status_code == 302


def test_sign_out_ends_the_session(login, make_user):
    c = login(make_user())
    token = csrf_from(c.get("/").get_data(as_text=True))
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    assert c.get("/").status_code == 302


def test_deactivation_signs_the_user_out_everywhere(login, make_user, session):
    user = make_user(Role.finance)
    c = login(user)
    assert c.get("/").status_code == 200
    admin = login(make_user(Role.admin))
    page = admin.get(f"/admin/users/{user.public_id}").get_data(as_text=True)
    r = admin.post(f"/admin/users/{user.public_id}", data={
        "csrf_token": csrf_from(page), "email": user.email, "full_name": user.full_name, "role": "finance",
        "organisation": "", "locale": "en"})  # "active" unchecked
    assert r.status_code == 302
    assert c.get("/").status_code == 302, "the deactivated user's open session must end"


def test_open_redirect_after_sign_in_is_refused(client, make_user):
    user = make_user()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login?next=https://evil.example/x", data={
        "email": user.email, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and "evil.example" not in r.location


def test_sign_in_form_without_csrf_token_is_refused(client, make_user, session):
    user = make_user()
    r = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 400
    assert _events(session, "auth.login") == []


# --- password reset ------------------------------------------------------------------------------------

def _ask_reset(client, email):
    token = csrf_from(client.get("/password/forgot").get_data(as_text=True))
    return client.post("/password/forgot", data={"email": email, "csrf_token": token}, follow_redirects=True)


def _link_from_outbox(session, email):
    session.expire_all()
    msg = session.execute(select(OutboxMessage).where(OutboxMessage.to == email)
                          .order_by(OutboxMessage.id.desc())).scalars().first()
    return re.search(r"http://portal\.test(/password/reset/\S+)", msg.body_text).group(1)


def _set_password(client, path, password):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"password": password, "confirm": password, "csrf_token": token})


def test_forgotten_password_flow(client, session, make_user):
    user = make_user(locale="fr")
    page = _ask_reset(client, user.email)
    assert "If an account exists" in page.get_data(as_text=True) or "Si un compte" in page.get_data(as_text=True)
    path = _link_from_outbox(session, user.email)
    assert _set_password(client, path, "a brand new passphrase").status_code == 302
    assert _post_login(client, user.email, "a brand new passphrase").status_code == 302
    assert _post_login(client.application.test_client(), user.email, PASSWORD).status_code == 401
    assert _events(session, "user.password_set")


def test_reset_for_unknown_address_looks_the_same_and_sends_nothing(client, session):
    page = _ask_reset(client, "nobody@example.test")
    assert page.status_code == 200
    assert session.execute(select(OutboxMessage)).first() is None


def test_reset_link_works_once(client, session, make_user):
    user = make_user()
    _ask_reset(client, user.email)
    path = _link_from_outbox(session, user.email)
    assert _set_password(client, path, "first new passphrase").status_code == 302
    again = client.get(path)
    assert again.status_code == 400 and "invalid, has expired or was already used" in again.get_data(as_text=True)


def test_reset_link_expires(client, session, make_user):
    user = make_user()
    _ask_reset(client, user.email)
    path = _link_from_outbox(session, user.email)
    token = session.execute(select(PasswordResetToken)).scalar_one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert client.get(path).status_code == 400


def test_short_password_is_refused_with_a_field_message(client, session, make_user):
    user = make_user()
    _ask_reset(client, user.email)
    path = _link_from_outbox(session, user.email)
    r = _set_password(client, path, "short")
    assert r.status_code == 200 and "at least 12 characters" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, user.id).password_hash == user.password_hash


def test_each_app_hashes_with_its_own_argon2_parameters_and_production_upgrades_cheap_hashes(backend, app, session,
                                                                                              make_user):
    """The test configuration hashes cheaply; a production app in the same process keeps RFC 9106's parameters,
    and a password hashed cheaply is hashed again with them when its owner signs in to production."""
    from argon2 import extract_parameters, profiles

    from portal import create_app
    from portal.accounts.operations import authenticate
    from portal.extensions import db
    from portal.security.passwords import hash_password, needs_rehash, verify_password

    def cost(stored_hash):
        p = extract_parameters(stored_hash)
        return p.time_cost, p.memory_cost, p.parallelism

    rfc_9106 = profiles.RFC_9106_LOW_MEMORY
    cheap = (1, 8, 1)
    user = make_user()
    assert cost(user.password_hash) == cheap
    production = create_app({
        "PORTAL_ENV": "production", "SECRET_KEY": "k" * 40, "DATABASE_URL": backend[1],
        "SQLALCHEMY_DATABASE_URI": backend[1],
        "SEAL_P12_PATH": "/nonexistent.p12", "SEAL_P12_PASSWORD": "x", "CASE_ENCRYPTION_KEYS": "A" * 43 + "=",
        "MAIL_TRANSPORT": "smtp", "AUDIT_HMAC_KEYS": "k1:" + "h" * 32, "RATELIMIT_ENABLED": False})
    with production.app_context():
        strong = hash_password(PASSWORD)
        assert cost(strong) == (rfc_9106.time_cost, rfc_9106.memory_cost, rfc_9106.parallelism)
        assert needs_rehash(user.password_hash) and not needs_rehash(strong)
        assert authenticate(db.session, user.email, PASSWORD, "127.0.0.1") is not None
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    # the test app still hashes cheaply, and reads the hash production wrote
    assert cost(hash_password(PASSWORD)) == cheap
    session.expire_all()
    upgraded = session.get(User, user.id).password_hash
    assert cost(upgraded) == cost(strong) and verify_password(upgraded, PASSWORD)

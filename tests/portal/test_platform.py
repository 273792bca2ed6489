"""Health check, security headers, configuration safety, demo data."""
import pytest
from sqlalchemy import func, select

from core.accounts import Organisation, PartnerStatus, User
from core.audit import AuditEvent
from portal import create_app
from portal.config import ConfigError
from portal.demo import DEMO_LOGINS
from tests.conftest import csrf_from


def test_healthz_answers_200_with_the_database_reachable(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok", "database": "reachable"}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    app = create_app({"PORTAL_ENV": "test", "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}})
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.get_json()["database"] == "unreachable"


def test_security_headers_and_a_strict_csp(client):
    r = client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "http" not in csp, "no third-party origin is allowed"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_pages_load_no_third_party_asset(client, login, make_user):
    import re

    for html in (client.get("/login").get_data(as_text=True), login(make_user()).get("/").get_data(as_text=True)):
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not url.startswith(("http:", "https:", "//")), url


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    from tests.factories import PASSWORD

    user = make_user()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_refuses_to_start_without_secrets(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY, DATABASE_URL"):
        create_app({"PORTAL_ENV": "production"})
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/portal")
    monkeypatch.setenv("SMTP_HOST", "smtp.example.org")
    with pytest.raises(ConfigError, match="SEAL_P12_PATH"):
        create_app({"PORTAL_ENV": "production"})
    monkeypatch.setenv("SEAL_P12_PATH", str(tmp_path / "seal.p12"))
    monkeypatch.setenv("SEAL_P12_PASSWORD", "s" * 20)
    monkeypatch.setenv("CASE_ENCRYPTION_KEYS", "dGVzdC1rZXktMzItYnl0ZXMtbG9uZy1mb3ItZmVybmV0IT0=")
    monkeypatch.delenv("AUDIT_HMAC_KEYS", raising=False)
    with pytest.raises(ConfigError, match="AUDIT_HMAC_KEYS"):
        create_app({"PORTAL_ENV": "production"})
    monkeypatch.setenv("AUDIT_HMAC_KEYS", "k1:short")
    with pytest.raises(ConfigError, match="shorter than 16 bytes"):
        create_app({"PORTAL_ENV": "production"})
    monkeypatch.setenv("AUDIT_HMAC_KEYS", "k2:" + "n" * 32 + ",k1:" + "o" * 32)
    monkeypatch.setenv("RATELIMIT_ENABLED", "false")  # no Redis here (tests/portal/test_login_throttle.py)
    monkeypatch.setenv("PASSWORD_HASH_PROFILE", "CHEAPEST")
    with pytest.raises(ConfigError, match="PASSWORD_HASH_PROFILE=CHEAPEST"):
        create_app({"PORTAL_ENV": "production"})
    monkeypatch.setenv("PASSWORD_HASH_PROFILE", "FAST")
    with pytest.raises(ConfigError, match="PASSWORD_HASH_PROFILE must be one of"):
        create_app({"PORTAL_ENV": "production"})
    monkeypatch.delenv("PASSWORD_HASH_PROFILE")
    app = create_app({"PORTAL_ENV": "production"})
    assert app.config["PASSWORD_HASH_PROFILE"] == "RFC_9106_LOW_MEMORY"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_demo_data_is_idempotent_and_every_login_works(app, session, login):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo-data"])
    assert first.exit_code == 0 and "demo-password" in first.output

    def counts():
        session.expire_all()
        return [session.execute(select(func.count()).select_from(m)).scalar_one()
                for m in (Organisation, User, AuditEvent)]

    before = counts()
    second = runner.invoke(args=["demo-data"])
    assert second.exit_code == 0 and "nothing changed" in second.output
    assert counts() == before
    statuses = set(session.execute(select(Organisation.status)).scalars())
    assert statuses == set(PartnerStatus)
    # the ledger side: the placed contract's commission posted, released and paid in an approved run
    from ledger import engine
    from ledger.models import PayoutRun, RunStatus

    run = session.execute(select(PayoutRun)).scalar_one()
    assert run.status is RunStatus.approved and run.lines and run.pain001 and run.total_minor > 0
    assert engine.verify(session) == []
    for email, _role in DEMO_LOGINS:
        user = session.execute(select(User).where(User.email == email)).scalar_one()
        if user.api_only:  # the roster feed's service account: API tokens, never the web pages
            assert f"{email:<34} {user.role.value} (API only" in first.output
            continue
        c = login(user, "demo-password")
        assert c.get("/").status_code == 200, email

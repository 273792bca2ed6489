"""Failed sign-ins are counted in the database: a guesser's address backs off, the owner elsewhere does not,
and every worker (here: threads, and a second process) sees the same count."""
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.db import utcnow
from portal import create_app
from portal.accounts.models import LoginFailure
from portal.config import ConfigError
from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.portal.test_password_links import race

ATTACKER, OWNER, ELSEWHERE = "203.0.113.9", "198.51.100.7", "192.0.2.44"


def _client(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _sign_in(client, email, password):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_the_guessers_address_is_throttled_while_the_owner_signs_in_from_elsewhere(app, make_user):
    user = make_user()
    attacker = _client(app, ATTACKER)
    for i in range(5):
        assert _sign_in(attacker, user.email, f"guess {i}").status_code == 401
    blocked = _sign_in(attacker, user.email, "guess 5")
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 60  # the test window is "5 per minute"
    # the guesser's next try is refused even with the right password: no oracle while throttled
    assert _sign_in(attacker, user.email, PASSWORD).status_code == 429
    assert _sign_in(_client(app, OWNER), user.email, PASSWORD).status_code == 302


def test_ten_concurrent_guesses_let_exactly_the_limit_through(app, make_user):
    email = make_user().email

    def prepare(i):
        client = _client(app, ATTACKER)
        return client, csrf_from(client.get("/login").get_data(as_text=True))

    def fire(i, prepared):
        client, token = prepared
        return client.post("/login", data={"email": email, "password": f"guess {i}",
                                           "csrf_token": token}).status_code

    statuses = race(10, prepare, fire)
    assert sorted(statuses) == [401] * 5 + [429] * 5


WORKER = textwrap.dedent("""
    import sys, re
    from portal import create_app
    from portal.config import throwaway_config
    url, instance, email, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    app = create_app(throwaway_config(instance, url, LOGIN_LIMIT_PER_ACCOUNT_ADDRESS="5 per minute"))
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for i in range(count):
        html = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        r = client.post("/login", data={"email": email, "password": "other worker's guess", "csrf_token": token})
        print(r.status_code)
""")


def test_a_second_worker_process_sees_the_same_count(app, backend, make_user, tmp_path):
    """Two separate processes on one database, as gunicorn workers are: failures add up across them."""
    _name, url, _app = backend
    user = make_user()
    done = subprocess.run([sys.executable, "-c", WORKER, url, app.instance_path, user.email, "3"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["401"] * 3
    attacker = _client(app, ATTACKER)
    assert [_sign_in(attacker, user.email, f"guess {i}").status_code for i in range(3)] == [401, 401, 429]


def test_a_spread_out_attack_slows_each_address_but_never_locks_the_owner_out(app, make_user):
    app.config.update(LOGIN_ACCOUNT_CEILING="6 per hour", LOGIN_CEILING_WAIT_SECONDS=30)
    try:
        user = make_user()
        botnet = [_client(app, f"203.0.113.{n}") for n in range(1, 5)]
        for bot in botnet:
            assert _sign_in(bot, user.email, "guess").status_code == 401
        for bot in botnet[:2]:
            assert _sign_in(bot, user.email, "guess again").status_code == 401
        # six failures on the account: every address that failed on it now waits between attempts
        slowed = _sign_in(botnet[2], user.email, "third guess")
        assert slowed.status_code == 429 and 0 < int(slowed.headers["Retry-After"]) <= 30
        # the owner, from an address of their own, is never refused: a typo costs at most a short wait
        owner = _client(app, OWNER)
        assert _sign_in(owner, user.email, "typo").status_code == 401
        retry = _sign_in(owner, user.email, PASSWORD)
        assert retry.status_code == 429 and int(retry.headers["Retry-After"]) <= 30
        assert _sign_in(_client(app, ELSEWHERE), user.email, PASSWORD).status_code == 302
    finally:
        app.config.update(LOGIN_ACCOUNT_CEILING="50 per hour", LOGIN_CEILING_WAIT_SECONDS=60)


def test_old_failures_are_pruned(app, session, make_user):
    user = make_user()
    session.add(LoginFailure(account_key="x" * 64, address=ATTACKER, at=utcnow() - timedelta(days=2)))
    session.commit()
    assert _sign_in(_client(app, OWNER), user.email, "wrong").status_code == 401
    session.expire_all()
    assert session.execute(select(func.count(LoginFailure.id))).scalar_one() == 1  # only the new failure


PRODUCTION = {"PORTAL_ENV": "production", "SECRET_KEY": "k" * 40, "DATABASE_URL": "sqlite://",
              "SQLALCHEMY_DATABASE_URI": "sqlite://", "SEAL_P12_PATH": "/nonexistent.p12",
              "SEAL_P12_PASSWORD": "x", "CASE_ENCRYPTION_KEYS": "A" * 43 + "=", "MAIL_TRANSPORT": "smtp",
              "AUDIT_HMAC_KEYS": "k1:" + "h" * 32}


def test_production_refuses_a_per_process_rate_limit_store():
    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI"):
        create_app({**PRODUCTION, "RATELIMIT_STORAGE_URI": "memory://"})
    # Redis is optional: without it, production must turn the request limits off explicitly
    app = create_app({**PRODUCTION, "RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ENABLED": False})
    assert app.config["PORTAL_ENV"] == "production"
    from portal.config import load_config

    assert load_config("/tmp", {**PRODUCTION, "RATELIMIT_STORAGE_URI": "redis://cache:6379/0"})[
        "RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"

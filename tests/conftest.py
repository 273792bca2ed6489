"""Test fixtures. Every database test runs on SQLite and, when TEST_POSTGRES_URL is set, on PostgreSQL too.

Each backend gets a database of its own for the run, built by the real Alembic migrations; every test starts
from empty tables. With REQUIRE_POSTGRES=1 (CI) a missing or unreachable PostgreSQL is an error, not a skip.
Web tests get the app (its context pushed) and its session; the domain test folders get a plain session on
`db_engine` and no app (tests/domain.py).
"""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core import audit
from core.db import Base
from core.integrity import Keyring
from portal import create_app
from portal.config import throwaway_config
from portal.extensions import db, limiter
from tests.dbtools import emptied

PG_URL = os.environ.get("TEST_POSTGRES_URL", "").strip()
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def pytest_configure(config):
    if os.environ.get("REQUIRE_POSTGRES") == "1" and not PG_URL:
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set: PostgreSQL tests cannot run")


def pytest_report_header(config):
    return f"database backends: {', '.join(BACKENDS)}"


class PgDatabase:
    """A throwaway database on the configured PostgreSQL server."""

    def __init__(self, base_url: str):
        url = make_url(base_url)
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        self.name = f"portal_test_{uuid.uuid4().hex[:10]}"
        self.admin_url = url
        self.url = url.set(database=self.name)

    def create(self):
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        engine.dispose()

    def drop(self):
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh application context, as in production: `g` and the database session are
    the request's own, not the test's (which keeps an app context open for its fixtures)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _make_app(database_url: str, instance: Path):
    app = create_app(throwaway_config(instance, database_url, LOGIN_LIMIT_PER_ADDRESS="30 per minute",
                                      LOGIN_LIMIT_PER_ACCOUNT_ADDRESS="5 per minute"))
    app.instance_path = str(instance)
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory):
    """Yields (name, url, migrated app) for one backend, for the whole run."""
    name = request.param
    instance = tmp_path_factory.mktemp(f"instance-{name}")
    pg = None
    if name == "sqlite":
        url = f"sqlite:///{instance / 'test.db'}"
    else:
        pg = PgDatabase(PG_URL)
        pg.create()  # fails loudly if PostgreSQL is unreachable
        url = pg.url.render_as_string(hide_password=False)
    app = _make_app(url, instance)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield name, url, app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if pg is not None:
        pg.drop()


@pytest.fixture(scope="session")
def db_engine(backend):
    """A plain SQLAlchemy engine on the backend's migrated database, as the domain's callers (the worker, a
    command) make one; its audit events are chained with the test app's keys."""
    _name, url, app = backend
    engine = create_engine(url, pool_pre_ping=True)
    audit.use_keyring(engine, Keyring.parse(app.config["AUDIT_HMAC_KEYS"]))
    yield engine
    engine.dispose()


def empty_tables(engine) -> None:
    """Every test starts from empty tables."""
    with engine.begin() as conn:
        emptied(conn, [t.name for t in reversed(Base.metadata.sorted_tables)])


def fresh_app(backend, tmp_path):
    """The backend's test app, as a new test finds it: request limits reset, no checkpoint yet."""
    app = backend[2]
    limiter.reset()
    # checkpoints are about the database they saw: each test's empty database starts without any
    app.config["AUDIT_CHECKPOINT_DIR"] = str(tmp_path / "checkpoints")
    return app


@pytest.fixture
def app(backend, tmp_path, db_engine):
    """The test app, its context pushed for the whole test (`session` is its `db.session`)."""
    empty_tables(db_engine)
    app = fresh_app(backend, tmp_path)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def backend_name(backend):
    return backend[0]


@pytest.fixture
def session(app):
    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


from tests.factories import *  # noqa: E402,F401,F403  (fixtures)


@pytest.fixture
def smtp_server():
    from tests.smtp import SmtpServer

    server = SmtpServer()
    server.start()
    yield server
    server.stop()

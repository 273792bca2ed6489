"""Fixtures of the domain test folders (tests/core, compliance, agreements, ledger, pipeline): the Flask-free
packages are tested as their callers use them, on a plain SQLAlchemy session and without the Flask app.

Each folder's conftest.py imports them (`from tests.domain import *`):

- `session`: a plain `Session` on the backend's migrated test database (`db_engine`), the tables emptied first,
  as the `app` fixture empties them for the web tests; no application context is pushed.
- `app`: for the few domain tests that go through Flask (a `flask` command, mail rendered by the portal's
  templates): the test app on the same database, the tables emptied once by `session`, no context pushed (what
  needs one pushes its own). Asking for it (directly or through `client`, `login` or a fixture that does) is
  how a domain test says it needs Flask.
- `pytest_runtest_call`: a domain test that did not ask for `app` fails if an application context is active
  when it starts or when it ends. tests/test_domain_tests.py checks that no domain test module imports Flask or
  the portal.
"""
from __future__ import annotations

import pytest
from flask import has_app_context
from sqlalchemy.orm import Session

from tests.conftest import empty_tables, fresh_app

__all__ = ["app", "pytest_runtest_call", "session"]


@pytest.fixture
def session(db_engine):
    empty_tables(db_engine)
    with Session(db_engine) as session:
        yield session


@pytest.fixture
def app(session, backend, tmp_path):
    """No context is pushed: a `flask` command and the test client push their own and let their session go at
    the end, so nothing of the app holds a transaction open while the test's session works on."""
    return fresh_app(backend, tmp_path)


def uses_flask(item) -> bool:
    return "app" in getattr(item, "fixturenames", ())


def refuse_app_context(item, when: str) -> None:
    if not uses_flask(item) and has_app_context():
        pytest.fail(f"{item.nodeid}: a Flask application context is active {when} this domain test, which does "
                    f"not ask for the `app` fixture", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    refuse_app_context(item, "when starting")
    result = yield
    refuse_app_context(item, "at the end of")
    return result

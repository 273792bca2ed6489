"""Factories as fixtures: firms, users, signed-in clients."""
from __future__ import annotations

import itertools

import pytest

from core.accounts import CommunicationModel, Organisation, PartnerStatus, Register, Role, User
from core.partners import Lifecycle
from portal.security.passwords import hash_password

PASSWORD = "correct horse battery"
_counter = itertools.count(1)
_HASH = {}


def password_hash() -> str:
    # argon2 is deliberately slow; hash the shared test password once per run.
    if "h" not in _HASH:
        _HASH["h"] = hash_password(PASSWORD)
    return _HASH["h"]


@pytest.fixture
def make_org(session):
    def make(status=PartnerStatus.specialist_broker, **kw) -> Organisation:
        n = next(_counter)
        values = dict(legal_name=f"Firm {n}", status=status, country="FR", zones=["FR"],
                      communication_model=CommunicationModel.hybrid, languages=["en"], lifecycle=Lifecycle.active)
        if status is not PartnerStatus.introducer:
            values.update(register=Register.orias, registration_number=f"{10000000 + n}")
        values.update(kw)
        org = Organisation(**values)
        session.add(org)
        session.commit()
        return org

    return make


@pytest.fixture
def make_user(session):
    def make(role=Role.admin, org=None, *, email=None, locale="en", active=True, password=True) -> User:
        n = next(_counter)
        user = User(email=email or f"user{n}@example.test", full_name=f"User {n}", role=role, organisation=org,
                    locale=locale, active=active, password_hash=password_hash() if password else None)
        session.add(user)
        session.commit()
        return user

    return make


@pytest.fixture
def login(app):
    """login(user) -> a test client signed in as that user, through the real sign-in form."""
    from tests.conftest import csrf_from

    def do(user, password=PASSWORD):
        c = app.test_client()
        token = csrf_from(c.get("/login").get_data(as_text=True))
        r = c.post("/login", data={"email": user.email, "password": password, "csrf_token": token})
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        return c

    return do

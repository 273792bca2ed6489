"""Factories as fixtures: firms, users, the people of the pipeline, cases and leads, API tokens, signed-in clients.

They take the test's `session`: the app's in web tests, a plain one in the domain folders (tests/domain.py).
"""
from __future__ import annotations

import itertools

import pytest

from core.accounts import CommunicationModel, Organisation, PartnerStatus, Register, Role, User
from core.partners import Lifecycle
from pipeline.cases.models import Case
from pipeline.cases.services import submit_case
from pipeline.leads.models import Lead
from pipeline.leads.services import submit_lead
from tests.pipeline.case_data import case_input, lead_input

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def password_hash(backend) -> str:
    """PASSWORD hashed once per run and database, as the test app hashes it (the hasher is the app's)."""
    from portal.security.passwords import hash_password

    with backend[2].app_context():
        return hash_password(PASSWORD)


def _saved(session, row):
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def make_org(session):
    def make(status=PartnerStatus.specialist_broker, **kw) -> Organisation:
        n = next(_counter)
        values = dict(legal_name=f"Firm {n}", status=status, country="FR", zones=["FR"],
                      communication_model=CommunicationModel.hybrid, languages=["en"], lifecycle=Lifecycle.active,
                      cc_key_communications=True)
        if status is not PartnerStatus.introducer:
            values.update(register=Register.orias, registration_number=f"{10000000 + n}")
        return _saved(session, Organisation(**{**values, **kw}))

    return make


@pytest.fixture
def make_user(session, password_hash):
    def make(role=Role.admin, org=None, *, email=None, locale="en", active=True, password=True) -> User:
        n = next(_counter)
        return _saved(session, User(email=email or f"user{n}@example.test", full_name=f"User {n}", role=role,
                                    organisation=org, locale=locale, active=active,
                                    password_hash=password_hash if password else None))

    return make


@pytest.fixture
def manager(make_user):
    """An account manager of the broker."""
    return make_user(Role.account_manager)


@pytest.fixture
def make_broker(make_org, make_user):
    """make_broker(status, role, org=None, **firm) -> a partner user at an active broker firm (a new one unless
    given)."""
    def make(status=PartnerStatus.specialist_broker, role=Role.partner_admin, org=None, **org_kw) -> User:
        return make_user(role, org or make_org(status, **org_kw))

    return make


@pytest.fixture
def broker(make_broker):
    """A partner administrator at an active specialist broker firm."""
    return make_broker()


@pytest.fixture
def make_introducer(make_org, make_user):
    """make_introducer(**firm) -> a member of a new introducer firm (active unless `lifecycle` says otherwise)."""
    def make(**org_kw) -> User:
        return make_user(Role.partner_member, make_org(PartnerStatus.introducer, **org_kw))

    return make


@pytest.fixture
def introducer(make_introducer):
    """A member of an active introducer firm."""
    return make_introducer()


def _submitted(session, submit, user, data):
    row, created = submit(session, user, data)
    session.commit()
    assert created
    return row


@pytest.fixture
def new_case(session):
    """new_case(user, first_name="Marc", **changes) -> a case submitted by `user` (tests/pipeline/case_data.py)."""
    def make(user, first_name="Marc", **changes) -> Case:
        return _submitted(session, submit_case, user, case_input(first_name, **changes))

    return make


@pytest.fixture
def new_lead(session):
    """new_lead(user, first_name="Ana", **changes) -> a lead referred by `user` (tests/pipeline/case_data.py)."""
    def make(user, first_name="Ana", **changes) -> Lead:
        return _submitted(session, submit_lead, user, lead_input(first_name, **changes))

    return make


def api_token(user, name: str = "test") -> str:
    """A new API token of `user`, committed as `flask api-token create` makes it: its secret."""
    from portal.accounts.operations import create_api_token
    from portal.extensions import db

    _token, raw = create_api_token(db.session, user, name)
    db.session.commit()
    return raw


def bearer_headers(user, name: str = "test") -> dict:
    """The Authorization header of a new API token of `user`."""
    return {"Authorization": f"Bearer {api_token(user, name)}"}


@pytest.fixture
def bearer(app):
    """bearer(user) -> the Authorization header of a new API token of `user`."""
    return bearer_headers


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

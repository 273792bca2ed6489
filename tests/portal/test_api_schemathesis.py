"""Property-based tests of the whole API from its own OpenAPI document (schemathesis): every operation, called
with a token of every role that can hold one, on both databases, never answers a server error, and every
answer matches what the document promises (status code, content type, body schema).

The number of generated cases is printed at the end of the run ("schemathesis: N cases")."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from core.accounts import PartnerStatus, Role
from pipeline.cases.services import submit_case
from pipeline.leads.services import submit_lead
from portal import create_app
from tests.ledger.books import add_agreement
from tests.pipeline.case_data import case_input, lead_input

#: kept small: about 16 operations x 9 roles x 2 databases on a 2-core machine
MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: (role, the status of the partner firm for partner roles)
ROLES = [(Role.admin, None), (Role.compliance, None), (Role.finance, None), (Role.account_manager, None),
         (Role.volunteer, None), (Role.programme_operator, None),
         (Role.partner_admin, PartnerStatus.specialist_broker), (Role.partner_member, PartnerStatus.generalist_broker),
         (Role.partner_admin, PartnerStatus.introducer)]
GENERATED = {"cases": 0, "calls": 0}


@pytest.fixture(scope="module", autouse=True)
def report_cases(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"schemathesis: {GENERATED['cases']} cases generated, {GENERATED['calls']} calls "
                            f"(one per role) checked")


@pytest.fixture
def tokens(app, make_org, make_user) -> list[str]:
    """One API token per role (partner roles: one per kind of firm), created as `flask api-token create` does."""
    from portal.accounts.operations import create_api_token
    from portal.extensions import db

    raws = []
    for role, status in ROLES:
        user = make_user(role, make_org(status) if status else None)
        raws.append(create_api_token(db.session, user, "schemathesis")[1])
        _seed(user, status)
    db.session.commit()
    return raws


def _seed(user, status) -> None:
    """A record of each kind the firm can have, so the lists answer with items whose schema is checked too."""
    from portal.extensions import db

    if status is None:
        return
    add_agreement(db.session, user.organisation)
    if status is PartnerStatus.introducer:
        submit_lead(db.session, user, lead_input())
    else:
        submit_case(db.session, user, case_input())  # with its first milestone


def _spec() -> dict:
    """The document as the app publishes it (it depends on the routes, not on a database), read once at import
    so schemathesis can make one test per operation; each test then calls the backend's own app."""
    throwaway = create_app({"PORTAL_ENV": "test", "TESTING": True, "SECRET_KEY": "schemathesis",
                            "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with throwaway.test_client() as client:
        return client.get("/api/v1/openapi.json").get_json()


schema = schemathesis.openapi.from_dict(_spec())


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_every_operation_answers_as_documented(case, app, tokens):
    GENERATED["cases"] += 1
    for raw in tokens:
        GENERATED["calls"] += 1
        case.call_and_validate(app=app, headers={"Authorization": f"Bearer {raw}"}, checks=CHECKS)

"""Property-based tests of the whole API from its own OpenAPI document (schemathesis): every operation, called
with a token of every role that can hold one, on both databases, never answers a server error, and every
answer matches what the document promises (status code, content type, body schema).

The number of generated cases is printed at the end of the run ("schemathesis: N cases")."""
from __future__ import annotations

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from portal.accounts.models import PartnerStatus, Role
from portal.cases.services import submit_case
from portal.leads.services import submit_lead
from tests.ledger.books import add_agreement
from tests.portal.case_data import case_input, lead_input

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


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def _check(operation, mode: GenerationMode, tokens: list[str]) -> None:
    # schemathesis' own pytest plugin cannot load a schema from a fixture under pytest 9 (it reads a removed
    # node attribute), so each operation's strategy runs under Hypothesis here.
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              derandomize=True)
    def run(case):
        GENERATED["cases"] += 1
        for raw in tokens:
            GENERATED["calls"] += 1
            case.call_and_validate(headers={"Authorization": f"Bearer {raw}"}, checks=CHECKS)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_every_operation_answers_as_documented(app, tokens, mode):
    failures = []
    for operation in _operations(app):
        try:
            _check(operation, mode, tokens)
        except BaseExceptionGroup as exc:  # schemathesis' failures; collected to name every failing operation
            failures.append(f"{operation.label}: {exc.exceptions[0]}")
    assert not failures, "\n\n".join(failures)

"""Twenty requests with one Idempotency-Key at the same moment, through a real threaded HTTP server: one row, and
every other request answers what a sequential replay answers (200 with the first record, or 409), never a 500."""
import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from core.accounts import PartnerStatus, Role
from pipeline.cases.models import Case
from pipeline.leads.models import Lead
from tests.factories import api_token
from tests.portal.test_cases import CASE
from tests.portal.test_leads import LEAD

RACERS = 20


@contextmanager
def serving(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def _race(url: str, token: str, bodies: list[dict]) -> list[tuple[int, dict]]:
    start = threading.Barrier(len(bodies))

    def post(body):
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}", "Idempotency-Key": "race-1",
            "Host": "portal.test"})
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = exc.read()
            return exc.code, json.loads(body) if exc.headers.get_content_type() == "application/json" else {}

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


CREATIONS = {"leads": (PartnerStatus.introducer, LEAD, Lead, "first_name"),
             "cases": (PartnerStatus.specialist_broker, CASE, Case, "client_first_name")}


@pytest.mark.parametrize("kind", sorted(CREATIONS))
@pytest.mark.parametrize("same_content", [True, False], ids=["replays", "different-content"])
def test_the_losers_of_a_race_on_one_key_answer_as_a_replay_would(app, session, make_org, make_user, kind,
                                                                  same_content):
    status, body, model, name_field = CREATIONS[kind]
    token = api_token(make_user(Role.partner_admin, make_org(status)))
    bodies = [body if same_content else {**body, name_field: f"Client {n}"} for n in range(RACERS)]
    with serving(app) as base:
        results = _race(f"{base}/api/v1/{kind}", token, bodies)
    statuses = sorted(code for code, _ in results)
    assert statuses == [200] * (RACERS - 1) + [201] if same_content else [201] + [409] * (RACERS - 1), statuses
    winner = next(answer for code, answer in results if code == 201)
    if same_content:
        assert {answer["id"] for _code, answer in results} == {winner["id"]}
    else:
        assert {answer["error"]["code"] for code, answer in results if code == 409} == {"idempotency_key_reused"}
    session.expire_all()
    assert session.execute(select(func.count()).select_from(model)).scalar_one() == 1

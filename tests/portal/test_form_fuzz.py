"""Every web form, posted with hostile strings by each role that may use it (with a valid CSRF token), answers
without a server error; a value the database cannot store (a NUL byte) is refused before anything is written."""
from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from core.accounts import PartnerStatus, Role
from portal.extensions import db
from portal.security.access import access_for
from tests.conftest import csrf_from
from tests.factories import PASSWORD
from tests.ledger.books import add_agreement
from tests.pipeline.case_data import case_input, lead_input

HOSTILE = ["nul\x00byte", "lone \ud800 surrogate", "x" * 10_000, "\u202egnp.exe", '=HYPERLINK("http://e.example")',
           "9" * 40, "-9" * 20, "../../../etc/passwd", "' OR 1=1; DROP TABLE users; --", "", "\ufdfa" * 120]
#: signing out ends the session the rest of the walk needs
SKIPPED = {"auth.logout"}
USERS = [(Role.admin, None), (Role.compliance, None), (Role.finance, None), (Role.account_manager, None),
         (Role.partner_admin, PartnerStatus.specialist_broker), (Role.partner_admin, PartnerStatus.generalist_broker),
         (Role.partner_admin, PartnerStatus.introducer)]
FIELD = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')


def _rows() -> int:
    db.session.expire_all()
    return sum(db.session.execute(select(func.count()).select_from(t)).scalar_one() for t in db.metadata.sorted_tables)


@pytest.fixture
def world(session, make_org, make_user):
    """A user of each role, and one record of each kind a form can be about (their ids fill the URLs)."""
    from pipeline.cases.services import submit_case
    from pipeline.leads.services import submit_lead

    users = []
    for role, status in USERS:
        org = make_org(status) if status else None
        if org is not None:
            add_agreement(session, org)
        users.append(make_user(role, org))
    introducer, broker = users[-1], users[-3]
    lead, _ = submit_lead(session, introducer, lead_input())
    case, _ = submit_case(session, broker, case_input())
    from funnel.models import TariffVersion
    from funnel.seed import seed_sample_products

    seed_sample_products(session)
    session.commit()
    tariff = session.execute(select(TariffVersion)).scalars().first()
    ids = {"/tariffs/versions/": tariff.public_id, "/leads/": lead.public_id, "/cases/": case.public_id, "/admin/users/": users[0].public_id,
           "/admin/organisations/": broker.organisation.public_id, "/agreements/": broker.organisation.public_id}
    return users, ids


def _url(rule, ids: dict) -> str:
    values = {}
    for arg in rule.arguments:
        values[arg] = next((v for prefix, v in ids.items() if rule.rule.startswith(prefix)), "0" * 32)
    return rule.build(values)[1]


def _client(app, user):
    client = app.test_client()
    if user is not None:
        token = csrf_from(client.get("/login").get_data(as_text=True))
        assert client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    return client


def _post(client, url: str, fields: list[str], token: str, value: str):
    pairs = [(name, value) for name in fields] + [("csrf_token", token)]
    body = urlencode(pairs, encoding="utf-8", errors="surrogatepass")
    return client.post(url, data=body, content_type="application/x-www-form-urlencoded")


def _fuzz(app, rule, url: str, user, failures: list) -> int:
    client = _client(app, user)
    page = client.get(url) if "GET" in rule.methods else client.get("/login" if user is None else "/")
    html = page.get_data(as_text=True)
    if 'name="csrf_token"' not in html:
        html = client.get("/me/tokens" if user is not None else "/login").get_data(as_text=True)
    token = csrf_from(html)
    fields = sorted(set(FIELD.findall(page.get_data(as_text=True))) - {"csrf_token"}) or ["name", "reason", "note"]
    for value in HOSTILE:
        before = _rows() if "\x00" in value else None
        response = _post(client, url, fields, token, value)
        who = user.role.value if user else "anonymous"
        if response.status_code >= 500:
            failures.append(f"{rule.endpoint} as {who} with {value[:20]!r}: {response.status_code}")
        elif before is not None and _rows() != before:
            failures.append(f"{rule.endpoint} as {who} with a NUL byte: something was written")
    return len(HOSTILE)


def test_every_form_survives_hostile_strings(app, world):
    users, ids = world
    failures, posts, started = [], 0, time.monotonic()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "POST" not in rule.methods or rule.endpoint.startswith("api.") or rule.endpoint in SKIPPED:
            continue
        access = access_for(app, rule.endpoint)
        for user in [None] if access.public else [u for u in users if access.permits(u)]:
            posts += _fuzz(app, rule, _url(rule, ids), user, failures)
    assert posts > 300, posts
    assert not failures, "\n".join(failures)
    print(f"form fuzz: {posts} posts in {time.monotonic() - started:.0f} s")


def test_the_volunteer_forms_survive_hostile_strings(app, session):
    """The volunteer's area (opened by their personal link, not a sign-in): the same hostile strings on each of
    its forms, at the step where the form is open."""
    from tests.portal.test_volunteer_journey import _adhesion_data, _link
    from tests.portal.test_volunteer_journey import _post as post_form

    volunteer = _journey_volunteer(session)
    client = app.test_client()
    assert client.get(_link(session, volunteer)).status_code == 302
    assert post_form(client, "/my-cover/quote", {"health": "y", "health_formula": "essential"}).status_code == 302
    assert post_form(client, "/my-cover/adhesion", _adhesion_data(beneficiaries="")).status_code == 302
    failures, posts = [], 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "POST" not in rule.methods or not access_for(app, rule.endpoint).volunteer:
            continue
        if rule.endpoint == "volunteer.sign_out":
            continue
        url = rule.build({})[1]
        page = client.get(url) if "GET" in rule.methods else client.get("/my-cover/sign")
        if page.status_code == 302:  # not open at this step (the withdrawal): its POST must redirect, not fail
            page = client.get("/my-cover/sign")
        token = csrf_from(page.get_data(as_text=True))
        fields = sorted(set(FIELD.findall(page.get_data(as_text=True))) - {"csrf_token"}) or ["name"]
        for value in HOSTILE:
            before = _rows() if "\x00" in value else None
            response = _post(client, url, fields, token, value)
            posts += 1
            if response.status_code >= 500:
                failures.append(f"{rule.endpoint} with {value[:20]!r}: {response.status_code}")
            elif before is not None and _rows() != before:
                failures.append(f"{rule.endpoint} with a NUL byte: something was written")
    assert posts >= 4 * len(HOSTILE), posts
    assert not failures, "\n".join(failures)


def _journey_volunteer(session):
    from datetime import UTC, datetime

    from funnel.roster import apply_events
    from funnel.seed import seed_sample_products
    from funnel.volunteers import find_volunteer

    seed_sample_products(session)
    record = {"event": "affiliation", "event_id": "BF-2026-FUZZ-1", "occurred_at": "2026-11-02T08:00:00Z",
              "file_ref": "BF-2026-FUZZ", "first_name": "Léa", "last_name": "Martin", "email": "lea@example.org",
              "birth_date": "2000-04-02", "programme": "VIE", "mission_country": "US",
              "mission_start": "2026-11-03", "mission_end": "2027-10-31", "language": "fr",
              "dependants": [{"category": "spouse", "birth_date": "1999-07-14"}]}
    apply_events(session, [record], now=datetime(2026, 12, 1, tzinfo=UTC))
    session.commit()
    return find_volunteer(session, file_ref="BF-2026-FUZZ")

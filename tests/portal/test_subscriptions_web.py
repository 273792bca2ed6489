"""The staff's subscriptions screen: search and filters, a subscription's page with its evidence, documents and
events, and the personal link sent by e-mail; who may read and who may send."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core.accounts import Role
from core.db import utcnow
from core.outbox import OutboxMessage
from funnel import journey
from funnel.catalogue import Cover
from funnel.models import FunnelEvent, FunnelStage
from funnel.roster import apply_events
from funnel.rules import start_window
from funnel.seed import seed_sample_products
from funnel.volunteers import find_volunteer
from portal.agreements.services import seal_config
from tests.conftest import csrf_from

_n = iter(range(1, 10_000))


@pytest.fixture
def volunteer(session):
    seed_sample_products(session)

    def make(first_name="Léa", last_name="Martin", language="fr", **overrides):
        n = next(_n)
        record = {"event": "affiliation", "event_id": f"BF-2026-S{n:05d}-1", "occurred_at": "2026-11-02T08:00:00Z",
                  "file_ref": f"BF-2026-S{n:05d}", "first_name": first_name, "last_name": last_name,
                  "email": f"v{n}@example.org", "birth_date": "2000-04-02", "programme": "VIE",
                  "mission_country": "US", "mission_start": "2026-11-03", "mission_end": "2027-10-31",
                  "language": language} | overrides
        assert apply_events(session, [record], now=datetime(2026, 12, 1, tzinfo=UTC)).results[0].outcome.value == \
            "created"
        session.commit()
        return find_volunteer(session, file_ref=record["file_ref"])

    return make


def _quote(session, v, choices=None):
    s = journey.save_quote(session, v, choices or {Cover.health: "comfort"}, [], today=utcnow().date(),
                           language=v.language)
    session.commit()
    return s


def _sign(session, s):
    today = utcnow().date()
    holder = journey.Holder(s.volunteer.first_name, s.volunteer.last_name, s.volunteer.email, "+1 212 555 0100",
                            "12 Main Street, New York")
    journey.start_adhesion(session, s, holder=holder, beneficiaries="My heirs", start_on=start_window(
        today, s.volunteer.mission_start, s.volunteer.mission_end)[0], accepted=True, today=today,
        translate=lambda t: t, broker_name="BIG")
    code = journey.send_signature_code(session, s)
    journey.sign_adhesion(session, s, journey.Evidence(f"{s.volunteer.first_name} {s.volunteer.last_name}", code,
                                                       s.document_sha256, "203.0.113.9", "TestBrowser/1.0"),
                          translate=lambda t: t, broker_name="BIG", seal_config=seal_config())
    session.commit()
    return s


def test_staff_find_subscriptions_by_name_file_or_reference_and_filter_by_state_and_cover(
        session, volunteer, make_user, login):
    lea, hugo = volunteer(), volunteer(first_name="Hugo", last_name="Bernard")
    volunteer(first_name="Zoé", last_name="Petit")  # no subscription
    quoted = _quote(session, lea, {Cover.health: "comfort", Cover.prevoyance: "standard"})
    signed = _sign(session, _quote(session, hugo))
    c = login(make_user(Role.account_manager))

    def refs(**args):
        html = c.get("/subscriptions/", query_string=args).get_data(as_text=True)
        return set(re.findall(r"ADH-\d{4}-[0-9A-F]+", html))

    assert refs() == {quoted.reference, signed.reference}
    assert refs(q="bernard") == refs(q="Hugo Bernard") == refs(q="BERNARD hugo") == {signed.reference}
    assert refs(q=lea.file_ref) == refs(q=quoted.reference.lower()) == {quoted.reference}
    assert refs(state="signed") == {signed.reference} and refs(state="quoted") == {quoted.reference}
    assert refs(cover="prevoyance") == {quoted.reference}
    assert refs(q="%") == set()
    html = c.get("/subscriptions/", query_string={"q": "petit"}).get_data(as_text=True)
    assert "Zoé Petit" in html  # a volunteer with no subscription is offered, to send a link
    assert c.get("/subscriptions/", query_string={"state": "nope"}).status_code == 400
    assert c.get("/subscriptions/", query_string={"q": "a\x00b"}).status_code == 400


def test_a_subscription_page_shows_the_quote_record_evidence_documents_and_events(session, volunteer, make_user,
                                                                                  login):
    s = _sign(session, _quote(session, volunteer(first_name="Hugo", last_name="Bernard")))
    c = login(make_user(Role.finance))
    html = c.get(f"/subscriptions/{s.public_id}").get_data(as_text=True)
    for text in (s.quote["covers"][0]["tariff"], s.quote["zone_table"], "203.0.113.9", "TestBrowser/1.0",
                 "Hugo Bernard", s.sealed_sha256, s.volunteer.file_ref, "Signed", "Quoted", "No payment yet",
                 "Adhesion signed"):
        assert text in html, text
    assert "Send a personal link" not in html  # finance reads only
    pdf = c.get(f"/subscriptions/{s.public_id}/adhesion.pdf")
    assert pdf.status_code == 200 and pdf.data == s.sealed_pdf and pdf.mimetype == "application/pdf"
    quoted = _quote(session, volunteer())
    assert c.get(f"/subscriptions/{quoted.public_id}/adhesion.pdf").status_code == 404
    assert c.get(f"/subscriptions/{'0' * 32}").status_code == 404


@pytest.mark.parametrize("role", [Role.admin, Role.account_manager])
def test_staff_send_a_personal_link_by_email_in_the_volunteers_language(role, app, session, volunteer, make_user,
                                                                         login):
    v = volunteer(language="fr")
    c = login(make_user(role))
    page = c.get(f"/subscriptions/volunteers/{v.public_id}").get_data(as_text=True)
    r = c.post(f"/subscriptions/volunteers/{v.public_id}/link",
               data={"csrf_token": csrf_from(page), "back": f"/subscriptions/volunteers/{v.public_id}"})
    assert r.status_code == 302 and r.location.endswith(f"/subscriptions/volunteers/{v.public_id}")
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.to == v.email)).one()
    assert message.template == "volunteer_link" and message.locale == "fr"
    assert "lien personnel" in message.subject.lower()
    url = re.search(r"https?://\S+/v/(\S+)", message.body_text)
    assert url, message.body_text
    events = session.scalars(select(FunnelEvent).where(FunnelEvent.volunteer_id == v.id)).all()
    assert [(e.stage, e.campaign_step) for e in events] == [(FunnelStage.invited, "manual")]
    # the link e-mailed opens the volunteer's own area, at the quote (nothing is under way yet)
    opened = app.test_client().get(f"/v/{url.group(1)}")
    assert opened.status_code == 302 and opened.location.endswith("/my-cover/quote")
    assert "No link issued yet" not in c.get(f"/subscriptions/volunteers/{v.public_id}").get_data(as_text=True)


def test_finance_and_compliance_read_but_cannot_send_a_link(session, volunteer, make_user, login):
    v = volunteer()
    for role in (Role.finance, Role.compliance):
        c = login(make_user(role))
        page = c.get(f"/subscriptions/volunteers/{v.public_id}")
        assert page.status_code == 200
        r = c.post(f"/subscriptions/volunteers/{v.public_id}/link",
                   data={"csrf_token": csrf_from(page.get_data(as_text=True))})
        assert r.status_code == 403
    assert session.scalars(select(OutboxMessage)).all() == []


def test_a_subscription_closed_by_the_end_of_the_mission_says_so(session, volunteer, make_user, login):
    v = volunteer(first_name="Hugo", last_name="Bernard")
    s = _quote(session, v)
    apply_events(session, [{"event": "radiation", "event_id": f"{v.file_ref}-2", "occurred_at": "2026-11-20T08:00:00Z",
                            "file_ref": v.file_ref, "end_date": "2026-12-31"}], now=datetime(2026, 12, 1, tzinfo=UTC))
    session.commit()
    c = login(make_user(Role.admin))
    assert s.reference in c.get("/subscriptions/", query_string={"state": "closed"}).get_data(as_text=True)
    html = c.get(f"/subscriptions/{s.public_id}").get_data(as_text=True)
    for text in ("Closed: the mission ended", "Dec 31, 2026", "Adhesion closed", "End of cover moved",
                 "Mission ended"):
        assert text in html, text

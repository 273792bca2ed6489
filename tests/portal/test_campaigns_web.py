"""The integration campaign end to end: `flask funnel campaigns run` queues the e-mail, the outbox worker sends it
through a real SMTP server (aiosmtpd), and the links it carries work over HTTP: the tracking pixel, the redirect
to the personal link (never elsewhere), the one-click unsubscribe (RFC 8058) and the refusal of tracking. Staff
preview each step in French and English and send themselves a test."""
from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from core.accounts import Role
from core.db import utcnow
from core.outbox import OutboxMessage, deliver_due
from core.transports import SmtpTransport
from funnel.campaign_models import CampaignPreference, CampaignSend
from funnel.roster import apply_events
from funnel.volunteers import find_volunteer
from portal.extensions import db
from tests.conftest import csrf_from

_n = iter(range(1, 10_000))
SENDER = "Portal <no-reply@portal.test>"


@pytest.fixture
def volunteer(session):
    def make(language="fr", country="DE", days_in=10):
        n = next(_n)
        now = utcnow()
        start = now.date() - timedelta(days=days_in)
        record = {"event": "affiliation", "event_id": f"BF-2026-C{n:05d}-1",
                  "occurred_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "file_ref": f"BF-2026-C{n:05d}", "first_name": "Léa", "last_name": "Martin",
                  "email": f"lea{n}@example.org", "birth_date": "2000-04-02", "programme": "VIE",
                  "mission_country": country, "mission_start": start.isoformat(),
                  "mission_end": (start + timedelta(days=364)).isoformat(), "language": language}
        assert apply_events(session, [record], now=now).results[0].outcome.value == "created"
        session.commit()
        return find_volunteer(session, file_ref=record["file_ref"])

    return make


def run_campaign(app, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["funnel", "campaigns", "run", *args])
    assert result.exit_code == 0, result.output
    return result.output


def deliver(app, smtp_server) -> list[EmailMessage]:
    with app.app_context():
        outcome = deliver_due(db.session, SmtpTransport("127.0.0.1", smtp_server.port, security="none"), SENDER,
                              batch=50)
        db.session.remove()
    assert outcome.failed == 0
    # as a mail program reads them (headers decoded, parts found by type)
    return [message_from_bytes(m.as_bytes(), policy=policy.default) for _rcpt, m in smtp_server.messages]


def parts(message) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_a_campaign_email_goes_out_once_with_its_links_and_headers(app, session, volunteer, smtp_server):
    lea = volunteer()
    assert "1 due, 1 queued" in run_campaign(app)
    assert "0 due, 0 queued" in run_campaign(app)  # a replay a few minutes later sends nothing
    [message] = deliver(app, smtp_server)
    assert len(deliver(app, smtp_server)) == 1  # the worker sends it once

    assert message["To"] == lea.email
    assert message["Subject"] == "Votre surcomplémentaire santé : votre devis personnel"
    unsubscribe = re.fullmatch(r"<(.+)>", message["List-Unsubscribe"]).group(1)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts(message)
    assert text.startswith("Bonjour Léa,") and unsubscribe in text
    click = re.search(r"(http\S+/c/l/\S+)", text).group(1)
    pixel = re.search(r'<img src="([^"]+/c/o/[^"]+)"', html).group(1)

    client = app.test_client()
    image = client.get(path(pixel))
    assert image.status_code == 200 and image.mimetype == "image/gif"
    followed = client.get(path(click))
    assert followed.status_code == 302 and re.fullmatch(r"/v/[\w-]+", path(followed.location))
    area = client.get(path(followed.location))  # the personal link signs her in
    assert area.status_code == 302 and "/my-cover" in area.location
    session.expire_all()
    send = session.scalars(select(CampaignSend)).one()
    assert (send.opens, send.clicks) == (1, 1) and send.first_opened_at is not None


def test_a_click_link_leads_only_to_our_own_pages(app, session, volunteer):
    volunteer()
    run_campaign(app)
    client = app.test_client()
    assert client.get("/c/l/not-a-signed-token").status_code == 404
    with app.test_request_context():
        from portal.campaigns.mail import sign

        send = session.scalars(select(CampaignSend)).one()
        forged = sign("click", {"s": send.public_id, "k": "https://evil.example/", "t": "x"})
        other_purpose = sign("open", {"s": send.public_id, "k": "area", "t": "x"})
    assert client.get(f"/c/l/{forged}").status_code == 404
    assert client.get(f"/c/l/{other_purpose}").status_code == 404
    assert client.get("/c/o/tampered").status_code == 200  # the pixel always answers; it counts nothing
    session.expire_all()
    assert session.scalars(select(CampaignSend)).one().clicks == 0


def test_one_click_unsubscribe_stops_the_campaign_without_sign_in(app, session, volunteer, smtp_server):
    lea = volunteer(days_in=5)
    run_campaign(app)
    [message] = deliver(app, smtp_server)
    url = path(re.fullmatch(r"<(.+)>", message["List-Unsubscribe"]).group(1))
    client = app.test_client()
    page = client.get(url)  # a link checker's visit changes nothing
    assert page.status_code == 200 and "Ne plus recevoir" in page.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(CampaignPreference)) == 0
    # RFC 8058: the mail client posts this body, with no session and no CSRF token
    done = client.post(url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200 and "ne recevrez plus" in done.get_data(as_text=True)
    session.expire_all()
    assert session.scalars(select(CampaignPreference)).one().unsubscribed_at is not None
    # five days later the J+10 e-mail is due: nothing is sent to her
    later = (utcnow() + timedelta(days=5)).isoformat()
    assert "0 due" in run_campaign(app, "--now", later)
    assert session.scalar(select(func.count()).select_from(CampaignSend).where(
        CampaignSend.volunteer_id == lea.id)) == 1


def test_a_volunteer_who_refuses_tracking_is_not_measured(app, session, volunteer, smtp_server):
    volunteer(days_in=5, language="en")
    run_campaign(app)
    [first] = deliver(app, smtp_server)
    url = path(re.fullmatch(r"<(.+)>", first["List-Unsubscribe"]).group(1))
    client = app.test_client()
    page = client.post(url, data={"choice": "tracking"})
    assert "no longer measured" in page.get_data(as_text=True)
    _text, html = parts(first)
    client.get(path(re.search(r'<img src="([^"]+)"', html).group(1)))  # images loaded after the refusal
    session.expire_all()
    assert session.scalars(select(CampaignSend)).one().opens == 0
    # the next e-mail still comes, with no pixel and the personal link direct (not through our redirect)
    run_campaign(app, "--now", (utcnow() + timedelta(days=5)).isoformat())
    second = deliver(app, smtp_server)[-1]
    text, html = parts(second)
    assert second["Subject"] == "Your top-up health cover: your personal quote"
    assert "/c/o/" not in html and "/c/l/" not in text and re.search(r"/v/[\w-]+", text)


def test_staff_preview_each_step_in_both_languages_and_send_a_test_to_themselves(app, session, make_user, login):
    admin = make_user(Role.admin, email="ops@broker.example")
    client = login(admin)
    plan = client.get("/campaigns/").get_data(as_text=True)
    assert "74 %" in plan and "J+10" in plan and "M+3" in plan
    fr = client.get("/campaigns/preview?step=d10-top-up&lang=fr").get_data(as_text=True)
    en = client.get("/campaigns/preview?step=d10-top-up&lang=en").get_data(as_text=True)
    assert "Bonjour Camille," in fr and "Hello Camille," in en and "/v/sample-link" in en
    assert client.get("/campaigns/preview?step=unknown&lang=fr").status_code == 404
    assert client.get("/campaigns/preview?step=d10-top-up&lang=de").status_code == 404
    r = client.post("/campaigns/preview/test", data={"csrf_token": csrf_from(fr), "step": "d15-us-care",
                                                     "lang": "en"})
    assert r.status_code == 302
    message = session.scalars(select(OutboxMessage)).one()
    assert message.to == "ops@broker.example" and message.subject.startswith("[TEST] Getting care in the United")
    assert "/c/o/" not in (message.body_html or "")
    assert session.scalar(select(func.count()).select_from(CampaignSend)) == 0


def test_partners_and_finance_cannot_open_the_campaign_pages(make_user, login, make_org):
    from core.accounts import PartnerStatus

    for user in (make_user(Role.finance), make_user(Role.partner_admin, make_org(PartnerStatus.specialist_broker))):
        assert login(user).get("/campaigns/").status_code == 403

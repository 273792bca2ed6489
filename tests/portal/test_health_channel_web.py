"""The secure channel through the portal: the account manager e-mails the client a link in the client's language,
the client uploads and answers on a public page (CSRF, refusals shown), staff read and download (never cached,
audited), every other role is turned away, and the retention command purges the bytes."""
from __future__ import annotations

import io
import re
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from core.accounts import PartnerStatus, Role
from core.audit import AuditEvent
from core.db import utcnow
from core.outbox import OutboxMessage
from pipeline.cases.models import CaseStatus
from pipeline.channel.models import HealthDocument, HealthLink
from tests.conftest import csrf_from
from tests.pipeline.case_data import walk

SECRET = b"HbA1c 9.1% - insulin glargine"
PDF = b"%PDF-1.4\n% " + SECRET + b"\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
URL_RE = re.compile(r"https?://\S+/secure/(\S+)")


@pytest.fixture
def case(session, broker, new_case, manager):
    case = new_case(broker, language="fr")
    walk(session, manager, case, CaseStatus.needs_analysis)
    return case


def _send_link(c, case, days="7"):
    page = c.get(f"/cases/{case.public_id}/health")
    assert page.status_code == 200
    return c.post(f"/cases/{case.public_id}/health/link",
                  data={"csrf_token": csrf_from(page.get_data(as_text=True)), "days": days})


@pytest.fixture
def token(session, case, manager, login):
    response = _send_link(login(manager), case)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    message = session.scalars(select(OutboxMessage).where(OutboxMessage.to == case.client_email)).one()
    return URL_RE.search(message.body_text).group(1)


def _upload(client, token, data, filename="scan.pdf"):
    page = client.get(f"/secure/{token}")
    assert page.status_code == 200
    # encoded in memory: the test client would spool a large body to a temporary file it never closes
    boundary, body = encode_multipart({"csrf_token": csrf_from(page.get_data(as_text=True)),
                                       "document": FileStorage(io.BytesIO(data), filename)})
    return client.post(f"/secure/{token}/upload", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


@pytest.fixture
def document(session, app, token) -> HealthDocument:
    response = _upload(app.test_client(), token, PDF)
    assert response.status_code == 302, response.get_data(as_text=True)[:600]
    return session.scalars(select(HealthDocument)).one()


def _refusal(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


# --- sending the link ------------------------------------------------------------------------------------------

def test_the_link_goes_by_email_in_the_clients_language_and_only_its_hash_is_kept(session, case, token):
    message = session.scalars(select(OutboxMessage)).one()
    assert message.locale == "fr" and message.to == case.client_email
    assert "Votre lien sécurisé" in message.subject
    link = session.scalars(select(HealthLink)).one()
    assert token not in (link.token_hash, link.public_id)
    assert session.execute(text("SELECT count(*) FROM health_links WHERE token_hash = :t"), {"t": token}).scalar() == 0


def test_the_client_page_opens_in_their_language_and_is_not_cached(app, token):
    page = app.test_client().get(f"/secure/{token}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Votre espace sécurisé" in page.get_data(as_text=True)


def test_a_tampered_expired_or_revoked_link_shows_nothing(session, app, case, token, manager, login):
    client = app.test_client()
    assert client.get(f"/secure/{token[:-2]}xx").status_code == 404
    link = session.scalars(select(HealthLink)).one()
    c = login(manager)
    page = c.get(f"/cases/{case.public_id}/health").get_data(as_text=True)
    assert c.post(f"/cases/{case.public_id}/health/links/{link.public_id}/revoke",
                  data={"csrf_token": csrf_from(page)}).status_code == 302
    assert client.get(f"/secure/{token}").status_code == 404
    assert client.post(f"/secure/{token}/upload", data={}).status_code in (400, 404)
    # a new link, then its expiry
    _send_link(c, case)
    fresh = session.scalars(select(HealthLink).where(HealthLink.revoked_at.is_(None))).one()
    assert client.get("/secure/" + URL_RE.search(session.scalars(select(OutboxMessage).order_by(
        OutboxMessage.id.desc())).first().body_text).group(1)).status_code == 200
    session.execute(text("UPDATE health_links SET expires_at = :t WHERE id = :i"),
                    {"t": utcnow() - timedelta(minutes=1), "i": fresh.id})
    session.commit()
    last = URL_RE.search(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
                         .body_text).group(1)
    assert client.get(f"/secure/{last}").status_code == 404


# --- uploads ---------------------------------------------------------------------------------------------------

def test_an_upload_is_stored_encrypted_and_listed_for_staff(session, document, case, manager, login):
    stored = bytes(session.execute(text("SELECT data_encrypted FROM health_documents")).scalar_one())
    assert SECRET not in stored and document.size == len(PDF) and document.content_type == "application/pdf"
    page = login(manager).get(f"/cases/{case.public_id}/health")
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "scan.pdf" in html and document.sha256[:16] in html


def test_a_file_of_another_kind_is_refused_with_a_clear_message(session, app, token):
    response = _upload(app.test_client(), token, b"MZ\x90\x00 program", filename="results.pdf")
    assert response.status_code == 422
    assert "This kind of file is not accepted" in _refusal(response) or "n’est pas accepté" in _refusal(response) \
        or "pas accepté" in _refusal(response)
    assert session.scalars(select(HealthDocument)).all() == []


def test_a_file_too_large_is_refused(session, app, token, monkeypatch):
    monkeypatch.setitem(app.config, "HEALTH_UPLOAD_MAX_MB", 1)
    response = _upload(app.test_client(), token, PDF + b"0" * (1024 * 1024))
    assert response.status_code == 422 and session.scalars(select(HealthDocument)).all() == []


def test_the_scan_hook_refuses_infected_files_and_scanner_errors(session, app, token, monkeypatch, tmp_path):
    scanner = tmp_path / "scan.py"
    scanner.write_text("import sys\ndata = open(sys.argv[-1], 'rb').read()\n"
                       "sys.exit(1 if b'EICAR-STANDIN' in data else 3 if b'CRASH' in data else 0)\n")
    monkeypatch.setitem(app.config, "UPLOAD_SCAN_COMMAND", f"{sys.executable} {scanner}")
    client = app.test_client()
    assert _upload(client, token, PDF + b"EICAR-STANDIN").status_code == 422
    assert _upload(client, token, PDF + b"CRASH").status_code == 503
    assert session.scalars(select(HealthDocument)).all() == []
    refused = session.scalars(select(AuditEvent).where(AuditEvent.action == "health_document.refused")
                              .order_by(AuditEvent.id)).all()
    assert [e.details()["code"] for e in refused] == ["upload_infected", "upload_scan_failed"]
    assert _upload(client, token, JPEG).status_code == 302
    assert session.scalars(select(HealthDocument.content_type)).all() == ["image/jpeg"]


def test_the_client_forms_need_their_csrf_token(session, app, token):
    client = app.test_client()
    client.get(f"/secure/{token}")
    response = client.post(f"/secure/{token}/upload", content_type="multipart/form-data",
                           data={"document": (io.BytesIO(PDF), "a.pdf")})
    assert response.status_code == 400 and session.scalars(select(HealthDocument)).all() == []


# --- answers ---------------------------------------------------------------------------------------------------

def test_the_client_answers_and_staff_read_them(session, app, case, token, make_user, login):
    client = app.test_client()
    csrf = csrf_from(client.get(f"/secure/{token}").get_data(as_text=True))
    answers = {"csrf_token": csrf, "treatment": "yes", "treatment_details": "", "hospital": "no", "chronic": "no",
               "pregnancy": "no"}
    assert client.post(f"/secure/{token}/answers", data=answers).status_code == 422  # details, smoker missing
    answers.update(treatment_details="Marc: metformin twice a day", smoker="no")
    assert client.post(f"/secure/{token}/answers", data=answers).status_code == 302
    stored = bytes(session.execute(text("SELECT answers_encrypted FROM health_answers")).scalar_one())
    assert b"metformin" not in stored
    html = login(make_user(Role.compliance)).get(f"/cases/{case.public_id}/health").get_data(as_text=True)
    assert "Marc: metformin twice a day" in html


# --- who may read and download --------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.account_manager, Role.admin, Role.compliance])
def test_staff_who_may_download_get_the_file_uncached_and_audited(session, document, case, make_user, login, role):
    user = make_user(role)
    response = login(user).get(f"/cases/{case.public_id}/health/documents/{document.public_id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Cache-Control"] == "no-store" and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "health_document.downloaded")).all()
    assert [(e.actor_id, e.details()["document"]) for e in events] == [(user.id, document.public_id)]


def _others(make_user, make_broker, make_introducer, broker):
    """Every reader who must not see it: finance, the case's own firm (admin and member), another broker, an
    introducer."""
    return {"finance": make_user(Role.finance),
            "own firm admin": broker,
            "own firm member": make_user(Role.partner_member, broker.organisation),
            "other broker": make_broker(status=PartnerStatus.generalist_broker),
            "introducer": make_introducer()}


def test_partners_finance_and_introducers_never_reach_the_channel(session, document, case, login, make_user,
                                                                  make_broker, make_introducer, broker):
    link = session.scalars(select(HealthLink)).one()
    base = f"/cases/{case.public_id}/health"
    for who, user in _others(make_user, make_broker, make_introducer, broker).items():
        c = login(user)
        for method, url in (("GET", base), ("GET", f"{base}/documents/{document.public_id}"),
                            ("POST", f"{base}/link"), ("POST", f"{base}/links/{link.public_id}/revoke")):
            response = c.open(url, method=method)
            assert response.status_code in ((403, 404) if method == "GET" else (400, 403, 404)), (who, url)
            assert response.data != PDF
        case_page = c.get(f"/cases/{case.public_id}").get_data(as_text=True)
        assert base not in case_page, who
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "health_document.downloaded")).all() == []


def test_compliance_reads_but_does_not_send_links(case, make_user, login):
    c = login(make_user(Role.compliance))
    page = c.get(f"/cases/{case.public_id}/health")
    assert page.status_code == 200 and "/health/link" not in page.get_data(as_text=True)
    assert c.post(f"/cases/{case.public_id}/health/link",
                  data={"csrf_token": csrf_from(page.get_data(as_text=True)), "days": "7"}).status_code == 403


def test_the_case_page_links_to_the_channel_for_its_readers(case, manager, login):
    assert f"/cases/{case.public_id}/health" in login(manager).get(f"/cases/{case.public_id}").get_data(as_text=True)


# --- retention -------------------------------------------------------------------------------------------------

def test_the_purge_command_removes_the_bytes_and_says_how_many(session, app, document, case, manager, login):
    walk(session, manager, case, CaseStatus.withdrawn)
    session.execute(text("UPDATE cases SET stage_entered_at = :t WHERE id = :i"),
                    {"t": utcnow() - timedelta(days=91), "i": case.id})
    session.commit()
    result = app.test_cli_runner().invoke(args=["cases", "purge-health-documents"])
    assert result.exit_code == 0, result.output
    assert "purged 1 document(s) and 0 set(s) of answers from 1 case(s)" in result.output
    assert session.execute(text("SELECT data_encrypted FROM health_documents")).scalar_one() is None
    response = login(manager).get(f"/cases/{case.public_id}/health/documents/{document.public_id}")
    assert response.status_code == 302 and response.data != PDF
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "health_channel.purged")).one()
    assert event.details()["documents"] == 1


def test_the_client_pages_are_rate_limited(app, monkeypatch):
    """Guessing tokens is slow: 30 tries an hour from one address, then 429 (a wrong token counts too)."""
    from portal.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", True)  # one object for every app: another test may have turned it off
    client = app.test_client()
    codes = [client.get(f"/secure/guess{n}").status_code for n in range(31)]
    assert codes[:30] == [404] * 30 and codes[30] == 429

"""Data subjects on the web: compliance and the administrators look a person up (their details in the POST body,
never in the URL), export what is held on them, and erase it; nobody else may."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.accounts import Role
from core.audit import AuditEvent
from pipeline.leads.models import Lead
from tests.conftest import csrf_from


def _post(client, url, data, page="/privacy"):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def test_compliance_finds_a_person_across_leads_cases_and_consents(session, make_user, login, introducer, broker,
                                                                   new_lead, new_case):
    new_lead(introducer, "Ana")
    new_case(broker, "Ana", client_last_name="Silva")
    new_case(broker, "Marc")
    officer = make_user(Role.compliance, email="officer@broker.test")
    c = login(officer)
    page = _post(c, "/privacy", {"query": "ana@example.org"}).get_data(as_text=True)
    assert "Records found: 4" in page and "Ana Silva" in page and "Marc" not in page
    assert "Lead" in page and "Case" in page and "Consent" in page
    # each record's state in words, in the reader's language
    assert "<td>Given</td>" in page and "<td>given</td>" not in page and "<td>submitted</td>" not in page
    officer.locale = "fr"
    session.commit()
    page = _post(c, "/privacy", {"query": "ana@example.org"}).get_data(as_text=True)
    assert "<td>Donné</td>" in page
    officer.locale = "en"
    session.commit()
    page = _post(c, "/privacy", {"query": "nobody@example.org"}).get_data(as_text=True)
    assert "Nothing is held on this person." in page


@pytest.mark.parametrize("role", [Role.finance, Role.account_manager])
def test_other_staff_may_not_look_people_up(make_user, login, role):
    c = login(make_user(role, email=f"{role.value}@broker.test"))
    assert c.get("/privacy").status_code == 403


def test_a_partner_may_not_look_people_up(login, broker):
    assert login(broker).get("/privacy").status_code == 403


def test_compliance_downloads_the_export_as_json(session, make_user, login, introducer, broker, new_lead, new_case):
    lead = new_lead(introducer, "Ana")
    new_case(broker, "Marc")
    c = login(make_user(Role.compliance, email="officer@broker.test"))
    r = _post(c, "/privacy/export", {"query": "ana@example.org"})
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert "attachment" in r.headers["Content-Disposition"] and r.headers["Cache-Control"] == "no-store"
    body = json.loads(r.get_data(as_text=True))
    assert [row["id"] for row in body["packages"]["pipeline"]["leads"]] == [lead.public_id]
    assert "Marc" not in r.get_data(as_text=True)
    session.expire_all()
    logged = session.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.exported")).one()
    assert logged.actor_label == "officer@broker.test" and "ana" not in logged.data.lower()


def test_the_export_command_prints_json(app, session, introducer, new_lead):
    lead = new_lead(introducer, "Ana")
    result = app.test_cli_runner().invoke(args=["privacy", "export", "Ana@Example.org"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["format"] == "portal.data-subject-export/1"
    assert body["packages"]["pipeline"]["leads"][0]["id"] == lead.public_id


def test_compliance_erases_a_person_after_confirming(session, make_user, login, introducer, new_lead):
    lead = new_lead(introducer, "Ana")
    c = login(make_user(Role.compliance, email="officer@broker.test"))
    refused = _post(c, "/privacy/erase", {"query": "ana@example.org"})
    assert refused.status_code == 422 and "Confirm the erasure first." in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Lead, lead.id).email == "ana@example.org"
    done = _post(c, "/privacy/erase", {"query": "ana@example.org", "confirm": "y"})
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "Erasure done" in page and "Records pseudonymised: 1" in page
    session.expire_all()
    assert session.get(Lead, lead.id).email is None and session.get(Lead, lead.id).first_name == "—"
    logged = session.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.erased")).one()
    assert logged.actor_label == "officer@broker.test" and "ana" not in logged.data.lower()


def test_the_erase_command_reports_what_it_kept(app, session, introducer, new_lead):
    lead = new_lead(introducer, "Ana")
    result = app.test_cli_runner().invoke(args=["privacy", "erase", "ana@example.org", "--yes"])
    assert result.exit_code == 0, result.output
    assert "1 pseudonymised" in result.output and "0 kept under a legal duty" in result.output
    session.expire_all()
    assert session.get(Lead, lead.id).email is None
    again = app.test_cli_runner().invoke(args=["privacy", "erase", "ana@example.org", "--yes"])
    assert again.exit_code == 1 and "Nothing is held on this person." in again.output


def test_the_purge_command_uses_the_configured_retention(app, session, introducer, new_lead):
    lead = new_lead(introducer, "Ana")
    lead.created_at = lead.created_at - timedelta(days=400)
    session.commit()
    result = app.test_cli_runner().invoke(args=["privacy", "purge-leads"])
    assert result.exit_code == 0, result.output
    assert "1 lead(s) not converted within 365 days purged" in result.output
    session.expire_all()
    assert session.get(Lead, lead.id).email is None
    again = app.test_cli_runner().invoke(args=["privacy", "purge-leads", "--days", "10"])
    assert "0 lead(s) not converted within 10 days purged" in again.output

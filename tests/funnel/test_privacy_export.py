"""The data subject's export, without the web: each package answers for what it holds (compliance orchestrates),
the ledger for the contracts the others found; the export is audited without the person's details."""
from __future__ import annotations

import json

from sqlalchemy import select

from compliance import privacy
from core.audit import AuditEvent
from tests.funnel.privacy_data import EMAIL, FIRST, LAST, PHONE, hold_ana
from tests.funnel.privacy_holders import register_all


def test_the_export_carries_everything_held_package_by_package(session, products, manager, broker, introducer,
                                                              make_volunteer):
    register_all()
    held = hold_ana(session, manager=manager, broker=broker, introducer=introducer, make_volunteer=make_volunteer)
    body = privacy.export(session, manager, privacy.Subject(email=EMAIL.upper()))
    session.commit()
    json.dumps(body)  # machine-readable as it is
    packages = body["packages"]
    assert [lead["id"] for lead in packages["pipeline"]["leads"]] == [held.lead.public_id]
    case = packages["pipeline"]["cases"][0]
    assert case["id"] == held.case.public_id and case["phone"] == PHONE
    assert case["contract"]["policy_number"] == "POL-ANA-1"
    assert any(PHONE in (m["partner_note"] or "") for m in case["milestones"])
    receipts = {c["id"]: c for c in packages["pipeline"]["consents"]}
    withdrawn = receipts[held.case.consent.public_id]
    assert withdrawn["withdrawals"][0]["scope"] == "cc_on_milestones" and withdrawn["jurisdiction"] == "AE"
    assert [e["contract"] for e in packages["ledger"]["journal_entries"]] == [held.contract.public_id]
    assert packages["ledger"]["journal_entries"][0]["client_initials"] == "A.S."
    volunteer = packages["funnel"]["volunteers"][0]
    assert volunteer["email"] == EMAIL and volunteer["subscriptions"][0]["holder"]["phone"] == PHONE
    assert volunteer["subscriptions"][0]["consent"]["collection_method"] == "volunteer_adhesion"
    assert packages["complaints"]["complaints"][0]["complainant_name"] == f"{FIRST} {LAST}"
    assert "Marc" not in json.dumps(body)
    assert {e["action"] for e in body["audit_trail"]} >= {"lead.submitted", "case.submitted"}
    logged = session.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.exported")).one()
    assert EMAIL not in logged.data.lower() and FIRST not in logged.data
    assert logged.details()["packages"] == ["complaints", "funnel", "ledger", "pipeline"]

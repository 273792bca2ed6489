"""Retention: the leads never converted into a case are erased once the retention period has passed (their
personal data pseudonymised, the keys of their sealed reasons destroyed), audited with the count only."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core import audit
from core.audit import AuditEvent
from core.db import utcnow
from pipeline.cases.services import convert_lead
from pipeline.leads.models import Lead
from pipeline.privacy import purge_leads
from pipeline.withdrawals import withdraw_consent
from tests.pipeline.case_data import case_input


def test_leads_not_converted_in_time_are_purged_once(session, manager, introducer, new_lead):
    stale = new_lead(introducer, "Ana")
    withdraw_consent(session, manager, stale, scope="cc_on_milestones", reason="Ana Silva asked by phone, no copies")
    converted = new_lead(introducer, "Bea")
    convert_lead(session, manager, converted, case_input("Bea"))
    session.commit()
    later = utcnow() + timedelta(days=31)
    assert purge_leads(session, retention_days=60, now=later) == 0  # not stale yet
    recent = new_lead(introducer, "Carl")
    recent.created_at = later - timedelta(days=5)
    session.commit()

    assert purge_leads(session, retention_days=30, now=later) == 1
    session.commit()
    session.expire_all()
    purged = session.get(Lead, stale.id)
    assert (purged.email, purged.phone, purged.first_name, purged.need_summary) == (None, None, "—", None)
    assert purged.last_name.startswith("purged-") and purged.erased_at is not None
    assert purged.consent.withdrawals[0].reason is None  # its key destroyed
    assert session.get(Lead, converted.id).email == "bea@example.org"
    assert session.get(Lead, recent.id).email == "carl@example.org"
    logged = session.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.leads_purged")
                             .order_by(AuditEvent.seq)).all()
    assert [e.details()["leads"] for e in logged] == [0, 1] and logged[-1].details()["retention_days"] == 30
    assert "ana" not in logged[-1].data.lower()
    assert purge_leads(session, retention_days=30, now=later) == 0  # an erased lead is not counted again
    withdrawn = session.scalars(select(AuditEvent).where(AuditEvent.action == "consent.withdrawn")).one()
    assert withdrawn.details()["personal"] == "erased"
    assert audit.verify(session) == []

"""The erasure of a data subject, end to end and without the web: after it no personal field of the person can be
found in any table (their notes, reasons, raw roster records and audit details crypto-shredded), the audit chain
and the ledger still verify and the books balance; a placed contract keeps its records, restricted, with the
reason and the day the duty ends."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import JSON, LargeBinary, String, Text, func, select

from compliance import privacy
from compliance.errors import NothingHeld
from compliance.privacy_models import ErasureRequest, Restriction
from core import audit
from core.audit import AuditEvent
from core.db import Base
from core.subject_keys import SubjectKey
from ledger import integrity
from ledger.balances import trial_balance
from compliance.cc_policy import CcReason
from core.outbox import OutboxMessage
from pipeline.cases.models import Case, CaseStatus as S, CcLog, CcOutcome, Milestone
from pipeline.cases.pipeline import move
from pipeline.channel import links
from pipeline.channel.errors import ChannelRefused
from pipeline.channel.models import HealthAnswers, HealthDocument, HealthLink
from pipeline.leads.models import ConsentWithdrawal, Lead
from tests.funnel.privacy_data import EMAIL, FIRST, LAST, PHONE, TODAY, hold_ana
from tests.funnel.privacy_holders import register_all

NEEDLES = (EMAIL, f"{FIRST} {LAST}", LAST, PHONE, PHONE.replace(" ", ""))

#: every column that can hold a data subject's personal data, and what the erasure does with it (the scan below
#: covers every text column of every table: this list says where the person is found before the erasure)
PERSONAL_COLUMNS = {
    "leads": ("first_name", "last_name", "email", "phone", "match_email", "match_phone", "match_name",
              "need_summary"),                                       # pseudonymised
    "cases": ("client_first_name", "client_last_name", "client_email", "client_phone", "current_cover"),
    "milestones": ("partner_note", "internal_note"),                 # sealed under the case's key: shredded
    "consent_withdrawals": ("reason",),                              # sealed under the consent's key: shredded
    "audit_events": ("data",),                                       # personal details sealed: shredded
    "volunteers": ("first_name", "last_name", "email"),              # pseudonymised
    "subscriptions": ("holder", "beneficiaries"),                    # pseudonymised
    "roster_events": ("payload",),                                   # sealed under the file's key: shredded
    "complaints": ("complainant_name", "complainant_email", "description"),  # pseudonymised, texts scrubbed
    "outbox_messages": ("to", "subject", "body_text", "payload"),    # scrubbed
    "health_links": ("sent_to",),                                    # replaced by the pseudonym's address
}


def found_in(session) -> set[tuple[str, str]]:
    """(table, column) of every text, JSON or binary column holding any of the person's identifiers, read as
    stored (sealed values are not opened)."""
    hits = set()
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON, LargeBinary))]
        for column in columns:
            for (value,) in session.execute(select(column).where(column.is_not(None))):
                text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                if any(n.casefold() in text.casefold() for n in NEEDLES):
                    hits.add((table.name, column.name))
    return hits


@pytest.fixture
def ana(session, products, manager, broker, introducer, make_volunteer, request):
    register_all()
    return hold_ana(session, manager=manager, broker=broker, introducer=introducer, make_volunteer=make_volunteer,
                    placed=request.param)


@pytest.mark.parametrize("ana", [False], indirect=True)
def test_after_the_erasure_no_column_yields_the_person(session, ana, manager):
    before = found_in(session)
    expected = {(t, c) for t, cols in PERSONAL_COLUMNS.items() for c in cols}
    assert before <= expected, f"personal data where the list says none: {before - expected}"
    assert {("leads", "email"), ("cases", "client_phone"), ("volunteers", "email"), ("complaints", "description"),
            ("outbox_messages", "to"), ("health_links", "sent_to")} <= before
    # what she sent through the secure channel is there, encrypted under the case keys
    assert session.scalars(select(HealthDocument).where(HealthDocument.case_id == ana.case.id)).one().data_encrypted
    exported = privacy.export(session, manager, privacy.Subject(email=EMAIL))
    channel = next(c for c in exported["packages"]["pipeline"]["cases"] if c["id"] == ana.case.public_id)[
        "secure_channel"]
    assert channel["links"][0]["sent_to"] == EMAIL and channel["documents"][0]["content_type"] == "application/pdf"
    assert len(channel["answers"]) == 1 and channel["documents"][0]["purged_at"] is None
    # as stored, the append-only notes and reasons are sealed already: readable only through their keys
    assert ("milestones", "partner_note") not in before and ("consent_withdrawals", "reason") not in before
    note = session.scalars(select(Milestone).where(Milestone.case_id == ana.case.id, Milestone.partner_note_sealed
                                                   .is_not(None))).first()
    assert PHONE in note.partner_note
    withdrawn = session.scalars(select(AuditEvent).where(AuditEvent.action == "consent.withdrawn")).one()
    assert LAST in withdrawn.details()["reason"] and LAST not in withdrawn.data

    request = privacy.erase(session, manager, privacy.Subject(email=EMAIL))
    session.commit()
    session.expire_all()
    session.info.clear()

    assert found_in(session) == set()
    assert note.partner_note is None and note.partner_note_sealed.startswith("sealed:v1:")
    assert session.scalars(select(ConsentWithdrawal)).one().reason is None
    assert withdrawn.details()["personal"] == "erased" and "reason" not in withdrawn.details()
    assert session.get(Case, ana.case.id).client_last_name == request.pseudonym
    # her documents and answers are deleted, her link no longer works nor names her
    document = session.scalars(select(HealthDocument).where(HealthDocument.case_id == ana.case.id)).one()
    answers = session.scalars(select(HealthAnswers).where(HealthAnswers.case_id == ana.case.id)).one()
    assert document.data_encrypted is None and document.filename_encrypted is None and document.purged_at
    assert answers.answers_encrypted is None and answers.purged_at
    link = session.scalars(select(HealthLink).where(HealthLink.case_id == ana.case.id)).one()
    assert link.revoked_at is not None and link.sent_to == f"{request.pseudonym}@erased.invalid"
    assert request.summary["purged"] == 1
    # the chains and the books are untouched
    assert audit.verify(session) == []
    assert integrity.verify(session) == []
    totals = {}
    for accounts in trial_balance(session).values():
        for account, balance in accounts:
            totals[account.currency] = totals.get(account.currency, 0) + balance
    assert totals and all(total == 0 for total in totals.values())
    # Marc is untouched, and nothing is found of Ana any more
    assert session.get(Case, ana.other_case.id).client_first_name == "Marc"
    assert privacy.look_up(session, privacy.Subject(email=EMAIL)) == []
    with pytest.raises(NothingHeld):
        privacy.erase(session, manager, privacy.Subject(email=EMAIL))
    # the erasure is audited with counts and the pseudonym only
    logged = session.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.erased")).one()
    assert logged.subject_id == request.public_id and not any(n.casefold() in logged.data.casefold() for n in NEEDLES)
    assert request.summary["pseudonymised"] >= 5 and request.summary["shredded"] >= 4
    assert session.scalars(select(SubjectKey).where(SubjectKey.key.is_(None))).first() is not None


@pytest.mark.parametrize("ana", [True], indirect=True)
def test_a_placed_contract_keeps_its_records_restricted_until_the_duty_ends(session, ana, manager):
    request = privacy.erase(session, manager, privacy.Subject(email=EMAIL))
    session.commit()
    assert request.summary["restricted"] >= 2
    restrictions = {(r.kind, r.ref): r for r in session.scalars(select(Restriction))}
    case = restrictions[("case", ana.case.public_id)]
    end = ana.contract.terms[-1].end_date
    assert case.keep_until == date(end.year + 5, end.month, end.day) and "5 years" in case.reason
    # her lead was never converted into that case: it is not part of the contract's records
    assert ("lead", ana.lead.public_id) not in restrictions and session.get(Lead, ana.lead.id).email is None
    entry = next(r for (kind, _), r in restrictions.items() if kind == "journal_entry")
    assert entry.keep_until == date(TODAY.year + 10, TODAY.month, TODAY.day)
    # kept as they were: the case still names her; the rest of her data is erased
    assert session.get(Case, ana.case.id).client_email == EMAIL
    assert ana.volunteer.email.endswith("@erased.invalid")
    assert privacy.restricted_refs(session) >= {ana.case.public_id}
    # kept, not used: no link to the secure channel is sent to her, no later milestone reaches her or her partner
    case = session.get(Case, ana.case.id)
    with pytest.raises(ChannelRefused, match="asked to be erased"):
        links.issue_link(session, manager, case)
    session.rollback()
    before = session.scalar(select(func.count()).select_from(OutboxMessage))
    move(session, manager, case, S.active)
    move(session, manager, case, S.renewal_due)
    session.commit()
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == before
    log = session.scalars(select(CcLog).where(CcLog.case_id == case.id).order_by(CcLog.id.desc())).first()
    assert log.outcome is CcOutcome.withheld and log.reason is CcReason.processing_restricted
    assert session.scalars(select(ErasureRequest)).one().summary["restricted"] == len(restrictions)
    assert audit.verify(session) == [] and integrity.verify(session) == []


@pytest.mark.parametrize("ana", [True], indirect=True)
def test_the_case_page_says_the_case_is_kept_not_used(session, ana, manager, broker, login):
    privacy.erase(session, manager, privacy.Subject(email=EMAIL))
    session.commit()
    for user in (manager, broker):
        page = login(user).get(f"/cases/{ana.case.public_id}").get_data(as_text=True)
        assert "Processing restricted." in page and "5 years after it ends" in page
        assert "nothing more is sent to the client or copied to the partner" in page
    other = login(manager).get(f"/cases/{ana.other_case.public_id}").get_data(as_text=True)
    assert "Processing restricted." not in other

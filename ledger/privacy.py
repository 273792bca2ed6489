"""What the ledger holds about a data subject, for compliance.privacy: the journal entries of their contracts. The
ledger knows no client: it answers for the contracts the pipeline and the funnel found (`Subject.contracts`), and
its entries keep only the amounts, dates, policy references and the client's initials the events carried."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from compliance import privacy
from compliance.privacy import Erasure, Holding, Subject

from .models import JournalEntry


def _entries(session: Session, subject: Subject) -> list[JournalEntry]:
    if not subject.contracts:
        return []
    return list(session.scalars(select(JournalEntry).where(JournalEntry.contract_ref.in_(sorted(subject.contracts)))
                                .options(selectinload(JournalEntry.postings)).order_by(JournalEntry.id)))


def find(session: Session, subject: Subject) -> list[Holding]:
    return []  # the entries are listed on the contracts the lookup shows; the export carries them


def export(session: Session, subject: Subject) -> dict:
    return {"journal_entries": [
        {"id": e.public_id, "effective_date": e.effective_date.isoformat(), "description": e.description,
         "contract": e.contract_ref, "term": e.term, "event_kind": e.event_kind,
         "client_initials": (e.details or {}).get("client_initials"),
         "postings": [{"amount_minor": p.amount_minor, "currency": p.currency} for p in e.postings]}
        for e in _entries(session, subject)]}


def erase(session: Session, subject: Subject, erasure: Erasure) -> None:
    """The books are kept whole (amounts, dates, policy references, the initials the events carried): accounting
    records, restricted for 10 years after their date. Nothing in them is rewritten, so they still verify."""
    for entry in _entries(session, subject):
        until = privacy.years_after(entry.effective_date, privacy.ACCOUNTING_RETENTION_YEARS)
        erasure.done("journal_entry", entry.public_id, "restricted", privacy.ACCOUNTING_RETENTION, until)


HOLDER = privacy.register(privacy.Holder("ledger", find=find, export=export, erase=erase, direct=False))

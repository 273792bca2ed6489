"""What a clean `ledger verify` saw, to be signed and kept outside the database (`core.integrity`).

A fingerprint holds the number of entries and postings, the last entry id and a SHA-256 digest over every entry
and posting up to it (in id order). The next verification recomputes the digest over the entries the checkpoint
saw: a ledger emptied (even by a TRUNCATE ... CASCADE run with the triggers disabled), an entry deleted, or any
posted value rewritten consistently (balances fixed up) no longer matches. Entries posted since are covered by
the next checkpoint.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from .integrity import Problem
from .models import JournalEntry, Posting

_ENTRY = (JournalEntry.id, JournalEntry.public_id, JournalEntry.idempotency_key, JournalEntry.request_hash,
          JournalEntry.effective_date, JournalEntry.description, JournalEntry.event_kind, JournalEntry.event_ref,
          JournalEntry.event_date, JournalEntry.reverses_id,
          # the stored text, as stored: nothing to parse, and any change to it counts
          cast(JournalEntry.details, Text))
# The key columns (contract_ref, term, partner_ref) are left out: they repeat the details, which `verify` holds
# them to, and checkpoints signed before they existed still verify.
_POSTING = (Posting.id, Posting.entry_id, Posting.account_id, Posting.amount_minor, Posting.currency,
            Posting.effective_date, Posting.balance_after)
_CHUNK = 20_000


@dataclass(frozen=True)
class Fingerprint:
    entries: int
    postings: int
    last_entry_id: int
    digest: str

    def as_dict(self) -> dict:
        return {"entries": self.entries, "postings": self.postings, "last_entry_id": self.last_entry_id,
                "digest": self.digest}


def _stream(session: Session, columns, through: int | None, entry_column):
    query = select(*columns).order_by(columns[0])
    if through is not None:
        query = query.where(entry_column <= through)
    yield from session.execute(query.execution_options(yield_per=_CHUNK))


def fingerprint(session: Session, through: int | None = None) -> Fingerprint:
    """The ledger's fingerprint, over the entries up to id `through` (all when None)."""
    digest, entries, postings, last = hashlib.sha256(), 0, 0, 0
    for row in _stream(session, _ENTRY, through, JournalEntry.id):
        digest.update(repr(tuple(row)).encode())
        entries, last = entries + 1, row[0]
    for row in _stream(session, _POSTING, last, Posting.entry_id):
        digest.update(repr(tuple(row)).encode())
        postings += 1
    return Fingerprint(entries, postings, last if through is None else through, digest.hexdigest())


def compare(session: Session, checkpoint: dict, written_at: str) -> list[Problem]:
    """The ledger against the checkpoint of `written_at`: what it saw must still be there, unchanged."""
    seen = Fingerprint(**checkpoint)
    now = fingerprint(session, seen.last_entry_id)
    subject = f"checkpoint of {written_at}"
    if (now.entries, now.postings) != (seen.entries, seen.postings):
        return [Problem(subject, f"saw {seen.entries} entries and {seen.postings} postings up to entry id "
                                 f"{seen.last_entry_id}; the ledger now holds {now.entries} and {now.postings} "
                                 f"(deleted)")]
    if now.digest != seen.digest:
        return [Problem(subject, f"the entries up to id {seen.last_entry_id} were rewritten since")]
    return []

"""Posting one journal entry, and reversing one.

On PostgreSQL `post` calls the database function `ledger_post` (migrations 7c2d9e4b1a30, 9b4e1d7c2a68): it
locks, checks and writes the entry in one round trip instead of nine statements. On SQLite, which has no stored
procedures, `post` is a batch of one (`ledger.journal_batch`). Both apply the rules of `ledger.journal_rules`
and are held to the same tests on both databases.
"""
from __future__ import annotations

import json
import re
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session, make_transient_to_detached

from core.db import new_public_id, utcnow

from . import group_commit
from .errors import AlreadyReversed, ClosedAccount, DateGoesBack, KeyReused, LedgerError, PeriodClosed, UnknownAccount
from .journal_batch import post_batch
from .journal_rules import check_lines, loaded_accounts_moved, request_hash, touched
from .models import Account, JournalEntry, entry_keys
from .money import Line


def post(session: Session, *, key: str, effective_date: date, description: str, lines: list[Line],
         event_kind: str | None = None, event_ref: str | None = None, event_date: date | None = None,
         details: dict | None = None, reverses: JournalEntry | None = None) -> tuple[JournalEntry, bool]:
    """Write one balanced entry, or return the one already written under `key` (created=False).

    Through the group-commit writer (`ledger.group_commit`) when the session's transaction has not touched the
    ledger: the entry is then committed, in a batch with the other callers' entries, when this returns. Else in
    the session's transaction, which then posts its later entries itself too."""
    writer = group_commit.writer_for_session(session)
    if writer is not None:
        check_lines(lines)
        entry, created = writer.post(dict(
            key=key, effective_date=effective_date, description=description, lines=lines, event_kind=event_kind,
            event_ref=event_ref, event_date=event_date, details=details,
            reverses=group_commit.EntryRef(reverses.id) if reverses is not None else None))
        _accounts_moved_elsewhere(session, lines)
        return session.merge(entry, load=False), created  # as the writer read it: no round trip
    touched(session)
    if session.get_bind().dialect.name != "postgresql":
        # no stored procedures: the batch's rules, in Python, for a batch of one
        [(entry, created)] = post_batch(session, [dict(
            key=key, effective_date=effective_date, description=description, lines=lines, event_kind=event_kind,
            event_ref=event_ref, event_date=event_date, details=details, reverses=reverses)])
        return entry, created
    check_lines(lines)
    return _post_in_database(session, _new_entry(key, effective_date, description, lines, event_kind, event_ref,
                                                 event_date, details, reverses.id if reverses else None), lines)


def _new_entry(key: str, effective_date: date, description: str, lines: list[Line], event_kind: str | None,
               event_ref: str | None, event_date: date | None, details: dict | None,
               reverses_id: int | None) -> JournalEntry:
    """The entry `ledger_post` is asked to write, with its request hash, keys, public id and time."""
    digest = request_hash(effective_date, description, lines, reverses_id, event_kind, event_ref)
    contract_ref, term, partner_ref = entry_keys(details)
    return JournalEntry(idempotency_key=key, request_hash=digest, effective_date=effective_date,
                        description=description[:500], event_kind=event_kind, event_ref=event_ref,
                        event_date=event_date, details=details or {}, contract_ref=contract_ref, term=term,
                        partner_ref=partner_ref, reverses_id=reverses_id, public_id=new_public_id(),
                        created_at=utcnow())


def post_many_in_database(session: Session, requests: list[dict]) -> list[tuple[JournalEntry, bool] | LedgerError]:
    """PostgreSQL: `post` of each request in turn, in the session's transaction, as one pipelined stream of
    `ledger_post` calls (one round trip for them all); for each, (entry, created) or its refusal (a refused
    request writes nothing, the others post). The group-commit writer's batch."""
    entries = []
    for r in requests:
        check_lines(r["lines"])
        reverses = r.get("reverses")
        entries.append((_new_entry(r["key"], r["effective_date"], r["description"], r["lines"], r.get("event_kind"),
                                   r.get("event_ref"), r.get("event_date"), r.get("details"),
                                   reverses.id if reverses is not None else None), r["lines"]))
    if session.new or session.dirty or session.deleted:
        session.flush()
    cursor = session.connection().connection.dbapi_connection.cursor()
    cursor.executemany(_LEDGER_POST_RAW, [_params(entry, lines) for entry, lines in entries], returning=True)
    rows = []
    while True:
        rows.append(cursor.fetchone())
        if not cursor.nextset():
            break
    out: list[tuple[JournalEntry, bool] | LedgerError] = []
    for (entry, _lines), row in zip(entries, rows, strict=True):
        try:
            out.append(_outcome(session, entry, row))
        except LedgerError as exc:
            out.append(exc)
    return out


def _accounts_moved_elsewhere(session: Session, lines: list[Line]) -> None:
    """The entry's accounts this session has loaded are read again when next used: another transaction moved
    their balances."""
    pairs = {(ln.account, ln.currency) for ln in lines}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Account) and (obj.code, obj.currency) in pairs:
            session.expire(obj, ["balance_minor", "last_posted_on"])


# ledger_post (migration 7c2d9e4b1a30; 9b4e1d7c2a68 adds the key columns) applies on the server, in one round
# trip, the rules post_batch plans in Python
_LEDGER_POST = text(
    "SELECT status, entry_id, detail, account_ids, balances FROM ledger_post(:key, :hash, :public_id, :created_at, "
    ":day, :description, :event_kind, :event_ref, :event_date, CAST(:details AS json), :contract_ref, "
    "CAST(:term AS integer), :partner_ref, :reverses_id, CAST(:codes AS text[]), CAST(:currencies AS text[]), "
    "CAST(:amounts AS bigint[]))")


def _params(entry: JournalEntry, lines: list[Line]) -> dict:
    return {"key": entry.idempotency_key, "hash": entry.request_hash, "public_id": entry.public_id,
            "created_at": entry.created_at, "day": entry.effective_date, "description": entry.description,
            "event_kind": entry.event_kind, "event_ref": entry.event_ref, "event_date": entry.event_date,
            "details": json.dumps(entry.details), "contract_ref": entry.contract_ref, "term": entry.term,
            "partner_ref": entry.partner_ref, "reverses_id": entry.reverses_id,
            "codes": [ln.account for ln in lines], "currencies": [ln.currency for ln in lines],
            "amounts": [ln.amount_minor for ln in lines]}


# the same call in the driver's own placeholders, for a pipelined executemany
_LEDGER_POST_RAW = re.sub(r":(\w+)", r"%(\1)s", _LEDGER_POST.text)


def _post_in_database(session: Session, entry: JournalEntry, lines: list[Line]) -> tuple[JournalEntry, bool]:
    if session.new or session.dirty or session.deleted:
        session.flush()  # the function reads the database: what the session holds must be there first
    row = session.connection().execute(_LEDGER_POST, _params(entry, lines)).one()
    return _outcome(session, entry, row)


def _outcome(session: Session, entry: JournalEntry, row) -> tuple[JournalEntry, bool]:
    """(entry, created) for a row of ledger_post, or its refusal raised."""
    status, entry_id, detail, account_ids, balances = row
    if status == "posted":
        entry.id = entry_id
        make_transient_to_detached(entry)  # the row is written: the object joins the session as loaded
        session.add(entry)
        loaded_accounts_moved(session, {i: (b, entry.effective_date) for i, b in zip(account_ids, balances, strict=True)})
        return entry, True
    if status == "existing":
        return session.get(JournalEntry, entry_id), False
    raise _refusal(status, detail, entry.effective_date)


def _refusal(status: str, detail: str | None, day: date) -> LedgerError:
    """The refusal for a status of ledger_post."""
    if status == "unknown_account":
        return UnknownAccount(accounts=detail)
    if status == "closed_account":
        return ClosedAccount(accounts=detail)
    if status == "key_reused":
        return KeyReused()
    if status == "period_closed":
        return PeriodClosed(date=day.isoformat())
    if status == "late":
        return DateGoesBack(accounts=detail)
    if status == "already_reversed":
        return AlreadyReversed()
    raise RuntimeError(f"ledger_post answered {status!r}")


def reverse(session: Session, entry: JournalEntry, *, key: str, effective_date: date,
            description: str | None = None) -> tuple[JournalEntry, bool]:
    """The correction of a posted entry: the same postings with opposite signs, referencing it."""
    done = session.execute(select(JournalEntry).where(JournalEntry.reverses_id == entry.id)).scalar_one_or_none()
    if done is not None and done.idempotency_key != key:
        raise AlreadyReversed()
    lines = [Line(p.account.code, p.currency, -p.amount_minor) for p in entry.postings]
    return post(session, key=key, effective_date=effective_date, lines=lines, reverses=entry,
                description=description or f"Reversal of {entry.description}"[:500],
                event_kind=entry.event_kind, event_ref=entry.event_ref)


group_commit.use(post, post_many_in_database)

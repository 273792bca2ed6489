"""Posting one journal entry, and reversing one.

On PostgreSQL `post` calls the database function `ledger_post` (migrations 7c2d9e4b1a30, 9b4e1d7c2a68,
0d085c4d4e9b): it locks, checks and writes the entry in two statements on the server and one round trip — through
the group-commit writer, in the same round trip as the transaction's BEGIN and COMMIT. On SQLite, which has no
stored procedures, `post` is a batch of one (`ledger.journal_batch`). Both apply the rules of
`ledger.journal_rules` and are held to the same tests on both databases.
"""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict
from sqlalchemy.orm.util import identity_key

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
    check_lines(lines)
    writer = group_commit.writer_for_session(session)
    if writer is not None and writer.pipelined:
        # PostgreSQL: the writer runs the call, in one round trip with the others' and the commit
        values = _entry_values(key, effective_date, description, lines, event_kind, event_ref, event_date, details,
                               reverses.id if reverses is not None else None)
        row = writer.post(group_commit.Call(_LEDGER_POST, _params(values, lines)))
        return _adopt(session, values, row, moved_elsewhere=True)
    if writer is not None:
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
    values = _entry_values(key, effective_date, description, lines, event_kind, event_ref, event_date, details,
                           reverses.id if reverses is not None else None)
    if session.new or session.dirty or session.deleted:
        session.flush()  # the function reads the database: what the session holds must be there first
    row = session.connection().exec_driver_sql(_LEDGER_POST, _params(values, lines)).one()
    return _adopt(session, values, row, moved_elsewhere=False)


def _entry_values(key: str, effective_date: date, description: str, lines: list[Line], event_kind: str | None,
                  event_ref: str | None, event_date: date | None, details: dict | None,
                  reverses_id: int | None) -> dict:
    """The columns of the entry `ledger_post` is asked to write: its request hash, keys, public id and time."""
    contract_ref, term, partner_ref = entry_keys(details)
    return {"public_id": new_public_id(), "created_at": utcnow(), "idempotency_key": key,
            "request_hash": request_hash(effective_date, description, lines, reverses_id, event_kind, event_ref),
            "effective_date": effective_date, "description": description[:500], "event_kind": event_kind,
            "event_ref": event_ref, "event_date": event_date, "details": details or {}, "contract_ref": contract_ref,
            "term": term, "partner_ref": partner_ref, "reverses_id": reverses_id}


# ledger_post (migrations 7c2d9e4b1a30, 9b4e1d7c2a68, 0d085c4d4e9b) applies on the server, in one round trip, the
# rules post_batch plans in Python. Positional parameters in the driver's style, each with its type, so the
# statement is prepared once per connection whatever the values (a NULL or a small integer included).
_LEDGER_POST = (
    "SELECT status, entry_id, detail, account_ids, balances FROM ledger_post(%s::text, %s::text, %s::text, "
    "%s::timestamptz, %s::date, %s::text, %s::text, %s::text, %s::date, %s::json, %s::text, %s::integer, %s::text, "
    "%s::bigint, %s::text[], %s::text[], %s::bigint[])")


def _params(values: dict, lines: list[Line]) -> tuple:
    return (values["idempotency_key"], values["request_hash"], values["public_id"], values["created_at"],
            values["effective_date"], values["description"], values["event_kind"], values["event_ref"],
            values["event_date"], json.dumps(values["details"]), values["contract_ref"], values["term"],
            values["partner_ref"], values["reverses_id"], [ln.account for ln in lines],
            [ln.currency for ln in lines], [ln.amount_minor for ln in lines])


def _adopt(session: Session, values: dict, row, *, moved_elsewhere: bool) -> tuple[JournalEntry, bool]:
    """(entry, created) for a row of ledger_post, the entry in `session`; or its refusal raised.

    A new entry joins the session as loaded (no read back). The accounts it moved that the session has loaded
    take their new balances when posted in the session's transaction, or are read again when next used when
    posted by the writer (another transaction, which others may follow)."""
    status, entry_id, detail, account_ids, balances = row
    if status == "posted":
        if moved_elsewhere:
            _expire_accounts(session, account_ids)
        else:
            loaded_accounts_moved(session, {i: (b, values["effective_date"])
                                            for i, b in zip(account_ids, balances, strict=True)})
        entry = _loaded_entry(values, entry_id)
        session.add(entry)
        return entry, True
    if status == "existing":
        return session.get(JournalEntry, entry_id), False
    raise _refusal(status, detail, values["effective_date"])


def _loaded_entry(values: dict, entry_id: int) -> JournalEntry:
    """The entry just written, as the ORM builds a row it loads (the constructor's attribute events cost more
    than the rest of a post's Python): detached, its history clean."""
    if not _ENTRY_MAPPER.configured:
        configure_mappers()
    entry = _ENTRY_MAPPER.class_manager.new_instance()
    instance_dict(entry).update(values, id=entry_id)
    make_transient_to_detached(entry)
    return entry


_ENTRY_MAPPER = inspect(JournalEntry)


def _expire_accounts(session: Session, account_ids: list[int]) -> None:
    """These accounts, if the session has loaded them, are read again when next used."""
    if not session.identity_map:  # the common case: a session that has loaded nothing
        return
    for account_id in account_ids:
        acct = session.identity_map.get(identity_key(Account, account_id))
        if acct is not None:
            session.expire(acct, ["balance_minor", "last_posted_on"])


def _accounts_moved_elsewhere(session: Session, lines: list[Line]) -> None:
    """The entry's accounts this session has loaded are read again when next used: another transaction moved
    their balances."""
    pairs = {(ln.account, ln.currency) for ln in lines}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Account) and (obj.code, obj.currency) in pairs:
            session.expire(obj, ["balance_minor", "last_posted_on"])


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


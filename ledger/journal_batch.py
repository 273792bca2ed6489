"""Posting many journal entries in one transaction (`post_batch`), and, on SQLite, each single one.

The rules are those of `ledger.journal_rules`, applied in Python to the requests in the order given, as if they
were posted one after the other: every account of the batch is locked once (in id order) and read, the batch is
planned (checks and running balances) without writing, then the entries and the postings are written with one
bulk insert each (COPY on PostgreSQL) and the balances stored with one UPDATE. Any refusal refuses the whole
batch. The hot statements are built once, at import: building one costs about as much as running it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import BigInteger, Date, String, any_, bindparam, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from core.db import new_public_id, utcnow

from .errors import AlreadyReversed, ClosedAccount, DateGoesBack, KeyReused, PeriodClosed, UnknownAccount
from .journal_rules import check_lines, loaded_accounts_moved, request_hash, touched
from .models import Account, JournalEntry, Period, Posting, entry_keys
from .money import Line


@dataclass(frozen=True)
class _Request:
    """One entry of a batch: `post`'s keyword arguments."""

    key: str
    effective_date: date
    description: str
    lines: list[Line]
    event_kind: str | None = None
    event_ref: str | None = None
    event_date: date | None = None
    details: dict | None = None
    reverses: JournalEntry | None = None

    @property
    def reverses_id(self) -> int | None:
        return self.reverses.id if self.reverses is not None else None

    @property
    def digest(self) -> str:
        return request_hash(self.effective_date, self.description, self.lines, self.reverses_id,
                            self.event_kind, self.event_ref)


@dataclass
class _Plan:
    """What a batch will write: for each request, (an entry already posted or the index of a new one, whether
    this request creates it)."""

    outcomes: list[tuple[JournalEntry | int, bool]]
    new: list[tuple[_Request, str, list[tuple]]]
    balances: dict[int, int]
    last_posted: dict[int, date]


@dataclass(frozen=True)
class _Locked:
    """An account as a batch locks it: plain values (loading hundreds of ORM objects costs more than the rest)."""

    id: int
    code: str
    currency: str
    balance_minor: int
    last_posted_on: date | None
    closed_at: object


# Prebuilt statements (expanding or array parameters): building them anew for each batch cost more than running
# them for small batches, and a batch of one is SQLite's `post`.
_PAIRS = tuple_(Account.code, Account.currency)
_SQLITE_WRITE_LOCK = (update(Account).where(_PAIRS.in_(bindparam("pairs", expanding=True)))
                      .values(balance_minor=Account.balance_minor).execution_options(synchronize_session=False))
_LOCK_COLUMNS = select(Account.id, Account.code, Account.currency, Account.balance_minor, Account.last_posted_on,
                       Account.closed_at).order_by(Account.id).with_for_update()
# PostgreSQL: two array parameters rather than a list of pairs psycopg would rewrite parameter by parameter
_WANTED = func.unnest(bindparam("codes", type_=ARRAY(String)), bindparam("currencies", type_=ARRAY(String))
                      ).table_valued("code", "currency").render_derived()
_LOCK_BY_ARRAYS = _LOCK_COLUMNS.where(_PAIRS.in_(select(_WANTED.c.code, _WANTED.c.currency)))
_LOCK_BY_PAIRS = _LOCK_COLUMNS.where(_PAIRS.in_(bindparam("pairs", expanding=True)))
_ENTRIES_BY_ARRAY = select(JournalEntry).where(
    JournalEntry.idempotency_key == any_(bindparam("keys", type_=ARRAY(String))))
_ENTRIES_BY_KEYS = select(JournalEntry).where(JournalEntry.idempotency_key.in_(bindparam("keys", expanding=True)))
_CLOSED_MONTHS = select(Period.month).where(Period.month.in_(bindparam("months", expanding=True)))


def _take_sqlite_write_lock(session: Session, pairs: list[tuple[str, str]]) -> None:
    """SQLite has no FOR UPDATE: a no-op write takes the database's write lock (waiting for the current writer)
    before the balances are read, so they cannot be stale when we add to them. Being a write, it also makes the
    sqlite3 driver open the transaction now, so a SAVEPOINT after it nests inside it (issued first, the driver
    would let its RELEASE commit the entry on its own)."""
    session.execute(_SQLITE_WRITE_LOCK, {"pairs": pairs})


def _refuse_missing_or_closed(pairs: list[tuple[str, str]], found: dict) -> None:
    """`found` maps (code, currency) to the locked account (anything with code, currency and closed_at)."""
    missing = [f"{code} ({currency})" for code, currency in pairs if (code, currency) not in found]
    if missing:
        raise UnknownAccount(accounts=", ".join(missing))
    closed = [f"{a.code} ({a.currency})" for a in found.values() if a.closed_at is not None]
    if closed:
        raise ClosedAccount(accounts=", ".join(closed))


def _lock_for_batch(session: Session, lines: list[Line]) -> dict[tuple[str, str], _Locked]:
    """Every account of the batch locked once, in id order, and read as it is now."""
    pairs = sorted({(ln.account, ln.currency) for ln in lines})
    session.flush()  # what the session holds must be in the database before the balances are read
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(_LOCK_BY_ARRAYS, {"codes": [code for code, _ in pairs],
                                                 "currencies": [currency for _, currency in pairs]})
    else:
        _take_sqlite_write_lock(session, pairs)
        rows = session.execute(_LOCK_BY_PAIRS, {"pairs": pairs})
    accounts = {(row.code, row.currency): _Locked(*row) for row in rows}
    _refuse_missing_or_closed(pairs, accounts)
    return accounts


def _entries_by_key(session: Session, keys: set[str]) -> dict[str, JournalEntry]:
    ordered = sorted(keys)
    if session.get_bind().dialect.name == "postgresql":
        return {e.idempotency_key: e for e in session.execute(_ENTRIES_BY_ARRAY, {"keys": ordered}).scalars()}
    found: dict[str, JournalEntry] = {}
    for start in range(0, len(ordered), 1000):  # bounded IN lists (SQLite's parameter limit)
        found.update((e.idempotency_key, e) for e in session.execute(
            _ENTRIES_BY_KEYS, {"keys": ordered[start:start + 1000]}).scalars())
    return found


def _closed_months(session: Session, days: set[date]) -> set[date]:
    return set(session.execute(_CLOSED_MONTHS, {"months": sorted({d.replace(day=1) for d in days})}).scalars())


def _plan_batch(session: Session, requests: list[_Request], accounts: dict[tuple[str, str], _Locked],
                existing: dict[str, JournalEntry]) -> _Plan:
    """Apply `post`'s checks to the requests in order, as if posted one after the other, and compute each new
    posting's running balance. Raises on the first refusal; writes nothing."""
    closed = _closed_months(session, {r.effective_date for r in requests})
    # plain ids and codes: the ORM's attribute access costs more than the rest of the loop
    ids = {pair: a.id for pair, a in accounts.items()}
    codes = {a.id: a.code for a in accounts.values()}
    plan = _Plan([], [], {a.id: a.balance_minor for a in accounts.values()},
                 {a.id: a.last_posted_on for a in accounts.values()})
    index: dict[str, int] = {}
    reversed_ids: set[int] = set()
    for r in requests:
        digest = r.digest
        if r.key in existing or r.key in index:
            first_digest = existing[r.key].request_hash if r.key in existing else plan.new[index[r.key]][1]
            if first_digest != digest:
                raise KeyReused()
            plan.outcomes.append((existing[r.key] if r.key in existing else index[r.key], False))
            continue
        if r.effective_date.replace(day=1) in closed:
            raise PeriodClosed(date=r.effective_date.isoformat())
        targets = [ids[(ln.account, ln.currency)] for ln in r.lines]
        _check_dates_and_reversal(r, targets, codes, plan.last_posted, reversed_ids)
        index[r.key] = len(plan.new)
        plan.outcomes.append((len(plan.new), True))
        plan.new.append((r, digest, _postings(r, targets, plan)))
    return plan


def _check_dates_and_reversal(r: _Request, targets: list[int], codes: dict[int, str],
                              last_posted: dict[int, date | None], reversed_ids: set[int]) -> None:
    late = sorted({codes[i] for i in targets if last_posted[i] and r.effective_date < last_posted[i]})
    if late:
        raise DateGoesBack(accounts=", ".join(late))
    if r.reverses_id is not None:
        if r.reverses_id in reversed_ids:
            raise AlreadyReversed()
        reversed_ids.add(r.reverses_id)


_POSTING_COLUMNS = ("entry_id", "account_id", "amount_minor", "currency", "effective_date", "balance_after")
_ENTRY_COLUMNS = ("public_id", "created_at", "idempotency_key", "request_hash", "effective_date", "description",
                  "event_kind", "event_ref", "event_date", "details", "contract_ref", "term", "partner_ref",
                  "reverses_id")


def _postings(r: _Request, targets: list[int], plan: _Plan) -> list[tuple]:
    """The request's postings in account-id order (as `post` writes them), moving the running balances: rows of
    _POSTING_COLUMNS but the entry id."""
    postings = []
    for line, account_id in sorted(zip(r.lines, targets, strict=True), key=lambda pair: pair[1]):
        plan.balances[account_id] += line.amount_minor
        plan.last_posted[account_id] = r.effective_date
        postings.append((account_id, line.amount_minor, line.currency, r.effective_date,
                         plan.balances[account_id]))
    return postings


def _insert_entries(session: Session, plan: _Plan) -> list[JournalEntry]:
    """The new entries in one bulk insert, then read back by key: twice as fast as INSERT ... RETURNING of whole
    rows, which SQLAlchemy sends 1,000 rows a statement with every value a named parameter for psycopg to
    rewrite (and SQLite one row at a time, to keep the order)."""
    now = utcnow()
    as_text = json.dumps if session.get_bind().dialect.name == "postgresql" else lambda details: details
    rows = [(new_public_id(), now, r.key, digest, r.effective_date, r.description[:500], r.event_kind, r.event_ref,
             r.event_date, as_text(r.details or {}), *entry_keys(r.details), r.reverses_id)
            for r, digest, _postings in plan.new]
    _bulk_insert(session, JournalEntry.__table__, _ENTRY_COLUMNS, rows)
    by_key = _entries_by_key(session, {r.key for r, _digest, _postings in plan.new})
    return [by_key[r.key] for r, _digest, _postings in plan.new]


def _bulk_insert(session: Session, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Many rows in one go: COPY on PostgreSQL (a third faster than psycopg's pipelined executemany, the rows
    go as one stream; JSON goes as text), executemany elsewhere. A refused row raises IntegrityError either way."""
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except dialect.loaded_dbapi.Error as exc:  # the driver's own error: COPY bypasses SQLAlchemy
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error) from exc


_NEW_BALANCES = func.unnest(bindparam("ids", type_=ARRAY(BigInteger)), bindparam("balances", type_=ARRAY(BigInteger)),
                            bindparam("days", type_=ARRAY(Date))).table_valued("id", "balance", "day").render_derived()
_STORE_BALANCES_FROM_ARRAYS = (update(Account.__table__).where(Account.__table__.c.id == _NEW_BALANCES.c.id)
                               .values(balance_minor=_NEW_BALANCES.c.balance, last_posted_on=_NEW_BALANCES.c.day))
_STORE_BALANCE = (update(Account.__table__).where(Account.__table__.c.id == bindparam("account_id"))
                  .values(balance_minor=bindparam("balance"), last_posted_on=bindparam("day")))


def _store_balances(session: Session, accounts: list[_Locked], plan: _Plan) -> None:
    """The balances that moved, in one UPDATE from arrays on PostgreSQL, an executemany elsewhere; accounts the
    session has loaded take the stored values."""
    moved = [a.id for a in accounts if plan.last_posted[a.id] != a.last_posted_on
             or plan.balances[a.id] != a.balance_minor]
    if moved and session.get_bind().dialect.name == "postgresql":
        session.execute(_STORE_BALANCES_FROM_ARRAYS, {"ids": moved, "balances": [plan.balances[i] for i in moved],
                                                      "days": [plan.last_posted[i] for i in moved]})
    elif moved:
        session.execute(_STORE_BALANCE, [{"account_id": i, "balance": plan.balances[i], "day": plan.last_posted[i]}
                                         for i in moved])
    loaded_accounts_moved(session, {a.id: (plan.balances[a.id], plan.last_posted[a.id]) for a in accounts})


def post_batch(session: Session, requests: list[dict]) -> list[tuple[JournalEntry, bool]]:
    """Post many entries in one transaction, each request holding `post`'s keyword arguments; (entry, created)
    for each request, in order.

    The rules are `post`'s, applied to the requests in the order given as if they were posted one after the
    other: a key already posted, or repeated in the batch with the same request, gives that entry with
    created=False; the same key with another request is refused (KeyReused). Every account of the batch is
    locked once, in id order; the entries, then the postings, are written with one bulk insert each (COPY on
    PostgreSQL), the running balances are computed here and the balances stored with one UPDATE. Any refusal
    refuses the whole batch: nothing is written. Batches of a few hundred to a few thousand entries suit it
    (SQLite takes at most 32,766 parameters a statement: the account lock caps a batch at ~16,000 accounts)."""
    touched(session)
    reqs = [_Request(**r) for r in requests]
    for r in reqs:
        check_lines(r.lines)
    if not reqs:
        return []
    accounts = _lock_for_batch(session, [ln for r in reqs for ln in r.lines])
    existing = _entries_by_key(session, {r.key for r in reqs})
    while True:
        plan = _plan_batch(session, reqs, accounts, existing)
        if not plan.new:
            return [(entry, False) for entry, _created in plan.outcomes]
        try:
            with session.begin_nested():
                entries = _insert_entries(session, plan)
            break
        except IntegrityError:
            # a key (or a reversal) taken meanwhile by a transaction on other accounts: look again
            found = _entries_by_key(session, {r.key for r, _digest, _postings in plan.new})
            if not found:
                raise AlreadyReversed() from None
            existing.update(found)
    _bulk_insert(session, Posting.__table__, _POSTING_COLUMNS,
                 [(entry.id, *posting) for entry, (_r, _digest, postings) in zip(entries, plan.new, strict=True)
                  for posting in postings])
    _store_balances(session, list(accounts.values()), plan)
    return [(entries[found] if isinstance(found, int) else found, created) for found, created in plan.outcomes]



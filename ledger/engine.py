"""Posting to the ledger, and reading it back. Plain Python over a SQLAlchemy session; no Flask.

The rules of a journal entry: it balances per currency, it targets known open accounts and an open period, its
date does not go back on any account, and its idempotency key posts it once (a retry returns the first entry;
the same key with another request is refused). Accounts are locked in a fixed order (by id) before anything is
read or written, so concurrent posters neither deadlock nor lose updates.

They are applied in two places, held to the same tests on both databases: `post_batch` plans a batch in Python
(on SQLite, `post` is a batch of one), and on PostgreSQL `post` calls the database function `ledger_post`
(migration 7c2d9e4b1a30, 9b4e1d7c2a68): one round trip per entry instead of nine statements.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import (BigInteger, Date, String, any_, bindparam, func, insert, select, text, tuple_,
                        update)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from sqlalchemy.orm.attributes import set_committed_value

from core.db import DomainError, new_public_id, utcnow
from core.i18n import N_

from .models import Account, AccountType, JournalEntry, Period, Posting, entry_keys


class LedgerError(DomainError):
    code = "ledger_refused"


class Unbalanced(LedgerError):
    code = "entry_unbalanced"


class UnknownAccount(LedgerError):
    code = "unknown_account"


class PeriodClosed(LedgerError):
    code = "period_closed"


class KeyReused(LedgerError):
    code = "idempotency_key_reused"
    status = 409


@dataclass(frozen=True)
class Line:
    account: str
    currency: str
    #: signed minor units: debit positive, credit negative
    amount_minor: int


def debit(account: str, amount_minor: int, currency: str) -> Line:
    return Line(account, currency, amount_minor)


def credit(account: str, amount_minor: int, currency: str) -> Line:
    return Line(account, currency, -amount_minor)


# --- rounding ------------------------------------------------------------------------------------------------

def apply_rate(amount_minor: int, rate: Decimal) -> int:
    """amount × rate, rounded half-up to the minor unit (half a cent goes away from zero)."""
    return int((Decimal(amount_minor) * Decimal(rate)).to_integral_value(rounding=ROUND_HALF_UP))


def split(total_minor: int, weights: list[int | Decimal]) -> list[int]:
    """Split `total_minor` in proportion to `weights` so that the parts always sum exactly to the total
    (largest remainders get the leftover minor units; ties go to the earlier part)."""
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError("weights must be non-negative and not all zero")
    whole = Decimal(sum(weights))
    sign = -1 if total_minor < 0 else 1
    exact = [Decimal(abs(total_minor)) * Decimal(w) / whole for w in weights]
    parts = [int(x) for x in exact]
    leftover = abs(total_minor) - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += 1
    return [sign * p for p in parts]


# --- accounts and periods ------------------------------------------------------------------------------------

def open_account(session: Session, code: str, type_: AccountType, currency: str, owner: str | None = None) -> Account:
    """The account (code, currency), created if missing. Its type and owner must match an existing one."""
    account = session.execute(select(Account).where(Account.code == code, Account.currency == currency)
                              ).scalar_one_or_none()
    if account is None:
        account = Account(code=code, type=type_, currency=currency, owner=owner, balance_minor=0)
        try:
            with session.begin_nested():
                session.add(account)
        except IntegrityError:  # opened meanwhile by another transaction
            account = session.execute(select(Account).where(Account.code == code, Account.currency == currency)
                                      ).scalar_one()
    if account.type is not type_:
        raise LedgerError(N_("Account %(code)s exists with another type."), code=code)
    return account


def month_end(day: date) -> date:
    """The last day of `day`'s month (periods are calendar months)."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def close_period(session: Session, month: date, closed_by: str) -> Period:
    first = month.replace(day=1)
    period = session.execute(select(Period).where(Period.month == first)).scalar_one_or_none()
    if period is None:
        period = Period(month=first, closed_by=closed_by)
        session.add(period)
        session.flush()
    return period


# --- posting -------------------------------------------------------------------------------------------------

def _request_hash(effective_date: date, description: str, lines: list[Line], reverses: int | None,
                  event_kind: str | None, event_ref: str | None) -> str:
    canonical = json.dumps({"date": effective_date.isoformat(), "description": description, "reverses": reverses,
                            "event": [event_kind, event_ref],
                            "lines": sorted([ln.account, ln.currency, ln.amount_minor] for ln in lines)},
                           sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_lines(lines: list[Line]) -> None:
    if len(lines) < 2:
        raise Unbalanced(N_("An entry needs at least two postings."))
    totals: dict[str, int] = {}
    for line in lines:
        if not isinstance(line.amount_minor, int) or isinstance(line.amount_minor, bool) or line.amount_minor == 0:
            raise Unbalanced(N_("Every posting is a non-zero whole number of minor units."))
        totals[line.currency] = totals.get(line.currency, 0) + line.amount_minor
    off = {c: t for c, t in totals.items() if t != 0}
    if off:
        raise Unbalanced(N_("The entry does not balance in %(currencies)s."), currencies=", ".join(sorted(off)))


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
        raise _refusal("unknown_account", ", ".join(missing), None)
    closed = [f"{a.code} ({a.currency})" for a in found.values() if a.closed_at is not None]
    if closed:
        raise _refusal("closed_account", ", ".join(closed), None)


def post(session: Session, *, key: str, effective_date: date, description: str, lines: list[Line],
         event_kind: str | None = None, event_ref: str | None = None, event_date: date | None = None,
         details: dict | None = None, reverses: JournalEntry | None = None) -> tuple[JournalEntry, bool]:
    """Write one balanced entry, or return the one already written under `key` (created=False)."""
    if session.get_bind().dialect.name != "postgresql":
        # no stored procedures: the batch's rules, in Python, for a batch of one
        [(entry, created)] = post_batch(session, [dict(
            key=key, effective_date=effective_date, description=description, lines=lines, event_kind=event_kind,
            event_ref=event_ref, event_date=event_date, details=details, reverses=reverses)])
        return entry, created
    _check_lines(lines)
    digest = _request_hash(effective_date, description, lines, reverses.id if reverses else None, event_kind,
                           event_ref)
    contract_ref, term, partner_ref = entry_keys(details)
    entry = JournalEntry(idempotency_key=key, request_hash=digest, effective_date=effective_date,
                         description=description[:500], event_kind=event_kind, event_ref=event_ref,
                         event_date=event_date, details=details or {}, contract_ref=contract_ref, term=term,
                         partner_ref=partner_ref, reverses_id=reverses.id if reverses else None)
    return _post_in_database(session, entry, lines)


# ledger_post (migration 7c2d9e4b1a30; 9b4e1d7c2a68 adds the key columns) applies on the server, in one round
# trip, the rules post_batch plans in Python
_LEDGER_POST = text(
    "SELECT status, entry_id, detail, account_ids, balances FROM ledger_post(:key, :hash, :public_id, :created_at, "
    ":day, :description, :event_kind, :event_ref, :event_date, CAST(:details AS json), :contract_ref, "
    "CAST(:term AS integer), :partner_ref, :reverses_id, CAST(:codes AS text[]), CAST(:currencies AS text[]), "
    "CAST(:amounts AS bigint[]))")


def _post_in_database(session: Session, entry: JournalEntry, lines: list[Line]) -> tuple[JournalEntry, bool]:
    if session.new or session.dirty or session.deleted:
        session.flush()  # the function reads the database: what the session holds must be there first
    entry.public_id, entry.created_at = new_public_id(), utcnow()
    status, entry_id, detail, account_ids, balances = session.connection().execute(_LEDGER_POST, {
        "key": entry.idempotency_key, "hash": entry.request_hash, "public_id": entry.public_id,
        "created_at": entry.created_at, "day": entry.effective_date, "description": entry.description,
        "event_kind": entry.event_kind, "event_ref": entry.event_ref, "event_date": entry.event_date,
        "details": json.dumps(entry.details), "contract_ref": entry.contract_ref, "term": entry.term,
        "partner_ref": entry.partner_ref, "reverses_id": entry.reverses_id,
        "codes": [ln.account for ln in lines], "currencies": [ln.currency for ln in lines],
        "amounts": [ln.amount_minor for ln in lines]}).one()
    if status == "posted":
        entry.id = entry_id
        make_transient_to_detached(entry)  # the row is written: the object joins the session as loaded
        session.add(entry)
        _loaded_accounts_moved(session, {i: (b, entry.effective_date) for i, b in zip(account_ids, balances)})
        return entry, True
    if status == "existing":
        return session.get(JournalEntry, entry_id), False
    raise _refusal(status, detail, entry.effective_date)


def _loaded_accounts_moved(session: Session, moved: dict[int, tuple[int, date]]) -> None:
    """Accounts this session has loaded take the (balance, last posting date) the database now holds."""
    for account_id, (balance, day) in moved.items():
        acct = session.identity_map.get(identity_key(Account, account_id))
        if acct is not None:
            set_committed_value(acct, "balance_minor", balance)
            set_committed_value(acct, "last_posted_on", day)


def _refusal(status: str, detail: str | None, day: date | None) -> LedgerError:
    """The refusal for a status of ledger_post (the engine's Python paths word theirs here too)."""
    if status == "unknown_account":
        return UnknownAccount(N_("Unknown account: %(accounts)s."), accounts=detail)
    if status == "closed_account":
        return UnknownAccount(N_("Closed account: %(accounts)s."), accounts=detail)
    if status == "key_reused":
        return KeyReused(N_("This idempotency key was already used for a different entry."))
    if status == "period_closed":
        return PeriodClosed(N_("The period of %(date)s is closed."), date=day.isoformat())
    if status == "late":
        return _going_back(detail)
    if status == "already_reversed":
        return _already_reversed()
    raise RuntimeError(f"ledger_post answered {status!r}")


def _going_back(accounts: str) -> LedgerError:
    return LedgerError(N_("Posting dates cannot go back on an account (%(accounts)s): post at today's date."),
                       accounts=accounts)


def _already_reversed() -> LedgerError:
    return LedgerError(N_("This entry was already reversed."))


def reverse(session: Session, entry: JournalEntry, *, key: str, effective_date: date,
            description: str | None = None) -> tuple[JournalEntry, bool]:
    """The correction of a posted entry: the same postings with opposite signs, referencing it."""
    done = session.execute(select(JournalEntry).where(JournalEntry.reverses_id == entry.id)).scalar_one_or_none()
    if done is not None and done.idempotency_key != key:
        raise _already_reversed()
    lines = [Line(p.account.code, p.currency, -p.amount_minor) for p in entry.postings]
    return post(session, key=key, effective_date=effective_date, lines=lines, reverses=entry,
                description=description or f"Reversal of {entry.description}"[:500],
                event_kind=entry.event_kind, event_ref=entry.event_ref)


# --- posting many entries at once ----------------------------------------------------------------------------

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
        return _request_hash(self.effective_date, self.description, self.lines, self.reverses_id,
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
                raise _refusal("key_reused", None, r.effective_date)
            plan.outcomes.append((existing[r.key] if r.key in existing else index[r.key], False))
            continue
        if r.effective_date.replace(day=1) in closed:
            raise _refusal("period_closed", None, r.effective_date)
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
        raise _going_back(", ".join(late))
    if r.reverses_id is not None:
        if r.reverses_id in reversed_ids:
            raise _already_reversed()
        reversed_ids.add(r.reverses_id)


_POSTING_COLUMNS = ("entry_id", "account_id", "amount_minor", "currency", "effective_date", "balance_after")
_ENTRY_COLUMNS = ("public_id", "created_at", "idempotency_key", "request_hash", "effective_date", "description",
                  "event_kind", "event_ref", "event_date", "details", "contract_ref", "term", "partner_ref",
                  "reverses_id")


def _postings(r: _Request, targets: list[int], plan: _Plan) -> list[tuple]:
    """The request's postings in account-id order (as `post` writes them), moving the running balances: rows of
    _POSTING_COLUMNS but the entry id."""
    postings = []
    for line, account_id in sorted(zip(r.lines, targets), key=lambda pair: pair[1]):
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
        session.execute(insert(table), [dict(zip(columns, row)) for row in rows])
        return
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except dialect.loaded_dbapi.IntegrityError as exc:  # the driver's own error: COPY bypasses SQLAlchemy
        raise IntegrityError(sql, None, exc) from exc


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
    _loaded_accounts_moved(session, {a.id: (plan.balances[a.id], plan.last_posted[a.id]) for a in accounts})


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
    reqs = [_Request(**r) for r in requests]
    for r in reqs:
        _check_lines(r.lines)
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
                raise _already_reversed() from None
            existing.update(found)
    _bulk_insert(session, Posting.__table__, _POSTING_COLUMNS,
                 [(entry.id, *posting) for entry, (_r, _digest, postings) in zip(entries, plan.new)
                  for posting in postings])
    _store_balances(session, list(accounts.values()), plan)
    return [(entries[found] if isinstance(found, int) else found, created) for found, created in plan.outcomes]


# --- reading -------------------------------------------------------------------------------------------------

# The hot reads run prebuilt statements: building one costs about as much as running it (0.1-0.3 ms).
_ACCOUNT = select(Account).where(Account.code == bindparam("code"), Account.currency == bindparam("currency"))


def account(session: Session, code: str, currency: str) -> Account:
    found = session.execute(_ACCOUNT, {"code": code, "currency": currency}).scalar_one_or_none()
    if found is None:
        raise _refusal("unknown_account", f"{code} ({currency})", None)
    return found


def _balance_at(account_id, day):
    """The running balance at the end of `day` (values or bind parameters)."""
    return (select(Posting.balance_after).where(Posting.account_id == account_id, Posting.effective_date <= day)
            .order_by(Posting.effective_date.desc(), Posting.id.desc()).limit(1))


_BALANCE_AT = _balance_at(bindparam("account_id"), bindparam("day"))


def balance_as_of(session: Session, acct: Account, day: date) -> int:
    """The signed balance at the end of `day`: the running balance of the account's last posting that day or
    before (one index seek on account, date, id)."""
    value = session.execute(_BALANCE_AT, {"account_id": acct.id, "day": day}).scalar_one_or_none()
    return value or 0


@dataclass(frozen=True)
class StatementLine:
    effective_date: date
    entry: str
    description: str
    event_kind: str | None
    event_ref: str | None
    amount_minor: int
    balance_after: int


@dataclass(frozen=True)
class Statement:
    account: str
    currency: str
    start: date
    end: date
    opening_minor: int
    lines: list[StatementLine]
    closing_minor: int


def _statement_page():
    account_id = bindparam("account_id")
    opening = _balance_at(account_id, bindparam("day_before")).scalar_subquery()
    closing = _balance_at(account_id, bindparam("end")).scalar_subquery()
    return (select(Posting.effective_date, JournalEntry.public_id, JournalEntry.description, JournalEntry.event_kind,
                   JournalEntry.event_ref, Posting.amount_minor, Posting.balance_after, opening, closing)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(Posting.account_id == account_id, Posting.effective_date >= bindparam("start"),
                   Posting.effective_date <= bindparam("end"))
            .order_by(Posting.effective_date, Posting.id).offset(bindparam("offset")))


_STATEMENT_ALL = _statement_page()
_STATEMENT_PAGE = _STATEMENT_ALL.limit(bindparam("limit"))


def statement(session: Session, acct: Account, start: date, end: date, *, limit: int | None = None,
              offset: int = 0) -> Statement:
    """Postings of `acct` from `start` to `end` inclusive, with running balances (signed).

    One query: the opening and closing balances (two index seeks) ride along with the page's rows; only an
    empty page needs them asked for on their own."""
    day_before = start - timedelta(days=1)
    rows = session.execute(_STATEMENT_ALL if limit is None else _STATEMENT_PAGE,
                           {"account_id": acct.id, "day_before": day_before, "start": start, "end": end,
                            "offset": offset, "limit": limit}).all()
    if not rows:
        return Statement(acct.code, acct.currency, start, end, balance_as_of(session, acct, day_before), [],
                         balance_as_of(session, acct, end))
    lines = [StatementLine(*row[:7]) for row in rows]
    return Statement(acct.code, acct.currency, start, end, rows[0][7] or 0, lines, rows[0][8] or 0)


def trial_balance(session: Session, as_of: date | None = None) -> dict[str, list[tuple[Account, int]]]:
    """Every account's signed balance per currency (current, or at the end of `as_of`). Each currency's
    balances sum to zero when the books are consistent."""
    out: dict[str, list[tuple[Account, int]]] = {}
    for acct in session.execute(select(Account).order_by(Account.currency, Account.code)).scalars():
        value = acct.balance_minor if as_of is None else balance_as_of(session, acct, as_of)
        out.setdefault(acct.currency, []).append((acct, value))
    return out


@dataclass(frozen=True)
class Problem:
    subject: str
    message: str


def verify(session: Session) -> list[Problem]:
    """Every running balance, stored balance and entry checked, and each commission entry against its source
    event (`ledger.integrity`); each difference reported."""
    from .integrity import verify as verify_books

    return verify_books(session)

"""Posting to the ledger, and reading it back. Plain Python over a SQLAlchemy session; no Flask.

Every rule of a journal entry lives in `post`: it balances per currency, it targets known open accounts and
an open period, its date does not go back on any account, and its idempotency key posts it once (a retry
returns the first entry; the same key with another request is refused). Accounts are locked in a fixed
order (by id) before anything is read or written, so concurrent posters neither deadlock nor lose updates.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import JSON, bindparam, case, func, insert, inspect, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.db import DomainError, new_public_id, utcnow
from core.i18n import N_

from .models import Account, AccountType, JournalEntry, Period, Posting


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


def _period_closed(session: Session, day: date) -> bool:
    return session.execute(select(Period.id).where(Period.month == day.replace(day=1))).first() is not None


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


def _locked_accounts(session: Session, lines: list[Line]) -> dict[tuple[str, str], Account]:
    pairs = sorted({(ln.account, ln.currency) for ln in lines})
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no FOR UPDATE: a no-op write takes the database's write lock (waiting for the current
        # writer) before the balances are read, so they cannot be stale when we add to them. Being a write, it
        # also makes the sqlite3 driver open the transaction now, so the SAVEPOINT below nests inside it
        # (issued first, the driver would let its RELEASE commit the entry on its own).
        session.execute(update(Account).where(tuple_(Account.code, Account.currency).in_(pairs))
                        .values(balance_minor=Account.balance_minor).execution_options(synchronize_session=False))
    # populate_existing: an Account the session loaded earlier is refreshed from the locked row, else a balance
    # committed by another transaction since then would be overwritten
    stmt = (select(Account).where(tuple_(Account.code, Account.currency).in_(pairs))
            .order_by(Account.id).with_for_update().execution_options(populate_existing=True))
    accounts = {(a.code, a.currency): a for a in session.execute(stmt).scalars()}
    missing = [f"{code} ({currency})" for code, currency in pairs if (code, currency) not in accounts]
    if missing:
        raise UnknownAccount(N_("Unknown account: %(accounts)s."), accounts=", ".join(missing))
    closed = [f"{a.code} ({a.currency})" for a in accounts.values() if a.closed_at is not None]
    if closed:
        raise UnknownAccount(N_("Closed account: %(accounts)s."), accounts=", ".join(closed))
    return accounts


def post(session: Session, *, key: str, effective_date: date, description: str, lines: list[Line],
         event_kind: str | None = None, event_ref: str | None = None, event_date: date | None = None,
         details: dict | None = None, reverses: JournalEntry | None = None) -> tuple[JournalEntry, bool]:
    """Write one balanced entry, or return the one already written under `key` (created=False)."""
    _check_lines(lines)
    digest = _request_hash(effective_date, description, lines, reverses.id if reverses else None, event_kind,
                           event_ref)
    # Lock first: a concurrent poster of the same key then commits before we look for the key.
    accounts = _locked_accounts(session, lines)
    existing = session.execute(select(JournalEntry).where(JournalEntry.idempotency_key == key)).scalar_one_or_none()
    if existing is not None:
        if existing.request_hash != digest:
            raise KeyReused(N_("This idempotency key was already used for a different entry."))
        return existing, False
    if _period_closed(session, effective_date):
        raise PeriodClosed(N_("The period of %(date)s is closed."), date=effective_date.isoformat())
    late = [a.code for a in accounts.values() if a.last_posted_on and effective_date < a.last_posted_on]
    if late:
        raise LedgerError(N_("Posting dates cannot go back on an account (%(accounts)s): post at today's date."),
                          accounts=", ".join(sorted(late)))
    entry = JournalEntry(idempotency_key=key, request_hash=digest, effective_date=effective_date,
                         description=description[:500], event_kind=event_kind, event_ref=event_ref,
                         event_date=event_date, details=details or {}, reverses_id=reverses.id if reverses else None)
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        # the same key committed by another transaction that did not share our accounts, or a second reversal
        existing = session.execute(select(JournalEntry).where(JournalEntry.idempotency_key == key)
                                   ).scalar_one_or_none()
        if existing is None:
            raise LedgerError(N_("This entry was already reversed.")) from None
        if existing.request_hash != digest:
            raise KeyReused(N_("This idempotency key was already used for a different entry.")) from None
        return existing, False
    for line in sorted(lines, key=lambda ln: accounts[(ln.account, ln.currency)].id):
        account = accounts[(line.account, line.currency)]
        account.balance_minor += line.amount_minor
        account.last_posted_on = effective_date
        session.add(Posting(entry_id=entry.id, account_id=account.id, amount_minor=line.amount_minor,
                            currency=line.currency, effective_date=effective_date,
                            balance_after=account.balance_minor))
    session.flush()
    return entry, True


def reverse(session: Session, entry: JournalEntry, *, key: str, effective_date: date,
            description: str | None = None) -> tuple[JournalEntry, bool]:
    """The correction of a posted entry: the same postings with opposite signs, referencing it."""
    done = session.execute(select(JournalEntry).where(JournalEntry.reverses_id == entry.id)).scalar_one_or_none()
    if done is not None and done.idempotency_key != key:
        raise LedgerError(N_("This entry was already reversed."))
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
    new: list[tuple[_Request, str, list[dict]]]
    balances: dict[int, int]
    last_posted: dict[int, date]


def _fresh_locked_accounts(session: Session, lines: list[Line]) -> dict[tuple[str, str], Account]:
    # The lock's SELECT does not overwrite accounts the session loaded earlier in this transaction (by
    # open_account, say): their balances could predate another poster's commit. Expire those first, after
    # flushing so that no pending change is lost, and the lock loads them as they are now.
    pairs = {(ln.account, ln.currency) for ln in lines}
    session.flush()
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Account):
            loaded = inspect(obj).dict
            if (loaded.get("code"), loaded.get("currency")) in pairs:
                session.expire(obj)
    return _locked_accounts(session, lines)


def _entries_by_key(session: Session, keys: set[str]) -> dict[str, JournalEntry]:
    found: dict[str, JournalEntry] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), 1000):  # bounded IN lists (SQLite's parameter limit)
        chunk = ordered[start:start + 1000]
        found.update((e.idempotency_key, e) for e in session.execute(
            select(JournalEntry).where(JournalEntry.idempotency_key.in_(chunk))).scalars())
    return found


def _closed_months(session: Session, days: set[date]) -> set[date]:
    months = {d.replace(day=1) for d in days}
    return set(session.execute(select(Period.month).where(Period.month.in_(months))).scalars())


def _plan_batch(session: Session, requests: list[_Request], accounts: dict[tuple[str, str], Account],
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
                raise KeyReused(N_("This idempotency key was already used for a different entry."))
            plan.outcomes.append((existing[r.key] if r.key in existing else index[r.key], False))
            continue
        if r.effective_date.replace(day=1) in closed:
            raise PeriodClosed(N_("The period of %(date)s is closed."), date=r.effective_date.isoformat())
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
        raise LedgerError(N_("Posting dates cannot go back on an account (%(accounts)s): post at today's date."),
                          accounts=", ".join(late))
    if r.reverses_id is not None:
        if r.reverses_id in reversed_ids:
            raise LedgerError(N_("This entry was already reversed."))
        reversed_ids.add(r.reverses_id)


def _postings(r: _Request, targets: list[int], plan: _Plan) -> list[dict]:
    """The request's postings in account-id order (as `post` writes them), moving the running balances."""
    postings = []
    for line, account_id in sorted(zip(r.lines, targets), key=lambda pair: pair[1]):
        plan.balances[account_id] += line.amount_minor
        plan.last_posted[account_id] = r.effective_date
        postings.append(dict(account_id=account_id, amount_minor=line.amount_minor, currency=line.currency,
                             effective_date=r.effective_date, balance_after=plan.balances[account_id]))
    return postings


def _insert_entries(session: Session, plan: _Plan) -> list[JournalEntry]:
    """The new entries in one bulk insert, then read back by key: twice as fast as INSERT ... RETURNING of whole
    rows, which SQLAlchemy sends 1,000 rows a statement with every value a named parameter for psycopg to
    rewrite (and SQLite one row at a time, to keep the order)."""
    now = utcnow()
    rows = [dict(public_id=new_public_id(), created_at=now, idempotency_key=r.key, request_hash=digest,
                 effective_date=r.effective_date, description=r.description[:500], event_kind=r.event_kind,
                 event_ref=r.event_ref, event_date=r.event_date, details=r.details or {}, reverses_id=r.reverses_id)
            for r, digest, _postings in plan.new]
    _bulk_insert(session, JournalEntry.__table__, rows)
    by_key = _entries_by_key(session, {row["idempotency_key"] for row in rows})
    return [by_key[row["idempotency_key"]] for row in rows]


def _insert_postings(session: Session, rows: list[dict]) -> None:
    _bulk_insert(session, Posting.__table__, rows)


def _bulk_insert(session: Session, table, rows: list[dict]) -> None:
    """Many rows in one go: COPY on PostgreSQL (a third faster than psycopg's pipelined executemany, the rows
    go as one stream), executemany elsewhere. A refused row raises IntegrityError either way."""
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    as_json = [isinstance(table.c[name].type, JSON) for name in columns]  # COPY takes JSON as text
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([json.dumps(v) if j else v for v, j in zip(row.values(), as_json)])
    except dialect.loaded_dbapi.IntegrityError as exc:  # the driver's own error: COPY bypasses SQLAlchemy
        raise IntegrityError(sql, None, exc) from exc


def _store_balances(session: Session, accounts: list[Account], plan: _Plan) -> None:
    """One UPDATE per 1,000 accounts of the batch (a CASE on the id), then the loaded objects set to match."""
    table = Account.__table__
    for start in range(0, len(accounts), 1000):  # bounded parameter lists (SQLite's limit)
        ids = [a.id for a in accounts[start:start + 1000]]
        session.execute(update(table).where(table.c.id.in_(ids)).values(
            balance_minor=case({i: plan.balances[i] for i in ids}, value=table.c.id),
            last_posted_on=case({i: plan.last_posted[i] for i in ids}, value=table.c.id)))
    for acct in accounts:
        set_committed_value(acct, "balance_minor", plan.balances[acct.id])
        set_committed_value(acct, "last_posted_on", plan.last_posted[acct.id])


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
    accounts = _fresh_locked_accounts(session, [ln for r in reqs for ln in r.lines])
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
                raise LedgerError(N_("This entry was already reversed.")) from None
            existing.update(found)
    _insert_postings(session, [dict(posting, entry_id=entry.id)
                               for entry, (_r, _digest, postings) in zip(entries, plan.new) for posting in postings])
    _store_balances(session, [a for a in accounts.values() if plan.last_posted[a.id] != a.last_posted_on
                              or plan.balances[a.id] != a.balance_minor], plan)
    return [(entries[found] if isinstance(found, int) else found, created) for found, created in plan.outcomes]


# --- reading -------------------------------------------------------------------------------------------------

# The hot reads run prebuilt statements: building one costs about as much as running it (0.1-0.3 ms).
_ACCOUNT = select(Account).where(Account.code == bindparam("code"), Account.currency == bindparam("currency"))


def account(session: Session, code: str, currency: str) -> Account:
    found = session.execute(_ACCOUNT, {"code": code, "currency": currency}).scalar_one_or_none()
    if found is None:
        raise UnknownAccount(N_("Unknown account: %(accounts)s."), accounts=f"{code} ({currency})")
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
    """Recompute every balance from the postings and check every entry balances; report each difference."""
    problems: list[Problem] = []
    sums = dict(session.execute(select(Posting.account_id, func.sum(Posting.amount_minor))
                                .group_by(Posting.account_id)).all())
    for acct in session.execute(select(Account).order_by(Account.id)).scalars():
        computed = int(sums.get(acct.id) or 0)
        if computed != acct.balance_minor:
            problems.append(Problem(f"{acct.code} ({acct.currency})",
                                    f"stored balance {acct.balance_minor} but postings sum to {computed}"))
        last = session.execute(select(Posting.balance_after).where(Posting.account_id == acct.id)
                               .order_by(Posting.id.desc()).limit(1)).scalar_one_or_none()
        if last is not None and last != acct.balance_minor:
            problems.append(Problem(f"{acct.code} ({acct.currency})",
                                    f"stored balance {acct.balance_minor} but the last running balance is {last}"))
    unbalanced = session.execute(select(Posting.entry_id, Posting.currency, func.sum(Posting.amount_minor))
                                 .group_by(Posting.entry_id, Posting.currency)
                                 .having(func.sum(Posting.amount_minor) != 0)).all()
    empty = session.execute(select(JournalEntry.public_id).where(
        ~select(Posting.id).where(Posting.entry_id == JournalEntry.id).exists())).scalars()
    problems += [Problem(f"entry {ref}", "has no postings") for ref in empty]
    for entry_id, currency, total in unbalanced:
        ref = session.get(JournalEntry, entry_id)
        problems.append(Problem(f"entry {ref.public_id if ref else entry_id}",
                                f"does not balance in {currency} (off by {total})"))
    return problems

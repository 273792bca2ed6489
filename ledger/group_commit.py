"""Group commit: one posting writer per database and process, so concurrent posters never wait on a busy
account's row lock for the length of each other's transactions.

`engine.post` used to lock the entry's accounts in the caller's own transaction and hold them until the caller
committed; four callers whose entries all touch the biggest insurer's receivable then ran one after the other,
each waiting for the previous caller's whole transaction (and its commit's fsync). Here a caller hands its
request to the writer and blocks on its own result. The writer takes whatever is pending (up to `MAX_BATCH`
requests, in arrival order), posts it with `post_batch` in one short transaction of its own — the accounts
locked once, in id order, for the batch — and commits once: N callers share one lock hold and one fsync.

What each caller gets is what posting alone would give: its entry (created, or the one already posted under
its key — a key repeated inside one batch too), or its own refusal. A refusal in a batch does not refuse the
others: the batch is then posted request by request, still in one transaction (a refused request writes
nothing). An unexpected database error posts each request of that batch in a transaction of its own, so one
bad request fails alone.

An entry posted through the writer is committed when `post` returns, whatever the caller does next; rolling the
caller back does not undo it, and the caller's retry gets the same entry back by its idempotency key. This is
only safe when the entry cannot depend on anything the caller has not committed, so the writer is used only
when the caller's transaction has not written to a ledger table (no account opened, no entry posted, no payout
run moved… in it) — and, on SQLite, whose one database lock the caller would hold against the writer, only
while the caller's transaction has written nothing at all. Otherwise `post` posts in the caller's transaction as before.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .errors import LedgerError
from .journal_batch import post_batch
from .journal_rules import TOUCHED, touched
from .models import JournalEntry

#: the most requests one commit takes (a batch of 500 placements commits in ~20-40 ms)
MAX_BATCH = 500


def _ledger_row(obj: object) -> bool:
    """A row of one of the ledger's tables (accounts, entries, payout runs, receipts, outcomes…)."""
    return getattr(type(obj), "__tablename__", "").startswith("ledger_")


#: off, every `post` runs in the caller's transaction (LEDGER_GROUP_COMMIT=0 in the environment)
enabled = os.environ.get("LEDGER_GROUP_COMMIT", "1") != "0"


@dataclass(frozen=True)
class EntryRef:
    """The entry a request reverses, as the writer needs it: its id."""

    id: int


@dataclass
class _Pending:
    request: dict
    done: threading.Event = field(default_factory=threading.Event)
    result: tuple[JournalEntry, bool] | None = None
    error: BaseException | None = None

    def answer(self, result: tuple[JournalEntry, bool] | None = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()


class Writer:
    """The posting writer of one database engine in this process. Not a thread of its own: the first caller
    that finds no batch being written writes, for itself and for whoever is waiting, until its own request is
    answered; then the next waiting caller takes over (no hand-off to another thread on the way in or out)."""

    def __init__(self, bind: Engine):
        self.bind = bind
        self.pending: deque[_Pending] = deque()
        self.turn = threading.Condition()  # guards pending and writing; notified after each batch
        self.writing = False
        self.batches = 0  # how many commits it made (the tests and the benchmark read it)

    def post(self, request: dict) -> tuple[JournalEntry, bool]:
        """Post one request (`post`'s keyword arguments, `reverses` as an EntryRef) through the next batch;
        (entry, created) once it is committed — the entry detached, loaded as written —, or its refusal raised
        here."""
        pending = _Pending(request)
        with self.turn:
            self.pending.append(pending)
            while self.writing and not pending.done.is_set():
                self.turn.wait()
            leader = not pending.done.is_set()
            if leader:
                self.writing = True
        try:
            while not pending.done.is_set():
                with self.turn:
                    batch = [self.pending.popleft() for _ in range(min(len(self.pending), MAX_BATCH))]
                self._write(batch)
                with self.turn:
                    self.turn.notify_all()
        finally:
            if leader:
                with self.turn:
                    self.writing = False
                    self.turn.notify_all()
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None
        return pending.result

    def _write(self, batch: list[_Pending]) -> None:
        try:
            self._commit(batch)
        except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting
            for p in batch:
                if not p.done.is_set():
                    p.answer(error=exc)
            if not isinstance(exc, Exception):
                raise

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            with Session(self.bind, expire_on_commit=False) as s:
                results = _post_each(s, batch)
                s.commit()
        except LedgerError:
            raise  # not raised by _post_each: refusals are answered per request
        except Exception:  # noqa: BLE001 - a database error: each request alone, so it fails alone
            for p in batch:
                self._commit_alone(p)
            return
        self.batches += 1
        for p, (result, error) in zip(batch, results, strict=True):
            p.answer(result, error)

    def _commit_alone(self, p: _Pending) -> None:
        try:
            with Session(self.bind, expire_on_commit=False) as s:
                result, error = _post_alone(s, p.request)
                s.commit()
            p.answer(result, error)
        except Exception as exc:  # noqa: BLE001 - the caller's own error
            p.answer(error=exc)


def _post_each(s: Session, batch: list[_Pending]) -> list[tuple[tuple[JournalEntry, bool] | None, LedgerError | None]]:
    """Each request's (entry, created) or refusal, all posted in the session's transaction, in arrival order.

    PostgreSQL: one pipelined stream of `ledger_post` calls (one round trip; a refused request writes nothing).
    SQLite: one `post_batch`; if some request is refused, request by request (a refused one writes nothing)."""
    touched(s)  # the writer's own session posts in its own transaction (never through itself)
    if s.get_bind().dialect.name == "postgresql":
        return [(None, out) if isinstance(out, LedgerError) else (out, None)
                for out in _posting["many"](s, [p.request for p in batch])]
    if len(batch) > 1:
        try:
            return [((entry, created), None) for entry, created in post_batch(s, [p.request for p in batch])]
        except LedgerError:
            pass
    return [_post_alone(s, p.request) for p in batch]


def _post_alone(s: Session, request: dict) -> tuple[tuple[JournalEntry, bool] | None, LedgerError | None]:
    """One request: `post` in the writer's transaction."""
    touched(s)
    try:
        entry, created = _posting["one"](s, **request)
    except LedgerError as exc:
        return None, exc
    return (entry, created), None


#: how the writer posts in its own transaction, given by `ledger.journal` (which calls this module, so this one
#: does not import it): "one", `post`; "many", PostgreSQL's pipelined `post_many_in_database`
_posting: dict[str, Callable] = {}


def use(post_one: Callable, post_many: Callable) -> None:
    _posting.update(one=post_one, many=post_many)


_writers: dict[int, tuple[int, Engine, Writer]] = {}
_writers_lock = threading.Lock()


def writer_for(bind: Engine) -> Writer:
    """This process's writer for `bind` (a new one after a fork: a batch being written in the parent is not
    the child's)."""
    key = id(bind)
    found = _writers.get(key)
    if found is not None and found[0] == os.getpid() and found[1] is bind:
        return found[2]
    with _writers_lock:
        found = _writers.get(key)
        if found is None or found[0] != os.getpid() or found[1] is not bind:
            found = (os.getpid(), bind, Writer(bind))
            _writers[key] = found
        return found[2]


def writer_for_session(session: Session) -> Writer | None:
    """The writer `post` may use for this session's request, or None to post in the session's transaction."""
    if not enabled or session.info.get(TOUCHED):
        return None
    if any(_ledger_row(obj) for obj in (*session.new, *session.dirty, *session.deleted)):
        return None
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return None  # a session bound to a connection shares its transaction: post in it
    if bind.get_execution_options().get("isolation_level") not in (None, "READ COMMITTED", "AUTOCOMMIT"):
        return None  # a snapshot older than the writer's commit would not see the entry
    if bind.dialect.name == "sqlite" and session.connection().connection.dbapi_connection.in_transaction:
        return None  # the caller holds SQLite's write lock: the writer would wait for it
    return writer_for(bind)


@event.listens_for(Session, "before_flush")
def _ledger_rows_flushed(session: Session, _context: Any, _instances: Any) -> None:
    if any(_ledger_row(obj) for obj in (*session.new, *session.dirty, *session.deleted)):
        touched(session)


@event.listens_for(Session, "do_orm_execute")
def _ledger_rows_written(state: Any) -> None:
    """An INSERT, UPDATE or DELETE statement on a ledger table (a payout run's compare-and-set of its status)."""
    if (state.is_insert or state.is_update or state.is_delete) and getattr(
            getattr(state.statement, "table", None), "name", "").startswith("ledger_"):
        touched(state.session)


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(TOUCHED, None)

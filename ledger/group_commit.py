"""Group commit: one posting writer per database and process, so concurrent posters never wait on a busy
account's row lock for the length of each other's transactions.

`engine.post` used to lock the entry's accounts in the caller's own transaction and hold them until the caller
committed; four callers whose entries all touch the biggest insurer's receivable then ran one after the other,
each waiting for the previous caller's whole transaction (and its commit's fsync). Here a caller hands its
request to the writer and blocks on its own result. The writer takes whatever is pending (up to `MAX_BATCH`
requests, in arrival order), posts it in one short transaction of its own — the accounts locked for the batch
only — and commits once: N callers share one lock hold and one fsync. A caller that finds nobody writing is
written at once: one caller alone pays no batching delay.

On PostgreSQL a batch is one round trip and one transaction: one `ledger_post` call per request goes to the server
as one pipeline ending in one Sync, which commits them (the protocol's implicit transaction, `Writer._run`), on the
writer's own connection (`Writer._connection`; no ORM session: the caller turns its row into its entry,
`ledger.journal`). On SQLite the batch is one `post_batch` in a session.

What each caller gets is what posting alone would give: its entry (created, or the one already posted under
its key — a key repeated inside one batch too), or its own refusal. A refusal in a batch does not refuse the
others (PostgreSQL: `ledger_post` answers a refusal and writes nothing; SQLite: the batch is then posted request
by request, still in one transaction). An unexpected database error posts each request of that batch in a
transaction of its own, so one bad request fails alone.

An entry posted through the writer is committed when `post` returns, whatever the caller does next; rolling the
caller back does not undo it, and the caller's retry gets the same entry back by its idempotency key. This is
only safe when the entry cannot depend on anything the caller has not committed, so the writer is used only
when the caller's transaction has not written to a ledger table (no account opened, no entry posted, no payout
run moved… in it) — and, on SQLite, whose one database lock the caller would hold against the writer, only
while the caller's transaction has written nothing at all. Otherwise `post` posts in the caller's transaction as before.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .errors import LedgerError
from .journal_batch import post_batch
from .journal_rules import TOUCHED, touched
from .models import JournalEntry

#: the most requests one commit takes (a batch of 500 placements commits in ~20-40 ms)
MAX_BATCH = 500
#: the longest a batch waits for posters known to be coming back (see Writer._gather)
MAX_GATHER_S = 0.005
#: a thread counts as a poster while it posted within this many commits' time (and at least this long)
POSTER_WINDOW_COMMITS = 4
MIN_POSTER_WINDOW_S = 0.001


def _ledger_row(obj: object) -> bool:
    """A row of one of the ledger's tables (accounts, entries, payout runs, receipts, outcomes…)."""
    return getattr(type(obj), "__tablename__", "").startswith("ledger_")


#: off, every `post` runs in the caller's transaction (LEDGER_GROUP_COMMIT=0 in the environment)
enabled = os.environ.get("LEDGER_GROUP_COMMIT", "1") != "0"


@dataclass(frozen=True)
class EntryRef:
    """The entry a request reverses, as the writer needs it: its id."""

    id: int


@dataclass(frozen=True)
class Call:
    """A PostgreSQL request: one statement (the driver's placeholders) and its parameters; the writer answers
    its one row."""

    sql: str
    params: tuple


@dataclass
class _Pending:
    request: Any
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None

    def answer(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()


class Writer:
    """The posting writer of one database engine in this process. Not a thread of its own: the first caller
    that finds no batch being written writes, for itself and for whoever is waiting, until its own request is
    answered; then the next waiting caller takes over (no hand-off to another thread on the way in or out)."""

    def __init__(self, bind: Engine):
        self.bind = bind
        #: PostgreSQL: requests are `Call`s, run in one round trip and one transaction on the writer's connection
        self.pipelined = bind.dialect.name == "postgresql"
        #: PostgreSQL: the writer's own driver connection (see `_connection`), opened on first use
        self.conn: Any = None
        self.pending: deque[_Pending] = deque()
        lock = threading.Lock()  # guards pending, writing and posters
        self.turn = threading.Condition(lock)  # notified after each batch
        self.arrival = threading.Condition(lock)  # notified when a request arrives while a batch is gathered
        self.writing = False
        #: each thread that posted lately, with when: the callers a leader may wait for
        self.posters: dict[int, float] = {}
        self.write_s = 0.0  # how long a batch takes to write and commit (moving average)
        self.batches = 0  # how many commits it made (the tests and the benchmark read it)
        #: PostgreSQL: whether the server's transactions are READ COMMITTED unless told otherwise (asked once)
        self.read_committed = True

    def post(self, request: Any) -> Any:
        """Post one request through the next batch and return its answer once it is committed, or raise its
        refusal or error here. PostgreSQL: a `Call`, answered with its row. SQLite: `post`'s keyword arguments
        (`reverses` as an EntryRef), answered with (entry, created), the entry detached, loaded as written."""
        pending = _Pending(request)
        with self.turn:
            self.pending.append(pending)
            self.posters[threading.get_ident()] = time.monotonic()
            self.arrival.notify()
            while self.writing and not pending.done.is_set():
                self.turn.wait()
            leader = not pending.done.is_set()
            if leader:
                self.writing = True
        try:
            while not pending.done.is_set():
                with self.turn:
                    self._gather()
                    batch = [self.pending.popleft() for _ in range(min(len(self.pending), MAX_BATCH))]
                started = time.monotonic()
                self._write(batch)
                with self.turn:
                    self.write_s += (time.monotonic() - started - self.write_s) / 8
                    self.turn.notify_all()
        finally:
            if leader:
                with self.turn:
                    self.writing = False
                    self.turn.notify_all()
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _gather(self) -> None:
        """With the lock held, before a batch is taken: the posters that were answered by the last batches and
        post again (a worker's threads in a loop) are waited for, if they have not all asked yet, for at most as
        long as a batch takes to commit (`MAX_GATHER_S` at most): the batch then carries every one of them and
        the next commit is saved. A poster counts while it posted within the last few commits' time, so a caller
        alone, or callers that post now and then, are written at once."""
        now = time.monotonic()
        window = max(POSTER_WINDOW_COMMITS * self.write_s, MIN_POSTER_WINDOW_S)
        for ident, seen in list(self.posters.items()):
            if now - seen > window:
                del self.posters[ident]
        expected = min(len(self.posters), MAX_BATCH)
        deadline = now + min(self.write_s, MAX_GATHER_S)
        while len(self.pending) < expected:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.arrival.wait(remaining)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            if self.pipelined:
                self._commit_calls(batch)
            else:
                self._commit(batch)
        except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting
            for p in batch:
                if not p.done.is_set():
                    p.answer(error=exc)
            if not isinstance(exc, Exception):
                raise

    # ---------------------------------------------------------------- PostgreSQL: one round trip a batch

    def _commit_calls(self, batch: list[_Pending]) -> None:
        try:
            rows = self._run([p.request for p in batch])
        except DBAPIError as exc:
            if len(batch) == 1:
                batch[0].answer(error=exc)
                return
            for p in batch:  # a database error: each request alone, so it fails alone
                self._commit_calls([p])
            return
        self.batches += 1
        for p, row in zip(batch, rows, strict=True):
            p.answer(row)

    def _connection(self) -> Any:
        """The writer's own driver connection: taken from the engine's pool once and detached from it, in
        autocommit mode for good. Only the leader of the moment uses it. Kept out of the pool because what the
        pool's other users do would cost every batch: a checkout and a check-in, the mode switched and back, and
        psycopg forgetting its prepared statements whenever another session on that connection rolls back (the
        next batch would prepare `ledger_post` again, a round trip of its own)."""
        if self.conn is None:
            raw = self.bind.raw_connection()
            conn = raw.driver_connection
            try:
                raw.detach()  # the pool forgets it: closed by `close`, never checked in
                conn.rollback()
                conn.autocommit = True
                isolation = conn.execute(_DEFAULT_ISOLATION).fetchone()[0]
            except BaseException:
                conn.close()
                raise
            self.read_committed = isolation == "read committed"
            self.conn = conn
        return self.conn

    def close(self) -> None:
        """Close the writer's connection (the engine is disposed of; a later batch opens a new one)."""
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection closes as it can
                conn.close()

    def _run(self, calls: list[Call]) -> list[tuple]:
        """The calls in one transaction and one round trip on the writer's connection; the row of each call once
        the transaction is committed. A database error is raised as SQLAlchemy's, the transaction rolled back
        (the connection closed if it is broken).

        The connection is in autocommit mode, so the transaction is the protocol's implicit one: the server runs
        every statement sent before the Sync message in one transaction and commits it at the Sync (or rolls all
        of it back at the first error). One call alone is one extended-protocol exchange; several go as one
        pipeline ending in one Sync. No BEGIN and COMMIT statements are sent: each costs the server and the
        driver about what a short statement does. The implicit transaction has the server's default isolation,
        so that path is taken only where that default is READ COMMITTED (what `ledger_post`'s locking is written
        for); elsewhere BEGIN ISOLATION LEVEL READ COMMITTED and COMMIT frame the pipeline."""
        conn = self._connection()
        try:
            if len(calls) == 1 and self.read_committed:
                return [conn.execute(calls[0].sql, calls[0].params, prepare=True).fetchone()]
            with conn.pipeline():
                if not self.read_committed:
                    conn.execute(_BEGIN, prepare=False)
                cursors = [conn.cursor().execute(c.sql, c.params, prepare=True) for c in calls]
                if not self.read_committed:
                    conn.execute(_COMMIT, prepare=False)
            return [cursor.fetchone() for cursor in cursors]
        except self.bind.dialect.loaded_dbapi.Error as exc:
            raise self._failed(conn, calls, exc) from exc

    def _failed(self, conn: Any, calls: list[Call], exc: Exception) -> DBAPIError:
        """The error as SQLAlchemy raises it; the transaction rolled back, or the connection closed."""
        dialect = self.bind.dialect
        broken = dialect.is_disconnect(exc, conn, None)
        if not broken:
            try:
                conn.rollback()  # an explicit transaction left aborted; the implicit one is already gone
            except dialect.loaded_dbapi.Error:
                broken = True
        if broken:
            self.close()
        return DBAPIError.instance(calls[0].sql, calls[0].params, exc, dialect.loaded_dbapi.Error,
                                   connection_invalidated=broken, dialect=dialect)

    # ---------------------------------------------------------------- SQLite: one post_batch a batch

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


_BEGIN = b"BEGIN ISOLATION LEVEL READ COMMITTED"  # what ledger_post's locking is written for
_COMMIT = b"COMMIT"
_DEFAULT_ISOLATION = b"SHOW default_transaction_isolation"


def _post_each(s: Session, batch: list[_Pending]) -> list[tuple[tuple[JournalEntry, bool] | None, LedgerError | None]]:
    """Each request's (entry, created) or refusal, all posted in the session's transaction, in arrival order:
    one `post_batch`; if some request is refused, request by request (a refused one writes nothing)."""
    touched(s)  # the writer's own session posts in its own transaction (never through itself)
    if len(batch) > 1:
        try:
            return [((entry, created), None) for entry, created in post_batch(s, [p.request for p in batch])]
        except LedgerError:
            pass
    return [_post_alone(s, p.request) for p in batch]


def _post_alone(s: Session, request: dict) -> tuple[tuple[JournalEntry, bool] | None, LedgerError | None]:
    """One request, in the writer's transaction (a batch of one: SQLite's `post`)."""
    touched(s)
    try:
        [(entry, created)] = post_batch(s, [request])
    except LedgerError as exc:
        return None, exc
    return (entry, created), None


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
            if not event.contains(bind, "engine_disposed", _disposed):
                event.listen(bind, "engine_disposed", _disposed)
        return found[2]


def _disposed(bind: Engine) -> None:
    """The engine's connections are closed: the writer's too."""
    found = _writers.get(id(bind))
    if found is not None and found[1] is bind and found[0] == os.getpid():
        found[2].close()


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

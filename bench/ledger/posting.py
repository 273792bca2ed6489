"""Posting (1) and (2): single entries, batches, concurrent writers; where their time goes, and this machine's
floor."""
from __future__ import annotations

import gc
import random
import threading
import time
from datetime import date

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bench.common import BenchError, latency, timed
from bench.ledger.history import INSURERS, Chart, placement_request
from bench.ledger.reads import close, one_connection
from ledger import engine, journal_batch

class Requests:
    """Placement requests for the posting phases, each with a key of its own. They are stamped from a pool of
    prepared requests, so that building them costs next to nothing and keeps no large heap alive (which would
    make Python's garbage collector slower than in a real worker)."""

    POOL = 500

    def __init__(self, rng: random.Random, chart: Chart, today: date):
        self.serial = 0
        pick = [chart.pick(rng) for _ in range(self.POOL)]
        self.pools = {
            None: [placement_request(rng, insurer, partner, f"BENCH-{n:08d}", today)
                   for n, (insurer, partner) in enumerate(pick)],
            INSURERS[0]: [placement_request(rng, INSURERS[0], partner, f"BENCH-{n:08d}", today)
                          for n, (_insurer, partner) in enumerate(pick)],
        }

    def next(self, insurer: str | None = None) -> dict:
        self.serial += 1
        template = self.pools[insurer][self.serial % self.POOL]
        # the engine's work is the same whatever the kind; `ledger verify` holds a contract.placed entry to its
        # business event, which these timed entries have none of
        return dict(template, key=f"contract.placed:bench-{self.serial}", event_ref=f"bench-{self.serial}",
                    event_kind="bench.placed")

    def many(self, n: int, insurer: str | None = None) -> list[dict]:
        return [self.next(insurer) for _ in range(n)]


class Tally:
    """Where the time of some work goes, for the diagnosis of a MISS: the statements it sends on `conn` and the
    time spent inside the driver for them (round trips and the server's work; commits are timed by the caller),
    and the time spent in Python's garbage collector. The rest is Python: the engine and SQLAlchemy."""

    def __init__(self, conn):
        self.conn, self.statements, self.driver_s, self.gc_s = conn, 0, 0.0, 0.0
        self._started: list[float] = []
        self._gc_started = 0.0

    def _before(self, *args):
        self.statements += 1
        self._started.append((time.perf_counter(), self.gc_s))

    def _after(self, *args):
        started, gc_then = self._started.pop()
        # a collection that ran while the driver worked is counted once, as the collector's
        self.driver_s += time.perf_counter() - started - (self.gc_s - gc_then)

    def _gc(self, phase, info):
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_s += time.perf_counter() - self._gc_started

    def _timed_bulk_insert(self, *args):
        # post_batch's COPY streams (PostgreSQL) go to the driver without SQLAlchemy's events: timed here
        self._before()
        try:
            return self._bulk_insert(*args)
        finally:
            self._after()

    def __enter__(self):
        for name, fn in (("before_cursor_execute", self._before), ("after_cursor_execute", self._after)):
            event.listen(self.conn, name, fn)
        gc.callbacks.append(self._gc)
        self._bulk_insert = journal_batch._bulk_insert
        if self.conn.dialect.name == "postgresql":  # elsewhere it runs through SQLAlchemy, seen above
            journal_batch._bulk_insert = self._timed_bulk_insert
        return self

    def __exit__(self, *exc):
        for name, fn in (("before_cursor_execute", self._before), ("after_cursor_execute", self._after)):
            event.remove(self.conn, name, fn)
        gc.callbacks.remove(self._gc)
        journal_batch._bulk_insert = self._bulk_insert


def diagnose(eng, units: list, post) -> dict:
    """Untimed by the figures: `post(session, unit)` for each unit with a Tally, each followed by its commit, timed
    on its own. Per unit, in ms: the whole, inside the driver (the commit included), the commit, the garbage
    collector; and the statements sent, the commit included."""
    conn, s = one_connection(eng)
    commit_s = 0.0
    try:
        with Tally(conn) as tally:
            t0 = time.perf_counter()
            for unit in units:
                post(s, unit)
                t = time.perf_counter()
                s.commit()
                commit_s += time.perf_counter() - t
            wall = time.perf_counter() - t0
    finally:
        close(conn, s)
    n = len(units)
    return {"ms_each": wall / n * 1000, "statements_each": tally.statements / n + 1,
            "driver_ms_each": (tally.driver_s + commit_s) / n * 1000, "commit_ms_each": commit_s / n * 1000,
            "gc_ms_each": tally.gc_s / n * 1000}


def diagnose_single(eng, requests: Requests, n: int) -> dict:
    """Where the time of `n` more single entries goes."""
    return {"entries": n, **diagnose(eng, requests.many(n), lambda s, request: engine.post(s, **request))}


def measure_floor(eng, n: int = 2000) -> dict:
    """This machine's floor, through the driver alone: one round trip (SELECT 1), and one transaction of one
    one-row INSERT with its commit. A design with k statements per entry, each a round trip, plus a commit
    cannot post faster than about 1 / (k x round trip + commit)."""
    with eng.connect() as conn:
        raw = conn.connection.dbapi_connection
        cursor = raw.cursor()
        cursor.execute("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, v BIGINT)")
        raw.commit()
        t0 = time.perf_counter()
        for _ in range(n):
            cursor.execute("SELECT 1")
            cursor.fetchone()
        t1 = time.perf_counter()
        raw.rollback()
        t2 = time.perf_counter()
        for i in range(n):
            cursor.execute(f"INSERT INTO bench_floor (id, v) VALUES ({i}, {i})")
            raw.commit()
        t3 = time.perf_counter()
        cursor.execute("DROP TABLE bench_floor")
        raw.commit()
    return {"round_trip_ms": (t1 - t0) / n * 1000, "insert_commit_ms": (t3 - t2) / n * 1000}


def measure_single(eng, requests: Requests, n: int, warmup: int) -> dict:
    """(1) `engine.post` of one placement and its commit, one after the other on one connection."""
    todo = requests.many(warmup + n)
    conn, s = one_connection(eng)
    samples: list[float] = []
    try:
        for request in todo[:warmup]:
            engine.post(s, **request)
            s.commit()
        t0 = time.perf_counter()
        for request in todo[warmup:]:
            t = time.perf_counter()
            _entry, created = engine.post(s, **request)
            s.commit()
            samples.append(time.perf_counter() - t)
            if not created:
                raise BenchError("a new key was taken for a retry")
        wall = time.perf_counter() - t0
    finally:
        close(conn, s)
    return {**latency(samples), "entries_per_s": n / wall, "postings_per_s": 4 * n / wall}


def post_batches(eng, batches: list[list[dict]], samples: list[float]) -> int:
    """Each batch with `engine.post_batch` and one commit, on one connection; the postings written."""
    conn, s = one_connection(eng)
    written = 0
    try:
        for batch in batches:
            t = time.perf_counter()
            results = retrying(s, lambda: engine.post_batch(s, batch))
            samples.append(time.perf_counter() - t)
            written += sum(len(r["lines"]) for r, (_e, created) in zip(batch, results, strict=True) if created)
    finally:
        close(conn, s)
    return written


def diagnose_batch(eng, requests: Requests, batches: int, size: int) -> dict:
    """Where the time of `batches` more batches of `size` entries goes."""
    return {"batches": batches, **diagnose(eng, [requests.many(size) for _ in range(batches)], engine.post_batch)}


RETRIES = {"count": 0}


def retrying(s: Session, work):
    """Run `work` and commit; when the database says to try again (SQLite busy past its timeout, PostgreSQL
    deadlock), roll back and retry, as a real caller would. Counted and reported."""
    for _attempt in range(50):
        try:
            result = work()
            s.commit()
            return result
        except OperationalError as exc:
            s.rollback()
            message = str(exc).lower()
            if "locked" not in message and "deadlock" not in message:
                raise
            RETRIES["count"] += 1
    raise BenchError("gave up after 50 retries")


def measure_batch(eng, requests: Requests, batches: int, size: int, warmup: int) -> dict:
    """(2) Batches of `size` placements with `engine.post_batch`, one writer."""
    post_batches(eng, [requests.many(size) for _ in range(warmup)], [])
    todo = [requests.many(size) for _ in range(batches)]
    samples: list[float] = []
    t0 = time.perf_counter()
    written = post_batches(eng, todo, samples)
    wall = time.perf_counter() - t0
    return {**latency(samples), "postings_per_s": written / wall, "entries_per_s": batches * size / wall,
            "postings": written, "batch_entries": size}


def in_threads(writers: int, target) -> tuple[list, float]:
    """`target(i)` in `writers` threads started together; (their results, wall seconds)."""
    barrier = threading.Barrier(writers + 1)
    results: list = [None] * writers
    errors: list[BaseException] = []

    def run(i):
        try:
            barrier.wait(timeout=60)
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(writers)]
    for t in threads:
        t.start()
    barrier.wait(timeout=60)
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return results, wall


def measure_batch_writers(eng, requests: Requests, writers: int, batches: int, size: int) -> dict:
    """(2) `writers` writers at once, each posting `batches` batches in which every entry debits the hot
    insurer's receivable (and credits income and one of the partners' held accounts, as placements do)."""
    todo = [[requests.many(size, INSURERS[0]) for _ in range(batches)] for _ in range(writers)]
    samples: list[float] = []
    retries = RETRIES["count"]
    results, wall = in_threads(writers, lambda i: post_batches(eng, todo[i], samples))
    written = sum(results)
    return {**latency(samples), "postings_per_s": written / wall, "entries_per_s": writers * batches * size / wall,
            "postings": written, "writers": writers, "batch_entries": size, "retries": RETRIES["count"] - retries}


def measure_post_writers(eng, requests: Requests, writers: int, n: int) -> dict:
    """For information: `writers` writers at once, each posting `n` placements on the hot receivable with
    `engine.post`, one entry per transaction."""
    todo = [requests.many(n, INSURERS[0]) for _ in range(writers)]
    samples: list[float] = []
    retries = RETRIES["count"]

    def writer(i):
        conn, s = one_connection(eng)
        try:
            for request in todo[i]:
                timed(samples, lambda: retrying(s, lambda: engine.post(s, **request)))
        finally:
            close(conn, s)
        return n

    results, wall = in_threads(writers, writer)
    return {**latency(samples), "entries_per_s": sum(results) / wall, "postings_per_s": 4 * sum(results) / wall,
            "writers": writers, "retries": RETRIES["count"] - retries}


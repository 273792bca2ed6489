"""The ledger under concurrent posters: one session per thread, each on its own connection.

On PostgreSQL these are real concurrent transactions (row locks taken by `engine.post`). On SQLite the
database lock serialises writers; the same scenarios must still end correct (a writer that finds the
database locked rolls back and retries, as a real caller would).
"""
from __future__ import annotations

import random
import threading
import time
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session

from ledger import engine
from ledger.money import credit, debit
from ledger.models import Account, AccountType, JournalEntry, Posting
from tests.dbtools import failure_injected

DAY = date(2026, 12, 1)
THREADS = 8
PER_THREAD = 50
HOT = "commission_receivable:hot-insurer"


@pytest.fixture
def books(session, db_engine):
    for code, kind in ((HOT, AccountType.asset), ("commission_income", AccountType.income),
                       ("bank", AccountType.asset)):
        engine.open_account(session, code, kind, "EUR")
    session.commit()
    session.close()  # nothing of the test's own session stays open while the threads run
    return db_engine


def _retryable(exc: OperationalError) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "deadlock detected" in text or "could not serialize" in text


def in_transaction(eng, work):
    """Run `work(session)` in a fresh session and commit, retrying when the database says to try again."""
    for _attempt in range(500):
        with Session(eng) as s:
            try:
                result = work(s)
                s.commit()
                return result
            except OperationalError as exc:
                s.rollback()
                if not _retryable(exc):
                    raise
        time.sleep(random.uniform(0.001, 0.01))
    raise AssertionError("gave up retrying after 500 attempts")


def run_threads(n, target):
    """Start `n` threads together on `target(i)`; re-raise the first failure; return their results."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "a poster hung (deadlock?)"
    if errors:
        raise errors[0]
    return results


def receipt_lines(amount):
    return [debit(HOT, amount, "EUR"), credit("commission_income", amount, "EUR")]


def state(eng):
    with Session(eng) as s:
        balances = {a.code: a.balance_minor for a in s.execute(select(Account)).scalars()}
        entries = s.execute(select(func.count()).select_from(JournalEntry)).scalar_one()
        postings = s.execute(select(func.count()).select_from(Posting)).scalar_one()
        problems = engine.verify(s)
    return balances, entries, postings, problems


def test_many_posters_on_one_hot_account_lose_no_update(books, backend_name, request):
    amounts = {(i, j): 1 + (i * PER_THREAD + j) % 997 for i in range(THREADS) for j in range(PER_THREAD)}

    def poster(i):
        ids = []
        for j in range(PER_THREAD):
            def work(s, j=j):
                entry, created = engine.post(s, key=f"hot:{i}:{j}", effective_date=DAY, description="receipt",
                                             lines=receipt_lines(amounts[(i, j)]))
                assert created
                return entry.id
            ids.append(in_transaction(books, work))
        return ids

    ids = [x for chunk in run_threads(THREADS, poster) for x in chunk]
    assert len(set(ids)) == THREADS * PER_THREAD
    balances, entries, postings, problems = state(books)
    total = sum(amounts.values())
    assert balances[HOT] == total and balances["commission_income"] == -total
    assert entries == THREADS * PER_THREAD and postings == 2 * THREADS * PER_THREAD
    assert problems == []
    # the running balances are a gap-free chain: each posting's balance_after is the previous one plus its amount
    with Session(books) as s:
        hot = engine.account(s, HOT, "EUR")
        chain = s.execute(select(Posting.amount_minor, Posting.balance_after).where(Posting.account_id == hot.id)
                          .order_by(Posting.id)).all()
    running = 0
    for amount, after in chain:
        running += amount
        assert after == running


def test_the_same_key_posted_concurrently_posts_once(books, backend_name):
    def poster(_i):
        def work(s):
            entry, created = engine.post(s, key="receipt:same", effective_date=DAY, description="receipt",
                                         lines=receipt_lines(12_345))
            return entry.id, created
        return in_transaction(books, work)

    results = run_threads(THREADS, poster)
    assert len({entry_id for entry_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    balances, entries, postings, problems = state(books)
    assert balances[HOT] == 12_345 and balances["commission_income"] == -12_345
    assert (entries, postings, problems) == (1, 2, [])


def test_the_same_key_with_different_requests_concurrently_posts_one_of_them(books, backend_name):
    """Racing different requests under one key: one posts, every other caller is refused (KeyReused)."""
    def poster(i):
        def work(s):
            entry, _ = engine.post(s, key="receipt:contested", effective_date=DAY, description="receipt",
                                   lines=receipt_lines(100 + i))
            return entry.id
        try:
            return in_transaction(books, work)
        except engine.KeyReused:
            return None

    results = run_threads(THREADS, poster)
    assert sum(r is not None for r in results) == 1
    winner = next(i for i, r in enumerate(results) if r is not None)
    balances, entries, postings, problems = state(books)
    assert balances[HOT] == 100 + winner and (entries, postings, problems) == (1, 2, [])


# where a write fails: the second posting of the entry (the income line), or the balance update of the hot account
FAILURES = {"posting": ("ledger_postings", "INSERT", "NEW.amount_minor = -700"),
            "balance": ("ledger_accounts", "UPDATE", "NEW.balance_minor = 1200")}


@pytest.mark.parametrize("where", sorted(FAILURES))
def test_a_failure_mid_posting_leaves_nothing_behind(books, where):
    in_transaction(books, lambda s: engine.post(s, key="before", effective_date=DAY, description="receipt",
                                                lines=receipt_lines(500))[0].id)
    before = state(books)

    def failing(i):
        with Session(books) as s:
            with pytest.raises(DatabaseError, match="injected failure"):
                engine.post(s, key="broken", effective_date=DAY, description="receipt", lines=receipt_lines(700))
            s.rollback()
        return True

    with failure_injected(books, *FAILURES[where]):
        run_threads(1, failing)
    assert state(books) == before
    assert before[1:] == (1, 2, [])
    # the key was not burnt: the same request posts normally afterwards
    entry_id = in_transaction(books, lambda s: engine.post(s, key="broken", effective_date=DAY,
                                                           description="receipt", lines=receipt_lines(700))[0].id)
    balances, entries, postings, problems = state(books)
    assert entry_id and balances[HOT] == 1_200 and (entries, postings, problems) == (2, 4, [])


def test_a_failing_poster_among_concurrent_ones_leaves_only_the_good_entries(books):
    """One thread's entries fail between their postings while others post on the same accounts."""

    def poster(i):
        if i == 0:
            for j in range(10):
                with Session(books) as s:
                    with pytest.raises(DatabaseError, match="injected failure"):
                        engine.post(s, key=f"bad:{j}", effective_date=DAY, description="receipt",
                                    lines=receipt_lines(1_000_000))
                    s.rollback()
            return 0
        for j in range(20):
            in_transaction(books, lambda s, j=j: engine.post(s, key=f"good:{i}:{j}", effective_date=DAY,
                                                             description="receipt", lines=receipt_lines(3))[0].id)
        return 20

    with failure_injected(books, "ledger_postings", "INSERT", "NEW.amount_minor = -1000000"):
        posted = sum(run_threads(4, poster))
    balances, entries, postings, problems = state(books)
    assert balances[HOT] == 3 * posted and balances["commission_income"] == -3 * posted
    assert (entries, postings, problems) == (posted, 2 * posted, [])


def test_an_account_loaded_before_another_posting_is_not_written_back_stale(books):
    """A caller that read the account earlier in its transaction, while someone else posted to it: its posting
    adds to the balance as it is now, not as it was read."""
    with Session(books) as mine:
        held = engine.account(mine, HOT, "EUR")  # loaded into this session, and kept
        assert held.balance_minor == 0
        in_transaction(books, lambda s: engine.post(s, key="theirs", effective_date=DAY, description="receipt",
                                                    lines=receipt_lines(5))[0].id)
        engine.post(mine, key="mine", effective_date=DAY, description="receipt", lines=receipt_lines(7))
        mine.commit()
    balances, entries, postings, problems = state(books)
    assert balances[HOT] == 12 and (entries, postings, problems) == (2, 4, [])

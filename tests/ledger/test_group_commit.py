"""Group commit (`ledger.group_commit`): concurrent callers of `engine.post` share the posting writer's
commits, and each still gets its own entry or its own refusal, synchronously."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.orm import Session

from ledger import engine, group_commit
from ledger.errors import KeyReused, UnknownAccount
from ledger.models import Account, AccountType, JournalEntry
from ledger.money import credit, debit
from tests.conftest import PG_URL
from tests.ledger.crash_writer import HOT
from tests.ledger.test_concurrency import run_threads

DAY = date(2026, 12, 1)


@pytest.fixture
def books(session, db_engine):
    for code, kind in ((HOT, AccountType.asset), ("commission_income", AccountType.income)):
        engine.open_account(session, code, kind, "EUR")
    session.commit()
    session.close()
    return db_engine


def receipt(amount: int, account: str = HOT) -> list:
    return [debit(account, amount, "EUR"), credit("commission_income", amount, "EUR")]


def post_and_commit(eng, **request):
    with Session(eng) as s:
        entry, created = engine.post(s, **request)
        s.commit()
        return entry.public_id, created


def hot_balance(eng) -> int:
    with Session(eng) as s:
        return s.execute(select(Account.balance_minor).where(Account.code == HOT)).scalar_one()


def test_concurrent_posters_share_commits_and_each_gets_its_own_entry(books):
    writer = group_commit.writer_for(books)
    commits = writer.batches

    def poster(i):
        return [post_and_commit(books, key=f"r:{i}:{j}", effective_date=DAY, description="receipt",
                                lines=receipt(i * 100 + j + 1)) for j in range(25)]

    results = run_threads(8, poster)
    assert all(created for per_thread in results for _public_id, created in per_thread)
    assert len({public_id for per_thread in results for public_id, _c in per_thread}) == 200
    assert writer.batches - commits < 200  # some entries shared a commit
    assert hot_balance(books) == sum(i * 100 + j + 1 for i in range(8) for j in range(25))
    with Session(books) as s:
        assert engine.verify(s) == []  # running balances, balanced entries, keys


def test_a_refused_request_fails_alone_among_the_others(books):
    def poster(i):
        outcomes = []
        for j in range(10):
            account = "no-such-account" if i % 2 else HOT
            try:
                outcomes.append(post_and_commit(books, key=f"r:{i}:{j}", effective_date=DAY, description="receipt",
                                                lines=receipt(1, account))[1])
            except UnknownAccount:
                outcomes.append("refused")
        return outcomes

    results = run_threads(6, poster)
    assert results == [[True] * 10 if i % 2 == 0 else ["refused"] * 10 for i in range(6)]
    assert hot_balance(books) == 30
    with Session(books) as s:
        assert s.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 30
        assert engine.verify(s) == []


def test_the_same_key_from_many_callers_at_once_posts_once(books):
    def poster(i):
        same = dict(key="same", effective_date=DAY, description="receipt", lines=receipt(500))
        if i == 0:  # another request under the same key: refused, whoever comes first
            try:
                return post_and_commit(books, **{**same, "lines": receipt(501)})
            except KeyReused:
                return "refused"
        try:
            return post_and_commit(books, **same)
        except KeyReused:
            return "refused"

    results = run_threads(8, poster)
    posted = [r for r in results if r != "refused"]
    assert sum(created for _public_id, created in posted) == 1
    assert len({public_id for public_id, _created in posted}) == 1
    assert results.count("refused") in (1, 7)  # the odd request lost, or it won and the seven others lost
    with Session(books) as s:
        assert s.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 1
        assert engine.verify(s) == []


def test_an_entry_through_the_writer_is_committed_when_post_returns_and_its_key_finds_it_again(books):
    with Session(books) as s:
        entry, created = engine.post(s, key="k", effective_date=DAY, description="receipt", lines=receipt(700))
        public_id = entry.public_id
        assert created and s.execute(select(Account.balance_minor).where(Account.code == HOT)).scalar_one() == 700
        s.rollback()  # the caller gives up: the entry is posted all the same
    assert hot_balance(books) == 700
    assert post_and_commit(books, key="k", effective_date=DAY, description="receipt", lines=receipt(700)) == (
        public_id, False)
    assert hot_balance(books) == 700


def test_a_transaction_that_touched_the_ledger_posts_its_entries_itself(books):
    with Session(books) as s:
        engine.open_account(s, "bank", AccountType.asset, "EUR")  # not committed: the writer could not see it
        entry, created = engine.post(s, key="k", effective_date=DAY, description="receipt",
                                     lines=[debit("bank", 300, "EUR"), credit(HOT, 300, "EUR")])
        assert created and entry.postings[0].balance_after in (300, -300)
        s.rollback()  # posted in this transaction: rolled back with it
    with Session(books) as s:
        assert s.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 0
    assert hot_balance(books) == 0


# the pipelined writer is PostgreSQL's (SQLite has no round trips): this test runs on PostgreSQL alone, never as a
# skipped SQLite case
def traced_post(eng, tmp_path, key: str, amount: int) -> list[list[str]]:
    """Post one entry alone and commit, after a first one (which opens the writer's connection and prepares the
    statement on it), the wire protocol of the writer's connection traced as libpq writes it: its messages. The
    caller's session never connects (no connection is checked out of the pool meanwhile)."""
    post_and_commit(eng, key=f"{key}:first", effective_date=DAY, description="receipt", lines=receipt(amount))
    writer = group_commit.writer_for(eng)
    checkouts = []

    def on_checkout(*args):
        checkouts.append(args)

    event.listen(eng, "checkout", on_checkout)
    path = tmp_path / f"libpq-{key}.trace"
    with open(path, "w") as out:
        writer.conn.pgconn.trace(out.fileno())
        try:
            with Session(eng) as s:
                assert engine.post(s, key=key, effective_date=DAY, description="receipt", lines=receipt(amount))[1]
                s.commit()
        finally:
            writer.conn.pgconn.untrace()
            event.remove(eng, "checkout", on_checkout)
    assert checkouts == []
    return [line.split("\t") for line in path.read_text().splitlines()]


def completed(messages: list[list[str]]) -> list[str]:
    return [m[4].strip() for m in messages if m[1] == "B" and m[3].strip() == "CommandComplete"]


@pytest.mark.parametrize("backend", ["postgresql"] if PG_URL else [], indirect=True)
def test_a_caller_alone_on_postgresql_is_one_statement_and_one_round_trip(books, tmp_path):
    """The `ledger_post` call alone is the transaction: the driver sends it and one Sync (no BEGIN, no COMMIT
    statement: the server commits the protocol's implicit transaction at the Sync) and the server answers ready
    once."""
    messages = traced_post(books, tmp_path, "alone", 100)
    sent = [m[3].strip() for m in messages if m[1] == "F"]
    assert sent == ["Bind", "Describe", "Execute", "Sync"]
    assert [m[3].strip() for m in messages if m[1] == "B"].count("ReadyForQuery") == 1
    assert completed(messages) == ['"SELECT 1"']
    assert hot_balance(books) == 200


@pytest.mark.parametrize("backend", ["postgresql"] if PG_URL else [], indirect=True)
def test_a_server_whose_default_isolation_is_stricter_still_posts_read_committed(books, tmp_path):
    """Where transactions default to SERIALIZABLE, concurrent posters on one account would fail with
    serialization errors: the writer opens its transaction READ COMMITTED itself, still in one round trip."""
    strict = create_engine(books.url, connect_args={"options": "-c default_transaction_isolation=serializable"})
    try:
        messages = traced_post(strict, tmp_path, "strict", 100)
        assert completed(messages) == ['"BEGIN"', '"SELECT 1"', '"COMMIT"']
        assert [m[3].strip() for m in messages if m[1] == "B"].count("ReadyForQuery") == 1

        def poster(i):
            return [post_and_commit(strict, key=f"s:{i}:{j}", effective_date=DAY, description="receipt",
                                    lines=receipt(1)) for j in range(10)]

        run_threads(4, poster)
    finally:
        strict.dispose()
    assert hot_balance(books) == 240

"""Group commit (`ledger.group_commit`): concurrent callers of `engine.post` share the posting writer's
commits, and each still gets its own entry or its own refusal, synchronously."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, func, select
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
@pytest.mark.parametrize("backend", ["postgresql"] if PG_URL else [], indirect=True)
def test_a_caller_alone_on_postgresql_is_one_round_trip(books, tmp_path):
    """BEGIN, the `ledger_post` call and COMMIT leave as one pipeline on one connection: the driver sends one Sync
    and the server answers ready once (the wire protocol as libpq traces it); the caller's session never
    connects."""
    traced = []

    def on_checkout(dbapi_connection, _record, _proxy):
        out = open(tmp_path / f"libpq-{len(traced)}.trace", "w")  # noqa: SIM115 - closed once untraced, below
        dbapi_connection.pgconn.trace(out.fileno())
        traced.append((dbapi_connection, out))

    event.listen(books, "checkout", on_checkout)
    try:
        with Session(books) as s:
            assert engine.post(s, key="alone", effective_date=DAY, description="receipt", lines=receipt(100))[1]
            s.commit()
    finally:
        event.remove(books, "checkout", on_checkout)
        for connection, out in traced:
            connection.pgconn.untrace()
            out.close()
    assert len(traced) == 1
    messages = [line.split("\t") for line in (tmp_path / "libpq-0.trace").read_text().splitlines()]
    sent = [m[3].strip() for m in messages if m[1] == "F"]
    received = [m[3].strip() for m in messages if m[1] == "B"]
    assert sent.count("Sync") == 1 and "Query" not in sent
    assert received.count("ReadyForQuery") == 1
    assert [m[4] for m in messages if m[1] == "B" and m[3].strip() == "CommandComplete"] == [
        ' "BEGIN"', ' "SELECT 1"', ' "COMMIT"']
    assert hot_balance(books) == 100

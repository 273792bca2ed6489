"""`engine.post_batch`: many entries in one transaction, under the rules of `engine.post`, on SQLite and
PostgreSQL."""
from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import engine
from ledger.money import credit, debit
from ledger.models import Account, AccountType, JournalEntry, Posting
from tests.ledger.test_concurrency import in_transaction, run_threads

D1, D2, D3 = date(2026, 11, 2), date(2026, 11, 10), date(2026, 11, 20)
HOT = "receivable:hot"


@pytest.fixture
def books(session):
    for code, kind in ((HOT, AccountType.asset), ("receivable:other", AccountType.asset),
                       ("income", AccountType.income), ("expense", AccountType.expense),
                       ("payable:held:p1", AccountType.liability), ("payable:held:p2", AccountType.liability)):
        for currency in ("EUR", "GBP"):
            engine.open_account(session, code, kind, currency)
    session.commit()
    return session


def placement(key, amount=10_000, share=4_000, day=D1, currency="EUR", receivable=HOT, partner="p1"):
    # an engine-level event kind: `ledger verify` holds real contract.placed entries to their business event
    return dict(key=key, effective_date=day, description=f"Contract placed {key}", event_kind="test.placed",
                event_ref=key, details={"contract": key},
                lines=[debit(receivable, amount, currency), credit("income", amount, currency),
                       debit("expense", share, currency), credit(f"payable:held:{partner}", share, currency)])


def requests(currency="EUR", n=12):
    """A mix of placements over two receivables and two partners, dates moving forward."""
    return [placement(f"{currency}:{i}", amount=1_000 + 37 * i, share=400 + 11 * i, day=(D1, D2, D3)[i * 3 // n],
                      currency=currency, receivable=(HOT, "receivable:other")[i % 2], partner=f"p{1 + i % 3 // 2}")
            for i in range(n)]


def counts(s):
    return (s.execute(select(func.count()).select_from(JournalEntry)).scalar_one(),
            s.execute(select(func.count()).select_from(Posting)).scalar_one())


def chains(s, currency):
    """Per account code: the (amount, running balance) of its postings in posting order."""
    rows = s.execute(select(Account.code, Posting.amount_minor, Posting.balance_after)
                     .join(Account, Account.id == Posting.account_id).where(Posting.currency == currency)
                     .order_by(Posting.id)).all()
    out: dict[str, list[tuple[int, int]]] = {}
    for code, amount, after in rows:
        out.setdefault(code, []).append((amount, after))
    return out


def balances(s, currency):
    s.expire_all()
    return {a.code: a.balance_minor for a in s.execute(select(Account).where(Account.currency == currency)).scalars()}


def test_a_batch_writes_what_posting_one_by_one_writes(books):
    for request in requests("GBP"):
        engine.post(books, **request)
    results = engine.post_batch(books, requests("EUR"))
    books.commit()
    assert [created for _, created in results] == [True] * 12
    assert [entry.idempotency_key for entry, _ in results] == [f"EUR:{i}" for i in range(12)]
    assert len({entry.id for entry, _ in results}) == 12
    # same running balances, same final balances, account by account, as the same entries posted one by one
    assert chains(books, "EUR") == chains(books, "GBP")
    assert balances(books, "EUR") == balances(books, "GBP")
    assert engine.verify(books) == []
    first = results[0][0]
    assert first.public_id and first.created_at and first.details == {"contract": "EUR:0"}
    assert [(p.amount_minor, p.effective_date) for p in first.postings] == [(1_000, D1), (-1_000, D1), (400, D1),
                                                                          (-400, D1)]
    hot = engine.account(books, HOT, "EUR")
    assert engine.balance_as_of(books, hot, D2) == engine.balance_as_of(books, engine.account(books, HOT, "GBP"), D2)


def test_statement_pages_of_batch_posted_entries_carry_the_period_balances(books):
    engine.post_batch(books, [placement(f"k{amount}", amount=amount, day=D1) for amount in (100, 400, 700)]
                      + [placement(f"m{i}", amount=1_000 + i, day=D2) for i in range(5)])
    books.commit()
    hot = engine.account(books, HOT, "EUR")
    whole = engine.statement(books, hot, D2, D3)
    assert [ln.amount_minor for ln in whole.lines] == [1_000, 1_001, 1_002, 1_003, 1_004]
    assert whole.opening_minor == 100 + 400 + 700 and whole.closing_minor == hot.balance_minor
    first = engine.statement(books, hot, D2, D3, limit=2)
    page = engine.statement(books, hot, D2, D3, limit=2, after=first.next_after)
    assert [ln.amount_minor for ln in first.lines] == [1_000, 1_001]
    assert [(ln.amount_minor, ln.balance_after) for ln in page.lines] == [(1_002, 4_203), (1_003, 5_206)]
    assert (page.opening_minor, page.closing_minor) == (whole.opening_minor, whole.closing_minor)
    last = engine.statement(books, hot, D2, D3, limit=2, after=page.next_after)
    assert [ln.amount_minor for ln in last.lines] == [1_004] and last.next_after is None
    past_the_end = engine.statement(books, hot, D2, D3, limit=2, after=(D3, 10**9))
    assert past_the_end.lines == [] and (past_the_end.opening_minor, past_the_end.closing_minor) == (1_200, 6_210)
    nothing_yet = engine.statement(books, hot, date(2026, 10, 1), date(2026, 10, 31))
    assert (nothing_yet.lines, nothing_yet.opening_minor, nothing_yet.closing_minor) == ([], 0, 0)


def test_a_key_posts_once_within_a_batch_and_across_batches(books):
    engine.post(books, **placement("before"))
    books.commit()
    results = engine.post_batch(books, [placement("a"), placement("before"), placement("a"), placement("b")])
    books.commit()
    assert [created for _, created in results] == [True, False, False, True]
    assert results[0][0] is results[2][0]
    assert results[1][0].idempotency_key == "before"
    assert counts(books) == (3, 12)
    assert balances(books, "EUR")[HOT] == 30_000
    again = engine.post_batch(books, [placement("b"), placement("a")])
    books.commit()
    assert [created for _, created in again] == [False, False]
    assert [e.id for e, _ in again] == [results[3][0].id, results[0][0].id]
    assert counts(books) == (3, 12) and engine.verify(books) == []


@pytest.mark.parametrize("where", ["in the batch", "already posted"])
def test_the_same_key_with_another_request_refuses_the_whole_batch(books, where):
    if where == "already posted":
        engine.post(books, **placement("k"))
        books.commit()
        batch = [placement("fresh"), placement("k", amount=99)]
    else:
        batch = [placement("fresh"), placement("k"), placement("k", amount=99)]
    with pytest.raises(engine.KeyReused) as refused:
        engine.post_batch(books, batch)
    assert refused.value.status == 409
    books.rollback()
    assert counts(books) == ((1, 4) if where == "already posted" else (0, 0))
    assert engine.verify(books) == []


def refused(books, batch, error, match=None):
    with pytest.raises(error, match=match):
        engine.post_batch(books, batch)
    books.rollback()
    assert counts(books) == (0, 0)
    assert set(balances(books, "EUR").values()) == {0}


def test_an_unbalanced_request_refuses_the_whole_batch(books):
    bad = dict(placement("bad"), lines=[debit(HOT, 100, "EUR"), credit("income", 99, "EUR")])
    refused(books, [placement("good"), bad], engine.Unbalanced)
    mixed = dict(placement("mixed"), lines=[debit(HOT, 100, "EUR"), credit("income", 100, "GBP")])
    refused(books, [placement("good"), mixed], engine.Unbalanced)


def test_unknown_or_closed_accounts_refuse_the_whole_batch(books):
    nowhere = dict(placement("x"), lines=[debit("nowhere", 5, "EUR"), credit("income", 5, "EUR")])
    refused(books, [placement("good"), nowhere], engine.UnknownAccount, "nowhere")
    engine.account(books, "payable:held:p2", "EUR").closed_at = func.now()
    books.commit()
    refused(books, [placement("good"), placement("to-closed", partner="p2")], engine.UnknownAccount, "Closed")


def test_a_closed_period_refuses_the_whole_batch(books):
    engine.close_period(books, date(2026, 10, 1), "finance@demo.example")
    books.commit()
    refused(books, [placement("good", day=D1), placement("late", day=date(2026, 10, 31))], engine.PeriodClosed)


def test_dates_never_go_back_on_an_account_within_a_batch_or_after_it(books):
    refused(books, [placement("a", day=D2), placement("b", day=D1)], engine.LedgerError, "cannot go back")
    engine.post_batch(books, [placement("a", day=D2)])
    books.commit()
    with pytest.raises(engine.LedgerError, match="cannot go back"):
        engine.post_batch(books, [placement("b", day=D1)])
    books.rollback()
    # the same day, or an account not posted to since, is fine
    engine.post_batch(books, [placement("c", day=D2), placement("d", day=D1, receivable="receivable:other",
                                                                 partner="p2")
                              | {"lines": [debit("receivable:other", 5, "EUR"), credit("payable:held:p2", 5, "EUR")]}])
    books.commit()
    assert counts(books) == (3, 10)


def test_an_entry_is_reversed_once_even_within_a_batch(books):
    original, _ = engine.post(books, **placement("orig"))
    books.commit()
    lines = [engine.Line(p.account.code, p.currency, -p.amount_minor) for p in original.postings]

    def reversal(key):
        return dict(key=key, effective_date=D2, description="Reversal", lines=lines, reverses=original)

    with pytest.raises(engine.LedgerError, match="already reversed"):
        engine.post_batch(books, [reversal("r1"), reversal("r2")])
    books.rollback()
    [(entry, created)] = engine.post_batch(books, [reversal("r1")])
    books.commit()
    assert created and entry.reverses_id == original.id
    assert set(balances(books, "EUR").values()) == {0}
    with pytest.raises(engine.LedgerError, match="already reversed"):
        engine.post_batch(books, [reversal("r3")])
    books.rollback()
    assert engine.post_batch(books, [reversal("r1")])[0] == (entry, False)


def test_balances_loaded_before_another_poster_committed_are_not_overwritten(books, db_engine):
    """The caller loaded the account (as `open_account` does) before another transaction posted to it: the batch
    adds to the balance as it is now, not as it was loaded."""
    books.close()
    with Session(db_engine) as mine, Session(db_engine) as other:
        loaded = engine.open_account(mine, HOT, AccountType.asset, "EUR")
        assert loaded.balance_minor == 0
        engine.post(other, **placement("other", amount=700))
        other.commit()
        engine.post_batch(mine, [placement("mine", amount=500)])
        mine.commit()
        assert loaded.balance_minor == 1_200
        assert engine.verify(mine) == []


def test_a_key_taken_meanwhile_on_other_accounts_refuses_the_batch(books, db_engine):
    """Another transaction posts the same key on accounts this batch does not lock, and commits while the batch
    runs (PostgreSQL: the batch's insert waits for it on the key's unique index): the batch is refused as a
    reused key, and writes nothing."""
    books.close()
    eng = db_engine
    outcome = {}

    def second():
        with Session(eng) as s:
            try:
                engine.post_batch(s, [dict(placement("fresh"), lines=[debit("receivable:other", 5, "EUR"),
                                                                        credit("payable:held:p2", 5, "EUR")]),
                                      dict(placement("k"), lines=[debit("receivable:other", 9, "EUR"),
                                                                  credit("payable:held:p2", 9, "EUR")])])
                s.commit()
                outcome["second"] = "posted"
            except engine.KeyReused:
                s.rollback()
                outcome["second"] = "refused"

    with Session(eng) as first:
        engine.post_batch(first, [dict(placement("k"), lines=[debit(HOT, 7, "EUR"), credit("income", 7, "EUR")])])
        thread = threading.Thread(target=second, daemon=True)
        thread.start()
        time.sleep(0.5)  # the second writer reaches its insert (or, on SQLite, waits for the database lock)
        first.commit()
        thread.join(timeout=30)
    assert outcome == {"second": "refused"}
    with Session(eng) as s:
        assert counts(s) == (1, 2)
        assert balances(s, "EUR")["receivable:other"] == 0 and engine.verify(s) == []


def test_an_empty_batch_posts_nothing(books):
    assert engine.post_batch(books, []) == []
    assert counts(books) == (0, 0)


def test_concurrent_batches_on_one_hot_account_lose_no_update(books, db_engine):
    """Four writers post batches at once, every entry on the same receivable; the balances and every running
    balance add up."""
    books.commit()
    books.close()
    eng = db_engine
    writers, batches, size = 4, 5, 10

    def writer(i):
        for b in range(batches):
            batch = [placement(f"w{i}:{b}:{n}", amount=100 + i, share=10, partner=f"p{1 + n % 2}")
                     for n in range(size)]
            in_transaction(eng, lambda s, batch=batch: engine.post_batch(s, batch))
        return True

    run_threads(writers, writer)
    with Session(eng) as s:
        assert counts(s) == (writers * batches * size, 4 * writers * batches * size)
        assert balances(s, "EUR")[HOT] == batches * size * sum(100 + i for i in range(writers))
        assert engine.verify(s) == []
        for chain in chains(s, "EUR").values():
            running = 0
            for amount, after in chain:
                running += amount
                assert after == running

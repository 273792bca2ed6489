"""The ledger engine's invariants, on SQLite and PostgreSQL: balance, immutability, idempotency, periods."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from core.errors import AppendOnlyViolation
from ledger import engine
from ledger.money import Line, credit, debit
from ledger.models import Account, AccountType, JournalEntry, Posting

D1, D2, D3 = date(2026, 11, 2), date(2026, 11, 10), date(2026, 11, 20)


@pytest.fixture
def books(session):
    for code, kind in (("receivable:allianz", AccountType.asset), ("income", AccountType.income),
                       ("expense", AccountType.expense), ("payable:held:p1", AccountType.liability),
                       ("bank", AccountType.asset)):
        for currency in ("EUR", "GBP"):
            engine.open_account(session, code, kind, currency)
    session.commit()
    return session


def placement(key="placed:1", amount=10_000, share=4_000, day=D1, currency="EUR"):
    return dict(key=key, effective_date=day, description="Contract placed",
                lines=[debit("receivable:allianz", amount, currency), credit("income", amount, currency),
                       debit("expense", share, currency), credit("payable:held:p1", share, currency)])


def balances(session, currency="EUR"):
    session.expire_all()
    return {a.code: a.balance_minor for a in session.execute(select(Account).where(Account.currency == currency))
            .scalars()}


def test_a_balanced_entry_moves_each_balance_and_records_running_balances(books):
    entry, created = engine.post(books, **placement())
    books.commit()
    assert created
    b = balances(books)
    assert b["receivable:allianz"] == 10_000 and b["income"] == -10_000
    assert b["payable:held:p1"] == -4_000 and b["expense"] == 4_000 and sum(b.values()) == 0
    held = engine.account(books, "payable:held:p1", "EUR")
    assert held.normal_balance == 4_000  # what the broker owes the partner
    assert [p.balance_after for p in entry.postings if p.account_id == held.id] == [-4_000]


def test_an_unbalanced_entry_is_refused_and_writes_nothing(books):
    with pytest.raises(engine.Unbalanced):
        engine.post(books, key="bad", effective_date=D1, description="x",
                    lines=[debit("bank", 100, "EUR"), credit("income", 99, "EUR")])
    books.rollback()
    # balanced in total but not per currency: two currencies never net off
    with pytest.raises(engine.Unbalanced):
        engine.post(books, key="bad2", effective_date=D1, description="x",
                    lines=[debit("bank", 100, "EUR"), credit("income", 100, "GBP")])
    books.rollback()
    for lines in ([debit("bank", 100, "EUR")], [debit("bank", 0, "EUR"), credit("income", 0, "EUR")],
                  [Line("bank", "EUR", 1.5), Line("income", "EUR", -1.5)]):
        with pytest.raises(engine.Unbalanced):
            engine.post(books, key="bad3", effective_date=D1, description="x", lines=lines)
        books.rollback()
    assert books.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 0
    assert set(balances(books).values()) == {0}


def test_unknown_or_closed_accounts_are_refused(books):
    with pytest.raises(engine.UnknownAccount, match="nowhere"):
        engine.post(books, key="k", effective_date=D1, description="x",
                    lines=[debit("nowhere", 5, "EUR"), credit("income", 5, "EUR")])
    books.rollback()
    # the account exists in EUR, not in USD
    with pytest.raises(engine.UnknownAccount):
        engine.post(books, key="k", effective_date=D1, description="x",
                    lines=[debit("bank", 5, "USD"), credit("income", 5, "USD")])
    books.rollback()
    bank = engine.account(books, "bank", "EUR")
    bank.closed_at = func.now()
    books.commit()
    with pytest.raises(engine.UnknownAccount, match="Closed"):
        engine.post(books, key="k", effective_date=D1, description="x",
                    lines=[debit("bank", 5, "EUR"), credit("income", 5, "EUR")])


def test_the_same_key_posts_once_and_a_different_request_under_it_is_refused(books):
    first, created = engine.post(books, **placement())
    books.commit()
    again, created_again = engine.post(books, **placement())
    books.commit()
    assert created and not created_again and again.id == first.id
    assert balances(books)["income"] == -10_000
    with pytest.raises(engine.KeyReused) as refused:
        engine.post(books, **placement(amount=20_000))
    assert refused.value.status == 409
    books.rollback()
    assert books.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 1


def test_posting_into_a_closed_period_is_refused(books):
    engine.close_period(books, date(2026, 10, 1), "finance@demo.example")
    books.commit()
    with pytest.raises(engine.PeriodClosed):
        engine.post(books, **placement(day=date(2026, 10, 31)))
    books.rollback()
    engine.post(books, **placement(day=D1))
    books.commit()


def test_posting_dates_never_go_back_on_an_account(books):
    engine.post(books, **placement(key="a", day=D2))
    books.commit()
    with pytest.raises(engine.LedgerError):
        engine.post(books, **placement(key="b", day=D1))
    books.rollback()
    engine.post(books, **placement(key="c", day=D2))
    books.commit()


def test_entries_and_postings_cannot_be_changed_or_deleted(books, backend_name):
    entry, _ = engine.post(books, **placement())
    books.commit()
    entry.description = "edited"
    with pytest.raises(AppendOnlyViolation):
        books.flush()
    books.rollback()
    posting = books.execute(select(Posting)).scalars().first()
    books.delete(posting)
    with pytest.raises(AppendOnlyViolation):
        books.flush()
    books.rollback()
    for sql in ("UPDATE ledger_postings SET amount_minor = 1", "DELETE FROM ledger_entries"):
        with pytest.raises(DatabaseError):
            books.execute(text(sql))
        books.rollback()


def test_an_unbalanced_entry_written_around_the_engine_is_refused_or_reported(books, backend_name, app):
    """PostgreSQL refuses the statement that inserts the posting (a statement-level balance trigger); SQLite
    has no transition tables, so the consistency check names it."""
    bank = engine.account(books, "bank", "EUR")
    entry = JournalEntry(idempotency_key="raw", request_hash="x", effective_date=D1, description="raw")
    books.add(entry)
    books.flush()
    books.add(Posting(entry_id=entry.id, account_id=bank.id, amount_minor=100, currency="EUR", effective_date=D1,
                      balance_after=100))
    if backend_name == "postgresql":
        with pytest.raises(DatabaseError, match="does not balance"):
            books.commit()
        books.rollback()
        assert books.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 0
    else:
        books.commit()
        result = app.test_cli_runner().invoke(args=["ledger", "verify"])
        assert result.exit_code == 1 and f"entry {entry.public_id}" in result.output


def test_a_reversal_restores_the_balances_and_an_entry_is_reversed_once(books):
    entry, _ = engine.post(books, **placement())
    books.commit()
    reversal, created = engine.reverse(books, entry, key="reverse:placed:1", effective_date=D2)
    books.commit()
    assert created and reversal.reverses_id == entry.id
    assert set(balances(books).values()) == {0}
    with pytest.raises(engine.LedgerError):
        engine.reverse(books, entry, key="reverse-again", effective_date=D2)
    books.rollback()


def test_balances_as_of_any_date_and_a_statement_with_running_balances(books):
    engine.post(books, **placement(key="p1", share=4_000, day=D1))
    engine.post(books, **placement(key="p2", share=1_500, day=D2))
    engine.post(books, **placement(key="p3", share=2_500, day=D3))
    books.commit()
    held = engine.account(books, "payable:held:p1", "EUR")
    assert engine.balance_as_of(books, held, date(2026, 11, 1)) == 0
    assert engine.balance_as_of(books, held, D1) == -4_000
    assert engine.balance_as_of(books, held, date(2026, 11, 15)) == -5_500
    assert engine.balance_as_of(books, held, D3) == held.balance_minor == -8_000
    st = engine.statement(books, held, date(2026, 11, 5), date(2026, 11, 30))
    assert st.opening_minor == -4_000 and st.closing_minor == -8_000
    assert [(ln.amount_minor, ln.balance_after) for ln in st.lines] == [(-1_500, -5_500), (-2_500, -8_000)]
    assert st.opening_minor + sum(ln.amount_minor for ln in st.lines) == st.closing_minor


def test_the_trial_balance_is_zero_per_currency(books):
    engine.post(books, **placement(key="eur"))
    engine.post(books, **placement(key="gbp", amount=7_000, share=700, currency="GBP"))
    books.commit()
    tb = engine.trial_balance(books)
    assert {c: sum(v for _a, v in rows) for c, rows in tb.items()} == {"EUR": 0, "GBP": 0}
    assert engine.trial_balance(books, as_of=date(2026, 11, 1))["EUR"][0][1] == 0


def test_verify_names_the_account_whose_balance_differs(books, app):
    engine.post(books, **placement())
    books.commit()
    assert engine.verify(books) == []
    books.execute(text("UPDATE ledger_accounts SET balance_minor = balance_minor + 1 WHERE code = 'income' "
                       "AND currency = 'EUR'"))
    books.commit()
    problems = engine.verify(books)
    assert problems and all(p.subject == "income (EUR)" for p in problems)
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and "income (EUR)" in result.output


def test_verify_names_an_entry_left_without_postings(books, app, backend_name, db_engine):
    engine.post(books, **placement())
    books.commit()
    orphan = text("INSERT INTO ledger_entries (public_id, created_at, idempotency_key, request_hash, effective_date, "
                  "description, details) VALUES ('orphan0000000000000000000000000a', '2026-12-01 00:00:00', "
                  "'orphan', 'x', '2026-12-01', 'orphan', '{}')")
    books.close()
    with db_engine.begin() as conn:  # neither database refuses it (the balance check is on postings)
        conn.execute(orphan)
    assert [p.subject for p in engine.verify(books)] == ["entry orphan0000000000000000000000000a"]
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and "orphan0000000000000000000000000a: has no postings" in result.output


def test_commission_rounds_half_up_and_splits_sum_exactly():
    assert engine.apply_rate(12_345, Decimal("0.15")) == 1852   # 1851.75
    assert engine.apply_rate(10, Decimal("0.25")) == 3           # 2.5 -> 3
    assert engine.apply_rate(-10, Decimal("0.25")) == -3         # away from zero
    assert engine.split(100, [1, 1, 1]) == [34, 33, 33]
    assert engine.split(-100, [1, 1, 1]) == [-34, -33, -33]
    assert sum(engine.split(99_999, [Decimal("0.3"), Decimal("0.3"), Decimal("0.4")])) == 99_999
    with pytest.raises(ValueError):
        engine.split(100, [0, 0])

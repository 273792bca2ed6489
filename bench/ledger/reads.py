"""Reads (3)-(5) and the payout run (6): each on one connection, on the history as loaded."""
from __future__ import annotations

import random
import time
from datetime import date, timedelta

from schwifty import IBAN
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.common import BenchError, latency, timed
from bench.ledger.history import BANK_CODE, CURRENCY, Chart
from ledger import engine, payouts
from ledger.models import Account, Posting

def one_connection(eng) -> tuple:
    """A session on one connection for the whole phase: its commits end the connection's transaction, and no
    pool checkout (nor pre-ping) happens between entries."""
    conn = eng.connect()
    return conn, Session(bind=conn)


def close(conn, session) -> None:
    session.close()
    conn.close()


def account_sample(eng) -> list[Account]:
    """Every account with postings, loaded once and detached (the reads below take an Account)."""
    with Session(eng) as s:
        accounts = list(s.execute(select(Account).where(Account.last_posted_on.is_not(None))
                                  .order_by(Account.id)).scalars())
        s.expunge_all()
    return accounts


def measure_balance(eng, rng: random.Random, accounts: list[Account], n: int, warmup: int) -> dict:
    """(3) `engine.account(code, currency).balance_minor` of a random account, materialised afresh each time."""
    conn, s = one_connection(eng)
    samples: list[float] = []
    try:
        for _ in range(warmup + n):
            acct = rng.choice(accounts)
            s.expunge_all()
            value = timed(samples, lambda: engine.account(s, acct.code, acct.currency).balance_minor)
            if value != acct.balance_minor:
                raise BenchError(f"balance of {acct.code} read as {value}, expected {acct.balance_minor}")
    finally:
        close(conn, s)
    return latency(samples[warmup:])


def measure_as_of(eng, rng: random.Random, accounts: list[Account], first: date, today: date, n: int,
                  warmup: int) -> dict:
    """(4) `engine.balance_as_of` of a random account on a random past day."""
    conn, s = one_connection(eng)
    samples: list[float] = []
    span = (today - first).days
    try:
        for _ in range(warmup + n):
            acct, day = rng.choice(accounts), first + timedelta(days=rng.randrange(span))
            timed(samples, lambda: engine.balance_as_of(s, acct, day))
    finally:
        close(conn, s)
    return latency(samples[warmup:])


def last_page_cursor(s: Session, acct: Account, start: date) -> tuple[date, int] | None:
    """Untimed: the cursor a reader paging through the period would hold before its last page of 50 lines."""
    row = s.execute(select(Posting.effective_date, Posting.id)
                    .where(Posting.account_id == acct.id, Posting.effective_date >= start)
                    .order_by(Posting.effective_date.desc(), Posting.id.desc()).offset(50).limit(1)).first()
    return (row[0], row[1]) if row is not None else None


def measure_statement(eng, rng: random.Random, accounts: list[Account], first: date, today: date, n: int,
                      warmup: int, deep: bool = False) -> dict:
    """(5) `engine.statement(acct, start, today, limit=50)` of a random account from a random day of the first
    year: the first page (or, with `deep`, the last page of the period, by its cursor) of 50 lines with running balances."""
    conn, s = one_connection(eng)
    samples: list[float] = []
    short = 0
    try:
        for _ in range(warmup + n):
            acct, start = rng.choice(accounts), first + timedelta(days=rng.randrange(365))
            after = last_page_cursor(s, acct, start) if deep else None
            page = timed(samples, lambda: engine.statement(s, acct, start, today, limit=50, after=after))
            short += len(page.lines) < 50
    finally:
        close(conn, s)
    return {**latency(samples[warmup:]), "short_pages": short}


def payees(chart: Chart) -> list[payouts.Payee]:
    return [payouts.Payee(partner=p, name=f"Partner Firm {n + 1:03d} GmbH",
                          iban=str(IBAN.generate("DE", bank_code=BANK_CODE, account_code=str(1_000_000 + n))),
                          bic=None, minimum_minor=1_000, agreement_in_force=True)
            for n, p in enumerate(chart.partners)]


def measure_payout(eng, chart: Chart, today: date) -> dict:
    """(6) This month's payout run for last month: prepare, approve (posting + pain.001), commit."""
    debtor = payouts.Debtor(name="Bench Broker GmbH", iban=str(IBAN.generate("DE", bank_code=BANK_CODE,
                                                                            account_code="9900000001")),
                            bic="COBADEFFXXX")
    people = payees(chart)
    period = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    conn, s = one_connection(eng)
    try:
        t0 = time.perf_counter()
        run = payouts.prepare(s, period=period, currency=CURRENCY, payees=people, prepared_by="finance-1",
                              prepared_by_name="Finance One", execution_date=today + timedelta(days=2))
        t1 = time.perf_counter()
        run, approved = payouts.approve(s, run, approved_by="finance-2", approved_by_name="Finance Two",
                                        debtor=debtor, today=today)
        t2 = time.perf_counter()
        s.commit()
        t3 = time.perf_counter()
        if not approved or run.pain001.count("<CdtTrfTxInf>") != len(run.lines):
            raise BenchError("the payout run was not approved with one transfer per line")
        return {"total_s": t3 - t0, "prepare_s": t1 - t0, "approve_s": t2 - t1, "commit_s": t3 - t2,
                "lines": len(run.lines), "exclusions": len(run.exclusions), "total_minor": run.total_minor,
                "pain001_bytes": len(run.pain001.encode())}
    finally:
        close(conn, s)


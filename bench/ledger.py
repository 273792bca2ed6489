"""Ledger benchmark: posting throughput and read latency of the commission ledger (`ledger.engine`), on
PostgreSQL and, for reference, SQLite.

For each backend, one run, in this process:

  * builds a throwaway database (PostgreSQL: a scratch database on the local server, dropped at the end;
    SQLite: a file in a temporary directory) with the real Alembic migrations, so the append-only triggers and
    PostgreSQL's per-entry balance check are there; opens the chart of accounts with `engine.open_account`:
    12 insurers' receivables, commission income, partner commission expense, bank, payouts approved, and the
    held and available payables of 210 partner firms;
  * loads two years of history, --postings postings (1,000,000 by default), with bulk SQL (COPY on PostgreSQL,
    executemany on SQLite) in the shape the engine writes: placements (4 postings), disclosure releases (2),
    insurers' monthly receipts and monthly partner payouts, with each posting's running balance; then VACUUM
    ANALYZE (PostgreSQL) or ANALYZE (SQLite), and `engine.verify` of the whole ledger;
  * measures, against the targets of the ledger issue:
      (3) the current balance of a random account (`engine.account(...).balance_minor`), p99 < 1 ms;
      (4) a random account's balance as of a random past date (`engine.balance_as_of`), p99 < 2 ms;
      (5) a 50-line statement page with running balances (`engine.statement(..., limit=50)`), p99 < 5 ms;
      (6) this month's payout run for the 210 partners (valid German IBANs): `payouts.prepare` + `approve`,
          including the pain.001 file validated against its schema, and the commit: < 5 s;
      (1) single idempotent entries (a placement: 4 postings) with `engine.post`, each committed on its own,
          one after the other on one connection: >= 1,500 entries/s with p99 <= 2 ms;
      (2) set-based batch posting with `engine.post_batch`: >= 20,000 postings/s, by one writer and by 4
          writers at once whose every entry debits the same hot account (the biggest insurer's receivable);
          for information, the same 4 writers with `engine.post` one entry at a time;
  * says where the time of (1) and (2) goes (statements sent, time inside the driver, in the garbage collector,
    in Python), measures this machine's floor (a round trip; a one-row INSERT and its commit), runs
    `engine.verify` again over everything written, and prints one "figure  target  PASS/MISS" line per target.

Without a reachable PostgreSQL server the script runs SQLite only and says PostgreSQL was skipped.

This is a benchmark, not a test: it exits 0 whatever the figures, and non-zero only when something went wrong
(setup failed, an operation raised, `engine.verify` found a problem).

    .venv/bin/python bench/ledger.py [--backend both|sqlite|postgresql] [--postings 1000000]
                                     [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--json PATH]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository first, always: this file's own directory (bench/, put first by Python) would otherwise make
# `import ledger` find this script instead of the ledger package.
sys.path.insert(0, str(ROOT))

from schwifty import IBAN  # noqa: E402
from sqlalchemy import bindparam, create_engine, event, func, select, text  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from ledger import checkpoint, engine, journal_batch, payouts  # noqa: E402
from scratch_db import PgDatabase  # noqa: E402  (bench/scratch_db.py)
from ledger.commissions import EXPENSE, INCOME, available, held  # noqa: E402
from ledger.journal_rules import request_hash  # noqa: E402
from ledger.money import Line, credit, debit  # noqa: E402
from ledger.models import Account, AccountType, JournalEntry, Posting, entry_keys  # noqa: E402

DEFAULT_PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CURRENCY = "EUR"
PARTNERS = 210
INSURERS = ["allianz-care", "cigna-global", "bupa-global", "axa-global", "april-international", "henner",
            "msh-international", "now-health", "william-russell", "globality", "geoblue", "img-global"]
HISTORY_DAYS = 730
BANK_CODE = "37040044"     # a German bank code schwifty knows (its BIC is derived from the IBAN)
LOAD_CHUNK = 20_000        # entries per COPY / executemany round and per loading transaction

TARGETS = {
    "single": "target >= 1,500 entries/s and p99 <= 2 ms",
    "batch": "target >= 20,000 postings/s",
    "balance": "target p99 < 1 ms",
    "as_of": "target p99 < 2 ms",
    "statement": "target p99 < 5 ms",
    "payout": "target < 5 s",
}


class BenchError(RuntimeError):
    pass


# --------------------------------------------------------------------------- throwaway databases


def migrate(tmp: Path, database_url: str) -> None:
    """The real Alembic migrations, run through the app as `flask db upgrade` does."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db

    app = create_app({"PORTAL_ENV": "test", "TESTING": True, "SECRET_KEY": "bench-secret",
                      "SQLALCHEMY_DATABASE_URI": database_url, "SERVER_NAME": "portal.test",
                      "MAIL_TRANSPORT": "file", "MAIL_FILE_DIR": str(tmp / "mail"),
                      "SEAL_P12_PATH": str(tmp / "seal-bench.p12"), "SEAL_P12_PASSWORD": "bench-seal-password"})
    app.instance_path = str(tmp)
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()


# --------------------------------------------------------------------------- the chart of accounts


@dataclass
class Chart:
    """Who the accounts are about: insurers and partners, with how much business each brings (Zipf-like)."""

    partners: list[str]
    partner_weights: list[float]
    insurer_weights: list[float]
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def hot(self) -> str:
        """The receivable of the biggest insurer: the account most entries touch, after income and expense."""
        return receivable(INSURERS[0])

    def pick(self, rng: random.Random) -> tuple[str, str]:
        return (rng.choices(INSURERS, self.insurer_weights)[0], rng.choices(self.partners, self.partner_weights)[0])


def receivable(insurer: str) -> str:
    return f"commission_receivable:{insurer}"


def make_chart(rng: random.Random) -> Chart:
    partners = [f"{rng.getrandbits(128):032x}" for _ in range(PARTNERS)]
    return Chart(partners, [1 / (rank + 1) for rank in range(PARTNERS)],
                 [1 / (rank + 1) for rank in range(len(INSURERS))])


def open_books(eng, chart: Chart, today: date) -> None:
    """Every account through `engine.open_account`, and the months before last closed."""
    codes = [(receivable(i), AccountType.asset, f"insurer:{i}") for i in INSURERS]
    codes += [(INCOME, AccountType.income, None), (EXPENSE, AccountType.expense, None),
              (payouts.BANK, AccountType.asset, None), (payouts.APPROVED, AccountType.liability, None)]
    for p in chart.partners:
        codes += [(held(p), AccountType.liability, f"partner:{p}"), (available(p), AccountType.liability,
                                                                    f"partner:{p}")]
    with Session(eng) as s:
        for code, kind, owner in codes:
            chart.ids[code] = engine.open_account(s, code, kind, CURRENCY, owner=owner).id
        month = (today - timedelta(days=HISTORY_DAYS)).replace(day=1)
        last_open = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        while month < last_open:
            engine.close_period(s, month, "finance@bench.example")
            month = (month + timedelta(days=32)).replace(day=1)
        s.commit()


# --------------------------------------------------------------------------- two years of history


@dataclass
class Entry:
    """One generated journal entry, before it gets ids and running balances."""

    day: date
    key: str
    description: str
    kind: str
    ref: str
    event_date: date | None
    details: dict
    lines: list[tuple[str, int]]


class History:
    """The business of two years, day by day, as the ledger would have posted it: placements (4 postings),
    their disclosure releases 10-20 days later (2), each insurer paying its receivable on the 1st, and on the
    5th of each month the partners' payout of what was available at the month's end (approval, then the
    bank's settlement). This month's payout is not in the history: it is the run that (6) measures."""

    def __init__(self, rng: random.Random, chart: Chart, postings: int, today: date):
        self.rng, self.chart, self.today = rng, chart, today
        self.first = today - timedelta(days=HISTORY_DAYS)
        # about 6 postings per placement, plus a few thousand for the receipts and payouts
        self.per_day = max(postings - 6_000, 6) / 6 / HISTORY_DAYS
        self.owed: dict[str, int] = defaultdict(int)        # partner -> available, owed to them
        self.receivable: dict[str, int] = defaultdict(int)  # insurer -> owed by it
        self.month_end_owed: dict[str, int] = {}
        self.releases: dict[date, list[tuple]] = defaultdict(list)
        self.serial = 0

    def ref(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def entries(self):
        """The entries in posting order (dates never go back on an account)."""
        for n in range(HISTORY_DAYS):
            day = self.first + timedelta(days=n)
            if day.day == 1:
                self.month_end_owed = dict(self.owed)
                yield from self.receipts(day)
            if day.day == 5 and n > 5 and day < self.today.replace(day=1):
                yield from self.payout(day)
            whole, frac = divmod(self.per_day * self.rng.uniform(0.7, 1.3), 1)
            for _ in range(int(whole) + (self.rng.random() < frac)):
                yield self.placement(day)
            for args in self.releases.pop(day, []):
                yield self.release(day, *args)

    def placement(self, day: date) -> Entry:
        insurer, partner = self.chart.pick(self.rng)
        self.serial += 1
        request = placement_request(self.rng, insurer, partner, f"POL-{self.serial:08d}", day)
        commission, share = request["details"]["broker_commission_minor"], request["details"]["partner_share_minor"]
        self.receivable[insurer] += commission
        self.releases[day + timedelta(days=self.rng.randint(10, 20))].append(
            (partner, share, request["details"]["contract"], request["details"]["policy_number"],
             request["details"]["client_initials"]))
        return Entry(day, request["key"], request["description"], request["event_kind"], request["event_ref"],
                     request["event_date"], request["details"],
                     [(line.account, line.amount_minor) for line in request["lines"]])

    def release(self, day: date, partner: str, share: int, contract: str, policy: str, initials: str) -> Entry:
        self.owed[partner] += share
        return Entry(day, f"disclosure.released:{contract}:1",
                     f"Disclosure approved, {policy} term 1: share payable", "disclosure.released", contract, None,
                     {"contract": contract, "policy_number": policy, "client_initials": initials, "term": 1,
                      "released_by": "compliance@bench.example", "partner": partner},
                     [(held(partner), share), (available(partner), -share)])

    def receipts(self, day: date):
        for insurer in INSURERS:
            amount = self.receivable.pop(insurer, 0)
            if amount:
                yield Entry(day, f"receipt:{insurer}:{day:%Y-%m}", f"Payment from {insurer}, {day:%Y-%m}",
                            "insurer.paid", self.ref(), day, {"insurer": insurer},
                            [(payouts.BANK, amount), (receivable(insurer), -amount)])

    def payout(self, day: date):
        """Dr each partner's available / Cr payouts approved, then Dr payouts approved / Cr bank."""
        lines, run = [], self.ref()
        for partner in self.chart.partners:
            amount = min(self.month_end_owed.get(partner, 0), self.owed[partner])
            if amount > 0:
                self.owed[partner] -= amount
                lines.append((available(partner), amount))
        total = sum(amount for _code, amount in lines)
        if not total:
            return
        reference = f"PO-{day:%Y%m}-EUR-1"
        yield Entry(day, f"payout.approved:{run}", f"Payout run {reference}", "payout.approved", run, None,
                    {"run": reference, "period": f"{day - timedelta(days=6):%Y-%m}"},
                    lines + [(payouts.APPROVED, -total)])
        yield Entry(day, f"payout.settled:{run}", f"Payout run {reference} settled (BANK-{day:%Y%m})",
                    "payout.settled", run, None, {"run": reference, "bank_reference": f"BANK-{day:%Y%m}"},
                    [(payouts.APPROVED, total), (payouts.BANK, -total)])


def placement_request(rng: random.Random, insurer: str, partner: str, policy: str, day: date) -> dict:
    """`engine.post`'s arguments for a placement, as `ledger.commissions.post_term` builds them."""
    premium = rng.randrange(60_000, 1_800_000)
    rate = rng.choice(("0.1200", "0.1500", "0.1800", "0.2000"))
    commission = engine.apply_rate(premium, Decimal(rate))
    partner_rate = rng.choice(("0.3000", "0.4000", "0.5000"))
    share = engine.apply_rate(commission, Decimal(partner_rate))
    contract, event_ref = f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(128):032x}"
    initials = f"{rng.choice('ABCDEFGHJKLMNPRST')}.{rng.choice('ABCDEFGHJKLMNPRST')}."
    details = {"contract": contract, "policy_number": policy, "term": 1, "client_initials": initials,
               "premium_minor": premium, "insurer_rate": rate, "broker_commission_minor": commission,
               "partner": partner, "agreement": f"AG-{partner[:6].upper()}-1", "partner_rate": partner_rate,
               "one_off_fee_minor": 0, "partner_share_minor": share, "clawback_days": 90}
    return dict(key=f"contract.placed:{event_ref}", effective_date=day,
                description=f"Commission, placement of {policy} (term 1)", event_kind="contract.placed",
                event_ref=event_ref, event_date=day - timedelta(days=rng.randint(0, 30)), details=details,
                lines=[debit(receivable(insurer), commission, CURRENCY), credit(INCOME, commission, CURRENCY),
                       debit(EXPENSE, share, CURRENCY), credit(held(partner), share, CURRENCY)])


# --------------------------------------------------------------------------- bulk loading


ENTRY_COLUMNS = ("id", "public_id", "created_at", "idempotency_key", "request_hash", "effective_date",
                 "description", "event_kind", "event_ref", "event_date", "details", "contract_ref", "term",
                 "partner_ref", "reverses_id")
POSTING_COLUMNS = ("id", "entry_id", "account_id", "amount_minor", "currency", "effective_date", "balance_after")
EVENT_COLUMNS = ("public_id", "created_at", "kind", "subject", "effective_on", "payload")


class Loader:
    """Turns generated entries into rows as `engine.post` writes them: the same request hash, postings in
    account-id order, each with the account's running balance; writes them in chunks with bulk SQL."""

    def __init__(self, conn, chart: Chart, rng: random.Random):
        self.chart, self.rng = chart, rng
        self.pg = conn.dialect.name == "postgresql"
        self.balance: dict[int, int] = defaultdict(int)
        self.last: dict[int, date] = {}
        self.entry_id = (conn.execute(select(func.max(JournalEntry.id))).scalar() or 0) + 1
        self.posting_id = (conn.execute(select(func.max(Posting.id))).scalar() or 0) + 1
        self.entries: list[tuple] = []
        self.postings: list[tuple] = []
        self.events: list[tuple] = []  # each placement's contract.placed, which `ledger verify` holds it to
        self.count = {"entries": 0, "postings": 0}

    def add(self, e: Entry) -> None:
        lines = [Line(code, CURRENCY, amount) for code, amount in e.lines]
        # the engine's own request hash, so that a retry of a loaded entry is recognised as one
        digest = request_hash(e.day, e.description, lines, None, e.kind, e.ref)
        created = datetime.combine(e.day, _dt.time(9), timezone.utc) + timedelta(seconds=self.count["entries"] % 30000)
        self.entries.append((self.entry_id, f"{self.rng.getrandbits(128):032x}", created, e.key, digest, e.day,
                             e.description, e.kind, e.ref, e.event_date, json.dumps(e.details),
                             *entry_keys(e.details), None))
        if e.kind == "contract.placed":
            self.events.append((e.ref, created, e.kind, e.details["contract"], e.event_date, json.dumps(
                {"premium_minor": e.details["premium_minor"], "currency": CURRENCY, "term": e.details["term"]})))
        for code, amount in sorted(e.lines, key=lambda line: self.chart.ids[line[0]]):
            account_id = self.chart.ids[code]
            self.balance[account_id] += amount
            self.last[account_id] = e.day
            self.postings.append((self.posting_id, self.entry_id, account_id, amount, CURRENCY, e.day,
                                  self.balance[account_id]))
            self.posting_id += 1
        self.entry_id += 1
        self.count["entries"] += 1
        self.count["postings"] += len(e.lines)

    def flush(self, conn) -> None:
        if self.pg:
            self._copy(conn, "business_events", EVENT_COLUMNS, self.events)
            self._copy(conn, "ledger_entries", ENTRY_COLUMNS, self.entries)
            self._copy(conn, "ledger_postings", POSTING_COLUMNS, self.postings)
        else:
            self._executemany(conn, "business_events", EVENT_COLUMNS, [sqlite_row(r) for r in self.events])
            self._executemany(conn, "ledger_entries", ENTRY_COLUMNS, [sqlite_row(r) for r in self.entries])
            self._executemany(conn, "ledger_postings", POSTING_COLUMNS, [sqlite_row(r) for r in self.postings])
        self.entries, self.postings, self.events = [], [], []

    @staticmethod
    def _copy(conn, table: str, columns: tuple, rows: list[tuple]) -> None:
        cursor = conn.connection.dbapi_connection.cursor()
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    @staticmethod
    def _executemany(conn, table: str, columns: tuple, rows: list[tuple]) -> None:
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def sqlite_row(row: tuple) -> tuple:
    """Values as SQLAlchemy stores them in SQLite: ISO dates, UTC datetimes without offset."""
    return tuple(v.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime)
                 else v.isoformat() if isinstance(v, date) else v for v in row)


def loading_engine(url: str):
    eng = create_engine(url)
    if eng.dialect.name == "sqlite":
        @event.listens_for(eng, "connect")
        def big_cache(dbapi_connection, record):
            dbapi_connection.execute("PRAGMA cache_size = -524288")
    return eng


def load_history(url: str, chart: Chart, rng: random.Random, postings: int, today: date) -> dict:
    """Two years of entries (about `postings` postings), then the accounts' balances, sequences and ANALYZE."""
    eng = loading_engine(url)
    t0 = time.perf_counter()
    try:
        with eng.connect() as conn:
            loader = Loader(conn, chart, rng)
            for entry in History(rng, chart, postings, today).entries():
                loader.add(entry)
                if len(loader.entries) >= LOAD_CHUNK:
                    loader.flush(conn)
                    conn.commit()
            loader.flush(conn)
            accounts = Account.__table__
            conn.execute(accounts.update().where(accounts.c.id == bindparam("b_id"))
                         .values(balance_minor=bindparam("b_balance"), last_posted_on=bindparam("b_last")),
                         [{"b_id": i, "b_balance": loader.balance[i], "b_last": loader.last.get(i)}
                          for i in chart.ids.values()])
            if loader.pg:
                for table in ("ledger_entries", "ledger_postings"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                      f"(SELECT max(id) FROM {table}))"))
            conn.commit()
            load_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            if loader.pg:
                # A ledger two years old has been vacuumed: do it now, or autovacuum would do it (a minute of CPU
                # and disk on this machine) while the reads below are measured.
                quiet = conn.execution_options(isolation_level="AUTOCOMMIT")
                quiet.execute(text("VACUUM (ANALYZE) ledger_postings, ledger_entries, ledger_accounts"))
                # and the load's pages written out now, rather than by a checkpoint in the middle of a figure
                quiet.execute(text("CHECKPOINT"))
            else:
                conn.execute(text("ANALYZE"))
                conn.commit()
            analyze_s = time.perf_counter() - t1
    finally:
        eng.dispose()
    return {**loader.count, "load_s": load_s, "analyze_s": analyze_s}



# --------------------------------------------------------------------------- measuring


def percentile(sorted_values: list[float], pct: float) -> float:
    k = (len(sorted_values) - 1) * pct / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def latency(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {"n": len(ordered), "p50_ms": percentile(ordered, 50) * 1000, "p95_ms": percentile(ordered, 95) * 1000,
            "p99_ms": percentile(ordered, 99) * 1000, "max_ms": ordered[-1] * 1000}


def timed(samples: list[float], call):
    t0 = time.perf_counter()
    result = call()
    samples.append(time.perf_counter() - t0)
    return result


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
        for i in range(warmup + n):
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


def measure_statement(eng, rng: random.Random, accounts: list[Account], first: date, today: date, n: int,
                      warmup: int, deep: bool = False) -> dict:
    """(5) `engine.statement(acct, start, today, limit=50)` of a random account from a random day of the first
    year: the first page (or, with `deep`, a random page of the period) of 50 lines with running balances."""
    conn, s = one_connection(eng)
    samples: list[float] = []
    short = 0
    try:
        for _ in range(warmup + n):
            acct, start = rng.choice(accounts), first + timedelta(days=rng.randrange(365))
            offset = 0
            if deep:
                count = s.execute(select(func.count()).select_from(Posting).where(
                    Posting.account_id == acct.id, Posting.effective_date >= start)).scalar_one()
                offset = rng.randrange(max(count - 50, 1))
            page = timed(samples, lambda: engine.statement(s, acct, start, today, limit=50, offset=offset))
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


def diagnose_single(eng, requests: Requests, n: int) -> dict:
    """Untimed by the figures: `n` more single entries with a Tally, and the commits timed on their own."""
    conn, s = one_connection(eng)
    commit_s = 0.0
    try:
        with Tally(conn) as tally:
            t0 = time.perf_counter()
            for request in requests.many(n):
                engine.post(s, **request)
                t = time.perf_counter()
                s.commit()
                commit_s += time.perf_counter() - t
            wall = time.perf_counter() - t0
    finally:
        close(conn, s)
    return {"entries": n, "ms_each": wall / n * 1000, "statements_each": (tally.statements + n) / n,
            "driver_ms_each": (tally.driver_s + commit_s) / n * 1000, "commit_ms_each": commit_s / n * 1000,
            "gc_ms_each": tally.gc_s / n * 1000}


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
            written += sum(len(r["lines"]) for r, (_e, created) in zip(batch, results) if created)
    finally:
        close(conn, s)
    return written


def diagnose_batch(eng, requests: Requests, batches: int, size: int) -> dict:
    """Untimed by the figures: `batches` more batches with a Tally, and their commits timed on their own."""
    conn, s = one_connection(eng)
    commit_s = 0.0
    try:
        with Tally(conn) as tally:
            t0 = time.perf_counter()
            for batch in [requests.many(size) for _ in range(batches)]:
                engine.post_batch(s, batch)
                t = time.perf_counter()
                s.commit()
                commit_s += time.perf_counter() - t
            wall = time.perf_counter() - t0
    finally:
        close(conn, s)
    return {"batches": batches, "ms_each": wall / batches * 1000, "statements_each": tally.statements / batches + 1,
            "driver_ms_each": (tally.driver_s + commit_s) / batches * 1000,
            "commit_ms_each": commit_s / batches * 1000, "gc_ms_each": tally.gc_s / batches * 1000}


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


def check_books(eng, chart: Chart, sample: int = 4) -> dict:
    """`engine.verify` of the whole ledger, and the running balances of the hot account and a few partners'
    held accounts checked posting by posting (verify looks at the last one only)."""
    t0 = time.perf_counter()
    with Session(eng) as s:
        problems = engine.verify(s)
        codes = [chart.hot] + [held(p) for p in chart.partners[:sample]]
        for code in codes:
            running = 0
            for amount, after in s.execute(select(Posting.amount_minor, Posting.balance_after)
                                           .where(Posting.account_id == chart.ids[code]).order_by(Posting.id)):
                running += amount
                if after != running:
                    problems.append(engine.Problem(code, f"running balance {after}, expected {running}"))
                    break
        counts = {"entries": s.execute(select(func.count()).select_from(JournalEntry)).scalar_one(),
                  "postings": s.execute(select(func.count()).select_from(Posting)).scalar_one()}
        verify_s = time.perf_counter() - t0
        checkpoint.fingerprint(s)  # what `flask ledger verify` adds: the checkpoint's digest of every row
        fingerprint_s = time.perf_counter() - t0 - verify_s
    if problems:
        raise BenchError("engine.verify: " + "; ".join(f"{p.subject}: {p.message}" for p in problems[:5]))
    return {**counts, "verify_s": verify_s, "fingerprint_s": fingerprint_s}


# --------------------------------------------------------------------------- one backend


def run_backend(name: str, url: str, tmp: Path, args) -> dict:
    rng = random.Random(args.seed)
    today = date.today()
    chart = make_chart(rng)
    t0 = time.perf_counter()
    migrate(tmp, url)
    eng = create_engine(url)
    try:
        open_books(eng, chart, today)
        setup_s = time.perf_counter() - t0
        print(f"  migrated, {len(chart.ids)} accounts opened in {setup_s:.1f} s; loading about "
              f"{args.postings:,} postings ...", flush=True)
        load = load_history(url, chart, rng, args.postings, today)
        checked = check_books(eng, chart)
        print(f"  loaded {load['postings']:,} postings ({load['entries']:,} entries) in {load['load_s']:.1f} s, "
              f"(VACUUM) ANALYZE {load['analyze_s']:.1f} s; engine.verify: no problem ({checked['verify_s']:.1f} s; "
              f"checkpoint digest {checked['fingerprint_s']:.1f} s)",
              flush=True)
        out = {"backend": name, "server": server_version(eng), "setup_s": setup_s, "load": load,
               "verify_loaded_s": checked["verify_s"], "gc_frozen": args.gc_freeze}
        if args.gc_freeze:  # as wsgi.py does once the app is loaded: the collector skips those objects
            gc.collect()
            gc.freeze()
        out.update(measure_reads_and_payout(eng, rng, chart, today, args))
        out.update(measure_posting(eng, Requests(rng, chart, today), args))
        out["floor"] = measure_floor(eng)
        out["final"] = check_books(eng, chart)
        print(f"  engine.verify after posting: no problem ({out['final']['postings']:,} postings, "
              f"{out['final']['verify_s']:.1f} s)", flush=True)
        return out
    finally:
        eng.dispose()


def measure_reads_and_payout(eng, rng: random.Random, chart: Chart, today: date, args) -> dict:
    """(3)-(6), on the history as loaded."""
    accounts = account_sample(eng)
    first = today - timedelta(days=HISTORY_DAYS)
    print("  reads (3)-(5) ...", flush=True)
    out = {"balance": measure_balance(eng, rng, accounts, args.reads, args.warmup),
           "as_of": measure_as_of(eng, rng, accounts, first, today, args.reads, args.warmup),
           "statement": measure_statement(eng, rng, accounts, first, today, args.reads, args.warmup),
           "statement_deep": measure_statement(eng, rng, accounts, first, today, max(args.reads // 4, 1),
                                               args.warmup, deep=True)}
    print("  payout run (6) ...", flush=True)
    out["payout"] = measure_payout(eng, chart, today)
    return out


def measure_posting(eng, requests: Requests, args) -> dict:
    """(1) and (2), then where their time goes."""
    print("  posting (1) and (2) ...", flush=True)
    return {"single": measure_single(eng, requests, args.entries, args.warmup),
            "single_where": diagnose_single(eng, requests, 300),
            "batch": measure_batch(eng, requests, args.batches, args.batch_size, 2),
            "batch_where": diagnose_batch(eng, requests, 3, args.batch_size),
            "batch_writers": measure_batch_writers(eng, requests, args.writers, max(args.batches // 2, 1),
                                                   args.batch_size),
            "post_writers": measure_post_writers(eng, requests, args.writers, max(args.entries // args.writers, 1))}


def server_version(eng) -> str:
    if eng.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with eng.connect() as conn:
        return "PostgreSQL " + conn.execute(text("SHOW server_version")).scalar_one().split()[0]


# --------------------------------------------------------------------------- report


def verdicts(r: dict) -> list[tuple[str, str, str, str]]:
    """(figure, value, target, verdict) for each target of the issue, plus the figures for information."""
    s, b, w, pw = r["single"], r["batch"], r["batch_writers"], r["post_writers"]
    p = r["payout"]

    def v(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    return [
        ("(1) single entries: engine.post + commit each, one connection",
         f"{s['entries_per_s']:,.0f} entries/s, p99 {s['p99_ms']:.2f} ms", TARGETS["single"],
         v(s["entries_per_s"] >= 1500 and s["p99_ms"] <= 2.0)),
        (f"(2) batch posting: engine.post_batch, {b['batch_entries']} entries a batch, 1 writer",
         f"{b['postings_per_s']:,.0f} postings/s", TARGETS["batch"], v(b["postings_per_s"] >= 20_000)),
        (f"(2) batch posting: {w['writers']} writers, every entry on the hot receivable",
         f"{w['postings_per_s']:,.0f} postings/s", TARGETS["batch"], v(w["postings_per_s"] >= 20_000)),
        (f"    (info) {pw['writers']} writers, engine.post one entry each, hot receivable",
         f"{pw['entries_per_s']:,.0f} entries/s, p99 {pw['p99_ms']:.2f} ms", "-", "-"),
        ("(3) current balance of an account", f"p99 {r['balance']['p99_ms']:.2f} ms (p50 "
         f"{r['balance']['p50_ms']:.2f})", TARGETS["balance"], v(r["balance"]["p99_ms"] < 1.0)),
        ("(4) balance as of a past date", f"p99 {r['as_of']['p99_ms']:.2f} ms (p50 {r['as_of']['p50_ms']:.2f})",
         TARGETS["as_of"], v(r["as_of"]["p99_ms"] < 2.0)),
        ("(5) 50-line statement page with running balances, first page",
         f"p99 {r['statement']['p99_ms']:.2f} ms (p50 {r['statement']['p50_ms']:.2f})", TARGETS["statement"],
         v(r["statement"]["p99_ms"] < 5.0)),
        ("    (info) the same, a random page of the period (OFFSET)",
         f"p99 {r['statement_deep']['p99_ms']:.2f} ms (p50 {r['statement_deep']['p50_ms']:.2f})", "-", "-"),
        (f"(6) payout run, {p['lines']} partners: prepare + approve + pain.001 + commit",
         f"{p['total_s']:.2f} s", TARGETS["payout"], v(p["total_s"] < 5.0)),
    ]


def print_backend(r: dict) -> None:
    load = r["load"]
    print()
    print(f"{r['server']}: {load['postings']:,} postings ({load['entries']:,} entries) loaded in "
          f"{load['load_s']:.1f} s" + ("" if r["gc_frozen"] else "; without the gc.freeze() of wsgi.py (--no-gc-freeze)"))
    rows = verdicts(r)
    w0, w1, w2 = (max(len(row[i]) for row in rows) for i in range(3))
    print(f"{'figure':<{w0}}  {'measured':<{w1}}  {'target':<{w2}}  verdict")
    print("-" * (w0 + w1 + w2 + 13))
    for figure, value, target, verdict in rows:
        print(f"{figure:<{w0}}  {value:<{w1}}  {target:<{w2}}  {verdict}")
    s, b, w, p = r["single"], r["batch"], r["batch_writers"], r["payout"]
    print(f"  (1) {s['n']:,} entries of 4 postings: p50 {s['p50_ms']:.2f} ms, p95 {s['p95_ms']:.2f} ms, "
          f"max {s['max_ms']:.1f} ms")
    print(f"  (2) 1 writer: {b['entries_per_s']:,.0f} entries/s, a batch of {b['batch_entries']} p50 "
          f"{b['p50_ms']:.0f} ms, p99 {b['p99_ms']:.0f} ms; {w['writers']} writers: a batch p50 {w['p50_ms']:.0f} ms, "
          f"p99 {w['p99_ms']:.0f} ms, {w['retries']} retries")
    sw, bw, fl = r["single_where"], r["batch_where"], r["floor"]
    print(f"  (1) where an entry's {sw['ms_each']:.2f} ms go: {sw['statements_each']:.0f} statements with the commit, "
          f"{sw['driver_ms_each']:.2f} ms inside the driver (commit {sw['commit_ms_each']:.2f} ms), garbage "
          f"collector {sw['gc_ms_each']:.2f} ms, the rest ({sw['ms_each'] - sw['driver_ms_each'] - sw['gc_ms_each']:.2f}"
          f" ms) Python: the engine and SQLAlchemy")
    print(f"  (2) where a batch's {bw['ms_each']:.0f} ms go: {bw['statements_each']:.0f} statements with the commit, "
          f"{bw['driver_ms_each']:.0f} ms inside the driver (commit {bw['commit_ms_each']:.0f} ms), garbage collector "
          f"{bw['gc_ms_each']:.0f} ms, the rest ({bw['ms_each'] - bw['driver_ms_each'] - bw['gc_ms_each']:.0f} ms) "
          f"Python")
    print(f"  floor on this machine, driver alone: a round trip {fl['round_trip_ms']:.3f} ms; a one-row INSERT and "
          f"its commit {fl['insert_commit_ms']:.3f} ms ({1000 / fl['insert_commit_ms']:,.0f} transactions/s)")
    print(f"  (5) {r['statement']['short_pages']} of {r['statement']['n']} first pages had fewer than 50 lines")
    print(f"  (6) {p['lines']} lines, {p['exclusions']} exclusions, {p['total_minor'] / 100:,.2f} EUR; prepare "
          f"{p['prepare_s']:.2f} s, approve {p['approve_s']:.2f} s (posting + pain.001 of "
          f"{p['pain001_bytes']:,} bytes), commit {p['commit_s']:.3f} s")


def write_json(path: Path, args, results: list[dict], skipped: dict) -> None:
    figures = {"benchmark": "bench/ledger.py",
               "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
               "machine": {"python": platform.python_version(), "platform": platform.platform(),
                           "cpus": os.cpu_count()},
               "settings": vars(args), "targets": TARGETS, "results": results, "skipped": skipped}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    print(f"figures written to {path}")


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both",
                   help="which databases to measure (default both; PostgreSQL is skipped when unreachable)")
    p.add_argument("--database-url", default=DEFAULT_PG_URL,
                   help="the PostgreSQL server: a scratch database is created on it and dropped at the end "
                        "(default $BENCH_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/postgres)")
    p.add_argument("--postings", type=int, default=1_000_000, help="postings of history to load (default 1000000)")
    p.add_argument("--entries", type=int, default=3_000, help="timed single entries for (1) (default 3000)")
    p.add_argument("--batch-size", type=int, default=500, help="entries per batch for (2) (default 500)")
    p.add_argument("--batches", type=int, default=20, help="timed batches for (2), one writer (default 20; each "
                                                           "of the writers posts half as many)")
    p.add_argument("--writers", type=int, default=4, help="concurrent writers for (2) (default 4)")
    p.add_argument("--reads", type=int, default=2_000, help="timed reads for (3)-(5) each (default 2000)")
    p.add_argument("--warmup", type=int, default=200, help="untimed operations before each figure (default 200)")
    p.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                   help="leave out the gc.freeze() that follows loading (wsgi.py freezes what the app loaded, so "
                        "that Python's garbage collector no longer rescans it; this shows what that saves)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    args = p.parse_args(argv)
    if min(args.postings, args.entries, args.batch_size, args.batches, args.writers, args.reads) < 1:
        p.error("counts must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    print(f"Ledger benchmark — Python {platform.python_version()}, {os.cpu_count()} CPUs (load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}), {platform.platform()}", flush=True)
    results, skipped = [], {}
    for name in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,)):
        tmp = Path(tempfile.mkdtemp(prefix="portal-bench-ledger-"))
        pg = PgDatabase(args.database_url, "ledger_bench") if name == "postgresql" else None
        try:
            if pg is not None:
                reason = pg.reachable()
                if reason:
                    skipped[name] = reason
                    print(f"\nPostgreSQL skipped: {pg.admin_url.render_as_string()} is not reachable ({reason})")
                    continue
                pg.create()
            print(f"\n{name}: " + (f"database {pg.name}" if pg else f"{tmp / 'ledger.db'}"), flush=True)
            url = pg.url_string if pg else f"sqlite:///{tmp / 'ledger.db'}"
            results.append(run_backend(name, url, tmp, args))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            if pg is not None and name not in skipped:
                pg.drop()
    for r in results:
        print_backend(r)
    for name, reason in skipped.items():
        print(f"\n{name}: skipped ({reason})")
    if args.json:
        write_json(Path(args.json), args, results, skipped)
    return 0


def _terminate(signum, frame):
    raise KeyboardInterrupt  # run the finally blocks: drop the scratch database, remove the files


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/ledger.py: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)

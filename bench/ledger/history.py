"""The ledger's history for the benchmarks: the chart of accounts (12 insurers, 210 partner firms) and two years
of business (placements, disclosure releases, insurers' receipts, monthly payouts), loaded with bulk SQL in the
shape `ledger.engine` writes (the same request hashes, running balances and key columns)."""
from __future__ import annotations

import datetime as _dt
import json
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from bench.common import loading_engine
from ledger import engine, payouts
from ledger.commissions import EXPENSE, INCOME, available, held
from ledger.journal_rules import request_hash
from ledger.money import Line, credit, debit
from ledger.models import Account, AccountType, JournalEntry, Posting, entry_keys

CURRENCY = "EUR"
PARTNERS = 210
INSURERS = ["allianz-care", "cigna-global", "bupa-global", "axa-global", "april-international", "henner",
            "msh-international", "now-health", "william-russell", "globality", "geoblue", "img-global"]
HISTORY_DAYS = 730
BANK_CODE = "37040044"     # a German bank code schwifty knows (its BIC is derived from the IBAN)
LOAD_CHUNK = 20_000        # entries per COPY / executemany round and per loading transaction


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
        created = datetime.combine(e.day, _dt.time(9), _dt.UTC) + timedelta(seconds=self.count["entries"] % 30000)
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
    return tuple(v.astimezone(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime)
                 else v.isoformat() if isinstance(v, date) else v for v in row)



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


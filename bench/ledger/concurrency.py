"""The ledger under concurrency (issue 17), on PostgreSQL: `python -m bench.ledger.concurrency`.

On a scratch database with the real migrations and --postings postings of history (1,000,000 by default, as
`python -m bench.ledger` loads them), three rounds, each measuring in turn:

  * the floor: a bare one-row INSERT and its COMMIT, one after the other on one connection (the driver alone);
  * 1, 4 and 16 writers, each a thread posting requests one after the other, each request a session of its own
    on the engine (as a web request and an outbox job have), `engine.post` of one placement (4 postings, every one on the
    biggest insurer's receivable and on commission income) and its commit;
  * a 50-line statement page of the busiest account (the hot receivable), the first page of its last year and
    the last page, reached by its cursor (`engine.statement(..., after=...)`);
  * the current balance (`engine.account(...).balance_minor`) and a balance as of a random past day
    (`engine.balance_as_of`) of random accounts.

Each throughput figure is also given as a ratio to the floor measured in the same round; the table prints
min / median / max over the rounds next to the target of the issue. Then `engine.verify` checks the whole
ledger. A benchmark, not a test: it exits 0 whatever the figures.

    .venv/bin/python -m bench.ledger.concurrency [--postings 1000000] [--entries 2000] [--rounds 3]
                                                 [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from bench.common import BenchError, latency, machine, migrate_database, run, timed
from bench.ledger.history import HISTORY_DAYS, INSURERS, load_history, make_chart, open_books
from bench.ledger.posting import Requests, in_threads
from bench.ledger.reads import account_sample, last_page_cursor
from bench.ledger.throughput import check_books
from bench.scratch_db import PgDatabase
from ledger import engine, group_commit
from ledger.models import Account

DEFAULT_PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
WRITERS = (1, 4, 16)
TARGETS = {
    "floor": "-",
    "w1": ">= 0.5 x floor, p99 <= 5 ms",
    "w4": ">= 0.6 x floor, p99 <= 20 ms",
    "w16": "no lower than 4 writers",
    "first": "-",
    "deep": "p99 <= 2 x the first page",
    "balance": "p99 < 1 ms",
    "as_of": "p99 < 2 ms",
}


def measure_floor(eng, n: int) -> tuple[float, float]:
    """Transactions per second of a bare one-row INSERT + COMMIT on one connection, and their p99 in ms (what
    this machine's commits cost at the moment: a writer's p99 cannot be better)."""
    samples: list[float] = []
    with eng.connect() as conn:
        raw = conn.connection.dbapi_connection
        cursor = raw.cursor()
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_floor (id BIGINT PRIMARY KEY, v BIGINT)")
        cursor.execute("TRUNCATE bench_floor")
        raw.commit()
        t0 = time.perf_counter()
        for i in range(n):
            timed(samples, lambda i=i: (cursor.execute("INSERT INTO bench_floor (id, v) VALUES (%s, %s)", (i, i)),
                                        raw.commit()))
        wall = time.perf_counter() - t0
    return n / wall, latency(samples)["p99_ms"]


def server_cpu_s(eng) -> float | None:
    """CPU seconds used so far by the database's server processes of this benchmark's database (from /proc: a
    server on this machine, readable by this user), or None."""
    with eng.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()
        try:
            ticks = sum(int(f[11]) + int(f[12]) for f in (
                Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split() for pid in pids))
        except OSError:
            return None
    return ticks / os.sysconf("SC_CLK_TCK")


def measure_writers(eng, requests: Requests, writers: int, total: int) -> dict:
    """`writers` threads, `total` entries between them, each request `engine.post` + commit in a session of its own; with
    the CPU time an entry cost this process (the engine, SQLAlchemy, the driver) and the database's server."""
    per = max(total // writers, 1)
    todo = [requests.many(per, INSURERS[0]) for _ in range(writers)]
    samples: list[float] = []
    writer = group_commit.writer_for(eng)
    batches = writer.batches

    def one_request(request: dict) -> None:
        with Session(eng) as s:  # a session per request, as a web request or an outbox job has
            engine.post(s, **request)
            s.commit()

    def post_all(i: int) -> int:
        for request in todo[i]:
            timed(samples, lambda request=request: one_request(request))
        return per

    server0, client0 = server_cpu_s(eng), time.process_time()
    done, wall = in_threads(writers, post_all)
    client, server1 = time.process_time() - client0, server_cpu_s(eng)
    commits, n = writer.batches - batches, sum(done)
    return {**latency(samples), "entries_per_s": n / wall, "commits": commits,
            "entries_per_commit": n / commits if commits else 0.0, "client_cpu_us": client / n * 1e6,
            "server_cpu_us": (server1 - server0) / n * 1e6 if server0 is not None and server1 is not None else None}


def measure_reads(eng, rng: random.Random, hot_id: int, accounts: list[Account], today: date, n: int) -> dict:
    """The hot account's first and last statement pages, current and as-of balances: p99 in ms."""
    first_day = today - timedelta(days=HISTORY_DAYS)
    first, deep, balance, as_of = [], [], [], []
    with Session(eng) as s:
        hot = s.get(Account, hot_id)
        for _ in range(n):
            start = today - timedelta(days=365 - rng.randrange(30))
            after = last_page_cursor(s, hot, start)
            page = timed(first, lambda start=start: engine.statement(s, hot, start, today, limit=50))
            last = timed(deep, lambda start=start, after=after: engine.statement(s, hot, start, today, limit=50,
                                                                                  after=after))
            if len(page.lines) != 50 or not last.lines or last.next_after is not None and len(last.lines) < 50:
                raise BenchError("a statement page came back short")
            acct = rng.choice(accounts)
            s.expunge(acct) if acct in s else None
            timed(balance, lambda acct=acct: engine.account(s, acct.code, acct.currency).balance_minor)
            day = first_day + timedelta(days=rng.randrange(HISTORY_DAYS))
            timed(as_of, lambda acct=acct, day=day: engine.balance_as_of(s, acct, day))
            s.expunge_all()
            hot = s.get(Account, hot_id)
    return {name: latency(v)["p99_ms"] for name, v in
            (("first", first), ("deep", deep), ("balance", balance), ("as_of", as_of))}


def run_rounds(eng, requests: Requests, rng: random.Random, hot_id: int, today: date, args) -> list[dict]:
    accounts = account_sample(eng)
    rounds = []
    for number in range(1, args.rounds + 1):
        floor, floor_p99 = measure_floor(eng, args.floor)
        out: dict = {"floor": floor, "floor_p99": floor_p99}
        for w in WRITERS:
            out[f"w{w}"] = measure_writers(eng, requests, w, args.entries)
        out["reads"] = measure_reads(eng, rng, hot_id, accounts, today, args.reads)
        out["load_average"] = os.getloadavg()[0]
        rounds.append(out)
        print(f"  round {number}: floor {out['floor']:,.0f}/s p99 {floor_p99:.1f} ms; " + "; ".join(
            f"{w} writer{'s' if w > 1 else ''} {out[f'w{w}']['entries_per_s']:,.0f}/s p99 "
            f"{out[f'w{w}']['p99_ms']:.1f} ms ({out[f'w{w}']['entries_per_commit']:.1f} entries a commit)"
            for w in WRITERS) + f"; load average {out['load_average']:.2f}", flush=True)
    return rounds


def _spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def report(rounds: list[dict]) -> None:
    """One table: each figure's min / median / max over the rounds, its ratio, its target and verdict."""
    floors = [r["floor"] for r in rounds]
    rows = [("floor: one-row INSERT + COMMIT", _spread(floors, ",.0f") + " tx/s; p99 "
             + _spread([r["floor_p99"] for r in rounds], ".1f") + " ms", "1.00", "-", "-")]
    ratios: dict[int, float] = {}
    for w in WRITERS:
        tps = [r[f"w{w}"]["entries_per_s"] for r in rounds]
        p99 = [r[f"w{w}"]["p99_ms"] for r in rounds]
        ratio = [r[f"w{w}"]["entries_per_s"] / r["floor"] for r in rounds]
        ratios[w] = statistics.median(ratio)
        if w == 1:
            ok = ratios[1] >= 0.5 and statistics.median(p99) <= 5
        elif w == 4:
            ok = ratios[4] >= 0.6 and statistics.median(p99) <= 20
        else:
            ok = statistics.median(tps) >= statistics.median([r["w4"]["entries_per_s"] for r in rounds])
        rows.append((f"{w} writer{'s' if w > 1 else ''}, engine.post + commit, hot account",
                     f"{_spread(tps, ',.0f')} entries/s; p99 {_spread(p99, '.1f')} ms",
                     f"{_spread(ratio, '.2f')}", TARGETS[f"w{w}"], "PASS" if ok else "MISS"))
    reads = {k: [r["reads"][k] for r in rounds] for k in ("first", "deep", "balance", "as_of")}
    deep_ratio = [r["reads"]["deep"] / r["reads"]["first"] for r in rounds]
    rows += [
        ("statement page of the hot account, first: p99", _spread(reads["first"], ".2f") + " ms", "-", "-", "-"),
        ("statement page of the hot account, last (by key): p99", _spread(reads["deep"], ".2f") + " ms",
         _spread(deep_ratio, ".2f") + " x first", TARGETS["deep"],
         "PASS" if statistics.median(deep_ratio) <= 2 else "MISS"),
        ("current balance: p99", _spread(reads["balance"], ".3f") + " ms", "-", TARGETS["balance"],
         "PASS" if statistics.median(reads["balance"]) < 1 else "MISS"),
        ("balance as of a past day: p99", _spread(reads["as_of"], ".3f") + " ms", "-", TARGETS["as_of"],
         "PASS" if statistics.median(reads["as_of"]) < 2 else "MISS"),
    ]
    header = ("figure", "min / median / max", "ratio to floor (min / median / max)", "target", "verdict")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    print()
    for row in [header, *rows]:
        print("  ".join(f"{cell:<{widths[i]}}" for i, cell in enumerate(row[:4])) + "  " + row[4])
    for w in WRITERS:
        client = [r[f"w{w}"]["client_cpu_us"] for r in rounds]
        server = [r[f"w{w}"]["server_cpu_us"] for r in rounds]
        print(f"CPU an entry, {w} writer{'s' if w > 1 else ''}: this process {_spread(client, ',.0f')} us"
              + (f"; the database server {_spread(server, ',.0f')} us" if None not in server else ""))
    entries = [r[f"w{w}"]["entries_per_commit"] for r in rounds for w in WRITERS[1:]]
    print(f"\n(entries per commit of the posting writer, 4 and 16 writers: {_spread(entries, '.1f')}; "
          f"load average during the rounds: {_spread([r['load_average'] for r in rounds], '.2f')})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger.concurrency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_PG_URL)
    parser.add_argument("--postings", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=2_000, help="entries per writer figure and round")
    parser.add_argument("--floor", type=int, default=2_000, help="transactions of the floor per round")
    parser.add_argument("--reads", type=int, default=1_000, help="samples of each read per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    info = machine()
    print(f"Ledger under concurrency — Python {info['python']}, {info['cpus']} CPUs (load average "
          f"{info['load_average']})", flush=True)
    rng, today = random.Random(args.seed), date.today()
    chart = make_chart(rng)
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-ledger-concurrency-"))
    pg = PgDatabase(args.database_url, "ledger_concurrency_bench")
    pg.create()
    try:
        migrate_database(tmp, pg.url_string)
        eng = create_engine(pg.url_string, pool_size=max(WRITERS) + 4)
        try:
            open_books(eng, chart, today)
            load = load_history(pg.url_string, chart, rng, args.postings, today)
            check_books(eng, chart)
            print(f"  {pg.name}: {load['postings']:,} postings loaded in {load['load_s']:.0f} s, verified", flush=True)
            with Session(eng) as s:
                hot_id = s.execute(select(Account.id).where(Account.code == chart.hot)).scalar_one()
            print(f"  PostgreSQL {'.'.join(map(str, eng.dialect.server_version_info))}", flush=True)
            rounds = run_rounds(eng, Requests(rng, chart, today), rng, hot_id, today, args)
            final = check_books(eng, chart)
            report(rounds)
            print(f"engine.verify after the rounds: no problem ({final['postings']:,} postings)")
        finally:
            eng.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        pg.drop()
    return 0


if __name__ == "__main__":
    run(main, "bench.ledger.concurrency")

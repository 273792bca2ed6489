"""The ledger's throughput and latency on one backend: the history loaded and verified, the reads and the payout
run, the posting figures, checked against the targets of the ledger issue."""
from __future__ import annotations

import gc
import random
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from bench.common import BenchError, migrate_database, print_figures, verdict
from bench.ledger.history import HISTORY_DAYS, Chart, load_history, make_chart, open_books
from bench.ledger.posting import (
    Requests,
    diagnose_batch,
    diagnose_single,
    measure_batch,
    measure_batch_writers,
    measure_floor,
    measure_post_writers,
    measure_single,
)
from bench.ledger.reads import account_sample, measure_as_of, measure_balance, measure_payout, measure_statement
from ledger import checkpoint, engine
from ledger.commissions import held
from ledger.models import JournalEntry, Posting

TARGETS = {
    "single": "target >= 1,500 entries/s and p99 <= 2 ms",
    "batch": "target >= 20,000 postings/s",
    "balance": "target p99 < 1 ms",
    "as_of": "target p99 < 2 ms",
    "statement": "target p99 < 5 ms",
    "payout": "target < 5 s",
}



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
    migrate_database(tmp, url)
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
    p, v = r["payout"], verdict
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
        ("    (info) the same, the last page of the period (by key)",
         f"p99 {r['statement_deep']['p99_ms']:.2f} ms (p50 {r['statement_deep']['p50_ms']:.2f})", "-", "-"),
        (f"(6) payout run, {p['lines']} partners: prepare + approve + pain.001 + commit",
         f"{p['total_s']:.2f} s", TARGETS["payout"], v(p["total_s"] < 5.0)),
    ]


def print_backend(r: dict) -> None:
    load = r["load"]
    print()
    print(f"{r['server']}: {load['postings']:,} postings ({load['entries']:,} entries) loaded in "
          f"{load['load_s']:.1f} s" + ("" if r["gc_frozen"] else "; without the gc.freeze() of wsgi.py (--no-gc-freeze)"))
    print_figures(verdicts(r))
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



"""`python -m bench.ledger [throughput|keys] ...`: the ledger benchmarks (bench/ledger/__init__.py), each backend on
a scratch database of its own."""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from bench.common import apply_quick, machine, quick_option, run, write_json
from bench.ledger import __doc__ as DOC, keys, throughput
from bench.scratch_db import PgDatabase

DEFAULT_PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
COMMANDS = ("throughput", "keys")


def parse_args(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        argv.insert(0, "throughput")  # the default command
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both",
                        help="which databases to measure (default both; PostgreSQL is skipped when unreachable)")
    shared.add_argument("--database-url", default=DEFAULT_PG_URL,
                        help="the PostgreSQL server: a scratch database is created on it and dropped at the end "
                             "(default $BENCH_POSTGRES_URL or postgresql+psycopg://postgres@127.0.0.1:5432/postgres)")
    shared.add_argument("--seed", type=int, default=7)
    shared.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    p = argparse.ArgumentParser(prog="python -m bench.ledger", description=DOC.split("\n\n")[0])
    commands = p.add_subparsers(dest="command")

    t = commands.add_parser("throughput", parents=[shared], help="posting throughput and read latency (default)")
    t.add_argument("--postings", type=int, default=1_000_000, help="postings of history to load (default 1000000)")
    t.add_argument("--entries", type=int, default=3_000, help="timed single entries for (1) (default 3000)")
    t.add_argument("--batch-size", type=int, default=500, help="entries per batch for (2) (default 500)")
    t.add_argument("--batches", type=int, default=20, help="timed batches for (2), one writer (default 20; each "
                                                           "of the writers posts half as many)")
    t.add_argument("--writers", type=int, default=4, help="concurrent writers for (2) (default 4)")
    t.add_argument("--reads", type=int, default=2_000, help="timed reads for (3)-(5) each (default 2000)")
    t.add_argument("--warmup", type=int, default=200, help="untimed operations before each figure (default 200)")
    t.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                   help="leave out the gc.freeze() that follows loading (wsgi.py freezes what the app loaded, so "
                        "that Python's garbage collector no longer rescans it; this shows what that saves)")
    quick_option(t, postings=20_000, entries=300, batches=4, reads=300, warmup=20)

    k = commands.add_parser("keys", parents=[shared], help="a contract's and a firm's operations at two sizes")
    k.add_argument("--sizes", default="1000,100000", help="placed contracts in the ledger, comma-separated")
    k.add_argument("--runs", type=int, default=200, help="timed runs of each operation (default 200)")
    k.add_argument("--warmup", type=int, default=20, help="untimed runs first (default 20)")
    k.add_argument("--firm-contracts", type=int, default=40, help="the measured firm's own contracts (default 40)")
    quick_option(k, sizes="200,2000", runs=20, warmup=5, firm_contracts=10)

    args = p.parse_args(argv)
    parser = t if args.command == "throughput" else k
    args = apply_quick(parser, args)
    if args.command == "throughput":
        if min(args.postings, args.entries, args.batch_size, args.batches, args.writers, args.reads) < 1:
            parser.error("counts must be positive")
    else:
        args.sizes = [int(x) for x in args.sizes.split(",")]
        if len(args.sizes) != 2 or min(args.sizes + [args.runs, args.warmup, args.firm_contracts]) < 1:
            parser.error("two positive sizes, and positive counts")
    return args


@contextmanager
def scratch_database(name: str, args, prefix: str):
    """(url, instance directory) of a new database on `name`, removed at the end whatever happens."""
    tmp = Path(tempfile.mkdtemp(prefix=f"portal-bench-{prefix}-"))
    pg = PgDatabase(args.database_url, prefix.replace("-", "_")) if name == "postgresql" else None
    try:
        if pg is not None:
            pg.create()
        print(f"\n{name}: " + (f"database {pg.name}" if pg else f"{tmp / 'ledger.db'}"), flush=True)
        yield (pg.url_string if pg else f"sqlite:///{tmp / 'ledger.db'}"), tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if pg is not None:
            pg.drop()


def backends(args, skipped: dict) -> list[str]:
    """The backends to measure; an unreachable PostgreSQL is skipped, with the reason in `skipped`."""
    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in names:
        pg = PgDatabase(args.database_url, "probe")
        if reason := pg.reachable():
            skipped["postgresql"] = reason
            names.remove("postgresql")
            print(f"\nPostgreSQL skipped: {pg.admin_url.render_as_string()} is not reachable ({reason})")
    return names


def settings(args) -> dict:
    return {k: v for k, v in vars(args).items() if not k.startswith("_")}


def main(argv=None) -> int:
    args = parse_args(argv)
    info = machine()
    print(f"Ledger benchmark ({args.command}) — Python {info['python']}, {info['cpus']} CPUs (load average "
          f"{info['load_average']}), {info['platform']}", flush=True)
    skipped: dict[str, str] = {}
    if args.command == "throughput":
        results = []
        for name in backends(args, skipped):
            with scratch_database(name, args, "ledger-bench") as (url, tmp):
                results.append(throughput.run_backend(name, url, tmp, args))
        for r in results:
            throughput.print_backend(r)
    else:
        results = {}
        for name in backends(args, skipped):
            for size in args.sizes:
                with scratch_database(name, args, "ledger-keys-bench") as (url, tmp):
                    results.setdefault(name, []).append(keys.run_size(name, url, tmp, size, args))
        for name, (small, large) in results.items():
            keys.report(name, small, large)
    for name, reason in skipped.items():
        print(f"\n{name}: skipped ({reason})")
    if args.json:
        write_json(args.json, {"benchmark": f"bench.ledger {args.command}",
                               "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                               "machine": info, "settings": settings(args),
                               "targets": throughput.TARGETS if args.command == "throughput" else keys.TARGET,
                               "results": results, "skipped": skipped})
    return 0


if __name__ == "__main__":
    run(main, "bench.ledger")

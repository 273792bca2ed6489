"""What the benchmarks share: a throwaway app, timing and percentiles, the figure-against-target report, the
JSON file of the figures, and the way a benchmark ends (exit 0 whatever the figures; 1 when something went wrong;
130 when interrupted, after its clean-up ran)."""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, event, text

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


class BenchError(RuntimeError):
    """Something went wrong (setup failed, a request or an operation did not do what it must): not a figure
    that missed its target."""


# --------------------------------------------------------------------------- the app


def instance_key(instance: Path) -> str:
    """The Fernet key of the case texts, kept in the instance directory (so a kept instance can be reopened)."""
    from cryptography.fernet import Fernet

    path = instance / "case_key"
    if not path.exists():
        path.write_text(Fernet.generate_key().decode())
    return path.read_text().strip()


def make_app(instance: Path, database_url: str, **overrides):
    """The portal in its test configuration on `database_url`; everything it writes goes under `instance`
    (nothing to the repository's instance folder), no timestamp authority, sign-ins not limited."""
    from portal import create_app
    from portal.config import throwaway_config

    app = create_app(throwaway_config(instance, database_url, **{
        "SECRET_KEY": "bench-secret", "SEAL_TSA_URL": None, "RATELIMIT_STORAGE_URI": "memory://",
        "LOGIN_LIMIT_PER_ADDRESS": "1000 per minute", "LOGIN_LIMIT_PER_ACCOUNT_ADDRESS": "1000 per minute",
        "CASE_ENCRYPTION_KEYS": instance_key(instance), **overrides}))
    app.instance_path = str(instance)
    return app


def migrate(app) -> None:
    """The real Alembic migrations, run through the app as `flask db upgrade` does."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def migrate_database(instance: Path, database_url: str) -> None:
    """Migrate a scratch database with the real migrations, through a throwaway app that is then let go."""
    app = make_app(instance, database_url)
    migrate(app)
    dispose(app)


def dispose(app) -> None:
    from portal.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def loading_engine(url):
    """An engine for bulk loading. On SQLite its connections get a 512 MiB page cache, so that random inserts
    into large unique indexes do not spill and re-read pages all the time; the connections that serve the
    measured work keep SQLite's defaults."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def big_cache(dbapi_connection, record):
            dbapi_connection.execute("PRAGMA cache_size = -524288")
    return engine


# --------------------------------------------------------------------------- timing and percentiles


def percentile(sorted_values: list[float], pct: float) -> float:
    """The `pct` percentile of sorted values, interpolated between the two nearest ranks."""
    k = (len(sorted_values) - 1) * pct / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def latency(seconds: list[float]) -> dict:
    """How many, p50, p95, p99 and max of durations in seconds, in milliseconds."""
    ordered = sorted(seconds)
    return {"n": len(ordered), "p50_ms": percentile(ordered, 50) * 1000, "p95_ms": percentile(ordered, 95) * 1000,
            "p99_ms": percentile(ordered, 99) * 1000, "max_ms": ordered[-1] * 1000}


def timed(samples: list[float], call):
    """`call()`, its duration appended to `samples`; its result."""
    t0 = time.perf_counter()
    result = call()
    samples.append(time.perf_counter() - t0)
    return result


# --------------------------------------------------------------------------- the report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_figures(rows: list[tuple[str, str, str, str]], header=("figure", "measured", "target", "verdict")) -> None:
    """One line per figure: what was measured, its value, its target and PASS/MISS ("-" for information)."""
    w0, w1, w2 = (max(len(row[i]) for row in [header, *rows]) for i in range(3))
    print(f"{header[0]:<{w0}}  {header[1]:<{w1}}  {header[2]:<{w2}}  {header[3]}")
    print("-" * (w0 + w1 + w2 + 13))
    for figure, value, target, result in rows:
        print(f"{figure:<{w0}}  {value:<{w1}}  {target:<{w2}}  {result}")


def machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def write_json(path: str | Path, figures: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    print(f"figures written to {path}")


# --------------------------------------------------------------------------- options and the end of a run


def quick_option(parser: argparse.ArgumentParser, **settings) -> None:
    """`--quick`: the smallest settings that still measure every figure (`settings`, for the options the
    command line leaves at their defaults): a check that the benchmark runs, not figures to compare."""
    shown = ", ".join(f"--{name.replace('_', '-')} {value}" for name, value in settings.items())
    parser.add_argument("--quick", action="store_true", help=f"a short run: {shown}")
    parser.set_defaults(_quick_settings=settings)


def apply_quick(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    if getattr(args, "quick", False):
        for name, value in args._quick_settings.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    return args


def _terminate(signum, frame):
    raise KeyboardInterrupt  # run the finally blocks: stop servers, drop scratch databases, remove files


def run(main, name: str) -> None:
    """Run a benchmark's `main()` and exit: its status; 1 with the message on a BenchError; 130 on Ctrl-C or
    SIGTERM, once its clean-up has run."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


def consent_receipt(cc_on_milestones: bool, jurisdiction: str = "FR") -> dict:
    """The consent-receipt fields a bulk-loaded consent carries, as pipeline.leads.services.new_consent records
    them for a partner's form."""
    from compliance.consent_receipts import PRIVACY_POLICY_VERSION, ConsentMethod, Purpose

    return {"collection_method": ConsentMethod.partner_form, "jurisdiction": jurisdiction,
            "purposes": [Purpose.share_with_broker.value] + ([Purpose.cc_on_milestones.value] if cc_on_milestones
                                                              else []),
            "policy_version": PRIVACY_POLICY_VERSION, "controller": "Bench Broker", "special_category": False}


def analyze(engine) -> None:
    """The planner's statistics after the bulk load. On PostgreSQL also VACUUM, as autovacuum does in production
    soon after a bulk insert (the scratch servers run with autovacuum off): until a page is marked all-visible, an
    index-only scan still reads it from the table, and the counts the home pages run would measure a database no
    deployment keeps (bench.cases, bench.funnel_kpis)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))

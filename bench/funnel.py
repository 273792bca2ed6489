"""The volunteer funnel at the 2030 projection (issue 13): 14,300 volunteers imported through the roster API in
batches of 500 and through the CSV command, the same events replayed, the quote computation and the quote page.

    .venv/bin/python -m bench.funnel [--volunteers 14300] [--database-url postgresql+psycopg://...] [--quick]

Each run makes a throwaway instance (SQLite file, or a throwaway database on the PostgreSQL server given), runs
the real migrations and loads the sample tariffs, then measures, in the order below, in-process (Flask's test
client and CLI runner: the application's work, without a network or a process start):

1. `POST /api/v1/volunteers/batch`, the volunteers as affiliations in batches of 500, with the programme
   operator's token, into an empty roster (target: all of them in under 10 s);
2. the same batches sent again: every record a replay, answered from the log (target under 5 s);
3. `funnel.quotes.quote_for_volunteer` for volunteers drawn at random, health and prévoyance, with their
   dependants (target p99 under 5 ms);
4. `GET /my-cover/quote`, the quote page, for volunteers signed in by their personal link (target p95 under
   50 ms), with the volunteers of step 1 loaded;
5. `flask funnel import FILE`, a CSV of as many other volunteers (target under 10 s);
6. the integration campaign's decision (`funnel.campaigns.due`, what `flask funnel campaigns run` sends) over the
   volunteers of step 1, imported long before their missions' steps fall due so that every step within the
   catch-up window is due (target under 2 s, the slowest of 3 runs); then, for the record and without a target,
   queueing what is due (send rows, outbox messages, the personal links of the J+10 step) and a replayed decision.

A benchmark, not a test: it exits 0 whatever the figures (1 when something went wrong, e.g. a record rejected).
"""
from __future__ import annotations

import argparse
import csv
import io
import random
import shutil
import tempfile
import time
from functools import partial
from datetime import date, timedelta
from pathlib import Path

from bench.common import (BenchError, apply_quick, dispose, latency, machine, make_app, migrate, print_figures,
                          quick_option, run, timed, verdict, write_json)
from bench.scratch_db import PgDatabase

BATCH = 500
#: volunteers signed in for the quote page (a personal link opens at most 30 times an hour from one address)
PAGE_VOLUNTEERS = 20
TARGETS = {"api_import_s": 10.0, "csv_import_s": 10.0, "replay_s": 5.0, "quote_p99_ms": 5.0, "page_p95_ms": 50.0,
           "campaign_due_s": 2.0}
#: mission countries over the three zones of the sample table (zone 1: Europe; 3: US, Canada, Singapore...)
COUNTRIES = ["DE", "GB", "ES", "IT", "BE", "NL", "PL", "SE", "PT", "CH", "US", "US", "CA", "SG", "JP", "AU", "AE",
             "HK", "CN", "IN", "BR", "MX", "MA", "SN", "ZA", "VN", "KR", "CL", "AR", "TR"]
FIRST = ["Léa", "Hugo", "Chloé", "Lucas", "Manon", "Nathan", "Camille", "Enzo", "Inès", "Louis", "Jade", "Gabriel"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"]


def add_months(day: date, months: int) -> date:
    from funnel.dates import add_months as add

    return add(day, months)


def affiliations(rng: random.Random, count: int, prefix: str, today: date) -> list[dict]:
    """`count` affiliation records as the programme operator sends them (a third with dependants)."""
    stamp = (date.today() - timedelta(days=1)).isoformat() + "T08:00:00Z"
    records = []
    for n in range(count):
        start = today - timedelta(days=rng.randint(0, 150))
        months = rng.choice((6, 12, 12, 18, 24))
        dependants = []
        if rng.random() < 0.33:
            dependants.append({"category": "spouse", "birth_date": date(1995, 1 + n % 12, 1 + n % 28).isoformat()})
            dependants += [{"category": "child", "birth_date": date(2019 + k, 6, 1).isoformat()}
                           for k in range(rng.randint(0, 2))]
        ref = f"{prefix}-{n:06d}"
        records.append({
            "event": "affiliation", "event_id": f"{ref}-1", "occurred_at": stamp, "file_ref": ref,
            "first_name": rng.choice(FIRST), "last_name": rng.choice(LAST), "email": f"v{n}.{prefix.lower()}@example.org",
            "birth_date": date(1998 + n % 6, 1 + n % 12, 1 + n % 28).isoformat(), "programme": rng.choice(("VIE", "VIA")),
            "mission_country": rng.choice(COUNTRIES), "mission_start": start.isoformat(),
            "mission_end": (add_months(start, months) - timedelta(days=1)).isoformat(), "language": rng.choice(("fr", "en")),
            **({"dependants": dependants} if dependants else {})})
    return records


def csv_bytes(records: list[dict]) -> bytes:
    columns = ["event", "event_id", "occurred_at", "file_ref", "first_name", "last_name", "email", "birth_date",
               "programme", "mission_country", "mission_start", "mission_end", "language", "dependants"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for r in records:
        deps = "|".join(f"{d['category']}:{d['birth_date']}" for d in r.get("dependants", [])) or "-"
        writer.writerow([r[c] for c in columns[:-1]] + [deps])
    return out.getvalue().encode()


def setup(app) -> str:
    """Migrated, the sample tariffs, the operator's service account: its API token."""
    from core.accounts import Role
    from funnel.seed import seed_sample_products
    from portal.accounts import operations as ops
    from portal.extensions import db

    migrate(app)
    with app.app_context():
        seed_sample_products(db.session)
        operator = ops.create_user(db.session, None, email="operator@bench.example", full_name="Operator",
                                   role=Role.programme_operator, organisation=None, locale="en", password=None,
                                   invite=False)
        _token, raw = ops.create_api_token(db.session, operator, "bench.funnel")
        db.session.commit()
    return raw


def send_batches(client, token: str, records: list[dict], expect: str) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    t0 = time.perf_counter()
    for i in range(0, len(records), BATCH):
        response = client.post("/api/v1/volunteers/batch", json={"events": records[i:i + BATCH]}, headers=headers)
        if response.status_code != 200:
            raise BenchError(f"batch {i // BATCH}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        results = response.get_json()["results"]
        wrong = [r for r in results if (r["replayed"] if expect == "replayed" else r["result"] == expect) is not True]
        if wrong:
            raise BenchError(f"batch {i // BATCH}: expected {expect}, got {wrong[0]}")
    return time.perf_counter() - t0


def quote_samples(app, rng: random.Random, count: int, refs: list[str]) -> list[float]:
    from core.db import utcnow
    from funnel.catalogue import Cover
    from funnel.quotes import quote_for_volunteer
    from funnel.volunteers import find_volunteer
    from portal.extensions import db

    samples: list[float] = []
    today = utcnow().date()
    with app.app_context():
        volunteers = [find_volunteer(db.session, file_ref=ref) for ref in rng.sample(refs, min(count, len(refs)))]
        for v in volunteers:
            _ = v.current_dependants
        for i in range(count):
            v = volunteers[i % len(volunteers)]
            choices = {Cover.health: rng.choice(("essential", "comfort")), Cover.prevoyance: "standard"}
            timed(samples, lambda v=v, choices=choices: quote_for_volunteer(
                db.session, v, choices, subscribed_on=today, dependants=v.current_dependants))
        db.session.rollback()
    return samples


def page_samples(app, rng: random.Random, volunteers: int, requests: int, warmup: int, refs: list[str]) -> list[float]:
    from funnel import journey
    from funnel.volunteers import find_volunteer
    from portal.extensions import db

    clients = []
    with app.app_context():
        raws = [journey.issue_link(db.session, find_volunteer(db.session, file_ref=ref))[1]
                for ref in rng.sample(refs, min(volunteers, len(refs)))]
        db.session.commit()
    for raw in raws:
        client = app.test_client()
        if client.get(f"/v/{raw}").status_code != 302:
            raise BenchError("a personal link did not open its area")
        clients.append(client)
    for i in range(warmup):
        clients[i % len(clients)].get("/my-cover/quote")
    samples: list[float] = []
    for i in range(requests):
        response = timed(samples, partial(clients[i % len(clients)].get, "/my-cover/quote"))
        if response.status_code != 200:
            raise BenchError(f"GET /my-cover/quote answered {response.status_code}")
    return samples


def campaign(app, today: date) -> dict:
    """The campaign run over the roster: the decision timed 3 times (the slowest kept), what it found, the time to
    queue it (batches of 200, each committed, as the command does), and the decision replayed (nothing due)."""
    from datetime import UTC, datetime, time as day_time

    from sqlalchemy import update

    from funnel import campaigns
    from funnel.models import Volunteer
    from portal.extensions import db

    with app.app_context():
        # imported long ago: the import date holds nothing back, every step within the window is due
        db.session.execute(update(Volunteer).values(created_at=datetime(today.year - 1, 1, 1, tzinfo=UTC)))
        db.session.commit()
        decisions = []
        for _ in range(3):
            t0 = time.perf_counter()
            items = campaigns.due(db.session, today=today)
            decisions.append(time.perf_counter() - t0)
            db.session.rollback()
        now = datetime.combine(today, day_time(9), tzinfo=UTC)
        t0 = time.perf_counter()
        queued = 0
        for start in range(0, len(items), 200):
            queued += campaigns.send_due(db.session, items[start:start + 200], now=now)
            db.session.commit()
        send_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = campaigns.due(db.session, today=today)
        replay_s = time.perf_counter() - t0
        db.session.rollback()
    if queued != len(items) or again:
        raise BenchError(f"campaign: {len(items)} due, {queued} queued, {len(again)} still due after the run")
    return {"due_s": max(decisions), "due": len(items), "send_s": send_s, "replay_s": replay_s}


def csv_import(app, tmp: Path, records: list[dict]) -> float:
    path = tmp / "roster.csv"
    path.write_bytes(csv_bytes(records))
    runner = app.test_cli_runner()
    t0 = time.perf_counter()
    result = runner.invoke(args=["funnel", "import", str(path)])
    elapsed = time.perf_counter() - t0
    if result.exit_code != 0 or f"{len(records)} created" not in result.output:
        raise BenchError(f"flask funnel import: exit {result.exit_code}: {result.output[-500:]}")
    return elapsed


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--volunteers", type=int, default=14_300, help="volunteers per import (default 14300)")
    p.add_argument("--quotes", type=int, default=2_000, help="quote computations timed (default 2000)")
    p.add_argument("--requests", type=int, default=300, help="timed requests of the quote page (default 300)")
    p.add_argument("--warmup", type=int, default=20, help="untimed requests of the quote page first (default 20)")
    p.add_argument("--seed", type=int, default=13, help="seed of the generated roster (default 13)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    p.add_argument("--database-url", metavar="URL",
                   help="a PostgreSQL server: a throwaway database is created on it (and dropped at the end) "
                        "instead of the SQLite file")
    quick_option(p, volunteers=1_000, quotes=200, requests=40, warmup=5)
    args = apply_quick(p, p.parse_args(argv))
    if min(args.volunteers, args.quotes, args.requests) < 1 or args.warmup < 0:
        p.error("--volunteers, --quotes and --requests must be positive, --warmup not negative")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-funnel-"))
    pg = PgDatabase(args.database_url, "portal_bench") if args.database_url else None
    app = None
    try:
        if pg is not None:
            pg.create()
        backend = "postgresql" if pg else "sqlite"
        info = machine()
        print(f"Volunteer funnel benchmark — Python {info['python']}, {info['cpus']} CPUs (load average "
              f"{info['load_average']}), {backend}, {args.volunteers:,} volunteers", flush=True)
        app = make_app(tmp, pg.url_string if pg else f"sqlite:///{tmp / 'bench.db'}")
        token = setup(app)
        today = date.today()
        roster = affiliations(rng, args.volunteers, "BF", today)
        client = app.test_client()
        api_s = send_batches(client, token, roster, "created")
        print(f"API import: {api_s:.2f} s", flush=True)
        replay_s = send_batches(client, token, roster, "replayed")
        print(f"replay: {replay_s:.2f} s", flush=True)
        refs = [r["file_ref"] for r in roster]
        quotes = latency(quote_samples(app, rng, args.quotes, refs))
        print(f"quote computation: p99 {quotes['p99_ms']:.2f} ms", flush=True)
        page = latency(page_samples(app, rng, min(PAGE_VOLUNTEERS, args.requests), args.requests, args.warmup, refs))
        print(f"quote page: p95 {page['p95_ms']:.1f} ms", flush=True)
        run_ = campaign(app, today)
        print(f"campaign decision: {run_['due_s']:.2f} s ({run_['due']:,} due)", flush=True)
        csv_s = csv_import(app, tmp, affiliations(rng, args.volunteers, "CSV", today))
        print(f"CSV import: {csv_s:.2f} s", flush=True)

        n = f"{args.volunteers:,}"
        figures = {"api_import_s": api_s, "replay_s": replay_s, "quote_p99_ms": quotes["p99_ms"],
                   "page_p95_ms": page["p95_ms"], "csv_import_s": csv_s, "campaign_due_s": run_["due_s"],
                   "campaign_send_s": run_["send_s"], "campaign_replay_s": run_["replay_s"]}
        rows = [
            (f"API import, {n} volunteers in batches of {BATCH}", f"{api_s:.2f} s", "< 10 s",
             verdict(api_s < TARGETS["api_import_s"])),
            (f"CSV command, {n} volunteers", f"{csv_s:.2f} s", "< 10 s", verdict(csv_s < TARGETS["csv_import_s"])),
            (f"replay of the {n} events", f"{replay_s:.2f} s", "< 5 s", verdict(replay_s < TARGETS["replay_s"])),
            (f"quote computation p99 ({quotes['n']})", f"{quotes['p99_ms']:.2f} ms", "< 5 ms",
             verdict(quotes["p99_ms"] < TARGETS["quote_p99_ms"])),
            (f"quote page p95 ({page['n']}, {n} loaded)", f"{page['p95_ms']:.1f} ms", "< 50 ms",
             verdict(page["p95_ms"] < TARGETS["page_p95_ms"])),
            (f"campaign decision over {n} volunteers ({run_['due']:,} due)", f"{run_['due_s']:.2f} s", "< 2 s",
             verdict(run_["due_s"] < TARGETS["campaign_due_s"])),
            (f"  queueing the {run_['due']:,} e-mails due (no target)", f"{run_['send_s']:.2f} s", "-", "-"),
            ("  the decision replayed right after (nothing due)", f"{run_['replay_s']:.2f} s", "-", "-"),
        ]
        print()
        print_figures(rows)
        if args.json:
            write_json(args.json, {"backend": backend, "machine": info, "volunteers": args.volunteers,
                                   "figures": figures, "quotes": quotes, "page": page, "targets": TARGETS})
        return 0
    finally:
        if app is not None:
            dispose(app)
        shutil.rmtree(tmp, ignore_errors=True)
        if pg is not None:
            pg.drop()


if __name__ == "__main__":
    run(main, "bench.funnel")

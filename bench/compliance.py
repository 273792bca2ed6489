"""The compliance workspace at scale (issue 14): the audit log with a million events, the review queue and the
compliance dashboard with 210 firms and 100,000 cases.

    .venv/bin/python -m bench.compliance [--events 1000000] [--requests 300] [--postgres [URL]] [--quick]

For each database (SQLite always; PostgreSQL too with `--postgres URL`, or `--postgres` alone to use
TEST_POSTGRES_URL, which is also picked up when set), a throwaway instance with the real migrations is loaded with
210 partner firms, 300 people and `--events` audit events over the past year, then, in-process:

1. `flask audit verify` (the command, through Flask's CLI runner): the whole chain checked event by event, HMAC
   and links, as the scheduled run does (target: 1,000,000 events in under 30 s; events/s reported). The bulk load
   computes each event's HMAC under the instance's key and its link to the previous one, exactly as
   `core.audit.record` does, and the run fails (exit 1) unless verify finds the chain intact, so the figure is that
   of a real check of real events;
2. the audit page (`GET /audit/...`), signed in as a compliance officer, round robin over what the officer does:
   the newest events, a filter by action, by person, by kind of record, a month's dates, a page deep in the past
   (keyset), an action and a page deep, a person's history and a firm's history (target p95 under 100 ms).

3. the review queue (`GET /compliance/queue/`, and narrowed by kind) and the compliance dashboard
   (`GET /compliance/dashboard`), with the firms' pipeline loaded besides the events: 100,000 cases and their
   consents, 5,000 leads (200 possible duplicates awaiting attribution), 20,000 contracts brought by the firms with
   their disclosures (most approved, some awaiting review or returned), 1,000 consents withdrawn, 300 complaints,
   two partner users per broker firm (target p95 under 100 ms each).

A benchmark, not a test: it exits 0 whatever the figures (1 when something went wrong).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from bench.common import (BenchError, apply_quick, consent_receipt, dispose, latency, loading_engine, machine,
                          make_app, migrate, print_figures, quick_option, run, write_json, verdict)
from bench.scratch_db import PgDatabase

TARGETS = {"verify_s": 30.0, "audit_page_p95_ms": 100.0, "queue_p95_ms": 100.0, "dashboard_p95_ms": 100.0}
CASES = 100_000
CONTRACTS = 20_000
LEADS = 5_000
BROKER_FIRMS = 120
FIRMS = 210
PEOPLE = 300
PASSWORD = "bench-password-0123"
COLUMNS = ("seq", "occurred_at", "action", "actor_id", "actor_label", "subject_type", "subject_id", "ip", "data",
           "prev_hash", "hash", "key_id")


# --------------------------------------------------------------------------- the data


def seed_people(app) -> dict:
    """210 firms and 300 people (the compliance officer who reads among them): their ids for the events."""
    from core.accounts import CommunicationModel, Lifecycle, Organisation, PartnerStatus, Role, User
    from portal.accounts import operations as ops
    from portal.extensions import db

    with app.app_context():
        firms = [Organisation(legal_name=f"Cabinet {n:03d}", status=PartnerStatus.introducer, country="FR",
                              zones=["FR"], communication_model=CommunicationModel.hybrid, languages=["fr"],
                              lifecycle=Lifecycle.active) for n in range(FIRMS)]
        people = [User(email=f"person{n}@bench.example", full_name=f"Person {n}", role=Role.account_manager,
                       locale="en", active=True) for n in range(PEOPLE - 1)]
        db.session.add_all(firms + people)
        db.session.flush()
        officer = ops.create_user(db.session, None, email="officer@bench.example", full_name="Olivia Officer",
                                  role=Role.compliance, organisation=None, locale="en", password=PASSWORD,
                                  invite=False)
        db.session.commit()
        return {"firms": [f.public_id for f in firms],
                "people": [(u.id, u.public_id, u.email) for u in people + [officer]]}


def _bulk(session, model, rows: list[dict], chunk: int = 5000) -> None:
    from sqlalchemy import insert

    for start in range(0, len(rows), chunk):
        session.execute(insert(model), rows[start:start + chunk])


def seed_pipeline(app, ids: dict, rng: random.Random, cases: int) -> dict:
    """The firms' business, bulk-loaded: broker firms with two partner users each, consents and cases, leads with
    possible duplicates, contracts with their disclosures (and the reviews of the approved ones), consents
    withdrawn, complaints. Returns what the timed pages read."""
    from compliance.complaint_models import ComplainantKind, Complaint, ComplaintCategory, ComplaintChannel
    from compliance.disclosure_models import ContractDisclosure, DisclosureChannel, DisclosureDecision, \
        DisclosureReview, DisclosureState
    from core.accounts import CommunicationModel, Organisation, PartnerStatus, Register, Role, User
    from core.contracts import Contract, ContractStatus, Insurer
    from core.products import ProductLine
    from pipeline.cases.models import BudgetBand, Case, CaseStatus
    from pipeline.leads.models import Consent, ConsentWithdrawal, Lead, NeedCategory
    from portal.extensions import db
    from sqlalchemy import select

    now, today = datetime.now(UTC), datetime.now(UTC).date()
    with app.app_context():
        session = db.session
        firms = session.scalars(select(Organisation).order_by(Organisation.id)).all()
        for n, org in enumerate(firms[:BROKER_FIRMS]):
            org.status = PartnerStatus.specialist_broker if n % 2 else PartnerStatus.generalist_broker
            org.register, org.registration_number = Register.orias, f"{20000000 + n}"
        session.flush()
        users = [{"email": f"partner{o.id}-{k}@bench.example", "full_name": f"Partner {o.id}-{k}",
                  "role": Role.partner_admin if k == 0 else Role.partner_member, "organisation_id": o.id,
                  "locale": "fr", "active": True} for o in firms[:BROKER_FIRMS] for k in range(2)]
        _bulk(session, User, users)
        submitter = {o.id: uid for o, uid in zip(firms, session.scalars(
            select(User.id).where(User.role == Role.account_manager).order_by(User.id)), strict=False)}
        manager = next(iter(submitter.values()))
        org_ids = [o.id for o in firms]
        consents = [{"organisation_id": org_ids[n % len(org_ids)], "captured_by_id": manager,
                     "share_with_broker": True, "cc_on_milestones": (cc := rng.random() < 0.7),
                     "text_version": "2026-1", "language": "fr", "given_at": now - timedelta(days=rng.randint(1, 700)),
                     **consent_receipt(cc)} for n in range(cases + LEADS)]
        _bulk(session, Consent, consents)
        consent_ids = session.scalars(select(Consent.id).order_by(Consent.id)).all()
        org_of = dict(session.execute(select(Consent.id, Consent.organisation_id)).tuples().all())
        statuses = list(CaseStatus)
        _bulk(session, Case, [{
            "organisation_id": org_of[cid], "submitted_by_id": manager, "consent_id": cid,
            "client_first_name": f"Client{n}", "client_last_name": "Bench", "adults": 1, "children": 0,
            "ages": [40], "nationality": "FR", "country_of_residence": rng.choice(["FR", "ES", "US", "SG"]),
            "travel_countries": [], "start_date": today + timedelta(days=rng.randint(-300, 60)),
            "product_line": ProductLine.family, "budget_band": list(BudgetBand)[n % len(BudgetBand)],
            "communication_model": CommunicationModel.hybrid, "status": statuses[n % len(statuses)],
            "stage_entered_at": now - timedelta(days=rng.randint(0, 400))} for n, cid in enumerate(consent_ids[:cases])])
        _bulk(session, Lead, [{
            "organisation_id": org_of[cid], "submitted_by_id": manager, "consent_id": cid,
            "first_name": f"Lead{n}", "last_name": "Bench", "email": f"lead{n % (LEADS - 200)}@bench.example",
            "country_of_residence": "FR", "timeline": "within_3_months",
            "need_category": list(NeedCategory)[n % len(NeedCategory)], "language": "fr",
            "match_email": f"lead{n % (LEADS - 200)}@bench.example", "match_name": f"lead{n} bench",
            "attribution_decided": False} for n, cid in enumerate(consent_ids[cases:])])
        leads = session.scalars(select(Lead.id).order_by(Lead.id)).all()
        for n, lead_id in enumerate(leads[LEADS - 200:]):  # the last 200 repeat an earlier client
            session.get(Lead, lead_id).possible_duplicate_of_id = leads[n]
        insurer = Insurer(code="BENCH", name="Bench Insurer")
        session.add(insurer)
        session.flush()
        _bulk(session, Contract, [{
            "organisation_id": org_ids[n % len(org_ids)], "insurer_id": insurer.id, "policy_number": f"B-{n:06d}",
            "product_line": ProductLine.family, "premium_minor": 120_000, "currency": "EUR",
            "start_date": today - timedelta(days=rng.randint(0, 700)), "status": ContractStatus.in_force,
            "placed_by_id": manager} for n in range(CONTRACTS)])
        contracts = session.execute(select(Contract.id, Contract.organisation_id).order_by(Contract.id)).all()
        states = [DisclosureState.approved] * 16 + [DisclosureState.submitted, DisclosureState.returned,
                                                    DisclosureState.awaiting_declaration, DisclosureState.submitted]
        _bulk(session, ContractDisclosure, [{
            "contract_id": cid, "organisation_id": org, "state": states[n % len(states)],
            "role_disclosed": "Broker registered with ORIAS.", "remuneration_disclosed": "Commission from the insurer.",
            "disclosed_on": today - timedelta(days=30), "channel": DisclosureChannel.email,
            "declared_by_id": manager, "declared_at": now - timedelta(days=rng.randint(5, 60)),
            "submitted_at": now - timedelta(days=rng.randint(5, 60))} for n, (cid, org) in enumerate(contracts)])
        officer = ids["people"][-1][0]
        approved = session.execute(select(ContractDisclosure.id, ContractDisclosure.submitted_at).where(
            ContractDisclosure.state == DisclosureState.approved)).all()
        _bulk(session, DisclosureReview, [{
            "disclosure_id": did, "decision": DisclosureDecision.approved, "reason": "Disclosed in writing.",
            "reviewer_id": officer, "decided_at": submitted + timedelta(days=rng.randint(0, 9))}
            for did, submitted in approved])
        _bulk(session, ConsentWithdrawal, [{
            "consent_id": consent_ids[rng.randrange(cases)], "scope": "cc_on_milestones", "recorded_by_id": manager,
            "reason_sealed": "The client asked."} for _ in range(1000)])
        _bulk(session, Complaint, [{
            "reference": f"RCL-BENCH-{n:05d}", "channel": ComplaintChannel.email,
            "complainant_kind": ComplainantKind.client, "complainant_name": f"Client {n}",
            "category": list(ComplaintCategory)[n % len(ComplaintCategory)], "description": "A bench complaint.",
            "received_on": (received := today - timedelta(days=rng.randint(0, 120))),
            "acknowledge_due": received + timedelta(days=14), "answer_due": received + timedelta(days=61),
            "organisation_id": org_ids[n % len(org_ids)]} for n in range(300)])
        session.commit()
        return {"cases": cases}


def event_rows(count: int, ids: dict, keyring, rng: random.Random, head: tuple[int, str]):
    """`count` events chained after `head` (seq, hash) as core.audit.record chains them (seq, link to the previous
    hash, HMAC under the current key), spread over the past year, in batches of dicts."""
    from core.audit import AuditEvent
    from core.audit_labels import ACTION_LABELS

    actions = sorted(ACTION_LABELS)
    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / max(count, 1)
    (first, prev), key_id = head, keyring.current_id
    batch = []
    for seq in range(first + 1, first + count + 1):
        roll = rng.random()
        if roll < 0.5:
            subject_type, subject_id = "organisations", rng.choice(ids["firms"])
        elif roll < 0.8:
            subject_type, subject_id = "users", rng.choice(ids["people"])[1]
        else:
            subject_type, subject_id = "cases", uuid.UUID(int=rng.getrandbits(128)).hex
        actor_id, _pid, email = rng.choice(ids["people"]) if rng.random() < 0.9 else (None, None, "system")
        ev = SimpleNamespace(
            seq=seq, occurred_at=start + step * (seq - first), action=rng.choice(actions), actor_id=actor_id,
            actor_label=email, subject_type=subject_type, subject_id=subject_id,
            ip=f"10.0.{seq % 250}.{seq % 199}",
            data=json.dumps({"reason": "bench", "step": seq, "organisation": rng.choice(ids["firms"])},
                            sort_keys=True, separators=(",", ":")),
            prev_hash=prev, key_id=key_id)
        ev.hash = prev = AuditEvent.compute_hash(ev, keyring)
        batch.append({c: getattr(ev, c) for c in COLUMNS})
        if len(batch) == 20000:
            yield batch
            batch = []
    if batch:
        yield batch


def load_events(app, url: str, count: int, ids: dict, rng: random.Random) -> float:
    """Bulk insert of the chained events and the chain's head; seconds taken."""
    from sqlalchemy import insert, select, text, update

    from core.audit import AuditEvent, AuditHead
    from portal.cli.audit import keyring

    with app.app_context():
        keys = keyring()
    engine = loading_engine(url)
    t0 = time.perf_counter()
    last = None
    try:
        with engine.begin() as conn:
            head = conn.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).one()
            if conn.dialect.name == "postgresql":
                raw = conn.connection.dbapi_connection
                with raw.cursor() as cur, cur.copy(f"COPY audit_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for batch in event_rows(count, ids, keys, rng, tuple(head)):
                        for row in batch:
                            copy.write_row([row[c] for c in COLUMNS])
                        last = batch[-1]
            else:
                for batch in event_rows(count, ids, keys, rng, tuple(head)):
                    conn.execute(insert(AuditEvent.__table__), batch)
                    last = batch[-1]
            conn.execute(update(AuditHead.__table__).where(AuditHead.id == 1).values(seq=last["seq"], hash=last["hash"]))
        if engine.dialect.name == "postgresql":
            # what autovacuum does after a million inserts, done before the timing rather than during it: the
            # figures are those of the steady state, not of a vacuum competing for the two cores
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE audit_events"))
    finally:
        engine.dispose()
    return time.perf_counter() - t0


def analyze(url: str) -> None:
    """What autovacuum does after the bulk load, done before the timing rather than during it: fresh planner
    statistics, and the visibility map (PostgreSQL 13+ vacuums a table after many inserts), without which the
    dashboard's per-firm counts could not read their indexes alone (index-only scans)."""
    from sqlalchemy import text

    engine = loading_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the figures


def verify_seconds(app) -> float:
    """`flask audit verify` through the CLI runner; the chain must be intact."""
    t0 = time.perf_counter()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    seconds = time.perf_counter() - t0
    if result.exit_code != 0 or "audit log intact" not in result.output:
        raise BenchError(f"audit verify did not find the generated chain intact: {result.output[:500]}")
    return seconds


def signed_in(app):
    import re

    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"email": "officer@bench.example", "password": PASSWORD,
                                    "csrf_token": token.group(1)})
    if r.status_code != 302:
        raise BenchError(f"sign-in failed: {r.status_code}")
    return client


def page_urls(count: int, ids: dict, rng: random.Random) -> list[tuple[str, str]]:
    from core.audit_labels import ACTION_LABELS

    today = datetime.now(UTC).date()
    month = today - timedelta(days=rng.randint(40, 300))
    person = rng.choice(ids["people"])
    deep = rng.randint(1, max(1, count // 2))
    action = rng.choice(sorted(ACTION_LABELS))
    return [
        ("newest", "/audit/"),
        ("by action", f"/audit/?action={action}"),
        ("by person", f"/audit/?actor={person[1]}"),
        ("by kind", "/audit/?kind=organisations"),
        ("a month", f"/audit/?from={month}&to={month + timedelta(days=30)}"),
        ("deep page", f"/audit/?before={deep}"),
        ("action, deep", f"/audit/?action={action}&before={deep}"),
        ("person's history", f"/audit/history/{person[1]}?kind=users"),
        ("firm's history", f"/audit/history/{rng.choice(ids['firms'])}?kind=organisations"),
    ]


def page_samples(app, urls: list[tuple[str, str]], requests: int, warmup: int) -> tuple[list[float], dict]:
    client = signed_in(app)
    for n in range(warmup):
        client.get(urls[n % len(urls)][1])
    samples, by_kind = [], {name: [] for name, _ in urls}
    for n in range(requests):
        name, url = urls[n % len(urls)]
        t0 = time.perf_counter()
        r = client.get(url)
        took = time.perf_counter() - t0
        if r.status_code != 200:
            raise BenchError(f"GET {url} answered {r.status_code}")
        samples.append(took)
        by_kind[name].append(took)
    return samples, {name: latency(values) for name, values in by_kind.items() if values}


def measure(backend: str, url: str, tmp: Path, args, rng: random.Random) -> dict:
    app = make_app(tmp, url, AUDIT_CHECKPOINT_DIR=str(tmp / "checkpoints"))
    try:
        migrate(app)
        ids = seed_people(app)
        load_s = load_events(app, url, args.events, ids, rng)
        print(f"[{backend}] {args.events:,} chained events loaded in {load_s:.1f} s", flush=True)
        verify_s = verify_seconds(app)
        print(f"[{backend}] audit verify: {verify_s:.2f} s ({args.events / verify_s:,.0f} events/s)", flush=True)
        samples, by_kind = page_samples(app, page_urls(args.events, ids, rng), args.requests, args.warmup)
        page = latency(samples)
        print(f"[{backend}] audit page: p95 {page['p95_ms']:.1f} ms", flush=True)
        t0 = time.perf_counter()
        seed_pipeline(app, ids, rng, args.cases)
        print(f"[{backend}] {args.cases:,} cases, {CONTRACTS:,} contracts and their disclosures loaded in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        if url.startswith("postgresql"):
            analyze(url)
        queue, _ = page_samples(app, [("queue", "/compliance/queue/"), ("queue, one kind",
                                                                        "/compliance/queue/?kind=disclosure")],
                                max(args.requests // 3, 10), args.warmup)
        dashboard, _ = page_samples(app, [("dashboard", "/compliance/dashboard")], max(args.requests // 3, 10),
                                    args.warmup)
        queue, dashboard = latency(queue), latency(dashboard)
        print(f"[{backend}] review queue p95 {queue['p95_ms']:.1f} ms, dashboard p95 {dashboard['p95_ms']:.1f} ms",
              flush=True)
        return {"backend": backend, "load_s": load_s, "verify_s": verify_s,
                "verify_events_per_s": args.events / verify_s, "page": page, "page_by_kind": by_kind,
                "queue": queue, "dashboard": dashboard, "cases": args.cases}
    finally:
        dispose(app)


def report(results: list[dict], events: int) -> None:
    n = f"{events:,}"
    rows = []
    for res in results:
        b = res["backend"]
        rows.append((f"[{b}] audit verify, {n} events ({res['verify_events_per_s']:,.0f} events/s)",
                     f"{res['verify_s']:.2f} s", "< 30 s", verdict(res["verify_s"] < TARGETS["verify_s"])))
        rows.append((f"[{b}] audit page p95 ({res['page']['n']} requests, {n} events)",
                     f"{res['page']['p95_ms']:.1f} ms", "< 100 ms",
                     verdict(res["page"]["p95_ms"] < TARGETS["audit_page_p95_ms"])))
        for name, lat in res["page_by_kind"].items():
            rows.append((f"[{b}]   {name}: p50 / p95", f"{lat['p50_ms']:.1f} / {lat['p95_ms']:.1f} ms", "", "-"))
        for key, label in (("queue", "review queue"), ("dashboard", "compliance dashboard")):
            rows.append((f"[{b}] {label} p95 ({res[key]['n']} requests, 210 firms, {res['cases']:,} cases)",
                         f"{res[key]['p95_ms']:.1f} ms", "< 100 ms",
                         verdict(res[key]["p95_ms"] < TARGETS[f"{key}_p95_ms"])))
    print()
    print_figures(rows)


# --------------------------------------------------------------------------- the run


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.compliance", description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=1_000_000, help="audit events loaded (default 1,000,000)")
    p.add_argument("--requests", type=int, default=270, help="timed audit page requests (default 270)")
    p.add_argument("--warmup", type=int, default=18, help="untimed page requests first (default 18)")
    p.add_argument("--postgres", nargs="?", const=os.environ.get("TEST_POSTGRES_URL") or "",
                   default=os.environ.get("TEST_POSTGRES_URL"),
                   help="also on PostgreSQL: a throwaway database on this server (default TEST_POSTGRES_URL)")
    p.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    p.add_argument("--cases", type=int, default=CASES, help="cases loaded for the queue and the dashboard")
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--json", help="also write the figures to this JSON file")
    quick_option(p, events=20_000, requests=45, warmup=9, cases=5_000)
    args = apply_quick(p, p.parse_args(argv))
    if args.events < 1 or args.requests < 1 or args.warmup < 0:
        p.error("--events and --requests must be positive, --warmup not negative")
    if args.postgres == "":
        p.error("--postgres needs a URL, or TEST_POSTGRES_URL set")
    if args.no_sqlite and not args.postgres:
        p.error("--no-sqlite needs --postgres")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    info = machine()
    print(f"Compliance benchmark — Python {info['python']}, {info['cpus']} CPUs (load average "
          f"{info['load_average']}), {args.events:,} audit events", flush=True)
    results = []
    backends = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.postgres else [])
    for backend in backends:
        rng = random.Random(args.seed)
        tmp = Path(tempfile.mkdtemp(prefix=f"portal-bench-compliance-{backend}-"))
        pg = PgDatabase(args.postgres, "portal_bench") if backend == "postgresql" else None
        try:
            if pg is not None:
                unreachable = pg.reachable()
                if unreachable:
                    raise BenchError(f"PostgreSQL not reachable: {unreachable}")
                pg.create()
            results.append(measure(backend, pg.url_string if pg else f"sqlite:///{tmp / 'bench.db'}", tmp, args,
                                   rng))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            if pg is not None:
                pg.drop()
    report(results, args.events)
    if args.json:
        write_json(args.json, {"machine": info, "events": args.events, "results": results, "targets": TARGETS})
    return 0


if __name__ == "__main__":
    run(main, "bench.compliance")

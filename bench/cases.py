"""Case-volume benchmark: the list and dashboard pages and the list API with 100,000 cases and 1,000,000
milestones loaded, and the throughput of the health-data screen of need descriptions.

One run, in this process:

  * builds a throwaway instance: a temporary directory with a SQLite database (or, with --database-url, a
    throwaway database on that PostgreSQL server), migrated by the real Alembic migrations, with the demo data
    loaded as `flask demo-data` loads it (sealed agreements, demo pipeline);
  * generates the volume with bulk inserts (SQLAlchemy Core, executemany in batches, one transaction per
    batch): 207 more partner firms (210 with the demo firms) with a user each, 5 more account managers,
    --cases cases spread over the broker firms (a few big firms; the demo specialist firm gets 2%), each with a
    consent and --milestones-per-case milestones, and half as many leads (with their consents) for the
    introducers; then ANALYZE (on PostgreSQL, VACUUM ANALYZE: what autovacuum does after a bulk load, so that
    index-only scans see the pages as visible). The generation time is reported;
  * signs in through the real sign-in form with the Flask test client, makes API tokens the way
    `flask api-token create` does, and requests each route --warmup times untimed, then --requests times
    timed: p50, p95 and p99 in ms, PASS/MISS against p95 < 50 ms. One more request per route is traced: how
    many SQL statements it ran and which was the slowest when run again on its own; for a MISS the script
    prints that statement and its query plan;
  * screens the need descriptions of every generated lead plus the corpora of
    `tests/compliance/health_corpus/` (at least 10,000 texts) with `compliance.health_data.screen`:
    median throughput over 5 rounds, PASS/MISS against >= 10,000 per second.

With --try-indexes, it then measures the routes that missed with a slow statement again: on the schema as
migrated and, right after, with the indexes proposed in bench/README.md added to the throwaway database (and
dropped again afterwards). Those figures are an EXPERIMENT on a schema the migrations do not create; the
figures of record are the first table, on the schema as migrated.

This is a benchmark, not a test: it exits 0 whatever the figures, and non-zero only when something went wrong
(setup failed, sign-in failed, a request answered anything but 200). It removes the temporary directory (and
the throwaway PostgreSQL database) whatever happened, unless --keep is given.

    .venv/bin/python -m bench.cases [--cases 100000] [--milestones-per-case 10] [--requests 200] [--json PATH]
                                    [--keep] [--database-url postgresql://...] [--try-indexes] [--quick]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import random
import re
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import event, func, insert, select, text

from bench import health_screen  # the corpora and generated clean need descriptions
from bench.common import (
    analyze,
    BenchError,
    apply_quick,
    consent_receipt,
    dispose,
    loading_engine,
    machine,
    make_app,
    migrate,
    percentile,
    quick_option,
    run,
    verdict,
    write_json,
)
from bench.scratch_db import PgDatabase
from compliance import health_data
from core.accounts import CommunicationModel, Organisation, PartnerStatus, Register, Role, User
from core.db import new_secret, utcnow
from core.partners import Lifecycle
from core.products import ProductLine
from pipeline.cases import crypto
from pipeline.cases.models import BudgetBand, Case, CaseStatus, Milestone
from pipeline.leads.models import Consent, Lead, LeadStatus
from pipeline.leads.services import match_email, match_name, match_phone
from portal.accounts.operations import create_api_token, find_user_by_email
from portal.extensions import db

PASSWORD = "demo-password"  # the demo password (`flask demo-data` without DEMO_PASSWORD)
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TARGET_P95_MS = 50.0
TARGET_WEB_TEXT = "target: p95 < 50 ms for every route (Flask test client, in process)"
TARGET_SCREEN_PER_S = 10_000
TARGET_SCREEN_TEXT = "target: >= 10,000 need descriptions per second"

GENERATED_FIRMS = 207          # with the 3 demo firms: 210 partner firms
EXTRA_MANAGERS = 5             # with manager@demo.example: 6 account managers work the cases
SPECIALIST_SHARE = 0.02        # the demo specialist firm's share of the cases (2,000 of 100,000)
INTRODUCER_SHARE = 0.04        # the demo introducer's share of the leads (2,000 of 50,000)
LEADS_PER_CASE = 0.5           # 50,000 leads for 100,000 cases
HISTORY_DAYS = 730             # cases and leads were created over the past two years
CASES_PER_BATCH = 1_000        # one transaction: 1,000 consents, 1,000 cases, 10,000 milestones
LEADS_PER_BATCH = 10_000
SCREEN_MIN_TEXTS = 10_000
SCREEN_ROUNDS = 5
SLOW_STATEMENT_MS = 5.0      # a statement this slow is shown with its plan when its route misses

S = CaseStatus
#: the stage of the generated cases: 65% open (before the contract), 22% in force, 13% closed
CASE_STATUS_WEIGHTS = {
    S.received: 12, S.needs_analysis: 12, S.quote_requested: 10, S.quote_issued: 10,
    S.underwriting_questions: 6, S.offer: 8, S.client_decision: 7,
    S.contract_issued: 3, S.active: 14, S.renewal_due: 3, S.renewed: 2,
    S.not_pursued: 6, S.withdrawn: 4, S.cancelled: 3,
}
#: the usual way through the pipeline; a case's history is the start of it up to its stage
MAIN_PATH = (S.received, S.needs_analysis, S.quote_requested, S.quote_issued, S.underwriting_questions, S.offer,
             S.client_decision, S.contract_issued, S.active, S.renewal_due, S.renewed)
LEAD_STATUS_WEIGHTS = {
    LeadStatus.received: 20, LeadStatus.contacted: 20, LeadStatus.quote_in_progress: 20,
    LeadStatus.contract_issued: 20, LeadStatus.not_pursued: 15, LeadStatus.cancelled: 5,
}

FIRST_NAMES = ["Ana", "Karim", "Emily", "Lucie", "Marco", "Sofia", "Jonas", "Aisha", "Pierre", "Elena", "Tomás",
               "Olga", "Mykola", "Chen", "Priya", "Lars", "Fatima", "Giulia", "Hugo", "Nadia", "Omar", "Ines"]
LAST_NAMES = ["Silva", "Haddad", "Clarke", "Martin", "Rossi", "García", "Müller", "Khan", "Dubois", "Ivanova",
              "Kovalenko", "Wang", "Patel", "Nielsen", "Benali", "Costa", "Moreau", "Schmidt", "Novak", "Santos"]
COUNTRIES = ["AE", "FR", "SG", "TH", "GB", "HK", "US", "ES", "PT", "IT", "DE", "CH", "NL", "BE", "MX", "KE", "QA"]
REGISTERS = {"FR": Register.orias, "GB": Register.fca, "IT": Register.ivass_rui, "ES": Register.dgsfp}
FIRM_WORDS = ["Atlas", "Harbour", "Meridian", "Beacon", "Cedar", "Summit", "Aurora", "Compass", "Horizon", "Vista"]
SUMMARIES = [
    "Engineer posted abroad for three years; wants worldwide cover excluding the USA.",
    "Family relocating with two children; prefers a high deductible and a direct-billing network.",
    "Consultant travelling monthly; needs cover in the country of nationality too.",
    "Retired couple settling abroad for good; looking for long-term cover with guaranteed renewal.",
]
UNDERWRITING = [
    "Declared a past sports injury; full medical underwriting preferred.",
    "Prefers moratorium underwriting; no declaration beyond the standard questions.",
    None,
]
PARTNER_NOTES = ["Quotes sent to the client.", "Client asked for a call next week.", "Documents received.",
                 "The insurer answered; see the offer.", None, None, None]
INTERNAL_NOTES = ["Checked the budget with the partner.", "Follow up on Friday.", None, None, None, None]

# Proposed indexes (see bench/README.md), created only by --try-indexes, only in the throwaway database, and
# dropped again afterwards.
EXPERIMENT_INDEXES = {
    # the staff queue and the manager's "cases waiting longest": status IN (open stages) ORDER BY stage_entered_at
    "ix_bench_cases_stage": "CREATE INDEX ix_bench_cases_stage ON cases (stage_entered_at, id)",
    # the staff lists ?assigned=me / ?assigned=none, oldest first
    "ix_bench_cases_assigned_stage": "CREATE INDEX ix_bench_cases_assigned_stage "
                                     "ON cases (assigned_to_id, stage_entered_at, id)",
    # the manager's open-case counts and workload per account manager (covering)
    "ix_bench_cases_assigned_status": "CREATE INDEX ix_bench_cases_assigned_status "
                                      "ON cases (assigned_to_id, status, stage_entered_at)",
    # the manager's lead counts: possible duplicates to attribute, unassigned and own leads
    "ix_bench_leads_duplicate": "CREATE INDEX ix_bench_leads_duplicate ON leads (possible_duplicate_of_id) "
                                "WHERE possible_duplicate_of_id IS NOT NULL",
    "ix_bench_leads_status_assigned": "CREATE INDEX ix_bench_leads_status_assigned ON leads (status, assigned_to_id)",
}


# --------------------------------------------------------------------------- throwaway instance


def migrate_and_load_demo(app) -> None:
    """Run the Alembic migrations, then load the demo data as `flask demo-data` does."""
    from portal.agreements.services import broker_identity, seal_config
    from portal.demo import load_demo
    from portal.mail import link_context

    migrate(app)
    with app.app_context():
        with link_context():
            load_demo(db.session, PASSWORD, seal_config(), broker_identity())
        db.session.commit()


# --------------------------------------------------------------------------- generating the volume


@dataclass
class Population:
    """Who owns and works the generated records."""

    #: organisation id -> the user who submits its cases or leads
    submitter: dict[int, int] = field(default_factory=dict)
    #: organisation id -> the firm's communication model
    model: dict[int, CommunicationModel] = field(default_factory=dict)
    specialists: set[int] = field(default_factory=set)
    brokers: list[int] = field(default_factory=list)
    introducers: list[int] = field(default_factory=list)
    managers: list[int] = field(default_factory=list)
    demo_specialist: int = 0
    demo_introducer: int = 0


def new_public_id(rng: random.Random) -> str:
    """32 hex digits like `uuid4().hex` (what the app stores), drawn from the seeded generator."""
    return f"{rng.getrandbits(128):032x}"


def next_id(conn, table) -> int:
    """The first free id of `table`: the generated rows get explicit ids, so milestones can name their case."""
    return (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1


def random_times(rng: random.Random, count: int, now: datetime) -> list[datetime]:
    """`count` creation times over the past HISTORY_DAYS, oldest first (ids grow with time, as in real life)."""
    span = HISTORY_DAYS * 86400
    return sorted(now - timedelta(seconds=rng.uniform(0, span)) for _ in range(count))


def skewed_owners(rng: random.Random, count: int, demo_org: int, demo_share: float, others: list[int]) -> list[int]:
    """The owning firm of each of `count` records: `demo_share` for the demo firm, the rest Zipf-like over the
    other firms (the biggest gets about a sixth of the records, the smallest about a hundredth as much)."""
    n_demo = round(count * demo_share)
    ranked = list(others)
    rng.shuffle(ranked)
    weights = [1 / rank for rank in range(1, len(ranked) + 1)]
    owners = [demo_org] * n_demo + rng.choices(ranked, weights=weights, k=count - n_demo)
    rng.shuffle(owners)
    return owners


def create_people(engine, rng: random.Random, now: datetime) -> Population:
    """The generated firms (one partner admin each) and account managers, plus the demo firms and manager."""
    pop = Population()
    orgs, users = Organisation.__table__, User.__table__
    statuses = [PartnerStatus.specialist_broker, PartnerStatus.generalist_broker, PartnerStatus.introducer]
    with engine.begin() as conn:
        org_id, user_id = next_id(conn, orgs), next_id(conn, users)
        org_rows, user_rows = [], []
        for n in range(GENERATED_FIRMS):
            status = statuses[n % 3]
            country = rng.choice(COUNTRIES)
            broker = status is not PartnerStatus.introducer
            org_rows.append(dict(
                id=org_id + n, public_id=new_public_id(rng), created_at=now - timedelta(days=HISTORY_DAYS + 30),
                legal_name=f"{rng.choice(FIRM_WORDS)} {n + 1:03d} {'Brokers' if broker else 'Relocation'}",
                status=status, register=REGISTERS.get(country, Register.other) if broker else None,
                registration_number=f"{20000000 + n}" if broker else None, country=country,
                zones=rng.sample(COUNTRIES, 3), communication_model=rng.choice(list(CommunicationModel)),
                languages=["en"], lifecycle=Lifecycle.active, cc_key_communications=rng.random() < 0.6))
            user_rows.append(dict(
                id=user_id + n, public_id=new_public_id(rng), created_at=now - timedelta(days=HISTORY_DAYS + 30),
                email=f"partner{n + 1:03d}@bench.example", full_name=f"Partner {n + 1:03d}", password_hash=None,
                role=Role.partner_admin, organisation_id=org_id + n, locale="en", active=True,
                session_token=new_secret()))
        manager_rows = [dict(
            id=user_id + GENERATED_FIRMS + n, public_id=new_public_id(rng), created_at=now - timedelta(days=800),
            email=f"manager{n + 1}@bench.example", full_name=f"Manager {n + 1}", password_hash=None,
            role=Role.account_manager, organisation_id=None, locale="en", active=True, session_token=new_secret())
            for n in range(EXTRA_MANAGERS)]
        conn.execute(insert(orgs), org_rows)
        conn.execute(insert(users), user_rows + manager_rows)
        for org, user in zip(org_rows, user_rows, strict=True):
            pop.submitter[org["id"]] = user["id"]
        pop.managers = [row["id"] for row in manager_rows]

        # The demo firms and staff join the population.
        for key in ("specialist", "generalist", "introducer"):
            user, org = conn.execute(select(User.id, User.organisation_id)
                                     .where(User.email == f"{key}@demo.example")).one()
            pop.submitter[org] = user
        pop.managers.append(conn.execute(select(User.id).where(User.email == "manager@demo.example")).scalar_one())
        for org, status, model in conn.execute(select(Organisation.id, Organisation.status,
                                                      Organisation.communication_model)):
            if org not in pop.submitter:
                continue
            pop.model[org] = model
            if status is PartnerStatus.introducer:
                pop.introducers.append(org)
            else:
                pop.brokers.append(org)
            if status is PartnerStatus.specialist_broker:
                pop.specialists.add(org)
        pop.demo_specialist = conn.execute(select(User.organisation_id)
                                           .where(User.email == "specialist@demo.example")).scalar_one()
        pop.demo_introducer = conn.execute(select(User.organisation_id)
                                           .where(User.email == "introducer@demo.example")).scalar_one()
    return pop


def stage_path(status: CaseStatus, rng: random.Random) -> list[CaseStatus]:
    """The stages a case went through to reach `status`, received first."""
    if status in MAIN_PATH:
        return list(MAIN_PATH[:MAIN_PATH.index(status) + 1])
    if status is S.cancelled:
        return list(MAIN_PATH[:MAIN_PATH.index(S.active) + 1]) + [status]
    return list(MAIN_PATH[:rng.randint(1, 7)]) + [status]  # not pursued or withdrawn before the contract


def history_stages(path: list[CaseStatus], count: int) -> list[CaseStatus]:
    """`count` milestone stages: the path (its latest stages if it is longer), then further entries at the
    current stage (a note added without a move), so that every case has the same number of milestones."""
    if len(path) >= count:
        return path[-count:]
    return path + [path[-1]] * (count - len(path))


def household(rng: random.Random) -> tuple[int, list[int]]:
    adults = rng.choice((1, 1, 2, 2, 2))
    children = rng.choice((0, 0, 1, 2, 3))
    ages = sorted((rng.randint(25, 70) for _ in range(adults)), reverse=True)
    return adults, ages + sorted((rng.randint(0, 17) for _ in range(children)), reverse=True)


def insert_cases(conn, rng: random.Random, now: datetime, pop: Population, count: int, per_case: int) -> None:
    """`count` cases with a consent each and `per_case` milestones each, CASES_PER_BATCH cases per executemany."""
    consents, cases, milestones = Consent.__table__, Case.__table__, Milestone.__table__
    statuses, weights = list(CASE_STATUS_WEIGHTS), list(CASE_STATUS_WEIGHTS.values())
    owners = skewed_owners(rng, count, pop.demo_specialist, SPECIALIST_SHARE,
                           [o for o in pop.brokers if o != pop.demo_specialist])
    created = random_times(rng, count, now)
    # Encrypted once and reused: every token decrypts with the configured key, as a real one would.
    keys = current_app.config["CASE_ENCRYPTION_KEYS"]
    summaries = [crypto.encrypt(t, keys) for t in SUMMARIES]
    underwriting = [crypto.encrypt(t, keys) if t else None for t in UNDERWRITING]
    consent_id, case_id, milestone_id = next_id(conn, consents), next_id(conn, cases), next_id(conn, milestones)
    for start in range(0, count, CASES_PER_BATCH):
        consent_rows, case_rows, milestone_rows = [], [], []
        for i in range(start, min(count, start + CASES_PER_BATCH)):
            org, t0 = owners[i], created[i]
            submitter = pop.submitter[org]
            status = rng.choices(statuses, weights)[0]
            manager = None if status is S.received and rng.random() < 0.7 else rng.choice(pop.managers)
            entered = t0 if status is S.received else t0 + (now - t0) * rng.random()
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            adults, ages = household(rng)
            specialist = org in pop.specialists
            consent_rows.append(dict(
                id=consent_id, public_id=new_public_id(rng), created_at=t0, organisation_id=org,
                captured_by_id=submitter, share_with_broker=True, cc_on_milestones=(cc := rng.random() < 0.7),
                text_version="2026-11", language="en", given_at=t0 - timedelta(hours=1), **consent_receipt(cc)))
            case_rows.append(dict(
                id=case_id, public_id=new_public_id(rng), created_at=t0, organisation_id=org,
                submitted_by_id=submitter, consent_id=consent_id, client_first_name=first, client_last_name=last,
                client_email=f"client{case_id}@example.org", client_phone=None, adults=adults,
                children=len(ages) - adults, ages=ages, nationality=rng.choice(COUNTRIES),
                country_of_residence=rng.choice(COUNTRIES), travel_countries=rng.sample(COUNTRIES, rng.randint(0, 2)),
                start_date=(t0 + timedelta(days=30)).date(),
                product_line=ProductLine.family if len(ages) > adults else rng.choice(
                    (ProductLine.individual, ProductLine.individual, ProductLine.sme, ProductLine.corporate)),
                budget_band=rng.choice(list(BudgetBand)), current_cover=None, renewal_date=None,
                communication_model=pop.model[org],
                case_summary_encrypted=rng.choice(summaries) if specialist else None,
                underwriting_encrypted=rng.choice(underwriting) if specialist else None,
                status=status, assigned_to_id=manager, lead_id=None, stage_entered_at=entered))
            stages = history_stages(stage_path(status, rng), per_case)
            for k, stage in enumerate(stages):
                at = t0 + (entered - t0) * (k / (len(stages) - 1)) if len(stages) > 1 else t0
                milestone_rows.append(dict(
                    id=milestone_id, public_id=new_public_id(rng), created_at=at, case_id=case_id, stage=stage,
                    previous_stage=stages[k - 1] if k else None,
                    recorded_by_id=submitter if k == 0 or manager is None else manager,
                    partner_note=rng.choice(PARTNER_NOTES), internal_note=rng.choice(INTERNAL_NOTES)))
                milestone_id += 1
            consent_id += 1
            case_id += 1
        conn.execute(insert(consents), consent_rows)
        conn.execute(insert(cases), case_rows)
        conn.execute(insert(milestones), milestone_rows)


def insert_leads(conn, rng: random.Random, now: datetime, pop: Population, count: int) -> None:
    """`count` leads with a consent each, for the introducers, LEADS_PER_BATCH per executemany; need
    descriptions in six languages."""
    consents, leads = Consent.__table__, Lead.__table__
    statuses, weights = list(LEAD_STATUS_WEIGHTS), list(LEAD_STATUS_WEIGHTS.values())
    owners = skewed_owners(rng, count, pop.demo_introducer, INTRODUCER_SHARE,
                           [o for o in pop.introducers if o != pop.demo_introducer])
    created = random_times(rng, count, now)
    needs = health_screen.generated_clean(rng, count)  # (language, text): clean, as every stored lead is
    consent_id, lead_id = next_id(conn, consents), next_id(conn, leads)
    first_lead_id = lead_id
    for start in range(0, count, LEADS_PER_BATCH):
        consent_rows, lead_rows = [], []
        for i in range(start, min(count, start + LEADS_PER_BATCH)):
            org, t0 = owners[i], created[i]
            submitter = pop.submitter[org]
            language, need = needs[i]
            status = rng.choices(statuses, weights)[0]
            manager = None if status is LeadStatus.received and rng.random() < 0.5 else rng.choice(pop.managers)
            first, last, country = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), rng.choice(COUNTRIES)
            email, phone = f"lead{lead_id}@example.org", f"+33 6 {lead_id % 100_000_000:08d}"
            # About 1% look like a client referred earlier and wait for an attribution decision.
            duplicate_of = rng.randrange(first_lead_id, lead_id) if lead_id > first_lead_id and rng.random() < 0.01 \
                else None
            consent_rows.append(dict(
                id=consent_id, public_id=new_public_id(rng), created_at=t0, organisation_id=org,
                captured_by_id=submitter, share_with_broker=True, cc_on_milestones=(cc := rng.random() < 0.7),
                text_version="2026-11", language=language, given_at=t0 - timedelta(hours=1), **consent_receipt(cc)))
            lead_rows.append(dict(
                id=lead_id, public_id=new_public_id(rng), created_at=t0, organisation_id=org, submitted_by_id=submitter,
                consent_id=consent_id, first_name=first, last_name=last, email=email, phone=phone,
                country_of_residence=country, timeline=rng.choice(("asap", "within_3_months", "later")),
                need_category="family_relocation", need_summary=need[:500], language=language, status=status, match_email=match_email(email),
                match_phone=match_phone(phone), match_name=match_name(first, last, country),
                possible_duplicate_of_id=duplicate_of, attribution_decided=False, attributed_organisation_id=org,
                assigned_to_id=manager))
            consent_id += 1
            lead_id += 1
        conn.execute(insert(consents), consent_rows)
        conn.execute(insert(leads), lead_rows)


def reset_sequences(engine) -> None:
    """PostgreSQL: the generated rows have explicit ids, so move the id sequences past them."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in ("organisations", "users", "consents", "cases", "milestones", "leads"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))


def generate(app, rng: random.Random, cases: int, per_case: int) -> dict:
    """Load the volume, one transaction per step; returns the time of each step and the row counts."""
    now = utcnow()
    timings = {}
    with app.app_context():  # the case encryption keys come from the app's configuration
        engine = loading_engine(db.engine.url)
        try:
            t0 = time.perf_counter()
            pop = create_people(engine, rng, now)
            timings["firms_and_users_s"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            with engine.begin() as conn:
                insert_cases(conn, rng, now, pop, cases, per_case)
            timings["cases_consents_milestones_s"] = time.perf_counter() - t0
            print(f"  cases, consents, milestones: {timings['cases_consents_milestones_s']:.1f} s", flush=True)

            t0 = time.perf_counter()
            with engine.begin() as conn:
                insert_leads(conn, rng, now, pop, round(cases * LEADS_PER_CASE))
            timings["leads_s"] = time.perf_counter() - t0
            reset_sequences(engine)

            t0 = time.perf_counter()
            analyze(engine)
            timings["analyze_s"] = time.perf_counter() - t0
            counts = row_counts(engine, pop)
        finally:
            engine.dispose()
    timings["total_s"] = sum(timings.values())
    return {"timings": timings, "counts": counts}


def row_counts(engine, pop: Population) -> dict:
    """How many rows each table holds, and how the cases are spread."""
    counts = {}
    with engine.connect() as conn:
        for model in (Organisation, User, Case, Milestone, Consent, Lead):
            table = model.__table__
            counts[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
        counts["demo_specialist_cases"] = conn.execute(select(func.count()).select_from(Case).where(
            Case.organisation_id == pop.demo_specialist)).scalar_one()
        counts["demo_introducer_leads"] = conn.execute(select(func.count()).select_from(Lead).where(
            Lead.organisation_id == pop.demo_introducer)).scalar_one()
        counts["biggest_firm_cases"] = conn.execute(
            select(func.count()).select_from(Case).group_by(Case.organisation_id)
            .order_by(func.count().desc()).limit(1)).scalar_one()
        counts["manager_demo_cases"] = conn.execute(select(func.count()).select_from(Case).join(
            User, User.id == Case.assigned_to_id).where(User.email == "manager@demo.example")).scalar_one()
    return counts


# --------------------------------------------------------------------------- signing in, tokens, routes


@dataclass
class Route:
    key: str
    label: str
    path: str
    client: object
    headers: dict = field(default_factory=dict)

    def get(self):
        return self.client.get(self.path, headers=self.headers)


def sign_in(app, email: str):
    """A test client signed in as `email` through the real sign-in form."""
    client = app.test_client()
    page = client.get("/login")
    match = CSRF_RE.search(page.get_data(as_text=True))
    if page.status_code != 200 or not match:
        raise BenchError(f"GET /login answered {page.status_code} without a CSRF token")
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": match.group(1)})
    if response.status_code != 302:
        raise BenchError(f"signing in as {email} answered {response.status_code} instead of a 302 redirect")
    return client


def api_token(app, email: str) -> str:
    """A new personal API token for `email`, made as `flask api-token create` makes it."""
    with app.app_context():
        user = find_user_by_email(db.session, email)
        _token, raw = create_api_token(db.session, user, "bench/cases.py")
        db.session.commit()
    return raw


def sample_case(app) -> str:
    """The newest open case of the demo specialist firm: a full history, and a move form for the staff."""
    with app.app_context():
        org = select(User.organisation_id).where(User.email == "specialist@demo.example").scalar_subquery()
        return db.session.execute(select(Case.public_id).where(
            Case.organisation_id == org, Case.status == S.quote_issued).order_by(Case.id.desc()).limit(1)).scalar_one()


def build_routes(app) -> list[Route]:
    partner = sign_in(app, "specialist@demo.example")
    introducer = sign_in(app, "introducer@demo.example")
    manager = sign_in(app, "manager@demo.example")
    api = app.test_client()

    def bearer(email: str) -> dict:
        return {"Authorization": f"Bearer {api_token(app, email)}"}

    partner_token, staff_token = bearer("specialist@demo.example"), bearer("manager@demo.example")
    introducer_token = bearer("introducer@demo.example")
    case = sample_case(app)
    return [
        Route("partner_home", "GET / partner broker home (specialist@)", "/", partner),
        Route("partner_cases", "GET /cases/ partner", "/cases/", partner),
        Route("partner_cases_open", "GET /cases/?status=open partner", "/cases/?status=open", partner),
        Route("introducer_home", "GET / introducer home (introducer@)", "/", introducer),
        Route("introducer_leads", "GET /leads/ introducer", "/leads/", introducer),
        Route("manager_home", "GET / account manager home (manager@)", "/", manager),
        Route("staff_open", "GET /cases/?status=open staff, oldest first", "/cases/?status=open", manager),
        Route("staff_mine", "GET /cases/?assigned=me staff", "/cases/?assigned=me", manager),
        Route("case_partner", "GET /cases/<id> partner (10 milestones)", f"/cases/{case}", partner),
        Route("case_staff", "GET /cases/<id> staff (10 milestones)", f"/cases/{case}", manager),
        Route("api_partner", "GET /api/v1/cases partner token", "/api/v1/cases", api, partner_token),
        Route("api_partner_open", "GET /api/v1/cases?status=open&per_page=50 partner",
              "/api/v1/cases?status=open&per_page=50", api, partner_token),
        Route("api_staff", "GET /api/v1/cases staff token (all cases)", "/api/v1/cases", api, staff_token),
        Route("api_milestones", "GET /api/v1/cases/<id>/milestones partner", f"/api/v1/cases/{case}/milestones",
              api, partner_token),
        Route("api_leads", "GET /api/v1/leads introducer token", "/api/v1/leads", api, introducer_token),
    ]


# --------------------------------------------------------------------------- measuring


def measure(route: Route, warmup: int, requests: int) -> dict:
    """`warmup` untimed requests, then `requests` timed ones; every answer must be a 200."""
    latencies = []
    for i in range(warmup + requests):
        t0 = time.perf_counter()
        response = route.get()
        elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            where = response.headers.get("Location", "")
            raise BenchError(f"{route.label}: GET {route.path} answered {response.status_code} {where}".rstrip())
        if i >= warmup:
            latencies.append(elapsed)
    latencies.sort()
    return {"requests": len(latencies), "p50_ms": percentile(latencies, 50) * 1000,
            "p95_ms": percentile(latencies, 95) * 1000, "p99_ms": percentile(latencies, 99) * 1000}


def trace(engine, route: Route) -> list[tuple[str, object]]:
    """The SQL statements (and their parameters) that one request of `route` runs."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        route.get()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def timed_selects(engine, statements: list[tuple[str, object]]) -> list[dict]:
    """Each SELECT of a request run again on its own, rows fetched, best of 3; slowest first."""
    timed = []
    with engine.connect() as conn:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                conn.exec_driver_sql(statement, parameters).fetchall()
                best = min(best, time.perf_counter() - t0)
            timed.append({"ms": best * 1000, "statement": statement, "parameters": parameters})
        timed.sort(key=lambda t: -t["ms"])
        for t in timed:
            if t["ms"] >= SLOW_STATEMENT_MS or t is timed[0]:
                t["plan"] = query_plan(conn, t["statement"], t["parameters"])
    return timed


def repeated(statements: list[tuple[str, object]]) -> list[dict]:
    """Statements run more than once in one request with different parameters: the N+1 pattern."""
    counts = Counter(statement for statement, _ in statements)
    return [{"times": n, "statement": statement} for statement, n in counts.most_common() if n > 1]


def query_plan(conn, statement: str, parameters) -> list[str]:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        depth = {0: 0}
        lines = []
        for node, parent, _unused, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            lines.append("  " * (depth[node] - 1) + detail)
        return lines
    return [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()]


def measure_routes(app, routes: list[Route], warmup: int, requests: int) -> list[dict]:
    """Measure every route, then trace one request of each: the SQL it runs, how long each SELECT takes."""
    with app.app_context():
        engine = db.engine
    rows = []
    for route in routes:
        figures = measure(route, warmup, requests)
        statements = trace(engine, route)
        timed = timed_selects(engine, statements)
        figures.update(key=route.key, route=route.label, path=route.path, queries=len(statements),
                       sql_ms=sum(t["ms"] for t in timed), slowest_query_ms=timed[0]["ms"] if timed else 0.0,
                       slow_statements=[t for t in timed if "plan" in t], repeated=repeated(statements),
                       verdict=verdict(figures["p95_ms"] < TARGET_P95_MS))
        rows.append(figures)
        print(f"  {route.label}: p95 {figures['p95_ms']:.1f} ms", flush=True)
    return rows


def screen_texts(app, rng: random.Random) -> tuple[list[str], int, int]:
    """The need descriptions of every lead in the database, plus the corpora (medical and clean), topped up
    with generated clean descriptions to at least SCREEN_MIN_TEXTS; shuffled."""
    with app.app_context():
        texts = [t for t in db.session.execute(select(Lead.need_summary).order_by(Lead.id)).scalars() if t]
    from_leads = len(texts)
    corpora = health_screen.load_corpora()
    corpus = [text_ for rows in corpora.values() for _, text_ in rows]
    texts += corpus
    if len(texts) < SCREEN_MIN_TEXTS:
        texts += [t for _, t in health_screen.generated_clean(rng, SCREEN_MIN_TEXTS - len(texts))]
    rng.shuffle(texts)
    return texts, from_leads, len(corpus)


def measure_screen(app, rng: random.Random) -> dict:
    t0 = time.perf_counter()
    health_data.default_screener()
    compile_s = time.perf_counter() - t0
    texts, from_leads, from_corpus = screen_texts(app, rng)
    rates = health_screen.throughput(texts, SCREEN_ROUNDS)
    median = statistics.median(rates)
    refused = sum(1 for t in texts if health_data.screen(t))
    return {"texts": len(texts), "from_leads": from_leads, "from_corpora": from_corpus, "rounds": SCREEN_ROUNDS,
            "per_second": median, "min_per_second": min(rates), "max_per_second": max(rates),
            "us_each": 1e6 / median, "refused": refused, "compile_s": compile_s,
            "target_per_second": TARGET_SCREEN_PER_S,
            "verdict": verdict(median >= TARGET_SCREEN_PER_S)}




def try_indexes(app, routes: list[Route], warmup: int, requests: int) -> tuple[list[dict], list[dict]]:
    """EXPERIMENT: measure `routes` on the schema as migrated and, right after, with the proposed indexes added
    (and ANALYZE), so that both sets of figures see the same load on the machine. The indexes are then dropped
    again, so that a kept database (--keep) is as migrated."""
    before = measure_routes(app, routes, warmup, requests)
    with app.app_context(), db.engine.begin() as conn:
        for statement in EXPERIMENT_INDEXES.values():
            conn.execute(text(statement))
        conn.execute(text("ANALYZE"))
    try:
        after = measure_routes(app, routes, warmup, requests)
    finally:
        with app.app_context(), db.engine.begin() as conn:
            for name in EXPERIMENT_INDEXES:
                conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
            conn.execute(text("ANALYZE"))
    return before, after


# --------------------------------------------------------------------------- report


def print_table(rows: list[dict], title: str) -> None:
    width = max(len(r["route"]) for r in rows)
    print()
    print(title)
    print(f"{'route':<{width}}  {'requests':>8}  {'p50 ms':>7}  {'p95 ms':>7}  {'p99 ms':>7}  {'SQL':>4}  "
          f"{'SQL ms':>7}  {'slowest':>7}  {'target':>11}  verdict")
    print("-" * (width + 86))
    for r in rows:
        print(f"{r['route']:<{width}}  {r['requests']:8d}  {r['p50_ms']:7.2f}  {r['p95_ms']:7.2f}  {r['p99_ms']:7.2f}  "
              f"{r['queries']:4d}  {r['sql_ms']:7.2f}  {r['slowest_query_ms']:7.2f}  {'p95 < 50 ms':>11}  "
              f"{r['verdict']}")
    print("(SQL: statements per request; SQL ms: their SELECTs run again on their own, summed; slowest: the "
          "slowest of them)")


def short(statement: str, limit: int = 150) -> str:
    statement = " ".join(statement.split())
    return statement if len(statement) <= limit else statement[:limit - 1] + "…"


def print_diagnosis(rows: list[dict]) -> None:
    """For each MISS: the statements that ran many times (N+1) and the slow ones, with their query plans."""
    for r in rows:
        if r["verdict"] != "MISS":
            continue
        print(f"\nMISS {r['route']}: p95 {r['p95_ms']:.1f} ms; {r['queries']} SQL statements per request, "
              f"{r['sql_ms']:.1f} ms of SELECTs when run on their own")
        if not r["repeated"] and r["slowest_query_ms"] < SLOW_STATEMENT_MS:
            print(f"  no slow or repeated SQL (p50 {r['p50_ms']:.1f} ms): the time is Python work (ORM, templates, "
                  f"JSON) or other load on the machine")
        for rep in r["repeated"]:
            print(f"  run {rep['times']} times (once per row: N+1): {short(rep['statement'])}")
        for t in r["slow_statements"]:
            print(f"  {t['ms']:.1f} ms: {short(t['statement'], 400)}")
            print(f"    parameters: {t['parameters']}")
            for line in t["plan"]:
                print(f"      {line}")


def print_experiment(before: list[dict], after: list[dict]) -> None:
    width = max(len(r["route"]) for r in before)
    print()
    print("EXPERIMENT — not the schema as migrated: the routes that missed with a slow statement, measured again "
          "on the schema as migrated and right after with these indexes added to the throwaway database:")
    for statement in EXPERIMENT_INDEXES.values():
        print(f"  {statement}")
    print(f"{'route':<{width}}  {'p95 as migrated':>15}  {'p95 with indexes':>16}  {'SQL ms':>15}  verdict")
    print("-" * (width + 66))
    for b, a in zip(before, after, strict=True):
        print(f"{b['route']:<{width}}  {b['p95_ms']:15.2f}  {a['p95_ms']:16.2f}  "
              f"{b['sql_ms']:6.1f} -> {a['sql_ms']:5.1f}  {b['verdict']} -> {a['verdict']}")


def print_report(rows, screen, counts, timings, info, experiment) -> None:
    print_table(rows, f"Routes, {counts['cases']:,} cases and {counts['milestones']:,} milestones "
                      f"(schema as migrated, {info['database']})")
    missed = [r["route"] for r in rows if r["verdict"] == "MISS"]
    print()
    print(TARGET_WEB_TEXT)
    print(f"  {len(rows) - len(missed)} PASS, {len(missed)} MISS{': ' if missed else ''}{', '.join(missed)}")
    print_diagnosis(rows)
    print()
    print(f"health-data screen: {screen['per_second']:,.0f} need descriptions/s (median of {screen['rounds']} "
          f"rounds; min {screen['min_per_second']:,.0f}, max {screen['max_per_second']:,.0f}; "
          f"{screen['us_each']:.1f} µs each)   {TARGET_SCREEN_TEXT}   {screen['verdict']}")
    print(f"  {screen['texts']:,} texts: {screen['from_leads']:,} lead need descriptions from the database, "
          f"{screen['from_corpora']} corpus sentences; {screen['refused']:,} refused (the corpora's medical "
          f"sentences)")
    if experiment:
        print_experiment(*experiment)
    print(f"\n(Flask test client in one process, no HTTP server; generation {timings['total_s']:.1f} s; "
          f"{info['cpus']} CPUs, load average {info['load_average']} at the start; figures vary 20-40% from run "
          f"to run on a shared machine)")


def write_figures(path: Path, args, info, setup_s, data, rows, screen, experiment) -> None:
    figures = {
        "benchmark": "bench/cases.py",
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "machine": info,
        "settings": {"cases": args.cases, "milestones_per_case": args.milestones_per_case,
                     "requests": args.requests, "warmup": args.warmup, "seed": args.seed},
        "generation": {"setup_s": setup_s, **data["timings"]}, "counts": data["counts"],
        "target": {"text": TARGET_WEB_TEXT, "p95_ms": TARGET_P95_MS},
        "routes": rows,
        "screen": {"target_text": TARGET_SCREEN_TEXT, **screen},
        "experiment": {"label": "EXPERIMENT: not the schema as migrated", "indexes": EXPERIMENT_INDEXES,
                       "as_migrated": experiment[0], "with_indexes": experiment[1]} if experiment else None,
    }
    write_json(path, figures)


def machine_info(engine_name: str) -> dict:
    return {**machine(), "database": engine_name,
            "sqlite": sqlite3.sqlite_version if engine_name == "sqlite" else None}


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=100_000, help="cases to generate (default 100000)")
    p.add_argument("--milestones-per-case", type=int, default=10, help="milestones per case (default 10)")
    p.add_argument("--requests", type=int, default=200, help="timed requests per route (default 200)")
    p.add_argument("--warmup", type=int, default=10, help="untimed requests per route first (default 10)")
    p.add_argument("--seed", type=int, default=7, help="seed of the generated data (default 7)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    p.add_argument("--keep", action="store_true", help="keep the instance directory and database for inspection")
    p.add_argument("--database-url", metavar="URL",
                   help="a PostgreSQL server: a throwaway database is created on it (and dropped at the end) "
                        "instead of the SQLite file")
    p.add_argument("--try-indexes", action="store_true",
                   help="EXPERIMENT: afterwards, measure the routes that missed with a slow statement again, as "
                        "migrated and with the proposed indexes added to the throwaway database")
    quick_option(p, cases=2_000, requests=20, warmup=2)
    args = apply_quick(p, p.parse_args(argv))
    if not (args.cases >= 1 and args.milestones_per_case >= 1 and args.requests >= 1 and args.warmup >= 0):
        p.error("--cases, --milestones-per-case and --requests must be positive, --warmup not negative")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-cases-"))
    pg = PgDatabase(args.database_url, "portal_bench") if args.database_url else None
    app = None
    try:
        if pg is not None:
            pg.create()
            database_url = pg.url_string
        else:
            database_url = f"sqlite:///{tmp / 'bench.db'}"
        backend = "postgresql" if pg else "sqlite"
        info = machine_info(backend)
        print(f"Case-volume benchmark — Python {info['python']}, {info['cpus']} CPUs (load average "
              f"{info['load_average']}), {info['platform']}, {backend}{' ' + info['sqlite'] if info['sqlite'] else ''}")
        print(f"instance: {tmp}" + (f" (database {pg.name})" if pg else ""), flush=True)

        app = make_app(tmp, database_url)
        t0 = time.perf_counter()
        migrate_and_load_demo(app)
        setup_s = time.perf_counter() - t0
        print(f"migrated and demo data loaded in {setup_s:.1f} s", flush=True)

        print(f"generating {args.cases:,} cases, {args.cases * args.milestones_per_case:,} milestones, "
              f"{round(args.cases * LEADS_PER_CASE):,} leads ...", flush=True)
        data = generate(app, rng, args.cases, args.milestones_per_case)
        counts, timings = data["counts"], data["timings"]
        print(f"generated in {timings['total_s']:.1f} s (firms and users {timings['firms_and_users_s']:.1f} s, "
              f"cases + consents + milestones {timings['cases_consents_milestones_s']:.1f} s, "
              f"leads + consents {timings['leads_s']:.1f} s, ANALYZE {timings['analyze_s']:.1f} s)")
        print(f"rows: {counts['organisations']} firms, {counts['users']} users, {counts['cases']:,} cases, "
              f"{counts['milestones']:,} milestones, {counts['consents']:,} consents, {counts['leads']:,} leads; "
              f"demo specialist firm {counts['demo_specialist_cases']:,} cases, biggest firm "
              f"{counts['biggest_firm_cases']:,}, manager@demo.example works {counts['manager_demo_cases']:,}, "
              f"demo introducer {counts['demo_introducer_leads']:,} leads", flush=True)

        routes = build_routes(app)
        print(f"measuring {len(routes)} routes: {args.warmup} untimed + {args.requests} timed requests each ...",
              flush=True)
        rows = measure_routes(app, routes, args.warmup, args.requests)
        print("screening need descriptions ...", flush=True)
        screen = measure_screen(app, rng)

        experiment = None
        # Indexes can only help a route that missed with a slow statement (not one that misses by N+1).
        slow = {r["key"] for r in rows if r["verdict"] == "MISS" and r["slowest_query_ms"] >= SLOW_STATEMENT_MS}
        if args.try_indexes and slow:
            print("EXPERIMENT: the routes that missed with a slow statement, as migrated and with the proposed "
                  "indexes ...", flush=True)
            experiment = try_indexes(app, [route for route in routes if route.key in slow], args.warmup,
                                     args.requests)

        print_report(rows, screen, counts, timings, info, experiment)
        if args.json:
            write_figures(Path(args.json), args, info, setup_s, data, rows, screen, experiment)
        return 0
    finally:
        if app is not None:
            dispose(app)
        if args.keep:
            print(f"kept: {tmp}" + (f" and database {pg.name} ({pg.url.render_as_string()})" if pg else ""))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            if pg is not None:
                pg.drop()


if __name__ == "__main__":
    run(main, "bench.cases")

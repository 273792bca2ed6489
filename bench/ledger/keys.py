"""Ledger keys: a contract's and a firm's ledger operations cost the same whatever the ledger's size, now that
entries are found by their contract, term and partner columns (issue 12, section 4).

For each backend and each size (1,000 and 100,000 placed contracts by default), in this process:

  * a throwaway database migrated by the real Alembic migrations, the chart of accounts and about `size`
    placements over two years, each with its disclosure release 10-20 days later, plus the insurers' receipts
    and monthly payouts, loaded with the bulk loader of bench/ledger/history.py (the same rows the engine
    writes, key columns included), then (VACUUM) ANALYZE;
  * one real partner firm (organisation, agreement: 40 % of the broker's commission, 365-day clawback window),
    an insurer at 15 % (the history's biggest: its receivable is the hot account), and the firm's own
    --firm-contracts contracts posted through `ledger.commissions`, half of them released: the same in every
    size, so the measured answers are the same and only the rest of the ledger grows;
  * timed, --runs times after --warmup untimed runs, each in a fresh session and committed:
      (a) the held-shares report of that firm (`reports.held_shares(session, firm)`);
      (b) posting the commission of the next contract (`commissions.post_event` of its contract.placed);
      (c) a clawback on it (`commissions.post_event` of its contract.cancelled, inside the window);
    and, for information, what the former reader did for (c): load every placement and filter in Python;
  * `engine.verify` of the whole ledger afterwards (key columns against details included).

It prints both sizes side by side with the target: the same cost within noise, p50 at the larger size no more
than 1.5 times the smaller's.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from agreements.models import Agreement, AgreementKind, AgreementStatus, CommissionRule
from bench.common import BenchError, latency, migrate_database, timed, verdict
from bench.ledger import history
from core import events
from core.accounts import CommunicationModel, Organisation, PartnerStatus, Register, Role, User
from core.contracts import Contract, ContractStatus, ContractTerm, Insurer
from core.partners import Lifecycle
from core.products import ProductLine
from ledger import commissions, engine, reports
from ledger.models import JournalEntry

RATIO = 1.5
TARGET = f"same within noise: p50 ratio <= {RATIO}"
OPERATIONS = (("held", "(a) held-shares report of one firm"), ("post", "(b) post the next contract's commission"),
              ("clawback", "(c) a clawback on it"), ("scan", "    (info) the former reader of (c): a scan"))


@dataclass
class Firm:
    org_id: int
    public_id: str
    user_id: int
    insurer_id: int
    serial: int = 0


def the_firm(eng, today: date) -> Firm:
    """The measured firm, its agreement, an account manager, and the insurer with its rate."""
    with Session(eng) as s:
        org = Organisation(legal_name="Measured Firm", status=PartnerStatus.specialist_broker, country="FR",
                           zones=["FR"], communication_model=CommunicationModel.hybrid, languages=["en"],
                           lifecycle=Lifecycle.active, register=Register.orias, registration_number="19999999")
        user = User(email="manager@bench.example", full_name="Bench Manager", role=Role.account_manager)
        insurer = Insurer(code=history.INSURERS[0], name="Allianz Care")
        s.add_all([org, user, insurer])
        s.flush()
        since = today - timedelta(days=history.HISTORY_DAYS + 30)
        commissions.set_insurer_rate(s, insurer, ProductLine.family, Decimal("0.1500"), since, "bench")
        agreement = Agreement(reference="AG-BENCH-1", organisation_id=org.id, kind=AgreementKind.collaboration,
                              template_version="2026-11", language="en", status=AgreementStatus.active,
                              effective_from=since)
        agreement.rules.append(CommissionRule(product_line=ProductLine.family, first_year_rate=Decimal("0.40"),
                                              renewal_rate=Decimal("0.20"), currency="EUR", clawback_days=365))
        s.add(agreement)
        s.commit()
        return Firm(org.id, org.public_id, user.id, insurer.id)


def place(s: Session, firm: Firm, rng: random.Random, start: date) -> tuple[int, str]:
    """A one-year contract of the firm and its contract.placed event, committed: (event id, contract public id)."""
    firm.serial += 1
    premium = rng.randrange(60_000, 1_800_000)
    contract = Contract(organisation_id=firm.org_id, insurer_id=firm.insurer_id, policy_number=f"BENCH-{firm.serial:07d}",
                        product_line=ProductLine.family, premium_minor=premium, currency=history.CURRENCY,
                        start_date=start, status=ContractStatus.in_force, placed_by_id=firm.user_id)
    contract.terms.append(ContractTerm(number=1, start_date=start, end_date=start + timedelta(days=364),
                                       premium_minor=premium))
    s.add(contract)
    s.flush()
    event = events.emit(s, events.CONTRACT_PLACED, contract.public_id, start, premium_minor=premium,
                        currency=history.CURRENCY, term=1)
    s.commit()
    return event.id, contract.public_id


def firm_history(eng, firm: Firm, rng: random.Random, today: date, count: int) -> None:
    """The firm's own contracts, posted through `ledger.commissions`; every other one's share released."""
    with Session(eng) as s:
        for n in range(count):
            event_id, public_id = place(s, firm, rng, today - timedelta(days=30))
            commissions.post_event(s, s.get(events.BusinessEvent, event_id), today=today)
            if n % 2:
                contract = s.execute(select(Contract).where(Contract.public_id == public_id)).scalar_one()
                commissions.release_disclosure(s, contract, today=today, released_by="compliance@bench.example")
            s.commit()


def measure(eng, firm: Firm, rng: random.Random, today: date, runs: int, warmup: int) -> dict:
    """(a) first, while the firm's held shares are those of its history; then (b) and (c) for one new contract
    after the other."""
    samples = {name: [] for name, _label in OPERATIONS}
    with Session(eng) as s:
        held_rows = len(reports.held_shares(s, firm.public_id))
    for n in range(warmup + runs):
        with Session(eng) as s:
            timed(samples["held"] if n >= warmup else [], lambda: reports.held_shares(s, firm.public_id))
    for n in range(warmup + runs):
        with Session(eng) as s:
            event_id, public_id = place(s, firm, rng, today - timedelta(days=10))
        with Session(eng) as s:
            timed(samples["post"] if n >= warmup else [], lambda: post(s, event_id, today))
        with Session(eng) as s:
            cancel_id = events.emit(s, events.CONTRACT_CANCELLED, public_id, today, term=1).id
            s.commit()
        with Session(eng) as s:
            timed(samples["clawback"] if n >= warmup else [], lambda: post(s, cancel_id, today))
    for _n in range(max(runs // 20, 3)):
        with Session(eng) as s:
            timed(samples["scan"], lambda: former_scan(s, public_id))
    return {name: latency(values) for name, values in samples.items()} | {"held_rows": held_rows}


def post(s: Session, event_id: int, today: date) -> None:
    """What the poster does for one pending event: load it, post it, commit."""
    if commissions.post_event(s, s.get(events.BusinessEvent, event_id), today=today) is None:
        raise BenchError(f"business event {event_id} posted nothing")
    s.commit()


def former_scan(s: Session, contract: str) -> list[JournalEntry]:
    """What `commissions._term_entries` did before the key columns: every placement loaded, filtered here."""
    rows = s.execute(select(JournalEntry).where(JournalEntry.event_kind.in_(("contract.placed", "contract.renewed")),
                                                JournalEntry.reverses_id.is_(None))).scalars()
    return [e for e in rows if e.details.get("contract") == contract]


def run_size(name: str, url: str, tmp: Path, size: int, args) -> dict:
    rng, today = random.Random(args.seed), date.today()
    chart = history.make_chart(rng)
    migrate_database(tmp, url)
    eng = create_engine(url)
    try:
        history.open_books(eng, chart, today)
        load = history.load_history(url, chart, rng, 6 * size + 6_000, today)
        firm = the_firm(eng, today)
        firm_history(eng, firm, rng, today, args.firm_contracts)
        print(f"  {size:,} contracts: {load['entries']:,} entries, {load['postings']:,} postings loaded in "
              f"{load['load_s']:.1f} s; measuring ...", flush=True)
        out = measure(eng, firm, rng, today, args.runs, args.warmup)
        t0 = time.perf_counter()
        with Session(eng) as s:
            problems = engine.verify(s)
            placed = s.execute(select(func.count()).where(JournalEntry.event_kind == "contract.placed")).scalar_one()
        if problems:
            raise BenchError("engine.verify: " + "; ".join(f"{p.subject}: {p.message}" for p in problems[:5]))
        print(f"  engine.verify: no problem ({time.perf_counter() - t0:.1f} s)", flush=True)
        return {"backend": name, "size": size, "placements": placed, "load": load, **out}
    finally:
        eng.dispose()


def report(name: str, small: dict, large: dict) -> None:
    print(f"\n{name}: {small['placements']:,} vs {large['placements']:,} placed contracts in the ledger "
          f"(the firm's held shares: {small['held_rows']} and {large['held_rows']})")
    head = f"{small['size']:,} contracts"
    tail = f"{large['size']:,} contracts"
    print(f"{'operation':<44}  {head + ' p50/p99':>22}  {tail + ' p50/p99':>24}  {'p50 ratio':>9}  target")
    for key, label in OPERATIONS:
        a, b = small[key], large[key]
        ratio = b["p50_ms"] / a["p50_ms"]
        result = "-" if key == "scan" else verdict(ratio <= RATIO)
        print(f"{label:<44}  {a['p50_ms']:>9.2f} / {a['p99_ms']:>6.2f} ms  {b['p50_ms']:>11.2f} / "
              f"{b['p99_ms']:>6.2f} ms  {ratio:>9.2f}  {TARGET if key != 'scan' else '-'}  {result}")

"""Data-subject rights benchmark: the JSON export of a person, and the erasure of a person with 50 leads, 50 cases
and their consents.

One run builds a throwaway instance (temporary directory, SQLite database migrated by the real migrations, the app
in its test configuration), holds --people other clients (one lead and one case each, with a milestone note and a
consent withdrawal) and one person with --records leads and --records cases under one e-mail address (each case
with two sealed milestone notes, each consent withdrawn with a reason, audited), then measures, in this process:

  * the export of that person (compliance.privacy.export: every package's holder, the audit trail), --samples
    times (an export changes nothing but its own audit event);
  * the erasure of that person (compliance.privacy.erase, then the commit), once: it can only be done once.

Targets (issue 14): a data-subject export under 1 s; an erasure of a person with 50 leads, cases and consents under
2 s. The script reports PASS/MISS against them; it exits 0 whatever the figures, non-zero when something went
wrong (an operation raised, or the person is still found after the erasure).

    .venv/bin/python -m bench.privacy [--records 50] [--people 2000] [--samples 10] [--json PATH] [--quick]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.common import (BenchError, apply_quick, dispose, machine, make_app, migrate, print_figures,
                          quick_option, run, verdict, write_json)

EMAIL = "ana.bench@example.org"


def _firm(session, status, n):
    from core.accounts import CommunicationModel, Lifecycle, Organisation, Register, Role, User

    values = dict(legal_name=f"Bench firm {n}", status=status, country="FR", zones=["FR"],
                  communication_model=CommunicationModel.hybrid, languages=["en"], lifecycle=Lifecycle.active)
    if status.is_broker:
        values.update(register=Register.orias, registration_number=f"{10000000 + n}")
    org = Organisation(**values)
    user = User(email=f"partner{n}@bench.test", full_name=f"Partner {n}", role=Role.partner_admin, organisation=org,
                locale="en", active=True)
    session.add_all([org, user])
    session.flush()
    return user


def _hold(session, manager, introducer, broker, first, last, email, count, note):
    """`count` leads and cases of one person, as the pipeline writes them (consents, sealed notes, withdrawals)."""
    from pipeline.cases.pipeline import record_submission, withdraw_consent
    from pipeline.cases.models import Case
    from pipeline.leads.models import Lead
    from pipeline.leads.services import ConsentInput, new_consent
    from compliance.consent_receipts import ConsentMethod
    from core.accounts import CommunicationModel
    from core.db import utcnow
    from core.products import ProductLine
    from pipeline.cases.models import BudgetBand

    given = ConsentInput(share_with_broker=True, cc_on_milestones=True, text_version="2026-11",
                         given_at=utcnow() - timedelta(days=1))
    for _ in range(count):
        lead = Lead(organisation_id=introducer.organisation_id, submitted_by_id=introducer.id,
                    consent=new_consent(session, introducer, given, "en", jurisdiction="PT",
                                        method=ConsentMethod.partner_form),
                    first_name=first, last_name=last, email=email, phone="+351 912 345 678",
                    country_of_residence="PT", timeline="asap", need_category="family_relocation", language="en",
                    match_email=email, match_phone="912345678", match_name=f"{first} {last}|PT".lower())
        case = Case(organisation_id=broker.organisation_id, submitted_by_id=broker.id,
                    consent=new_consent(session, broker, given, "en", jurisdiction="AE",
                                        method=ConsentMethod.partner_form),
                    client_first_name=first, client_last_name=last, client_email=email,
                    client_phone="+351 912 345 678", adults=1, children=0, ages=[40], nationality="PT",
                    country_of_residence="AE", travel_countries=[], start_date=utcnow().date(),
                    product_line=ProductLine.individual, budget_band=BudgetBand.under_3000,
                    communication_model=CommunicationModel.broker_leads)
        session.add_all([lead, case])
        session.flush()
        record_submission(session, case, broker, partner_note=note, internal_note=f"{first} {last}, {email}")
        withdraw_consent(session, manager, case, scope="cc_on_milestones", reason=f"{first} {last} asked by phone")


def load(app, people: int, records: int) -> None:
    from core.accounts import PartnerStatus, Role, User
    from portal.extensions import db

    with app.app_context():
        session = db.session
        manager = User(email="manager@bench.test", full_name="Manager", role=Role.account_manager, locale="en",
                       active=True)
        session.add(manager)
        introducer = _firm(session, PartnerStatus.introducer, 1)
        broker = _firm(session, PartnerStatus.specialist_broker, 2)
        for n in range(people):
            _hold(session, manager, introducer, broker, f"Client{n}", f"Other{n}", f"client{n}@example.org", 1,
                  "Called the client")
            if n % 500 == 499:
                session.commit()
        _hold(session, manager, introducer, broker, "Ana", "Benchmark", EMAIL, records, "Spoke to Ana Benchmark")
        session.commit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=50, help="the person's leads and cases (each)")
    parser.add_argument("--people", type=int, default=2000, help="other clients held beside them")
    parser.add_argument("--samples", type=int, default=10, help="exports measured")
    parser.add_argument("--json", default=None, help="write the figures to this JSON file")
    quick_option(parser, people=50, samples=2)
    args = apply_quick(parser, parser.parse_args())

    instance = Path(tempfile.mkdtemp(prefix="bench-privacy-"))
    try:
        app = make_app(instance, f"sqlite:///{instance / 'bench.db'}")
        migrate(app)
        t0 = time.perf_counter()
        load(app, args.people, args.records)
        print(f"loaded {args.people} other clients and one with {args.records} leads and cases "
              f"in {time.perf_counter() - t0:.1f} s")
        from compliance import privacy
        from portal.extensions import db
        from portal.privacy import holders  # noqa: F401  (every package's holder)

        with app.app_context():
            exports = []
            for _ in range(args.samples):
                t0 = time.perf_counter()
                body = privacy.export(db.session, None, privacy.Subject(email=EMAIL))
                db.session.commit()
                exports.append(time.perf_counter() - t0)
            if len(body["packages"]["pipeline"]["cases"]) != args.records:
                raise BenchError("the export does not hold every case of the person")
            t0 = time.perf_counter()
            request = privacy.erase(db.session, None, privacy.Subject(email=EMAIL))
            db.session.commit()
            erasure = time.perf_counter() - t0
            if privacy.look_up(db.session, privacy.Subject(email=EMAIL)):
                raise BenchError("the person is still found after the erasure")
            summary = dict(request.summary)
        dispose(app)
    finally:
        shutil.rmtree(instance, ignore_errors=True)

    export_median = statistics.median(exports)
    print_figures([
        ("export of one person (median)", f"{export_median * 1000:.0f} ms", "< 1000 ms",
         verdict(export_median < 1.0)),
        ("export of one person (max)", f"{max(exports) * 1000:.0f} ms", "-", "-"),
        (f"erasure of one person ({args.records} leads, {args.records} cases, {2 * args.records} consents)",
         f"{erasure * 1000:.0f} ms", "< 2000 ms", verdict(erasure < 2.0)),
        ("records pseudonymised / keys destroyed", f"{summary['pseudonymised']} / {summary['shredded']}", "-", "-"),
    ])
    if args.json:
        write_json(args.json, {"machine": machine(), "records": args.records, "people": args.people,
                               "export_ms": [s * 1000 for s in exports], "erasure_ms": erasure * 1000,
                               "summary": summary})
    return 0


if __name__ == "__main__":
    run(main, "bench.privacy")

"""Agreement PDF benchmark: rendering and sealing the final agreement, one at a time and for the whole
partner base.

One run builds a throwaway instance (temporary directory, SQLite database made with `db.create_all()`, a
self-signed development seal certificate; the app in its test configuration) and measures, in this process:

  * render + seal of ONE final agreement -- what `agreements.operations.finalise()` does to the document:
    `rendering.render(build_document(a), audit_info(a, labels))` then `sealing.seal(...)` (PAdES B-B, no
    timestamp authority). Measured on --samples countersigned agreements after --warmup untimed ones, with
    the render-only and seal-only parts shown separately;
  * a batch of --batch agreements (default 210, the whole partner base) taken through the operations:
    prepare_agreement -> send_for_signature -> sign (partner) -> sign (broker) -> finalise, then one commit.

Agreements mix languages (en, fr, it, es, ru, uk) and kinds (specialist and generalist brokers get a
collaboration agreement, introducers an introduction agreement).

Target: median render + seal of one final agreement under 150 ms on this machine. The script reports
PASS/MISS against it; it is a benchmark, not a test, so it exits 0 whatever the figures and non-zero only
when something went wrong (setup failed, an operation raised, a sealed file did not verify).

Nothing is contacted over the network: no timestamp authority is configured and the database is a file.

    .venv/bin/python -m bench.agreements [--samples 30] [--warmup 5] [--batch 210] [--json PATH] [--quick]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gc
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path

from bench.common import (
    BenchError,
    apply_quick,
    dispose,
    make_app,
    percentile,
    print_figures,
    quick_option,
    run,
    verdict as pass_or_miss,
    write_json,
)

TARGET_MS = 150.0
TARGET_TEXT = "target: median render + seal of one final agreement < 150 ms"

# (language, partner status, country, register): every kind in every language, in turn.
LANGUAGES = ["en", "fr", "it", "es", "ru", "uk"]
STATUSES = ["specialist_broker", "introducer", "generalist_broker"]
COUNTRY = {"en": ("GB", "fca"), "fr": ("FR", "orias"), "it": ("IT", "ivass_rui"), "es": ("ES", "dgsfp"),
           "ru": ("FR", "orias"), "uk": ("FR", "other")}
BROKER_NAME, BROKER_REGISTRATION = "BIG Insurance Brokers SAS", "ORIAS 07000001"
P12_PASSWORD = b"bench-seal-password"


# --------------------------------------------------------------------------- figures


def summary(values_ms: list[float]) -> dict:
    return {"n": len(values_ms), "median_ms": statistics.median(values_ms),
            "p95_ms": percentile(sorted(values_ms), 95), "min_ms": min(values_ms), "max_ms": max(values_ms),
            "mean_ms": statistics.fmean(values_ms)}


def ms(t0: int, t1: int) -> float:
    return (t1 - t0) / 1e6


# --------------------------------------------------------------------------- firms and agreements


def make_firms(db, count: int, prefix: str):
    """`count` approved firms, each with a partner admin, cycling through languages and kinds."""
    from core.accounts import CommunicationModel, Organisation, PartnerStatus, Register, Role, User
    from core.partners import Lifecycle

    firms = []
    for i in range(count):
        lang = LANGUAGES[i % len(LANGUAGES)]
        status = PartnerStatus(STATUSES[(i // len(LANGUAGES)) % len(STATUSES)])
        country, register = COUNTRY[lang]
        org = Organisation(
            legal_name=f"{prefix} Partner {i:03d} ({lang})", status=status, country=country,
            zones=[country, "UA"] if i % 2 else [country], communication_model=list(CommunicationModel)[i % 3],
            languages=[lang], lifecycle=Lifecycle.approved,
            register=Register(register) if status.is_broker else None,
            registration_number=f"07{i:06d}" if status.is_broker else None, cc_key_communications=bool(i % 2))
        user = User(email=f"{prefix.lower()}-{i:03d}@partner.example", full_name=f"Pat Partner {i:03d}",
                    role=Role.partner_admin, organisation=org)
        db.session.add_all([org, user])
        firms.append((org, user))
    db.session.flush()
    return firms


def countersign(db, ops, broker_user, org, partner_user):
    """Take one firm's agreement to `countersigned` (ready for finalise) through the operations."""
    from agreements.models import SignerParty

    broker = ops.BrokerIdentity(BROKER_NAME, BROKER_REGISTRATION)
    a = ops.prepare_agreement(db.session, broker_user, org, effective_from=_dt.date(2026, 12, 1))
    ops.send_for_signature(db.session, broker_user, a, broker)
    ops.sign(db.session, a, partner_user, party=SignerParty.partner, typed_name=partner_user.full_name,
             shown_sha256=a.document_sha256, ip="192.0.2.10", user_agent="portal-bench/1 (partner)")
    ops.sign(db.session, a, broker_user, party=SignerParty.broker, typed_name=broker_user.full_name,
             shown_sha256=a.document_sha256, ip="192.0.2.20", user_agent="portal-bench/1 (broker)")
    return a


# --------------------------------------------------------------------------- the two measurements


def measure_single(db, ops, rendering, sealing, cfg, broker_user, firms, warmup: int) -> dict:
    """Render + seal of one final agreement, as finalise() does it, agreement after agreement."""
    agreements = [countersign(db, ops, broker_user, org, user) for org, user in firms]
    db.session.flush()
    render_ms, seal_ms, total_ms, sealed = [], [], [], []
    cold = None
    for i, a in enumerate(agreements):
        t0 = time.perf_counter_ns()
        document = ops.build_document(a)
        final = rendering.render(document, ops.audit_info(a, document.labels))
        t1 = time.perf_counter_ns()
        pdf = sealing.seal(final, cfg, reason=f"{a.reference} sealed by {a.terms['broker_name']}")
        t2 = time.perf_counter_ns()
        if i == 0:
            cold = {"render_ms": ms(t0, t1), "seal_ms": ms(t1, t2), "render_seal_ms": ms(t0, t2)}
        if i < warmup:
            continue
        render_ms.append(ms(t0, t1))
        seal_ms.append(ms(t1, t2))
        total_ms.append(ms(t0, t2))
        sealed.append((a, final, pdf))
    return {"render_seal": summary(total_ms), "render": summary(render_ms), "seal": summary(seal_ms),
            "cold_first": cold, "_sealed": sealed}


def measure_batch(db, ops, cfg, broker_user, firms) -> dict:
    """The whole partner base through the operations, one agreement after the other, then one commit."""
    from agreements.models import SignerParty

    broker = ops.BrokerIdentity(BROKER_NAME, BROKER_REGISTRATION)
    phases = {"prepare": 0, "send (render for signature)": 0, "sign partner + broker": 0,
              "finalise (render + seal)": 0, "commit": 0}
    per_agreement, done = [], []
    start = time.perf_counter_ns()
    for org, partner in firms:
        t0 = time.perf_counter_ns()
        a = ops.prepare_agreement(db.session, broker_user, org, effective_from=_dt.date(2026, 12, 1))
        t1 = time.perf_counter_ns()
        ops.send_for_signature(db.session, broker_user, a, broker)
        t2 = time.perf_counter_ns()
        ops.sign(db.session, a, partner, party=SignerParty.partner, typed_name=partner.full_name,
                 shown_sha256=a.document_sha256, ip="192.0.2.10", user_agent="portal-bench/1 (partner)")
        ops.sign(db.session, a, broker_user, party=SignerParty.broker, typed_name=broker_user.full_name,
                 shown_sha256=a.document_sha256, ip="192.0.2.20", user_agent="portal-bench/1 (broker)")
        t3 = time.perf_counter_ns()
        ops.finalise(db.session, a, cfg)
        t4 = time.perf_counter_ns()
        phases["prepare"] += t1 - t0
        phases["send (render for signature)"] += t2 - t1
        phases["sign partner + broker"] += t3 - t2
        phases["finalise (render + seal)"] += t4 - t3
        per_agreement.append(ms(t0, t4))
        done.append(a)
    t5 = time.perf_counter_ns()
    db.session.commit()
    end = time.perf_counter_ns()
    phases["commit"] += end - t5
    total_s = (end - start) / 1e9
    return {"agreements": len(done), "total_s": total_s, "per_agreement_ms": total_s * 1000 / len(done),
            "per_agreement": summary(per_agreement),
            "phases_ms_per_agreement": {k: v / 1e6 / len(done) for k, v in phases.items()},
            "_done": done}


# --------------------------------------------------------------------------- checks (untimed)


def check_outputs(single: dict, batch: dict, pem: bytes, tmp: Path, rendering, ops) -> dict:
    """The figures mean nothing if the files are wrong: every sealed file must verify, rendering must be
    deterministic, and poppler's pdfsig (when installed) must accept one file of each kind."""
    from agreements.models import AgreementStatus
    from agreements.sealing import check_seal

    checked = 0
    for a, _final, pdf in single["_sealed"]:
        result = check_seal(pdf, pem)
        if not (result.intact and result.ours):
            raise BenchError(f"sealed sample {a.reference} does not verify: {result.detail}")
        checked += 1
    for a in batch["_done"]:
        if a.status is not AgreementStatus.active or not a.sealed_pdf:
            raise BenchError(f"{a.reference} is {a.status.value} after finalise")
        result = check_seal(a.sealed_pdf, pem)
        if not (result.intact and result.ours):
            raise BenchError(f"batch agreement {a.reference} does not verify: {result.detail}")
        checked += 1

    a, final, _pdf = single["_sealed"][0]
    document = ops.build_document(a)
    if rendering.render(document, ops.audit_info(a, document.labels)) != final:
        raise BenchError(f"rendering {a.reference} twice gave different bytes")

    pdfsig = shutil.which("pdfsig")
    pdfsig_checked = []
    if pdfsig:
        seen = set()
        for a in batch["_done"]:
            key = (a.kind.value, a.language)
            if key in seen:
                continue
            seen.add(key)
            path = tmp / f"{a.reference}.pdf"
            path.write_bytes(a.sealed_pdf)
            out = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, timeout=60).stdout
            if "Signature is Valid." not in out or "Total document signed" not in out:
                raise BenchError(f"pdfsig does not accept {a.reference} ({a.kind.value}, {a.language}):\n{out}")
            pdfsig_checked.append(f"{a.kind.value}/{a.language}")
    return {"sealed_files_verified": checked, "deterministic_render": True,
            "pdfsig": sorted(pdfsig_checked) if pdfsig else "not installed"}


# --------------------------------------------------------------------------- report


def report(single: dict, batch: dict, checks: dict, args, mix: dict) -> dict:
    rs, r, s = single["render_seal"], single["render"], single["seal"]
    verdict = pass_or_miss(rs["median_ms"] < TARGET_MS)
    rows = [
        ("render + seal, median (one final agreement)", f"{rs['median_ms']:.1f} ms", f"< {TARGET_MS:.0f} ms", verdict),
        ("render + seal, p95", f"{rs['p95_ms']:.1f} ms", "-", ""),
        ("render only (build_document + audit page + render), median", f"{r['median_ms']:.1f} ms", "-", ""),
        ("seal only (PAdES B-B), median", f"{s['median_ms']:.1f} ms", "-", ""),
        ("render + seal, first in process (cold, not counted)", f"{single['cold_first']['render_seal_ms']:.1f} ms",
         "-", ""),
        (f"batch of {batch['agreements']}: prepare -> send -> sign x2 -> finalise, total",
         f"{batch['total_s']:.2f} s", "-", ""),
        (f"batch of {batch['agreements']}: per agreement", f"{batch['per_agreement_ms']:.1f} ms", "-", ""),
    ]
    print()
    print_figures(rows)
    print()
    print(f"render + seal over {rs['n']} agreements after {args.warmup} warm-up: median {rs['median_ms']:.1f}, "
          f"p95 {rs['p95_ms']:.1f}, min {rs['min_ms']:.1f}, max {rs['max_ms']:.1f} ms "
          f"(render {r['median_ms']:.1f} / p95 {r['p95_ms']:.1f}; seal {s['median_ms']:.1f} / p95 {s['p95_ms']:.1f})")
    print("batch, per agreement by phase: " + ", ".join(
        f"{k} {v:.1f} ms" for k, v in batch["phases_ms_per_agreement"].items()))
    print(f"batch, per agreement: median {batch['per_agreement']['median_ms']:.1f}, "
          f"p95 {batch['per_agreement']['p95_ms']:.1f} ms")
    print(f"mix: {mix}")
    print(f"checks: {checks['sealed_files_verified']} sealed files verified (pyHanko, seal certificate as trust "
          f"root); rendering deterministic; pdfsig: {checks['pdfsig']}")
    print()
    print(TARGET_TEXT)
    print(f"  {verdict}: median render + seal {rs['median_ms']:.1f} ms")
    print(f"\n({os.cpu_count()} CPUs, Python {platform.python_version()}, reportlab {_version('reportlab')}, "
          f"pyHanko {_version('pyHanko')}; SQLite; no timestamp authority; single process, single thread)")

    def clean(d: dict) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else clean(v) if isinstance(v, dict) else v)
                for k, v in d.items() if not k.startswith("_")}

    return {
        "benchmark": "bench/agreements.py",
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "reportlab": _version("reportlab"), "pyhanko": _version("pyHanko")},
        "settings": {"samples": args.samples, "warmup": args.warmup, "batch": args.batch,
                     "database": "sqlite (temporary file)", "seal": "PAdES B-B, self-signed RSA-2048, no TSA"},
        "target": {"text": TARGET_TEXT, "max_median_ms": TARGET_MS, "verdict": verdict},
        "single": clean(single),
        "batch": clean(batch),
        "mix": mix,
        "checks": checks,
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=30, help="timed render + seal samples (default 30)")
    p.add_argument("--warmup", type=int, default=5, help="untimed agreements before the samples (default 5)")
    p.add_argument("--batch", type=int, default=210, help="agreements in the batch (default 210)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    quick_option(p, samples=3, warmup=1, batch=6)
    args = apply_quick(p, p.parse_args(argv))
    if not (1 <= args.samples <= 1000 and 0 <= args.warmup <= 100 and 1 <= args.batch <= 5000):
        p.error("--samples must be in [1, 1000], --warmup in [0, 100], --batch in [1, 5000]")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-agreements-"))
    try:
        print(f"instance: {tmp}", flush=True)
        app = make_app(tmp, f"sqlite:///{tmp / 'bench.db'}", SEAL_P12_PATH=str(tmp / "seal.p12"),
                       SEAL_P12_PASSWORD=P12_PASSWORD.decode())
        from portal.extensions import db

        with app.app_context():
            import core.outbox
            from agreements import operations as ops, rendering, sealing
            from agreements.certificates import certificate_pem, ensure_dev_certificate
            from core.accounts import Role, User

            # The portal registers the real seal job; here finalise() is called directly, the queued job
            # only has to be a known name.
            core.outbox.JOBS.setdefault(ops.SEAL_JOB, lambda session, **payload: None)
            db.create_all()
            p12 = ensure_dev_certificate(app.config["SEAL_P12_PATH"], P12_PASSWORD)
            cfg = sealing.SealConfig(str(p12), P12_PASSWORD, tsa_url=None)
            pem = certificate_pem(p12, P12_PASSWORD)

            broker_user = User(email="bea.broker@broker.example", full_name="Bea Broker", role=Role.admin)
            db.session.add(broker_user)
            single_firms = make_firms(db, args.warmup + args.samples, "Sample")
            batch_firms = make_firms(db, args.batch, "Batch")
            db.session.commit()
            gc.collect()

            print(f"render + seal: {args.warmup} warm-up + {args.samples} timed agreements ...", flush=True)
            single = measure_single(db, ops, rendering, sealing, cfg, broker_user, single_firms, args.warmup)
            db.session.commit()
            gc.collect()

            print(f"batch: {args.batch} agreements through the operations ...", flush=True)
            batch = measure_batch(db, ops, cfg, broker_user, batch_firms)

            mix: dict[str, int] = {}
            for a in batch["_done"]:
                key = f"{a.kind.value}/{a.language}"
                mix[key] = mix.get(key, 0) + 1
            mix = dict(sorted(mix.items()))
            print("checking the sealed files ...", flush=True)
            checks = check_outputs(single, batch, pem, tmp, rendering, ops)
            figures = report(single, batch, checks, args, mix)
        dispose(app)
        if args.json:
            write_json(args.json, figures)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run(main, "bench.agreements")

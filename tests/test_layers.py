"""The layers of DESIGN.md §3 hold: `portal` on top, the domain packages importing one way, `core` at the bottom,
and no Flask below the web layer (import-linter's contracts in pyproject.toml)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_the_ledger_loads_no_pdf_machinery():
    """The worker that posts commissions imports the ledger; rendering and sealing agreements is not its job."""
    probe = ("import sys, ledger.commissions, ledger.payouts, ledger.posting; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyhanko', 'reportlab')))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"

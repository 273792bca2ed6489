"""The set-up a fresh clone relies on: warnings policy, the lock, and the README's promises."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run_pytest_with_our_settings(tmp_path: Path, test_body: str, module_name: str) -> subprocess.CompletedProcess:
    """Runs a throwaway test file under this project's pytest settings (pyproject.toml), in a subprocess."""
    package = tmp_path / module_name.split(".")[0]
    package.mkdir()
    (package / "__init__.py").write_text("")
    (tmp_path / "test_probe.py").write_text(textwrap.dedent(test_body))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
         "-p", "no:cacheprovider", str(tmp_path / "test_probe.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_a_dependency_warning_at_import_does_not_break_collection(tmp_path):
    # what cryptography 51 did to pyHanko: a deprecation raised while a third-party package imports
    (tmp_path / "thirdparty_lib.py").write_text(
        "import warnings\nwarnings.warn('DSA is deprecated', DeprecationWarning, stacklevel=2)\n")
    done = _run_pytest_with_our_settings(tmp_path, """
        import thirdparty_lib  # noqa: F401

        def test_runs():
            assert True
    """, "other_vendor.x")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout and "DSA is deprecated" in done.stdout


def test_a_warning_from_our_own_code_still_fails(tmp_path):
    done = _run_pytest_with_our_settings(tmp_path, """
        import warnings

        def test_warns():
            warnings.warn_explicit("old call", DeprecationWarning, "ledger/engine.py", 1, module="ledger.engine")
    """, "probe.x")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout and "old call" in done.stdout


def _public_url_under_make_run(*make_args: str, **env: str) -> str:
    """What PUBLIC_URL the portal gets under `make run ...`: the probe stands in for `flask` and stops make at its
    first command, so nothing is served."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_URL", "FLASK_RUN_PORT", "FLASK_RUN_HOST")}
    done = subprocess.run(["make", "-s", "run", *make_args, f"FLASK={sys.executable} tests/public_url_probe.py"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env={**environ, **env})
    lines = [line for line in done.stdout.splitlines() if line.startswith("PUBLIC_URL=")]
    assert lines, done.stdout + done.stderr
    return lines[0].removeprefix("PUBLIC_URL=")


def test_make_run_on_another_port_puts_that_port_in_emailed_links():
    assert _public_url_under_make_run("PORT=5077") == "http://127.0.0.1:5077"
    assert _public_url_under_make_run() == "http://127.0.0.1:5000"


def test_an_explicit_public_url_wins():
    assert _public_url_under_make_run("PORT=5077", PUBLIC_URL="https://portal.example.org") == \
        "https://portal.example.org"

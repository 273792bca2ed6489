"""The set-up a fresh clone relies on: warnings policy, the lock, and the README's promises."""
from __future__ import annotations

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

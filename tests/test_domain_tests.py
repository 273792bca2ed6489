"""The domain packages are tested without Flask, as they run: the test folders of the Flask-free packages (the
import contract "the domain is Flask-free" in pyproject.toml) import neither Flask nor the portal, and their tests
run without an application context unless they ask for the `app` fixture (tests/domain.py)."""
from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pytest

from tests import domain

ROOT = Path(__file__).resolve().parent.parent


def flask_free_contract() -> dict:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    [contract] = [c for c in contracts if c["name"] == "the domain is Flask-free"]
    return contract


DOMAIN = flask_free_contract()["source_modules"]
# what the packages may not import, nor their tests; nor may those tests reach it through the web tests
FORBIDDEN = flask_free_contract()["forbidden_modules"] + ["flask_migrate", "tests.portal", "tests.e2e"]


def imported_modules(source: str) -> list[str]:
    """Every module a file imports, at any depth (function bodies included)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module)
    return names


def forbidden_imports(source: str) -> list[str]:
    return [name for name in imported_modules(source)
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)]


def test_the_test_folder_of_every_flask_free_package_runs_its_tests_without_flask():
    assert {"agreements", "compliance", "core", "ledger", "pipeline"} <= set(DOMAIN)
    for package in DOMAIN:
        conftest = importlib.import_module(f"tests.{package}.conftest")
        for name in domain.__all__:  # the plain session, the app for the tests that ask, the check
            assert getattr(conftest, name) is getattr(domain, name), f"tests/{package}/conftest.py lacks {name}"


@pytest.mark.parametrize("package", DOMAIN)
def test_no_domain_test_imports_flask_or_the_portal(package):
    found = {str(path.relative_to(ROOT)): bad for path in sorted((ROOT / "tests" / package).rglob("*.py"))
             if (bad := forbidden_imports(path.read_text(encoding="utf-8")))}
    assert found == {}


def test_the_import_check_sees_imports_anywhere_in_a_file():
    source = ("import json\nfrom core.db import utcnow\n\ndef test_x():\n    from portal.extensions import db\n"
              "    import flask_migrate\n    from tests.portal.test_cases import CASE\n")
    assert forbidden_imports(source) == ["portal.extensions", "flask_migrate", "tests.portal.test_cases"]


class _Item:
    nodeid = "tests/ledger/test_example.py::test_example"

    def __init__(self, *fixturenames):
        self.fixturenames = list(fixturenames)


def test_a_domain_test_that_finds_an_application_context_fails_unless_it_asked_for_the_app(backend):
    app = backend[2]
    domain.refuse_app_context(_Item("session"), "when starting")  # no context: nothing to say
    with app.app_context():
        with pytest.raises(pytest.fail.Exception, match="application context is active when starting"):
            domain.refuse_app_context(_Item("session"), "when starting")
        domain.refuse_app_context(_Item("session", "app"), "when starting")  # it asked for the app

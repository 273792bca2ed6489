"""Every action the code records in the audit log has a translated label (core/audit_labels.py), found by reading
the sources: a new `audit.record(session, "x.y", ...)` without a label fails here, not on the compliance
officer's screen."""
import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from core.accounts import LANGUAGES
from core.audit_labels import ACTION_LABELS, SUBJECT_LABELS

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "compliance", "agreements", "ledger", "pipeline", "funnel", "portal")


def _is_audit_record(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr == "record" and isinstance(func.value, ast.Name)
            and func.value.id == "audit")


def _values(node, assignments) -> list[str | re.Pattern] | None:
    """The actions an argument can be: literal strings, both sides of `a if c else b`, an f-string as a pattern,
    a local name assigned one of those; None when it cannot be read statically."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _values(node.body, assignments), _values(node.orelse, assignments)
        return None if body is None or orelse is None else body + orelse
    if isinstance(node, ast.JoinedStr):
        parts = [re.escape(v.value) if isinstance(v, ast.Constant) else r"[a-z_]+" for v in node.values]
        return [re.compile("".join(parts))]
    if isinstance(node, ast.Name) and node.id in assignments:
        found = [_values(value, {}) for value in assignments[node.id]]
        return None if any(f is None for f in found) else [v for f in found for v in f]
    return None


def recorded_actions() -> tuple[list[tuple[str, str | re.Pattern]], list[str]]:
    """(where, action) for every audit.record call in the application's code; the calls that cannot be read."""
    return scan_calls(_is_audit_record)


def scan_calls(matches) -> tuple[list[tuple[str, str | re.Pattern]], list[str]]:
    """(where, value) of the second argument of every call `matches(call)` accepts in the application's code
    (literals, both sides of `a if c else b`, a local name assigned those); the calls that cannot be read."""
    found, unreadable = [], []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for scope in ast.walk(tree):
                if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
                    continue
                assignments: dict[str, list] = {}
                for node in ast.walk(scope):
                    if isinstance(node, ast.Assign):
                        for target in node.targets:
                            if isinstance(target, ast.Name):
                                assignments.setdefault(target.id, []).append(node.value)
                for node in ast.walk(scope):
                    if not isinstance(node, ast.Call) or not matches(node) or len(node.args) < 2:
                        continue
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    values = _values(node.args[1], assignments)
                    if values is None:
                        unreadable.append(where)
                    else:
                        found += [(where, v) for v in values]
    return sorted(set(found), key=str), sorted(set(unreadable))


def test_the_scan_finds_the_application_s_audit_records():
    found, _unreadable = recorded_actions()
    actions = {a for _, a in found if isinstance(a, str)}
    assert {"case.moved", "auth.login", "subscription.active", "organisation.status_approved",
            "organisation.status_rejected", "organisation.updated", "organisation.status_changed"} <= actions
    assert any(isinstance(a, re.Pattern) and a.fullmatch("agreement.signed_partner") for _, a in found)
    assert len(actions) > 70


def test_every_recorded_action_has_a_label():
    found, unreadable = recorded_actions()
    assert unreadable == [], "audit.record with an action the scan cannot read: use a literal (or a if c else b)"
    missing = [f"{where}: {action}" for where, action in found
               if (action not in ACTION_LABELS if isinstance(action, str)
                   else not any(action.fullmatch(known) for known in ACTION_LABELS))]
    assert missing == [], "add these actions to core/audit_labels.py ACTION_LABELS"


def test_the_signature_actions_have_a_label_per_party():
    from agreements.models import SignerParty

    assert {f"agreement.signed_{party.value}" for party in SignerParty} <= set(ACTION_LABELS)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_label_is_translated(lang):
    with open(ROOT / "portal" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale=lang)
    labels = set(ACTION_LABELS.values()) | set(SUBJECT_LABELS.values())
    missing = sorted(m for m in labels if not (catalog.get(m) and catalog.get(m).string
                                               and "fuzzy" not in catalog.get(m).flags))
    assert missing == []


def test_no_two_actions_read_alike():
    assert len(set(ACTION_LABELS.values())) == len(ACTION_LABELS)

"""One place maps each value a person reads to its label (portal/labels.py over the enums' own labels, audit
actions in core/audit_labels.py): every enum stored in a column has labels for all its values, or says why no one
reads it; every label is translated in all six catalogs."""
import ast
import importlib
import pkgutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po

from core.accounts import LANGUAGES
from core.audit_labels import ACTION_LABELS, SUBJECT_LABELS
from core.db import Base
from core.outbox import JOBS, OUTBOX_TEMPLATE_LABELS
from pipeline.leads.services import URGENCIES, URGENCY_LABELS
from portal.finance.account_names import ACCOUNT_LABELS
from portal.labels import LABELLED, UNSHOWN
from tests.core.test_audit_labels import _values

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "compliance", "agreements", "ledger", "pipeline", "funnel", "portal")


def _name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


@pytest.fixture(scope="module")
def column_enums() -> dict[str, list[str]]:
    """enum class name -> the columns storing it, over every model of the application."""
    for package in PACKAGES:  # every model module imported, so the registry holds every mapper
        for module in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
            if not module.name.startswith("portal.cli"):
                importlib.import_module(module.name)
    found: dict[str, list[str]] = {}
    for mapper in Base.registry.mappers:
        for column in mapper.columns:
            if isinstance(column.type, sa.Enum) and column.type.enum_class is not None:
                found.setdefault(_name(column.type.enum_class), []).append(f"{mapper.class_.__name__}.{column.key}")
    return found


def test_every_enum_stored_in_a_column_has_labels_or_a_reason(column_enums):
    assert {"pipeline.cases.models.CaseStatus", "pipeline.leads.models.LeadStatus",
            "funnel.models.SubscriptionState"} <= set(column_enums)
    labelled = {_name(kind) for kind in LABELLED}
    missing = {name: columns for name, columns in column_enums.items() if name not in labelled | set(UNSHOWN)}
    assert missing == {}, "label these enums (a `label` property) and list them in portal/labels.py LABELLED"
    assert set(UNSHOWN) <= set(column_enums), "UNSHOWN names an enum no column stores any more"
    assert not set(UNSHOWN) & labelled


def test_every_stage_and_status_column_reads_as_words(column_enums):
    labelled = {_name(kind) for kind in LABELLED}
    for name, columns in column_enums.items():
        if any(word in column.rsplit(".", 1)[1] for column in columns for word in ("status", "stage", "state")):
            assert name in labelled, f"{name} ({columns}) is a stage or status people read"


@pytest.mark.parametrize("kind", LABELLED, ids=_name)
def test_every_value_of_a_labelled_enum_has_a_label(kind):
    labels = {member: member.label for member in kind}
    assert all(isinstance(label, str) and label.strip() for label in labels.values()), labels
    assert len(set(labels.values())) == len(labels), f"two values of {kind.__name__} read alike"


def _enqueued_templates() -> set[str]:
    """Every template name passed to core.outbox.enqueue_mail in the application's code."""
    names = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for scope in ast.walk(tree):
                if not isinstance(scope, (ast.FunctionDef, ast.Module)):
                    continue
                assignments: dict[str, list] = {}
                for node in ast.walk(scope):
                    if isinstance(node, ast.Assign):
                        for target in node.targets:
                            if isinstance(target, ast.Name):
                                assignments.setdefault(target.id, []).append(node.value)
                for node in ast.walk(scope):
                    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                            and node.func.id == "enqueue_mail" and len(node.args) >= 2):
                        values = _values(node.args[1], assignments)
                        assert values is not None, f"{path}:{node.lineno}: a template name the scan cannot read"
                        names.update(v for v in values if isinstance(v, str))
    return names


def test_every_outbox_template_and_job_has_a_label(app):
    templates = _enqueued_templates()
    assert {"milestone_client", "milestone_partner", "milestone_introducer"} <= templates
    assert set(JOBS) and (templates | set(JOBS)) <= set(OUTBOX_TEMPLATE_LABELS)


def test_every_urgency_has_a_label():
    assert set(URGENCY_LABELS) == set(URGENCIES)


def all_label_msgids() -> set[str]:
    msgids = {member.label for kind in LABELLED for member in kind}
    for table in (ACTION_LABELS, SUBJECT_LABELS, URGENCY_LABELS, OUTBOX_TEMPLATE_LABELS, ACCOUNT_LABELS):
        msgids |= set(table.values())
    return msgids


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_label_is_translated_in_every_catalog(lang):
    with open(ROOT / "portal" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale=lang)
    missing = sorted(m for m in all_label_msgids() if not (catalog.get(m) and catalog.get(m).string
                                                           and "fuzzy" not in catalog.get(m).flags))
    assert missing == [], f"{lang}: {missing}"


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_labels_are_translated_not_copied(lang):
    """A label left in English in another catalog reads as a code to that reader (proper names aside)."""
    with open(ROOT / "portal" / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale=lang)
    same = sorted(m for m in all_label_msgids() if catalog.get(m) and catalog.get(m).string == m)
    assert len(same) <= len(SAME_IN_EVERY_LANGUAGE), f"{lang}: {same}"


#: labels that read the same in every language (acronyms, names)
SAME_IN_EVERY_LANGUAGE = ("ORIAS", "FCA", "IVASS (RUI)", "DGSFP", "V.I.E", "V.I.A", "SEPA", "API", "VIE", "VIA", "PDF",
                          "SME", "E-mail")

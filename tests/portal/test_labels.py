"""One place maps each value a person reads to its label (portal/labels.py over the enums' own labels, audit
actions in core/audit_labels.py): every enum stored in a column has labels for all its values, or says why no one
reads it; every label is translated in all six catalogs."""
import ast
import importlib
import pkgutil

import pytest
import sqlalchemy as sa

from core.accounts import LANGUAGES
from core.audit_labels import ACTION_LABELS, SUBJECT_LABELS
from core.db import Base
from core.outbox import JOBS, OUTBOX_TEMPLATE_LABELS
from pipeline.leads.services import URGENCIES, URGENCY_LABELS
from portal.finance.account_names import ACCOUNT_LABELS
from portal.labels import CAMPAIGN_MAIL, LABELLED, UNSHOWN
from tests.core.test_audit_labels import scan_calls
from tests.portal.test_i18n import read_catalog, untranslated

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
    found, unreadable = scan_calls(lambda call: isinstance(call.func, ast.Name) and call.func.id == "enqueue_mail")
    # the campaign names its templates by step (campaign/<step>.<language>): one label for them all (CAMPAIGN_MAIL)
    unreadable = [where for where in unreadable if not where.startswith("funnel/campaigns.py:")]
    assert unreadable == [], "enqueue_mail with a template name the scan cannot read"
    return {name for _where, name in found if isinstance(name, str)}


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
    msgids.add(CAMPAIGN_MAIL)
    return msgids


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_label_is_translated_in_every_catalog(lang):
    missing = untranslated(read_catalog(lang), all_label_msgids())
    assert missing == [], f"{lang}: {missing}"


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_labels_are_translated_not_copied(lang):
    """A label left in English in another catalog reads as a code to that reader (proper names aside)."""
    catalog = read_catalog(lang)
    same = sorted(m for m in all_label_msgids() if catalog.get(m) and catalog.get(m).string == m)
    assert len(same) <= len(SAME_IN_EVERY_LANGUAGE), f"{lang}: {same}"


#: labels that read the same in every language (acronyms, names)
SAME_IN_EVERY_LANGUAGE = ("ORIAS", "FCA", "IVASS (RUI)", "DGSFP", "V.I.E", "V.I.A", "SEPA", "API", "VIE", "VIA", "PDF",
                          "SME", "E-mail")

"""The 2027-01 templates carry the clauses a compliance officer asked for (adviser of record, underwriting data only
through the secure channel, confidentiality, GDPR bases, transfers and retention, renewal commission after the end,
law and forum, liability, audit, host-state rules; for introducers: the fee where local law permits it, immediate
termination, "repaid pro rata" defined, evidence of disclosure) in all six languages, while an agreement signed
under an earlier version keeps it word for word."""
from __future__ import annotations

import re

import pytest

from agreements import operations, templates
from agreements.sealing import check_seal
from core.accounts import CommunicationModel, PartnerStatus
from tests.agreements.conftest import BROKER
from tests.agreements.pdftools import pages_text, squash

VERSION = "2027-01"
LANGUAGES = ["en", "fr", "it", "es", "ru", "uk"]
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _text(agreement) -> str:
    return squash(" ".join(pages_text(operations.render_for_review(agreement, BROKER))))


def _shape(kind: str, language: str) -> tuple:
    raw = templates.load(kind, VERSION, language)
    labels = sorted(templates.template_labels(kind, VERSION, language))
    headings = [line for line in raw.splitlines() if line.startswith("# ")]
    return (sorted(set(PLACEHOLDER.findall(raw))), labels, len(headings), raw.count("@schedule"),
            [h.split(".")[0] for h in headings])


@pytest.mark.parametrize("kind", ["collaboration", "introduction"])
def test_every_language_has_the_same_clauses_labels_and_placeholders(kind):
    assert templates.latest_version(kind) == VERSION
    assert templates.languages_for(kind, VERSION) == sorted(LANGUAGES)
    english = _shape(kind, "en")
    for language in LANGUAGES[1:]:
        assert _shape(kind, language) == english, language


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_collaboration_agreement_names_the_adviser_and_the_new_clauses(flow, language):
    for status, adviser in ((PartnerStatus.specialist_broker, "adviser_specialist_broker"),
                            (PartnerStatus.generalist_broker, "adviser_generalist_broker")):
        agreement = flow.prepare(flow.firm(status, languages=[language]).org)
        assert (agreement.template_version, agreement.language) == (VERSION, language)
        text = _text(agreement)
        named = templates.template_labels("collaboration", VERSION, language)[adviser]
        assert squash(named) in text
        for reference in ("9", "45", "46", "49", "2016/97"):
            assert reference in text
        assert len([line for line in templates.load("collaboration", VERSION, language).splitlines()
                    if line.startswith("# ")]) == 13
        if language != "en":
            assert "clawback" not in text.lower(), "no English left in a translated agreement"


def test_the_english_collaboration_agreement_reads_as_reviewed(flow):
    text = _text(flow.prepare(flow.firm(PartnerStatus.generalist_broker).org))
    for phrase in ("is given by the Broker", "adviser of record", "only through the Broker's secure channel",
                   "# 7. Confidentiality"[2:], "supervisory authority or a court requires it", "art. 9(2)(a)",
                   "standard contractual clauses", "ninety days after the case closes",
                   "Renewal commission after termination", "loses that licence", "governed by French law",
                   "courts of Paris", "Liability", "Records and audit", "rules of general good"):
        assert squash(phrase) in text, phrase


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_introduction_agreement_limits_the_model_and_defines_the_fee(flow, language):
    firm = flow.firm(PartnerStatus.introducer, languages=[language],
                     communication_model=CommunicationModel.hybrid)
    agreement = flow.prepare(firm.org)
    assert (agreement.template_version, agreement.language) == (VERSION, language)
    text = _text(agreement)
    own = templates.template_labels("introduction", VERSION, language)
    shared = templates.load_labels(language)
    assert squash(own["model_hybrid"]) in text and squash(shared["model_hybrid"]) not in text
    assert squash(own["col_fee"]) in text, "one name for the fee, in the schedule too"
    assert squash(own["cc_yes"]) in text
    if language != "en":
        assert "clawback" not in text.lower()


def test_the_english_introduction_agreement_reads_as_reviewed(flow):
    text = _text(flow.prepare(flow.firm(PartnerStatus.introducer).org))
    for phrase in ("it never leads the communication on insurance matters",
                   "Where the law of the Introducer's country and of the client's country of residence permits it",
                   "\"repaid pro rata\" means", "keeps evidence of this disclosure",
                   "immediately for a breach of clause 2 (role limits), clause 4 (data protection) or clause 5",
                   "prohibits the Introducer from the activity", "Confidentiality", "courts of Paris"):
        assert squash(phrase) in text, phrase
    assert squash("the Partner leads") not in text


def test_the_french_introduction_agreement_has_the_reviewers_fixes(flow):
    text = _text(flow.prepare(flow.firm(PartnerStatus.introducer, languages=["fr"]).org))
    assert squash("présenté par") not in text and "clawback" not in text
    assert squash("s'acquitte de ses propres obligations d'information") in text
    assert squash("client que l'Apporteur d'affaires a mis en relation avec le Courtier") in text
    assert squash("Commission forfaitaire") not in text and squash("Commission d'apport par contrat") in text


def test_an_agreement_signed_under_2026_12_keeps_it_and_its_successor_takes_2027_01(flow):
    firm = flow.firm(PartnerStatus.specialist_broker)
    earlier = flow.activate(firm, template_version="2026-12")  # prepared before the 2027-01 templates existed
    sealed = squash(" ".join(pages_text(earlier.sealed_pdf)))
    assert earlier.template_version == "2026-12" and check_seal(earlier.sealed_pdf, flow.seal.pem).intact
    assert "Confidentiality" not in sealed and squash("adviser of record") not in sealed
    assert squash("Advice: given by the party identified above") in sealed

    successor = flow.activate(firm)
    assert successor.template_version == VERSION and earlier.template_version == "2026-12"
    assert check_seal(successor.sealed_pdf, flow.seal.pem).intact
    assert squash("adviser of record") in squash(" ".join(pages_text(successor.sealed_pdf)))

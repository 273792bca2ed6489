"""The sealed agreement is a PAdES-signed PDF that independent tools accept (pyHanko and poppler's pdfsig),
that any change makes invalid, and that says in readable text who agreed to what, and who signed it how."""
from __future__ import annotations

import hashlib
import io
import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from agreements.certificates import make_self_signed
from agreements.sealing import check_seal
from core.accounts import PartnerStatus, Register
from tests.agreements.conftest import BROKER, BROKER_IP, PARTNER_IP
from tests.agreements.pdftools import pages_text, squash, tamper_content_stream
from tests.system_tools import system_tool

TEMPLATES = Path(__file__).resolve().parents[2] / "agreements" / "templates"
VALID = "Signature Validation: Signature is Valid."
WHOLE = "- Total document signed"


@pytest.fixture(scope="session")
def pdfsig():
    """Runs poppler's pdfsig on PDF bytes and returns its report. pdfsig exits 0 even for a broken signature,
    so callers read the report."""
    program = system_tool("pdfsig", "poppler-utils", "the independent check of the PDF seal")

    def run(pdf: bytes, tmp_path: Path, name: str = "agreement.pdf") -> str:
        path = tmp_path / name
        path.write_bytes(pdf)
        # -nocert: the development seal is self-signed; the signature itself is what is checked here.
        done = subprocess.run([program, "-nocert", str(path)], capture_output=True, text=True, timeout=60)
        return done.stdout + done.stderr

    return run


# --- validation ---------------------------------------------------------------------------------------------

def test_the_sealed_pdf_is_valid_for_pyhanko_and_poppler(active_agreement, seal, pdfsig, tmp_path):
    agreement, _firm = active_agreement()
    check = check_seal(agreement.sealed_pdf, seal.pem)
    assert check.intact and check.ours, check.detail
    report = pdfsig(agreement.sealed_pdf, tmp_path)
    assert VALID in report, report
    assert WHOLE in report, report
    assert "Signature Field Name: BrokerSeal" in report and "Signature #2" not in report, report
    assert "Signing Hash Algorithm: SHA-256" in report, report


def test_a_copy_with_one_changed_byte_fails_both_checks(active_agreement, seal, pdfsig, tmp_path):
    agreement, _firm = active_agreement()
    tampered = tamper_content_stream(agreement.sealed_pdf)
    assert len(tampered) == len(agreement.sealed_pdf) and tampered != agreement.sealed_pdf
    assert not check_seal(tampered, seal.pem).intact
    report = pdfsig(tampered, tmp_path, "tampered.pdf")
    assert VALID not in report, report
    assert "Digest Mismatch" in report, report


def test_a_copy_with_bytes_appended_is_no_longer_wholly_sealed(active_agreement, seal, pdfsig, tmp_path):
    agreement, _firm = active_agreement()
    extended = agreement.sealed_pdf + b"\n% appended after sealing\n"
    assert not check_seal(extended, seal.pem).intact
    report = pdfsig(extended, tmp_path, "extended.pdf")
    assert WHOLE not in report, report
    assert "Not total document signed" in report, report


def test_a_seal_is_ours_only_for_our_certificate(active_agreement, seal):
    agreement, _firm = active_agreement()
    from cryptography.hazmat.primitives import serialization

    _key, other = make_self_signed("Someone else's seal")
    check = check_seal(agreement.sealed_pdf, other.public_bytes(serialization.Encoding.PEM))
    assert check.intact, check.detail  # the file itself is untouched…
    assert not check.ours  # …but it does not carry that certificate's seal


# --- what the document says ---------------------------------------------------------------------------------

def test_the_sealed_pdf_names_the_parties_the_schedule_and_the_signatures(flow):
    firm = flow.firm(PartnerStatus.specialist_broker, legal_name="Azur Expat Courtage SARL",
                     register=Register.orias, registration_number="07012345", signer_name="Pat Partner")
    agreement = flow.activate(firm, partner_typed_name="pat  partner")
    pages = pages_text(agreement.sealed_pdf)
    text = squash("\n".join(pages))

    assert squash("Broker-to-broker collaboration agreement") in text
    assert agreement.reference in text
    # The parties, as registered
    for party in (BROKER.name, BROKER.registration, "Azur Expat Courtage SARL", "ORIAS no. 07012345"):
        assert squash(party) in text, party
    # The schedule: one row per product line (the draft's default rates), cells in order
    for product in ("Individual", "Family", "SME", "Corporate"):
        assert squash(f"{product} 30% 15% — 365 days 30 days") in text, product

    audit = squash(pages[-1])
    assert squash("Signature audit trail") in audit
    shown = hashlib.sha256(agreement.document_pdf).hexdigest()
    assert agreement.document_sha256 == shown
    assert audit.count(shown) == 3  # the document, and what each signer was shown
    assert "patpartner" in audit  # the partner's name as typed (whitespace normalised)
    assert squash(f"Pat Partner <{firm.signer.email}>") in audit
    assert squash(f"Béatrice Broker <{flow.broker_signer.email}>") in audit
    assert PARTNER_IP in audit and BROKER_IP in audit


def test_the_sealed_pdf_is_the_document_signed_plus_its_audit_page(active_agreement):
    agreement, _firm = active_agreement()
    signed, sealed = pages_text(agreement.document_pdf), pages_text(agreement.sealed_pdf)
    assert len(sealed) > len(signed)
    assert sealed[:len(signed)] == signed
    assert agreement.document_sha256 not in squash("".join(signed))  # only the audit page carries it
    assert agreement.document_sha256 in squash("".join(sealed[len(signed):]))


def test_an_introduction_agreement_shows_the_one_off_fee_and_the_introducers_status(active_agreement):
    agreement, firm = active_agreement(PartnerStatus.introducer, firm_kw={"legal_name": "Expat Relocation Ltd"})
    text = squash("\n".join(pages_text(agreement.sealed_pdf)))
    assert squash("Introduction agreement") in text
    assert squash("Expat Relocation Ltd — not an insurance intermediary") in text
    assert squash("The Introducer") in text
    for product in ("Individual", "Family", "SME", "Corporate"):
        assert squash(f"{product} — — €150.00 365 days 30 days") in text, product


def _template_line(path: Path, prefix: str) -> str:
    return next(line[len(prefix):].strip() for line in path.read_text(encoding="utf-8").splitlines()
                if line.startswith(prefix))


@pytest.mark.parametrize("language, legal_name, signer", [
    ("ru", "ООО «Щит и Ёлка»", "Алёна Щербакова"),
    ("uk", "ТОВ «Ґалицька Євроагенція Київ»", "Олена Ковалейчук-Їжак"),
])
@pytest.mark.parametrize("status", [PartnerStatus.specialist_broker, PartnerStatus.introducer])
def test_cyrillic_agreements_are_readable_text(flow, seal, language, legal_name, signer, status):
    firm = flow.firm(status, legal_name=legal_name, languages=[language], signer_name=signer)
    agreement = flow.activate(firm)
    assert agreement.language == language
    assert check_seal(agreement.sealed_pdf, seal.pem).intact

    pages = pages_text(agreement.sealed_pdf)
    text = squash("\n".join(pages))
    template = TEMPLATES / agreement.kind.value / agreement.template_version / f"{language}.txt"
    labels = TEMPLATES / "_labels" / f"{language}.txt"
    title = _template_line(template, "@title ")
    assert re.search("[\u0400-\u04ff]", title)
    assert squash(title) in text
    assert squash(legal_name) in text
    assert squash(_template_line(labels, "@label product_family ")) in text
    assert squash(_template_line(template, "@label audit ")) in squash(pages[-1])
    assert squash(signer) in squash(pages[-1])  # the typed name on the audit page

    # Every glyph comes from the DejaVu font embedded in the file, so it reads the same on any machine.
    reader = PdfReader(io.BytesIO(agreement.sealed_pdf))
    for page in reader.pages:
        fonts = [font.get_object() for font in page["/Resources"]["/Font"].values()]
        dejavu = [f for f in fonts if "DejaVu" in str(f.get("/BaseFont"))]
        assert dejavu, [f.get("/BaseFont") for f in fonts]
        for font in dejavu:
            descriptor = font["/FontDescriptor"].get_object() if "/FontDescriptor" in font else \
                font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile2", "/FontFile", "/FontFile3")), font.get("/BaseFont")

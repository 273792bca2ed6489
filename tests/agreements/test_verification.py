"""Anyone holding a copy of an agreement may ask: was it issued here, is it intact, is it still in force?"""
import io
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from agreements import verification
from agreements.models import AgreementStatus
from tests.agreements.pdftools import tamper_content_stream


def _unrelated_pdf() -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle("Collaboration agreement")
    c.drawString(72, 760, "Collaboration agreement between two firms, signed on paper.")
    c.showPage()
    c.save()
    return buf.getvalue()


def test_the_sealed_file_is_ours_intact_and_active(active_agreement, seal, session):
    agreement, _firm = active_agreement()
    verdict = verification.verify(session, agreement.sealed_pdf, seal.pem)
    assert verdict.issued_here is True and verdict.intact is True
    assert verdict.status == AgreementStatus.active.value
    assert verdict.agreement_id == agreement.public_id and verdict.reference == agreement.reference
    assert verdict.as_dict() == {"issued_here": True, "intact": True, "status": "active",
                                 "agreement_id": agreement.public_id}


def test_a_tampered_copy_is_ours_but_not_intact(active_agreement, seal, session):
    agreement, _firm = active_agreement()
    verdict = verification.verify(session, tamper_content_stream(agreement.sealed_pdf), seal.pem)
    assert verdict.issued_here is True and verdict.intact is False
    assert verdict.agreement_id == agreement.public_id


def test_a_copy_with_bytes_appended_is_not_intact(active_agreement, seal, session):
    agreement, _firm = active_agreement()
    verdict = verification.verify(session, agreement.sealed_pdf + b"\n%%EOF\n", seal.pem)
    assert verdict.intact is False


def test_the_document_before_sealing_is_a_draft_not_a_modified_copy(active_agreement, seal, session):
    agreement, _firm = active_agreement()
    verdict = verification.verify(session, agreement.document_pdf, seal.pem)
    assert verdict.intact is False and verdict.draft is True
    assert verdict.issued_here is True and verdict.reference == agreement.reference


def test_a_draft_never_sealed_is_a_draft(flow, seal, session):
    agreement = flow.send(flow.prepare(flow.firm().org))
    verdict = verification.verify(session, agreement.document_pdf, seal.pem)
    assert verdict.draft is True and verdict.status == AgreementStatus.sent.value


def test_a_tampered_sealed_copy_is_not_called_a_draft(active_agreement, seal, session):
    agreement, _firm = active_agreement()
    assert verification.verify(session, tamper_content_stream(agreement.sealed_pdf), seal.pem).draft is False


def test_an_unrelated_pdf_was_not_issued_here(active_agreement, seal, session):
    active_agreement()
    verdict = verification.verify(session, _unrelated_pdf(), seal.pem)
    assert verdict.issued_here is False and verdict.intact is False
    assert verdict.status is None and verdict.agreement_id is None


def test_bytes_that_are_not_a_pdf_get_an_answer_not_an_error(active_agreement, seal, session):
    active_agreement()
    for junk in (b"", b"hello", b"%PDF-1.7\n" + b"\x00" * 200, "Не PDF".encode() * 100, bytes(range(256)) * 50):
        verdict = verification.verify(session, junk, seal.pem)
        assert verdict.issued_here is False and verdict.intact is False, junk[:20]
        assert verdict.agreement_id is None


def test_a_superseded_agreement_reports_it(active_agreement, flow, seal, session):
    first, firm = active_agreement(effective_from=date(2026, 1, 1))
    second = flow.activate(firm, effective_from=date(2027, 1, 1))

    old = verification.verify(session, first.sealed_pdf, seal.pem)
    assert old.issued_here and old.intact
    assert old.status == AgreementStatus.superseded.value and old.agreement_id == first.public_id
    new = verification.verify(session, second.sealed_pdf, seal.pem)
    assert new.issued_here and new.intact
    assert new.status == AgreementStatus.active.value and new.agreement_id == second.public_id

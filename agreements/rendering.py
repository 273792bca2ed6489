"""Agreement PDFs with reportlab: parties, clauses, the commission schedule as a table, a signature page and,
once signed, an audit page. Rendering is deterministic for the same input (fixed creation date, no random
ids), so the document a partner reviewed can be reproduced and its hash compared."""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table,
                                TableStyle)
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from .templates import RenderedTemplate


@dataclass(frozen=True)
class SignatureLine:
    role_label: str
    party: str
    signer_name: str
    typed_name: str
    signed_at: datetime
    ip: str
    user_agent: str
    document_sha256: str


@dataclass(frozen=True)
class AuditInfo:
    heading: str
    labels: dict
    template_version: str
    document_sha256: str
    signatures: list[SignatureLine] = field(default_factory=list)


FONT_DIR = Path(__file__).parent / "fonts"
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"


def _register_fonts() -> None:
    # DejaVu ships in the repository: Latin and Cyrillic agreements render the same on every machine.
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _styles():
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontName=FONT_BOLD, fontSize=18,
                                leading=22, spaceAfter=4 * mm),
        "subtitle": ParagraphStyle("subtitle", parent=base["Normal"], alignment=TA_CENTER, fontSize=10,
                                   textColor=colors.HexColor("#4f5d6b"), spaceAfter=8 * mm),
        "h": ParagraphStyle("h", parent=base["Heading2"], fontName=FONT_BOLD, fontSize=12, leading=15,
                            spaceBefore=5 * mm, spaceAfter=2 * mm, textColor=colors.HexColor("#0b4f71")),
        "p": ParagraphStyle("p", parent=base["Normal"], fontName=FONT, fontSize=10, leading=14,
                            spaceAfter=2.5 * mm),
        "li": ParagraphStyle("li", parent=base["Normal"], fontName=FONT, fontSize=10, leading=14,
                             leftIndent=6 * mm, bulletIndent=2 * mm, spaceAfter=1 * mm),
        "small": ParagraphStyle("small", parent=base["Normal"], fontName=FONT, fontSize=8, leading=10),
        "cell": ParagraphStyle("cell", parent=base["Normal"], fontName=FONT, fontSize=9, leading=11),
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(rows: list[list[str]], styles, col_widths=None, header=True) -> Table:
    data = [[Paragraph(_escape(str(c)), styles["cell"]) for c in row] for row in rows]
    table = Table(data, colWidths=col_widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style = [("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#9aa7b4")),
             ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6eef3")))
    table.setStyle(TableStyle(style))
    return table


def render(doc: RenderedTemplate, audit: AuditInfo | None = None) -> bytes:
    """The agreement as PDF bytes. Without `audit`, the document shown for signature; with it, the final one."""
    _register_fonts()
    styles = _styles()
    buf = io.BytesIO()
    page_label = doc.labels["page"]

    def on_page(canvas, pdf):
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.HexColor("#4f5d6b"))
        canvas.drawString(20 * mm, 12 * mm, f"{doc.title} — {doc.reference}")
        canvas.drawRightString(A4[0] - 20 * mm, 12 * mm, page_label % {"n": pdf.page})
        canvas.restoreState()

    pdf = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                            bottomMargin=22 * mm, title=doc.title, author=doc.labels["author"],
                            subject=doc.reference, creator="Partner portal", invariant=1)
    story = [Paragraph(_escape(doc.title), styles["title"]),
             Paragraph(_escape(doc.subtitle), styles["subtitle"])]
    story.append(_table([[doc.labels["party"], doc.labels["details"]]] + doc.party_rows, styles,
                        col_widths=[45 * mm, 125 * mm]))
    for section in doc.sections:
        block = [Paragraph(_escape(section.heading), styles["h"])]
        for kind, text in section.blocks:
            if kind == "bullet":
                block.append(Paragraph(_escape(text), styles["li"], bulletText="•"))
            else:
                block.append(Paragraph(_escape(text), styles["p"]))
        story.extend(block)
        if section.schedule:
            story.append(_table(doc.schedule_rows, styles))
            story.append(Spacer(1, 3 * mm))
    story.append(PageBreak())
    story.append(Paragraph(_escape(doc.labels["signatures"]), styles["h"]))
    story.append(Paragraph(_escape(doc.labels["signature_intro"]), styles["p"]))
    for party_label, party_name in doc.signatories:
        story.append(KeepTogether([
            Spacer(1, 6 * mm),
            _table([[party_label, party_name], [doc.labels["name"], ""], [doc.labels["date"], ""],
                    [doc.labels["signature"], ""]], styles, col_widths=[45 * mm, 125 * mm], header=False),
        ]))
    if audit is not None:
        story.append(PageBreak())
        story.extend(_audit_page(audit, styles))
    pdf.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()


def _audit_page(audit: AuditInfo, styles) -> list:
    L = audit.labels
    out = [Paragraph(_escape(audit.heading), styles["h"]),
           _table([[L["template_version"], audit.template_version],
                   [L["document_sha256"], audit.document_sha256]], styles,
                  col_widths=[45 * mm, 125 * mm], header=False),
           Spacer(1, 4 * mm)]
    for s in audit.signatures:
        out.append(KeepTogether([
            _table([[L["role"], f"{s.role_label} — {s.party}"], [L["signer"], s.signer_name],
                    [L["typed_name"], s.typed_name], [L["signed_at"], s.signed_at.strftime("%Y-%m-%d %H:%M:%S UTC")],
                    [L["ip"], s.ip], [L["user_agent"], s.user_agent[:200]],
                    [L["document_sha256"], s.document_sha256]], styles, col_widths=[45 * mm, 125 * mm],
                   header=False),
            Spacer(1, 4 * mm)]))
    return out

"""The monthly report staff send to the programme: the programme's own view of a month (suppressed, see
funnel.disclosure) as a PDF with the charts, or its figures as CSV or XLSX. Same tables, same cells as the page."""
from __future__ import annotations

import io
from datetime import date

from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table as PdfTable, TableStyle

from agreements.rendering import FONT, FONT_BOLD, _register_fonts
from core.csv_export import csv_text, safe_cell
from core.i18n import N_
from funnel.kpis import Kpis

from ..charts import Chart
from ..i18n import format_month, tr
from . import figures

FORMATS = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def title(month: date) -> str:
    return tr(N_("Programme report, %(month)s"), month=format_month(month))


def filename(month: date, fmt: str) -> str:
    return f"programme-report-{month:%Y-%m}.{fmt}"


def _lines(k: Kpis):
    """Every table as (title, header, rows): what the CSV, the XLSX and the PDF's tables hold."""
    for table in k.tables.values():
        yield tr(table.title), [""] + figures.headings(table), figures.rows(table)


def render(k: Kpis, month: date, fmt: str) -> bytes:
    if fmt == "csv":
        out = []
        for name, header, rows in _lines(k):
            out.append(csv_text([name], []) + csv_text(header, [[label, *cells] for label, cells in rows]))
        return "\n".join(out).encode("utf-8-sig")
    if fmt == "xlsx":
        return _xlsx(k, month)
    if fmt == "pdf":
        return _pdf(k, month)
    raise ValueError(fmt)


def _xlsx(k: Kpis, month: date) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = f"{month:%Y-%m}"
    sheet.append([title(month)])
    sheet.append([tr(N_("Groups under 5 volunteers are shown as “< 5”; “·” marks a figure withheld so that "
                        "they cannot be worked out."))])
    for name, header, rows in _lines(k):
        sheet.append([])
        sheet.append([safe_cell(name)])
        sheet.append([safe_cell(h) for h in header])
        for label, cells in rows:
            sheet.append([safe_cell(label), *(_number(c) for c in cells)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _number(text: str):
    """A plain count as a number in the spreadsheet; anything else (a share, "< 5") as the page shows it."""
    digits = text.replace("\u202f", "")
    return int(digits) if digits.isdigit() else safe_cell(text)


def _drawing(chart: Chart) -> Drawing:
    """The chart's server-drawn shapes, redrawn with reportlab (the SVG's y axis points down, the PDF's up)."""
    scale = 0.72
    height = chart.height
    d = Drawing(640 * scale, height * scale)
    for s in chart.shapes:
        d.add(Rect(s.x * scale, (height - s.y - s.height) * scale, s.width * scale, s.height * scale,
                   fillColor=colors.HexColor(s.colour), strokeColor=None))
    if chart.kind == "bars":
        for y, text in chart.labels:
            d.add(String(0, (height - y) * scale, text[:34], fontName=FONT, fontSize=7))
        for x, y, text in chart.values:
            d.add(String(x * scale, (height - y) * scale, text, fontName=FONT, fontSize=7))
    else:
        for x, text in chart.labels:
            d.add(String(x * scale, 2, text, fontName=FONT, fontSize=6, textAnchor="middle"))
        for y, text in chart.ticks:
            d.add(String(60 * scale, (height - y) * scale, text, fontName=FONT, fontSize=6, textAnchor="end"))
    return d


def _pdf(k: Kpis, month: date) -> bytes:
    _register_fonts()
    styles = {"h1": ParagraphStyle("h1", fontName=FONT_BOLD, fontSize=16, leading=20),
              "h2": ParagraphStyle("h2", fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=8),
              "p": ParagraphStyle("p", fontName=FONT, fontSize=8, leading=10)}
    story = [Paragraph(title(month), styles["h1"]),
             Paragraph(tr(N_("Aggregates only: groups under 5 volunteers are shown as “< 5”; “·” marks a figure "
                             "withheld so that they cannot be worked out.")), styles["p"]), Spacer(1, 4 * mm)]
    for chart in figures.charts(k):
        story += [Paragraph(chart.title, styles["h2"]), _drawing(chart)]
    for name, header, rows in _lines(k):
        data = [header] + [[label, *cells] for label, cells in rows]
        table = PdfTable(data, repeatRows=1)
        table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, 6.5), ("FONT", (0, 0), (-1, 0), FONT_BOLD, 6.5),
                                   ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                   ("ALIGN", (1, 1), (-1, -1), "RIGHT")]))
        story += [Paragraph(name, styles["h2"]), table]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                      bottomMargin=12 * mm, title=title(month)).build(story)
    return buffer.getvalue()

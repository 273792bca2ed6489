"""A commission statement as the firm's documents: a PDF (reportlab platypus) and a CSV, in the firm's language.

Texts are translated by Flask-Babel under `force_locale`; amounts and dates are formatted by Babel for that
language. The PDF uses the DejaVu fonts shipped with the agreements, so Latin and Cyrillic render the same on
every machine, and it is deterministic for the same statement. The CSV's column names and kind codes stay the
same in every language (machines read them); its description column is in the firm's language and its amounts
are exact decimal strings next to their currency.

Only client initials and policy references appear: a statement carries no other personal data.
"""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, get_currency_name, get_currency_precision
from flask_babel import force_locale, gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from agreements.rendering import FONT, FONT_BOLD, FONT_DIR
from core.accounts import LANGUAGES, Organisation
from core.csv_export import csv_text
from core.i18n import format_day
from ledger.statements import PartnerStatement, StatementLine, month_bounds

from ..finance.exports import decimal_amount

CSV_COLUMNS = ["date", "currency", "kind", "description", "contract_reference", "policy_number", "client_initials",
               "term", "payout_reference", "amount", "balance_after"]
GREY = colors.HexColor("#4f5d6b")


def statement_language(org: Organisation) -> str:
    """The firm's first working language: the statement is the firm's document, the same whoever downloads it."""
    return next((code for code in org.languages or () if code in LANGUAGES), "en")


def _labels() -> dict[str, str]:
    """The document's texts in the current (forced) language."""
    return {"title": _("Commission statement"), "period": _("Period"),
            "date": _("Date"), "description": _("Description"), "reference": _("Policy or reference"),
            "client": _("Client"), "term": _("Term"), "amount": _("Amount"), "balance": _("Balance"),
            "opening": _("Opening balance"), "closing": _("Closing balance"),
            "held": _("Held (awaiting disclosure approval)"), "available": _("Available for payout"),
            "empty": _("No movements in this period."), "none": _("No commission has been recorded for this firm."),
            "sign": _("Amounts owed to you are positive; clawbacks and payouts are negative."),
            "page": _("Page %(n)s")}


# --- CSV -----------------------------------------------------------------------------------------------------

def _csv_line(st: PartnerStatement, line: StatementLine) -> list:
    return [line.effective_date.isoformat(), st.currency, line.kind.value, _(line.kind.label),
            line.contract_reference or "", line.policy_number or "", line.client_initials or "",
            line.term if line.term is not None else "", line.payout_reference or "",
            decimal_amount(line.amount_minor, st.currency), decimal_amount(line.balance_after_minor, st.currency)]


def _csv_summary(st: PartnerStatement, day: date, kind: str, description: str, balance: int) -> list:
    # balances go in balance_after, never in amount: the amounts of a currency sum to closing − opening
    return [day.isoformat(), st.currency, kind, description, "", "", "", "", "", "",
            decimal_amount(balance, st.currency)]


def statement_csv(period: date, statements: list[PartnerStatement], language: str) -> str:
    rows = []
    with force_locale(language):
        labels = _labels()
        for st in statements:
            rows.append(_csv_summary(st, st.start, "opening_balance", labels["opening"], st.opening_minor))
            rows.extend(_csv_line(st, line) for line in st.lines)
            rows.append(_csv_summary(st, st.end, "closing_balance", labels["closing"], st.closing_minor))
            rows.append(_csv_summary(st, st.end, "closing_held", labels["held"], st.held_minor))
            rows.append(_csv_summary(st, st.end, "closing_available", labels["available"], st.available_minor))
    return csv_text(CSV_COLUMNS, rows)


# --- PDF -----------------------------------------------------------------------------------------------------

def _register_fonts() -> None:
    # the agreements' DejaVu fonts, under the same names: whichever module registers them first, once
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))


def _styles() -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=18, leading=22, spaceAfter=2 * mm),
        "subtitle": ParagraphStyle("subtitle", fontName=FONT, fontSize=11, leading=14, textColor=GREY,
                                   spaceAfter=5 * mm),
        "h": ParagraphStyle("h", fontName=FONT_BOLD, fontSize=12, leading=15, spaceBefore=5 * mm,
                            spaceAfter=2 * mm, textColor=colors.HexColor("#0b4f71")),
        "p": ParagraphStyle("p", fontName=FONT, fontSize=9, leading=12, spaceAfter=2 * mm, textColor=GREY),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10),
    }


def _escape(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Formats:
    """Dates and money in the statement's language."""

    def __init__(self, language: str, currency: str):
        self.language, self.currency = language, currency

    def money(self, minor: int) -> str:
        return format_currency(Decimal(minor).scaleb(-get_currency_precision(self.currency)), self.currency,
                               locale=self.language)

    def day(self, value: date) -> str:
        return format_day(value, self.language)


#: the table's text size, and the smallest it may shrink to so that every column fits its content unbroken
CELL_SIZE, MIN_CELL_SIZE = 8, 6
#: the width of the page between the margins
TABLE_WIDTH = A4[0] - 40 * mm
#: reportlab's default cell padding, left and right
PAD = 12
#: the description column (1) wraps between words; every other column keeps its text on one line
WRAPPING = 1
NUMERIC = (5, 6)


def _text_width(text: str, bold: bool, size: float) -> float:
    return pdfmetrics.stringWidth(text, FONT_BOLD if bold else FONT, size)


def _column_widths(header: list[str], rows: list[tuple[list[str], bool]], size: float) -> list[float] | None:
    """Widths that fit every cell's content at `size`, or None when the page is too narrow for them. Headers and
    the description wrap between words only (their longest word sets their minimum); the other cells never wrap.
    What width is left goes to the description."""
    widths = []
    for col, title in enumerate(header):
        least = max(_text_width(word, True, size) for word in title.split() or [""])
        for cells, bold in rows:
            text = cells[col]
            if col == WRAPPING:
                least = max([least, *(_text_width(word, bold, size) for word in text.split())])
            else:
                least = max(least, _text_width(text, bold, size))
        widths.append(least + PAD + 1)
    spare = TABLE_WIDTH - sum(widths)
    if spare < 0:
        return None
    widths[WRAPPING] += spare
    return widths


def _lines_table(st: PartnerStatement, labels: dict, fmt: _Formats) -> Table:
    """The movements of one currency. Column widths follow their content, so dates, policy numbers and amounts are
    never broken across lines, and no word is ever cut in two (long Russian or Ukrainian labels included): the
    text shrinks a little before anything would have to break."""
    header = [labels["date"], labels["description"], labels["reference"], labels["client"], labels["term"],
              labels["amount"], labels["balance"]]
    rows = [([fmt.day(st.start), labels["opening"], "", "", "", "", fmt.money(st.opening_minor)], True)]
    for line in st.lines:
        rows.append(([fmt.day(line.effective_date), _(line.kind.label),
                      line.policy_number or line.payout_reference or "", line.client_initials or "",
                      str(line.term) if line.term is not None else "", fmt.money(line.amount_minor),
                      fmt.money(line.balance_after_minor)], False))
    rows.append(([fmt.day(st.end), labels["closing"], "", "", "", "", fmt.money(st.closing_minor)], True))
    size = CELL_SIZE
    while (widths := _column_widths(header, rows, size)) is None and size > MIN_CELL_SIZE:
        size -= 0.5
    if widths is None:  # cannot happen with the statement's short cells; wrap the description rather than fail
        widths = [TABLE_WIDTH / len(header)] * len(header)

    def para(text: str, bold: bool, right: bool = False) -> Paragraph:
        style = ParagraphStyle("cell", fontName=FONT_BOLD if bold else FONT, fontSize=size, leading=size * 1.25,
                               alignment=TA_RIGHT if right else 0, splitLongWords=0)
        return Paragraph(_escape(text), style)

    data = [[para(title, True, col in NUMERIC) for col, title in enumerate(header)]]
    for cells, bold in rows:
        data.append([para(text, bold, col in NUMERIC) if col == WRAPPING else text for col, text in enumerate(cells)])
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    style = [("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#c5ced6")),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6eef3")),
             ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("FONT", (0, 1), (-1, -1), FONT, size, size * 1.25),
             ("ALIGN", (NUMERIC[0], 1), (-1, -1), "RIGHT")]
    for index, (_cells, bold) in enumerate(rows, start=1):
        if bold:
            style.append(("FONT", (0, index), (-1, index), FONT_BOLD, size, size * 1.25))
    table.setStyle(TableStyle(style))
    return table


def _currency_section(st: PartnerStatement, labels: dict, styles, language: str) -> list:
    fmt = _Formats(language, st.currency)
    heading = f"{get_currency_name(st.currency, locale=language)} ({st.currency})"
    out = [Paragraph(_escape(heading), styles["h"]), _lines_table(st, labels, fmt)]
    if not st.lines:
        out.append(Paragraph(_escape(labels["empty"]), styles["p"]))
    amounts = [fmt.money(st.held_minor), fmt.money(st.available_minor)]
    amount_width = max(_text_width(a, False, CELL_SIZE) for a in amounts) + PAD + 1
    split = Table([[Paragraph(_escape(labels["held"]), styles["cell"]), amounts[0]],
                   [Paragraph(_escape(labels["available"]), styles["cell"]), amounts[1]]],
                  colWidths=[70 * mm, max(26 * mm, amount_width)], hAlign="LEFT")
    split.setStyle(TableStyle([("FONT", (1, 0), (1, -1), FONT, CELL_SIZE), ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return out + [Spacer(1, 3 * mm), KeepTogether([split])]


def statement_pdf(firm_name: str, period: date, statements: list[PartnerStatement], language: str) -> bytes:
    _register_fonts()
    styles = _styles()
    buf = io.BytesIO()
    with force_locale(language):
        labels = _labels()
        month = format_date(period, "LLLL yyyy", locale=language)
        title = f"{labels['title']} — {month}"

        def on_page(canvas, pdf):
            canvas.saveState()
            canvas.setFont(FONT, 8)
            canvas.setFillColor(GREY)
            canvas.drawString(20 * mm, 12 * mm, f"{firm_name} — {title}")
            canvas.drawRightString(A4[0] - 20 * mm, 12 * mm, labels["page"] % {"n": pdf.page})
            canvas.restoreState()

        start, end = month_bounds(period)
        span = f"{labels['period']}: {format_day(start, language)} – {format_day(end, language)}"
        story = [Paragraph(_escape(title), styles["title"]),
                 Paragraph(_escape(f"{firm_name} · {span}"), styles["subtitle"]),
                 Paragraph(_escape(labels["sign"]), styles["p"])]
        for st in statements:
            story += _currency_section(st, labels, styles, language)
        if not statements:
            story.append(Paragraph(_escape(labels["none"]), styles["p"]))
        pdf = SimpleDocTemplate(buf, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                                bottomMargin=22 * mm, title=title, author=firm_name, creator="Partner portal",
                                invariant=1)
        pdf.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()

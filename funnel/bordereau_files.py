"""The bordereau as files: CSV (core.csv_export, UTF-8 with a byte-order mark so a spreadsheet opens accents right) and XLSX
(openpyxl), the same table (funnel.bordereau.rows): headers in the reader's language, amounts in the currency's
units (2 decimals), dates as dates."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from core.csv_export import csv_text

from .bordereau import MONEY_COLUMNS, Bordereau, rows


def _units(minor: int | None) -> Decimal | None:
    return None if minor is None else (Decimal(minor) / 100).quantize(Decimal("0.01"))


def _table(b: Bordereau, translate) -> list[list]:
    table = rows(b, translate)
    for line in table[1:]:
        for i in MONEY_COLUMNS:
            line[i] = _units(line[i])
    return table


def filename(b: Bordereau, extension: str) -> str:
    return f"bordereau-{b.insurer_code}-{b.month}.{extension}"


def csv_bytes(b: Bordereau, translate) -> bytes:
    """Through core.csv_export (a cell a spreadsheet would run as a formula opens as text)."""
    header, *lines = _table(b, translate)
    text = csv_text(header, (["" if v is None else v.isoformat() if isinstance(v, date) else v for v in line]
                             for line in lines))
    return ("\ufeff" + text).encode("utf-8")


def xlsx_bytes(b: Bordereau, translate) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = f"{b.insurer_code} {b.month}"[:31]
    for line in _table(b, translate):
        sheet.append(line)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in sheet.iter_rows(min_row=2):
        for i in MONEY_COLUMNS:
            row[i].number_format = "#,##0.00"
        for i in (4, 6):
            row[i].number_format = "yyyy-mm-dd"
    for column, width in zip("ABCDEFGHIJKLM", (12, 18, 20, 28, 12, 14, 12, 14, 14, 14, 14, 16, 8), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FORMATS = {"csv": ("text/csv", csv_bytes), "xlsx": (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx_bytes)}

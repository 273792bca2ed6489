"""CSV the portal writes: every cell safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-`, `@` (or a tab or line break before one) is read as a formula by Excel,
LibreOffice and Google Sheets, so a firm named `=HYPERLINK("http://evil", "Click")` would come out as a live
link in finance's download. Such a cell gets a leading apostrophe, which spreadsheets show as text (OWASP's
"CSV injection" advice). Plain numbers, negative amounts included, stay numbers.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

_FORMULA_START = tuple("=+-@\t\r\n") + ("\uff1d", "\uff0b", "\uff0d", "\uff20")  # and their full-width forms
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value) -> object:
    if not isinstance(value, str) or not value.startswith(_FORMULA_START) or _NUMBER.fullmatch(value):
        return value
    return "'" + value


def csv_text(header: list[str], rows: Iterable[Iterable]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(c) for c in header])
    writer.writerows([safe_cell(c) for c in row] for row in rows)
    return buffer.getvalue()

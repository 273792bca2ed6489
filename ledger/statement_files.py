"""Insurer commission statement files (CSV or XLSX): read, checked row by row, turned into exact lines.

A file with any bad row is refused whole, every problem named (row, column, what is wrong); nothing is saved.
Plain Python, no Flask.
"""
from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zipfile import BadZipFile

from babel.numbers import get_currency_precision, list_currencies

from core.i18n import N_

from .errors import ReconciliationError, StatementInvalid


# --- parsing -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatementLine:
    #: 1 = the first row under the header (blank rows count, so the number points into the file)
    row_number: int
    policy_number: str
    #: the first day of the line's month
    period: date
    #: the period as written in the file
    period_text: str
    premium_minor: int | None
    commission_minor: int


#: header names, compared lower-case with "_-.#:" read as spaces
COLUMNS = {
    "policy": ("policy", "policy number", "policy no", "policy ref", "policy reference"),
    "period": ("period", "month", "commission period"),
    "premium": ("premium", "premium amount"),
    "commission": ("commission", "commission amount"),
    "currency": ("currency",),
}
REQUIRED = ("policy", "period", "commission")
COLUMN_NAMES = {"policy": "policy number", "period": "period", "premium": "premium", "commission": "commission",
                "currency": "currency"}

_AMOUNT = re.compile(r"(?P<int>\d{1,3}(?:(?P<sep>[ ,.'])\d{3})(?:(?P=sep)\d{3})*|\d+)(?:(?P<dec>[.,])(?P<frac>\d+))?")
_PERIODS = (re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})(?:-\d{1,2})?"), re.compile(r"(?P<m>\d{1,2})[-/.](?P<y>\d{4})"))


def _shown(value) -> str:
    """A cell's value as quoted back in a message: long cells are cut."""
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


class _Bad(ValueError):
    def __init__(self, msgid: str, **params):
        super().__init__(msgid % params if params else msgid)
        self.msgid, self.params = msgid, params


def check_currency(currency: str) -> str:
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency) or currency not in list_currencies():
        raise ReconciliationError(N_("%(currency)s is not an ISO 4217 currency code."), currency=str(currency),
                                  fields={"currency": [N_("Choose a currency such as EUR.")]})
    return currency


def _decimal_text(text: str) -> Decimal:
    """'1 234,56', '1,234.56', '1234.56', '-12,5', '(12.50)' -> Decimal; thousands groups must have 3 digits."""
    s = text.strip().replace("\u00a0", " ").replace("\u202f", " ")
    negative = s.startswith(("-", "−")) or (s.startswith("(") and s.endswith(")"))
    s = s.strip("()").lstrip("+-−").strip()
    m = _AMOUNT.fullmatch(s)
    if not m or (m["dec"] and m["sep"] == m["dec"]):
        raise _Bad(N_("“%(value)s” is not an amount such as 1234.56 or 1 234,56."), value=_shown(text))
    if m["sep"] in (",", ".") and not m["dec"] and m["int"].count(m["sep"]) == 1:
        # "1,234" or "1.234": a thousands group or three decimals? Never guess with money.
        raise _Bad(N_("“%(value)s” is ambiguous (thousands or decimals?): write 1234.00 or 1,234.00."), value=_shown(text))
    digits = m["int"].replace(m["sep"] or "", "")
    value = Decimal(f"{digits}.{m['frac'] or '0'}")
    return -value if negative else value


def _minor(value, currency: str) -> int:
    """A cell (text or a spreadsheet number) as exact minor units of `currency`."""
    if isinstance(value, bool) or (isinstance(value, float) and not Decimal(repr(value)).is_finite()):
        raise _Bad(N_("“%(value)s” is not an amount such as 1234.56 or 1 234,56."), value=value)
    if isinstance(value, (int, Decimal)):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))  # the shortest text of the float, as the spreadsheet shows it
    else:
        amount = _decimal_text(str(value))
    decimals = get_currency_precision(currency)
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise _Bad(N_("“%(value)s” has more than %(decimals)s decimals."), value=_shown(value), decimals=decimals)
    return int(scaled)


def parse_amount(text: str, currency: str) -> int:
    """A typed amount as minor units (forms use it too); ValueError with a msgid as its message otherwise."""
    try:
        return _minor(text or "", currency)
    except _Bad as exc:
        raise ValueError(exc.msgid % exc.params) from None


def _period(value) -> tuple[date, str]:
    if isinstance(value, (datetime, date)):
        return date(value.year, value.month, 1), f"{value:%Y-%m}"
    text = str(value).strip()
    for pattern in _PERIODS:
        m = pattern.fullmatch(text)
        if m and 1 <= int(m["m"]) <= 12:
            return date(int(m["y"]), int(m["m"]), 1), text
    raise _Bad(N_("“%(value)s” is not a month such as 2026-11 or 11/2026."), value=_shown(text))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a policy number typed into a spreadsheet cell
    return str(value).strip()


def _csv_rows(content: bytes) -> list[list]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementInvalid([(N_("The file is not UTF-8 text: save it as “CSV UTF-8”."), {})]) from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _xlsx_rows(content: bytes) -> list[list]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # styles or extensions openpyxl does not know change no value
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            try:
                return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
            finally:
                book.close()
    except (BadZipFile, InvalidFileException, KeyError, IndexError, ValueError, OSError):
        raise StatementInvalid([(N_("The file is not a readable XLSX workbook."), {})]) from None


def _header_key(value) -> str:
    return re.sub(r"[\s_\-.#:]+", " ", _text(value)).strip().lower()


def _columns(header: list) -> tuple[dict[str, int], list[tuple[str, dict]]]:
    found: dict[str, int] = {}
    problems = []
    for index, cell in enumerate(header):
        key = next((k for k, aliases in COLUMNS.items() if _header_key(cell) in aliases), None)
        if key in found:
            problems.append((N_("Two columns are named for the %(column)s."), {"column": COLUMN_NAMES[key]}))
        elif key:
            found[key] = index
    for key in REQUIRED:
        if key not in found:
            problems.append((N_("No %(column)s column: the first row must name the columns (policy number, period, "
                                "premium, commission)."), {"column": COLUMN_NAMES[key]}))
    return found, problems


def _line(number: int, row: list, columns: dict[str, int], currency: str) -> tuple[StatementLine | None, list]:
    cell = {key: (row[i] if i < len(row) else None) for key, i in columns.items()}
    problems, values = [], {}
    for key in ("policy", "period", "premium", "commission", "currency"):
        if key not in columns:
            continue
        raw = cell[key]
        if _text(raw) == "":
            if key in REQUIRED:
                problems.append((N_("Row %(row)s: the %(column)s is missing."),
                                 {"row": number, "column": COLUMN_NAMES[key]}))
            values[key] = None
            continue
        try:
            if key in ("policy", "currency"):
                values[key] = _text(raw)
            elif key == "period":
                values[key] = _period(raw)
            else:
                values[key] = _minor(raw, currency)
        except _Bad as exc:
            problems.append((N_("Row %(row)s, %(column)s: %(problem)s"),
                             {"row": number, "column": COLUMN_NAMES[key], "problem": (exc.msgid, exc.params)}))
    if values.get("currency") and values["currency"].upper() != currency:
        problems.append((N_("Row %(row)s: the currency %(value)s is not the statement's (%(currency)s)."),
                         {"row": number, "value": _shown(values["currency"]), "currency": currency}))
    if len(values.get("policy") or "") > 64:
        problems.append((N_("Row %(row)s: the policy number is longer than 64 characters."), {"row": number}))
    if problems:
        return None, problems
    period, period_text = values["period"]
    return StatementLine(number, values["policy"], period, period_text[:32], values.get("premium"),
                         values["commission"]), []


def _is_blank(row: list) -> bool:
    return all(_text(v) == "" for v in row)


def parse_statement(filename: str, content: bytes, currency: str) -> list[StatementLine]:
    """The lines of a CSV or XLSX statement, or StatementInvalid naming every bad row and column."""
    check_currency(currency)
    suffix = (filename or "").rsplit(".", 1)[-1].lower()
    if suffix not in ("csv", "xlsx"):
        raise StatementInvalid([(N_("Only CSV and XLSX files can be imported."), {})])
    rows = _xlsx_rows(content) if suffix == "xlsx" else _csv_rows(content)
    start = next((i for i, row in enumerate(rows) if not _is_blank(row)), None)
    if start is None:
        raise StatementInvalid([(N_("The file has no statement lines."), {})])
    columns, problems = _columns(rows[start])
    if problems:
        raise StatementInvalid(problems)
    lines = []
    for number, row in enumerate(rows[start + 1:], start=1):
        if _is_blank(row):
            continue
        line, row_problems = _line(number, row, columns, currency)
        problems += row_problems
        if line:
            lines.append(line)
    if not lines and not problems:
        problems.append((N_("The file has no statement lines."), {}))
    if problems:
        raise StatementInvalid(problems)
    return lines

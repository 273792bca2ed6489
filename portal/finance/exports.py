"""CSV downloads of finance tables: amounts as exact decimal strings next to their currency."""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision
from flask import Response

from core.csv_export import csv_text


def decimal_amount(minor: int | None, currency: str) -> str:
    if minor is None:
        return ""
    return str(Decimal(minor).scaleb(-get_currency_precision(currency)))


def csv_response(filename: str, header: list[str], rows) -> Response:
    return Response(csv_text(header, rows), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})

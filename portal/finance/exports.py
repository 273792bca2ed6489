"""CSV downloads of finance tables: amounts as exact decimal strings next to their currency."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

from babel.numbers import get_currency_precision
from flask import Response


def decimal_amount(minor: int | None, currency: str) -> str:
    if minor is None:
        return ""
    return str(Decimal(minor).scaleb(-get_currency_precision(currency)))


def csv_response(filename: str, header: list[str], rows) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(buffer.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})

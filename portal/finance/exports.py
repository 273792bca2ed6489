"""Finance's downloads: CSV tables (amounts as exact decimal strings next to their currency) and a payout run's
SEPA transfer file."""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision
from flask import Response, abort

from core.csv_export import csv_text


def decimal_amount(minor: int | None, currency: str) -> str:
    if minor is None:
        return ""
    return str(Decimal(minor).scaleb(-get_currency_precision(currency)))


def csv_response(filename: str, header: list[str], rows) -> Response:
    return Response(csv_text(header, rows), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def pain001_response(run) -> Response:
    """The run's pain.001 file for the bank, once approved (not found before: there is none)."""
    if not run.pain001:
        abort(404)
    return Response(run.pain001, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{run.reference}.pain001.xml"'})

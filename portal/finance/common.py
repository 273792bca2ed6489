"""What the finance pages share: who reads them, today's date, the CSV switch and the firms' names."""
from __future__ import annotations

from datetime import date, timedelta

from flask import request
from sqlalchemy import select

from core.accounts import Organisation, Role
from core.db import utcnow

from ..extensions import db

#: every finance page is GET-open to both; every form POST is finance's
READERS = (Role.finance, Role.admin)


def today() -> date:
    return utcnow().date()


def months_back(n: int) -> date:
    """The first day of the month `n - 1` months before this one (n=12: a year of months, this one included)."""
    first = today().replace(day=1)
    for _i in range(n - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def wants_csv() -> bool:
    """The table is asked for as a CSV download (`?format=csv`)."""
    return request.args.get("format") == "csv"


def org_names() -> dict[str, str]:
    """Each partner firm's legal name by its public id (the ledger names partners by public id)."""
    return dict(db.session.execute(select(Organisation.public_id, Organisation.legal_name)).all())

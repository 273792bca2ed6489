"""Fixtures of the volunteer funnel: the sample products, roster records, a volunteer on mission."""
from __future__ import annotations

import itertools
from datetime import datetime, UTC

import pytest

from funnel.roster import apply_events
from funnel.seed import seed_sample_products
from funnel.volunteers import find_volunteer
from tests.domain import *  # noqa: F401,F403  (session, app, the check that no app context is active)

#: the portal's clock in these tests: roster events may not be dated after it
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def affiliation_record(**overrides) -> dict:
    """A valid affiliation record, as the programme operator sends it (a fresh file reference each time)."""
    n = next(_numbers)
    record = {"event": "affiliation", "event_id": f"BF-2026-{n:06d}-1", "occurred_at": "2026-11-02T08:00:00Z",
              "file_ref": f"BF-2026-{n:06d}", "first_name": "Léa", "last_name": "Martin",
              "email": f"lea.{n}@example.org", "birth_date": "2000-04-02", "programme": "VIE",
              "mission_country": "US", "mission_start": "2026-11-03", "mission_end": "2027-10-31",
              "language": "fr"}
    record.update(overrides)
    return record


def event_record(kind: str, file_ref: str, occurred_at: str, n: int = 2, **fields) -> dict:
    return {"event": kind, "event_id": f"{file_ref}-{n}", "occurred_at": occurred_at, "file_ref": file_ref,
            **fields}


@pytest.fixture
def products(session):
    seed_sample_products(session)
    session.commit()


@pytest.fixture
def make_volunteer(session):
    def make(**overrides):
        record = affiliation_record(**overrides)
        result = apply_events(session, [record], now=NOW).results[0]
        assert result.outcome.value == "created", result.reasons
        session.commit()
        return find_volunteer(session, file_ref=record["file_ref"])

    return make

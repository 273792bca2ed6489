"""SAMPLE DATA for the demo: a tariff grid for each cover and a zone table.

Every amount here is INVENTED, plausible for a top-up over the programme's mandatory plan but not any insurer's
tariff; the versions say so in their notes. Monthly premiums in euro cents; limits in euro cents.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .catalogue import Cover
from .countries import COUNTRY_CODES, HOME_COUNTRY
from .models import TariffVersion, ZoneTable
from .tariffs import add_tariff_version, add_zone_table

SAMPLE_FROM = date(2026, 1, 1)
SAMPLE_REVIEWED_ON = date(2026, 11, 15)
SAMPLE_NOTE = "SAMPLE DATA: invented amounts for the demonstration, not an insurer's tariff."


def _line(guarantee: str, percent: int | None = None, limit: int | None = None, basis: str | None = None) -> dict:
    return {"guarantee": guarantee, "percent": percent, "limit_minor": limit, "basis": basis}


def _zoned(volunteer: tuple, spouse: tuple, child: tuple) -> dict:
    """Premiums by zone 1, 2, 3 for each person category."""
    return {str(zone): {"volunteer": volunteer[i], "spouse": spouse[i], "child": child[i]}
            for i, zone in enumerate((1, 2, 3))}


HEALTH_SAMPLE = {
    "currency": "EUR",
    "minimum_term_months": 12,
    "child_age_limit": 21,
    "waiting_periods": {"dental": 6, "optical": 6, "maternity": 10, "alternative_medicine": 3},
    "formulas": [
        {"code": "essential",
         "guarantees": [_line("hospital", 100), _line("private_room", limit=6000, basis="per_day"),
                        _line("doctors", 100, 50000, "per_year"), _line("pharmacy", 100, 30000, "per_year"),
                        _line("dental", limit=40000, basis="per_year"), _line("optical", limit=15000, basis="per_year"),
                        _line("maternity", limit=80000, basis="per_event")],
         "premiums": _zoned(volunteer=(1900, 2600, 3900), spouse=(2300, 3100, 4700), child=(1100, 1500, 2200))},
        {"code": "comfort",
         "guarantees": [_line("hospital", 100), _line("private_room", limit=9000, basis="per_day"),
                        _line("doctors", 100, 100000, "per_year"), _line("pharmacy", 100, 60000, "per_year"),
                        _line("dental", limit=80000, basis="per_year"), _line("optical", limit=30000, basis="per_year"),
                        _line("maternity", limit=150000, basis="per_event"),
                        _line("alternative_medicine", limit=30000, basis="per_year")],
         "premiums": _zoned(volunteer=(3200, 4300, 6400), spouse=(3800, 5100, 7600), child=(1800, 2400, 3500))},
        {"code": "integral",
         "guarantees": [_line("hospital", 100), _line("private_room", limit=15000, basis="per_day"),
                        _line("doctors", 100), _line("pharmacy", 100),
                        _line("dental", limit=150000, basis="per_year"),
                        _line("optical", limit=50000, basis="per_year"),
                        _line("maternity", limit=250000, basis="per_event"),
                        _line("alternative_medicine", limit=60000, basis="per_year")],
         "premiums": _zoned(volunteer=(4900, 6600, 9800), spouse=(5900, 7900, 11800), child=(2700, 3600, 5300))},
    ],
}

PREVOYANCE_SAMPLE = {
    "currency": "EUR",
    "minimum_term_months": 12,
    "child_age_limit": None,
    "waiting_periods": {"permanent_disability": 6},
    "formulas": [
        {"code": "standard",
         "guarantees": [_line("death", limit=5000000, basis="lump_sum"),
                        _line("permanent_disability", limit=5000000, basis="lump_sum")],
         "premiums": {"volunteer": 900}},
        {"code": "extended",
         "guarantees": [_line("death", limit=10000000, basis="lump_sum"),
                        _line("permanent_disability", limit=10000000, basis="lump_sum"),
                        _line("accidental_death", limit=5000000, basis="lump_sum")],
         "premiums": {"volunteer": 1700}},
    ],
}

#: high medical costs
SAMPLE_ZONE_3 = frozenset({"US", "CA", "CH", "HK", "SG", "JP", "AU", "AE", "QA"})
#: Europe (the European Economic Area, the United Kingdom and their neighbours)
SAMPLE_ZONE_1 = frozenset({
    "AD", "AT", "BA", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "GB", "GR", "HR", "HU", "IE", "IS",
    "IT", "LI", "LT", "LU", "LV", "MC", "MD", "ME", "MK", "MT", "NL", "NO", "PL", "PT", "RO", "RS", "SE", "SI",
    "SK", "SM", "VA", "AL", "XK"})


def sample_zones() -> dict[str, int]:
    """Every country but France: Europe in zone 1, the costliest countries in zone 3, the rest in zone 2."""
    return {c: 1 if c in SAMPLE_ZONE_1 else 3 if c in SAMPLE_ZONE_3 else 2
            for c in sorted(COUNTRY_CODES) if c != HOME_COUNTRY}


def seed_sample_products(session: Session) -> int:
    """Load the sample grids and zone table where none exist yet (idempotent). Returns how many versions it
    created. Loaded as if entered on their effective date, which is in the past."""
    created = 0
    for cover, grid in ((Cover.health, HEALTH_SAMPLE), (Cover.prevoyance, PREVOYANCE_SAMPLE)):
        if not session.scalar(select(func.count()).select_from(TariffVersion).where(TariffVersion.cover == cover)):
            add_tariff_version(session, cover, grid, effective_from=SAMPLE_FROM, today=SAMPLE_FROM,
                               notes=SAMPLE_NOTE)
            created += 1
    if not session.scalar(select(func.count()).select_from(ZoneTable)):
        add_zone_table(session, sample_zones(), effective_from=SAMPLE_FROM, reviewed_on=SAMPLE_REVIEWED_ON,
                       today=SAMPLE_FROM, notes=SAMPLE_NOTE)
        created += 1
    return created

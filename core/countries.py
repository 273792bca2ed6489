"""The countries a person can live in, hold the nationality of or travel to: the ISO 3166-1 alpha-2 codes
(pycountry), never CLDR's other territories (pseudo-locales, continents, "world") that Babel also names."""
from __future__ import annotations

import pycountry

ISO_CODES = frozenset(country.alpha_2 for country in pycountry.countries)


def is_country(code: object) -> bool:
    return isinstance(code, str) and code in ISO_CODES

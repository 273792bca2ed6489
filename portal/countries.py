"""The countries people pick from: the ISO 3166-1 list (pycountry), named in the reader's language (CLDR, through
Babel), never CLDR's other territories (pseudo-locales such as "Pseudo-Accents", "Europe", "world"). Each country
belongs to one region, offered as a shortcut on long pickers (the zones of activity): the EU/EEA from
compliance.country_lists, the continents from the CLDR time zones of each country, corrected where a country's first
zone is an island or ocean zone of another continent."""
from __future__ import annotations

import unicodedata
from functools import cache

from babel.core import get_global

from compliance.country_lists import EEA_MEMBERS
from core.countries import ISO_CODES
from core.i18n import N_

#: region key, its label (a msgid)
REGIONS = (("eu_eea", N_("EU and EEA")), ("europe", N_("Europe")), ("africa", N_("Africa")),
           ("americas", N_("Americas")), ("asia", N_("Asia and the Middle East")), ("oceania", N_("Oceania")))
_ZONE_REGION = {"Europe": "europe", "Africa": "africa", "America": "americas", "Asia": "asia", "Pacific": "oceania",
                "Australia": "oceania"}
#: countries whose first CLDR time zone is on another continent's island, or in an ocean
_OVERRIDES = {"PT": "europe", "IS": "europe", "FO": "europe", "SJ": "europe", "CY": "europe", "EC": "americas",
              "BM": "americas", "FK": "americas", "GS": "americas", "CV": "africa", "SH": "africa", "KM": "africa",
              "MG": "africa", "MU": "africa", "YT": "africa", "RE": "africa", "SC": "africa", "MV": "asia",
              "IO": "asia", "CC": "oceania", "CX": "oceania"}


@cache
def codes() -> tuple[str, ...]:
    """Every ISO 3166-1 alpha-2 code."""
    return tuple(sorted(ISO_CODES))


@cache
def region_of() -> dict[str, str]:
    """A country's continent (a key of REGIONS); the Antarctic territories have none."""
    zones = get_global("territory_zones")
    found = {}
    for code in codes():
        first = (zones.get(code) or [""])[0].split("/")[0]
        region = _OVERRIDES.get(code) or _ZONE_REGION.get(first)
        if region:
            found[code] = region
    return found


def regions_of(code: str) -> list[str]:
    """The region keys a country's checkbox answers to: its continent, and "eu_eea" for the EU/EEA states."""
    keys = [region_of()[code]] if code in region_of() else []
    return (["eu_eea"] if code in EEA_MEMBERS else []) + keys


def _sort_key(name: str) -> str:
    # "Åland" with the A's, "Émirats" with the E's: accents do not send a name to the end of the list
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


def choices(territories: dict[str, str]) -> list[tuple[str, str]]:
    """(code, name) of every country, named from `territories` (a Babel locale's), in the order of the names."""
    return sorted(((code, territories.get(code, code)) for code in codes()), key=lambda pair: _sort_key(pair[1]))

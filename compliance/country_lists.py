"""The country lists the cross-border rules read, kept here and nowhere else (ISO 3166-1 alpha-2 codes).

Review these lists when a state joins or leaves the EU or the EEA, and update `LAST_REVIEWED` when you have
checked them (the compliance screen shows that date). Sources: the EU's member states (europa.eu) and the EEA
Agreement's EFTA states (efta.int). Greece is "GR" here (ISO), not the EU's own "EL".
"""
from __future__ import annotations

from datetime import date

#: the day these lists were last checked against their sources
LAST_REVIEWED = date(2026, 12, 7)

#: the 27 member states of the European Union
EU_MEMBERS = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})

#: the EFTA states party to the EEA Agreement (Switzerland is not)
EEA_EFTA_MEMBERS = frozenset({"IS", "LI", "NO"})

#: where an EU/EEA intermediary may work in another state under the freedom of services or of establishment
EEA_MEMBERS = EU_MEMBERS | EEA_EFTA_MEMBERS


def in_eea(country: str | None) -> bool:
    return country in EEA_MEMBERS

"""Mission countries: ISO 3166-1 alpha-2 codes (and XK, Kosovo, which the programme posts volunteers to)."""
from __future__ import annotations

from babel import Locale

from core.i18n import N_

#: codes Babel (CLDR) knows that are not countries: groupings, pseudo-locales, and the exceptionally reserved
#: codes of territories that share their country's code in practice
_NOT_COUNTRIES = frozenset({"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ", "AC", "CP", "CQ", "DG", "EA", "IC", "TA"})

COUNTRY_CODES = frozenset(code for code in Locale("en").territories
                          if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES)

UNKNOWN_COUNTRY_CODE = N_("Unknown country code: give an ISO 3166 two-letter code such as US or DE.")

#: the programme sends volunteers abroad: France itself is never a mission country
HOME_COUNTRY = "FR"


def is_country(code) -> bool:
    return isinstance(code, str) and code in COUNTRY_CODES

"""Translation markers for code that must not import Flask.

`N_("text")` marks a msgid for extraction (see babel.cfg keywords) and returns it unchanged; the portal
translates it when it shows it, in the reader's language.
"""


def N_(message: str) -> str:
    return message


#: the one date style of pages, e-mails and documents: Babel's "medium" names the month, so day and month are
#: never confused ("Dec 7, 2026", "7 déc. 2026", "7 дек. 2026 г."); CSV files and the API write ISO 8601 instead
DAY_FORMAT = "medium"


def format_day(value, locale) -> str:
    """A date (a datetime's day, an ISO 8601 day as JSON keeps it) in `locale`'s one date style; None gives ""."""
    if value is None or value == "":
        return ""
    from datetime import date, datetime

    from babel.dates import format_date

    if isinstance(value, str):
        value = date.fromisoformat(value)
    return format_date(value.date() if isinstance(value, datetime) else value, DAY_FORMAT, locale=locale)

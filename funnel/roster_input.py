"""One roster record as the programme operator sends it (API JSON, or a CSV line made into the same mapping),
checked field by field: a typed `RosterRecord`, or the problems, each with a machine code and a message.

    {"event": "affiliation", "event_id": "BF-2026-000123-1", "occurred_at": "2026-11-02T08:00:00Z",
     "file_ref": "BF-2026-000123", "first_name": "Léa", "last_name": "Martin", "email": "lea@example.org",
     "birth_date": "2000-04-02", "programme": "VIE", "mission_country": "US",
     "mission_start": "2026-11-03", "mission_end": "2027-10-31", "language": "fr",
     "dependants": [{"category": "spouse", "birth_date": "1999-07-14"}]}

`radiation` carries `end_date`; `interruption` carries `end_date` and `reason`; `prolongation` carries the new
`mission_end`. Unknown fields are refused by name, so a misspelt field never passes silently.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import email_validator

from core.accounts import LANGUAGES
from core.i18n import N_

from .catalogue import DEPENDANT_CATEGORIES, PersonCategory, Programme
from .countries import HOME_COUNTRY, UNKNOWN_COUNTRY_CODE, is_country
from .dates import add_months, age_on
from .models import RosterEventKind

MAX_MISSION_MONTHS = 24
MIN_VOLUNTEER_AGE = 18
#: how far ahead of the portal's clock an event's time may be (clock skew): an event dated in the future
#: would make every real event after it look older, and be ignored
CLOCK_SKEW = timedelta(minutes=5)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Problem:
    code: str
    #: a msgid (core.i18n.N_), translated where it is shown
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


REQUIRED = Problem("required", N_("This field is required."))
UNKNOWN_FIELD = Problem("unknown_field", N_("Unknown field."))
NOT_TEXT = Problem("invalid_text", N_("Give this as text."))
TOO_LONG = Problem("too_long", N_("This text is too long."))
BAD_DATE = Problem("invalid_date", N_("Give a date as YYYY-MM-DD."))
BAD_TIME = Problem("invalid_datetime", N_("Give a date and time with its time zone, as 2026-11-02T08:00:00Z."))
IN_FUTURE = Problem("in_future", N_("This time is in the future: send an event once it happened."))
UNKNOWN_EVENT = Problem("unknown_event", N_("Unknown event: give affiliation, radiation, prolongation or "
                                            "interruption."))
UNKNOWN_PROGRAMME = Problem("unknown_programme", N_("Unknown programme: give VIE or VIA."))
UNKNOWN_COUNTRY = Problem("unknown_country", UNKNOWN_COUNTRY_CODE)
HOME = Problem("home_country", N_("A mission takes place abroad: France cannot be the mission country."))
BAD_EMAIL = Problem("invalid_email", N_("Give a valid e-mail address."))
UNKNOWN_LANGUAGE = Problem("unknown_language", N_("Unknown language: give one of en, fr, it, es, ru, uk."))
DATES_ORDER = Problem("dates_order", N_("The mission must end after it starts."))
TOO_LONG_MISSION = Problem("mission_too_long", N_("A mission lasts at most 24 months."))
TOO_YOUNG = Problem("too_young", N_("A volunteer is at least 18 years old when the mission starts."))
NOT_A_LIST = Problem("invalid_list", N_("Give a list of dependants."))
NOT_AN_OBJECT = Problem("invalid_record", N_("Give each record as an object of named fields."))
DEPENDANT_CATEGORY = Problem("unknown_category", N_("A dependant is a spouse (or partner) or a child."))
TWO_SPOUSES = Problem("too_many_spouses", N_("Only one spouse or partner can be declared."))

COMMON = ("event", "event_id", "occurred_at", "file_ref")
FIELDS = {
    RosterEventKind.affiliation: COMMON + ("first_name", "last_name", "email", "birth_date", "programme",
                                           "mission_country", "mission_start", "mission_end", "language"),
    RosterEventKind.radiation: COMMON + ("end_date",),
    RosterEventKind.interruption: COMMON + ("end_date", "reason"),
    RosterEventKind.prolongation: COMMON + ("mission_end",),
}
OPTIONAL = {RosterEventKind.affiliation: ("dependants",)}
LENGTHS = {"event_id": 64, "file_ref": 32, "first_name": 100, "last_name": 100, "email": 254, "reason": 200}


@dataclass(frozen=True)
class DependantInput:
    category: PersonCategory
    birth_date: date
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True)
class RosterRecord:
    kind: RosterEventKind
    event_id: str
    occurred_at: datetime
    file_ref: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    birth_date: date | None = None
    programme: Programme | None = None
    mission_country: str | None = None
    mission_start: date | None = None
    mission_end: date | None = None
    language: str | None = None
    #: None: the record says nothing of dependants (they stay as they are); () : it says there are none
    dependants: tuple[DependantInput, ...] | None = None
    end_date: date | None = None
    reason: str | None = None


class _Reader:
    """Reads fields out of a raw record, noting a problem for each bad one."""

    def __init__(self, raw: Mapping, prefix: str = ""):
        self.raw, self.prefix = raw, prefix
        self.problems: dict[str, list[Problem]] = {}

    def fail(self, name: str, problem: Problem) -> None:
        self.problems.setdefault(f"{self.prefix}{name}", []).append(problem)

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.raw.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            if required:
                self.fail(name, REQUIRED)
            return None
        if not isinstance(value, str):
            self.fail(name, NOT_TEXT)
        elif len(value) > LENGTHS.get(name, 100):
            self.fail(name, TOO_LONG)
        else:
            return value
        return None

    def day(self, name: str) -> date | None:
        value = self.text(name)
        if value is None:
            return None
        if _DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(name, BAD_DATE)
        return None

    def moment(self, name: str, now: datetime) -> datetime | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None or not _DATE.match(value):
            self.fail(name, BAD_TIME)
            return None
        if moment > now + CLOCK_SKEW:
            self.fail(name, IN_FUTURE)
            return None
        return moment

    def choice(self, name: str, choices, problem: Problem):
        value = self.text(name)
        if value is None:
            return None
        if value not in choices:
            self.fail(name, problem)
            return None
        return value


def parse_record(raw, *, now: datetime) -> tuple[RosterRecord | None, dict[str, list[Problem]]]:
    """(record, {}) when `raw` is a valid roster record, else (None, {field: [problems]})."""
    if not isinstance(raw, Mapping):
        return None, {"record": [NOT_AN_OBJECT]}
    read = _Reader(raw)
    kind_value = read.choice("event", {k.value for k in RosterEventKind}, UNKNOWN_EVENT)
    values = dict(event_id=read.text("event_id"), occurred_at=read.moment("occurred_at", now),
                  file_ref=read.text("file_ref"))
    if kind_value is None:
        return None, read.problems
    kind = RosterEventKind(kind_value)
    for name in raw:
        if name not in FIELDS[kind] and name not in OPTIONAL.get(kind, ()):
            read.fail(name, UNKNOWN_FIELD)
    if kind is RosterEventKind.affiliation:
        values.update(_affiliation(read))
    elif kind is RosterEventKind.prolongation:
        values["mission_end"] = read.day("mission_end")
    else:
        values["end_date"] = read.day("end_date")
        if kind is RosterEventKind.interruption:
            values["reason"] = read.text("reason")
    if read.problems:
        return None, read.problems
    return RosterRecord(kind=kind, **values), {}


def _affiliation(read: _Reader) -> dict:
    values = dict(first_name=read.text("first_name"), last_name=read.text("last_name"),
                  email=_email(read), birth_date=read.day("birth_date"),
                  mission_start=read.day("mission_start"), mission_end=read.day("mission_end"),
                  language=read.choice("language", LANGUAGES, UNKNOWN_LANGUAGE))
    programme = read.choice("programme", {p.value for p in Programme}, UNKNOWN_PROGRAMME)
    values["programme"] = Programme(programme) if programme else None
    country = read.text("mission_country")
    if country is not None and not is_country(country):
        read.fail("mission_country", UNKNOWN_COUNTRY)
    elif country == HOME_COUNTRY:
        read.fail("mission_country", HOME)
    values["mission_country"] = country
    start, end, born = values["mission_start"], values["mission_end"], values["birth_date"]
    if start and end:
        if end <= start:
            read.fail("mission_end", DATES_ORDER)
        elif end > add_months(start, MAX_MISSION_MONTHS):
            read.fail("mission_end", TOO_LONG_MISSION)
    if start and born and age_on(born, start) < MIN_VOLUNTEER_AGE:
        read.fail("birth_date", TOO_YOUNG)
    values["dependants"] = _dependants(read, read.raw.get("dependants"))
    return values


def _email(read: _Reader) -> str | None:
    value = read.text("email")
    if value is None:
        return None
    try:
        return email_validator.validate_email(value, check_deliverability=False).normalized
    except email_validator.EmailNotValidError:
        read.fail("email", BAD_EMAIL)
        return None


def _dependants(read: _Reader, raw) -> tuple[DependantInput, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        read.fail("dependants", NOT_A_LIST)
        return None
    found = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            read.fail(f"dependants.{i}", NOT_AN_OBJECT)
            continue
        sub = _Reader(item, prefix=f"dependants.{i}.")
        category = sub.choice("category", {c.value for c in DEPENDANT_CATEGORIES}, DEPENDANT_CATEGORY)
        birth_date = sub.day("birth_date")
        names = dict(first_name=sub.text("first_name", required=False),
                     last_name=sub.text("last_name", required=False))
        for name in item:
            if name not in ("category", "birth_date", "first_name", "last_name"):
                sub.fail(name, UNKNOWN_FIELD)
        read.problems.update(sub.problems)
        if category and birth_date and not sub.problems:
            found.append(DependantInput(PersonCategory(category), birth_date, **names))
    if sum(d.category is PersonCategory.spouse for d in found) > 1:
        read.fail("dependants", TWO_SPOUSES)
    return tuple(found)

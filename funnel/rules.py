"""The programme's cover rules as plain functions of dates and numbers (the numbers come from the tariff grid).

- The cover starts the day after the subscription at the earliest (and not before the mission starts), and
  never after the mission's end.
- It ends when the mission ends (radiation), whatever was committed, without penalty.
- The commitment is a minimum of `minimum_term_months` (12) from the start, or the rest of the mission when
  less than that remains.
- Waiting periods apply, per guarantee, when the volunteer subscribes after the first month of mission.
- A child is covered until the eve of the birthday at the grid's age limit.
- A dependant declared within 30 days of the event that made them one (birth, adoption, marriage...) is
  covered from the event; declared later, from the first day of the next month.
- A month of cover runs from the cover's start to the same day a month later; part of one costs its premium x
  the days covered / the days of that month of cover.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from core.i18n import N_

from .catalogue import Guarantee
from .dates import add_months, age_on, birthday, day_before, first_of_next_month
from .errors import QuoteRefused

NEW_DEPENDANT_DECLARATION_DAYS = 30


# --- the cover's dates -------------------------------------------------------------------------------------------

def start_window(subscribed_on: date, mission_start: date, mission_end: date) -> tuple[date, date]:
    """(earliest, latest) start of a cover subscribed on `subscribed_on`; QuoteRefused when the mission ends
    before any cover could start."""
    earliest = max(subscribed_on + timedelta(days=1), mission_start)
    if earliest > mission_end:
        message = N_("The mission ends before a cover could start: there is nothing left to cover.")
        raise QuoteRefused(message, fields={"start_date": [message]})
    return earliest, mission_end


def check_start(start: date | None, subscribed_on: date, mission_start: date, mission_end: date) -> date:
    """The start asked for (the earliest possible when None), or QuoteRefused saying why it cannot be."""
    earliest, latest = start_window(subscribed_on, mission_start, mission_end)
    if start is None:
        return earliest
    if start < earliest:
        message = N_("The cover can start on %(earliest)s at the earliest (the day after subscribing, and not "
                     "before the mission starts).")
        raise QuoteRefused(message, fields={"start_date": [message]}, earliest=earliest.isoformat())
    if start > latest:
        message = N_("The cover cannot start after the mission ends (%(latest)s).")
        raise QuoteRefused(message, fields={"start_date": [message]}, latest=latest.isoformat())
    return start


def commitment_ends_on(start: date, mission_end: date, minimum_term_months: int) -> date:
    """The last day of the minimum commitment: `minimum_term_months` from the start, or the mission's last day
    when the mission ends sooner."""
    return min(day_before(add_months(start, minimum_term_months)), mission_end)


def cover_ends_on(mission_end: date) -> date:
    """The cover's last day: the mission's (radiation ends the cover, without penalty)."""
    return mission_end


# --- waiting periods ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WaitingPeriod:
    guarantee: Guarantee
    months: int
    #: the first day the guarantee pays
    covered_from: date


def waiting_applies(subscribed_on: date, mission_start: date) -> bool:
    """Waiting periods apply to a subscription made after the mission's first month."""
    return subscribed_on >= add_months(mission_start, 1)


def waiting_periods(waiting: Mapping[Guarantee, int], guarantees: Iterable[Guarantee], *, subscribed_on: date,
                    mission_start: date, start: date) -> tuple[WaitingPeriod, ...]:
    """The waiting periods that apply to these guarantees (those of a formula), in the order given."""
    if not waiting_applies(subscribed_on, mission_start):
        return ()
    return tuple(WaitingPeriod(g, waiting[g], add_months(start, waiting[g]))
                 for g in guarantees if waiting.get(g, 0) > 0)


# --- children and new dependants ---------------------------------------------------------------------------------

def child_covered_until(birth_date: date, age_limit: int) -> date:
    """A child's last covered day: the eve of the birthday at the age limit."""
    return day_before(birthday(birth_date, age_limit))


def child_within_age_limit(birth_date: date, on: date, age_limit: int) -> bool:
    return age_on(birth_date, on) < age_limit


def dependant_covered_from(event_date: date, declared_on: date, cover_start: date | None = None) -> date:
    """When a dependant declared on `declared_on` is covered from: the event's date if declared within 30 days
    of it, else the first day of the month after the declaration — never before the volunteer's cover starts."""
    if declared_on <= event_date + timedelta(days=NEW_DEPENDANT_DECLARATION_DAYS):
        start = event_date
    else:
        start = first_of_next_month(declared_on)
    return max(start, cover_start) if cover_start else start


# --- months of cover, and part of one -------------------------------------------------------------------

def cover_month(start: date, day: date) -> int:
    """The index (0 for the first) of the month of cover `day` falls in, months of cover running from `start`
    to the same day a month later."""
    n = (day.year - start.year) * 12 + day.month - start.month
    return n - 1 if add_months(start, n) > day else n


def cover_month_period(start: date, n: int) -> tuple[date, date]:
    """[first day, day after the last) of the n-th month of cover."""
    return add_months(start, n), add_months(start, n + 1)


def prorated_period(monthly_minor: int, period: tuple[date, date], covered: tuple[date, date]) -> int:
    """The premium for the `covered` days ([from, to)) of a month of cover `period`: monthly x days covered /
    days in the period, rounded half up to the cent (so the whole period costs exactly the monthly premium)."""
    start, end = period
    days = (end - start).days
    inside = max((min(covered[1], end) - max(covered[0], start)).days, 0)
    return (2 * monthly_minor * inside + days) // (2 * days)

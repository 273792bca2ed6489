"""A quote: the monthly premium of each person and in total for a choice of covers and formulas, with the
waiting periods, the minimum commitment and the end of cover that apply, and the versions it was priced on.

`compute_quote` is the pure rule (tariffs and zone table given); `quote_for_volunteer` reads what the roster
knows and the versions in force on the cover's start date. Dependant eligibility is asked separately
(funnel.eligibility): pricing needs only who is covered and their birth dates.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from core.i18n import N_

from . import rules
from .catalogue import Cover, PersonCategory
from .errors import QuoteRefused
from .grid import Formula
from .models import Dependant, Volunteer
from .money import Money
from .tariffs import Tariff, Zones, tariffs_in_force, zones_in_force


@dataclass(frozen=True)
class Insured:
    """A person to cover. `ref` ties the line back to a record (the volunteer's or a dependant's public id)."""

    category: PersonCategory
    birth_date: date
    ref: str | None = None


@dataclass(frozen=True)
class QuoteRequest:
    mission_country: str
    mission_start: date
    mission_end: date
    #: the volunteer, first, then the dependants chosen for cover
    persons: Sequence[Insured]
    #: cover → formula code
    choices: Mapping[Cover, str]
    subscribed_on: date
    #: None: the earliest possible start
    start_on: date | None = None


@dataclass(frozen=True)
class PersonPremium:
    insured: Insured
    monthly: Money
    #: the last day covered: the cover's end, or for a child the eve of the birthday at the age limit if sooner
    covered_until: date


@dataclass(frozen=True)
class CoverQuote:
    cover: Cover
    formula: Formula
    tariff_ref: str
    persons: tuple[PersonPremium, ...]
    monthly_total: Money
    waiting_periods: tuple[rules.WaitingPeriod, ...]
    minimum_term_months: int
    commitment_ends_on: date


@dataclass(frozen=True)
class Quote:
    mission_country: str
    zone: int
    zone_table_ref: str
    subscribed_on: date
    start_on: date
    ends_on: date
    covers: tuple[CoverQuote, ...]
    monthly_total: Money

    def cover(self, cover: Cover) -> CoverQuote:
        return next(q for q in self.covers if q.cover is cover)

    def as_record(self) -> dict:
        """What a quote or a contract keeps of it (JSON): the versions used and every amount."""
        return {
            "mission_country": self.mission_country, "zone": self.zone, "zone_table": self.zone_table_ref,
            "subscribed_on": self.subscribed_on.isoformat(), "start_on": self.start_on.isoformat(),
            "ends_on": self.ends_on.isoformat(), "monthly_total": self.monthly_total.as_dict(),
            "covers": [{
                "cover": q.cover.value, "formula": q.formula.code, "tariff": q.tariff_ref,
                "monthly_total": q.monthly_total.as_dict(), "minimum_term_months": q.minimum_term_months,
                "commitment_ends_on": q.commitment_ends_on.isoformat(),
                "waiting_periods": [{"guarantee": w.guarantee.value, "months": w.months,
                                     "covered_from": w.covered_from.isoformat()} for w in q.waiting_periods],
                "persons": [{"category": p.insured.category.value, "ref": p.insured.ref,
                             "birth_date": p.insured.birth_date.isoformat(), "monthly": p.monthly.as_dict(),
                             "covered_until": p.covered_until.isoformat()} for p in q.persons],
            } for q in self.covers],
        }


def _check_persons(persons: Sequence[Insured], start: date) -> None:
    fields = {}
    if not persons or persons[0].category is not PersonCategory.volunteer:
        fields["persons"] = [N_("The volunteer is always covered, first.")]
    if sum(p.category is PersonCategory.volunteer for p in persons) > 1:
        fields["persons"] = [N_("The volunteer is always covered, first.")]
    if sum(p.category is PersonCategory.spouse for p in persons) > 1:
        fields["persons"] = [N_("Only one spouse or partner can be covered.")]
    for i, person in enumerate(persons):
        if person.birth_date > start:
            fields[f"persons.{i}.birth_date"] = [N_("A person is covered once born: the birth date is after "
                                                    "the cover's start.")]
    if fields:
        raise QuoteRefused(N_("The people to cover are not as the programme allows."), fields=fields)


def _price_cover(request: QuoteRequest, tariff: Tariff, formula_code: str, zone: int, start: date,
                 ends_on: date) -> CoverQuote:
    grid = tariff.grid
    formula = grid.formula(formula_code)
    price_zone = zone if tariff.cover.zoned else None
    lines = []
    for i, person in enumerate(request.persons):
        if person.category not in tariff.cover.categories:
            continue  # the prévoyance top-up insures the volunteer only
        until = ends_on
        if person.category is PersonCategory.child:
            if not rules.child_within_age_limit(person.birth_date, start, grid.child_age_limit):
                message = N_("A child is covered up to the age of %(limit)s: this child is over the age limit.")
                raise QuoteRefused(message, fields={f"persons.{i}.birth_date": [message]},
                                   limit=grid.child_age_limit)
            until = min(until, rules.child_covered_until(person.birth_date, grid.child_age_limit))
        monthly = Money(grid.currency, formula.monthly_premium(price_zone, person.category))
        lines.append(PersonPremium(insured=person, monthly=monthly, covered_until=until))
    waiting = rules.waiting_periods(grid.waiting_periods, [line.guarantee for line in formula.guarantees],
                                    subscribed_on=request.subscribed_on, mission_start=request.mission_start,
                                    start=start)
    return CoverQuote(cover=tariff.cover, formula=formula, tariff_ref=tariff.ref, persons=tuple(lines),
                      monthly_total=Money.total((p.monthly for p in lines), grid.currency),
                      waiting_periods=waiting, minimum_term_months=grid.minimum_term_months,
                      commitment_ends_on=rules.commitment_ends_on(start, ends_on, grid.minimum_term_months))


def compute_quote(request: QuoteRequest, tariffs: Mapping[Cover, Tariff], zones: Zones) -> Quote:
    """Price `request` on the given tariff versions (one per chosen cover) and zone table. QuoteRefused (or
    UnknownCountry, UnknownFormula) says what cannot be priced, by field."""
    if not request.choices:
        message = N_("Choose at least one cover.")
        raise QuoteRefused(message, fields={"covers": [message]})
    start = rules.check_start(request.start_on, request.subscribed_on, request.mission_start, request.mission_end)
    _check_persons(request.persons, start)
    zone = zones.zone_of(request.mission_country)
    ends_on = rules.cover_ends_on(request.mission_end)
    covers = tuple(_price_cover(request, tariffs[cover], request.choices[cover], zone, start, ends_on)
                   for cover in Cover if cover in request.choices)
    currency = covers[0].monthly_total.currency
    return Quote(mission_country=request.mission_country, zone=zone, zone_table_ref=zones.ref,
                 subscribed_on=request.subscribed_on, start_on=start, ends_on=ends_on, covers=covers,
                 monthly_total=Money.total((c.monthly_total for c in covers), currency))


def insured(person: Volunteer | Dependant) -> Insured:
    """A volunteer or one of their dependants as a person to cover (the line's ref is their public id)."""
    category = person.category if isinstance(person, Dependant) else PersonCategory.volunteer
    return Insured(category, person.birth_date, person.public_id)


def quote_for_volunteer(session: Session, volunteer: Volunteer, choices: Mapping[Cover, str], *,
                        subscribed_on: date, dependants: Sequence[Dependant] = (),
                        start_on: date | None = None) -> Quote:
    """A quote for a volunteer of the roster and those of their current dependants chosen, on the tariff and
    zone versions in force on the cover's start date."""
    current = {d.id for d in volunteer.current_dependants}
    if any(d.id not in current for d in dependants):
        message = N_("Choose among the volunteer's declared dependants.")
        raise QuoteRefused(message, fields={"persons": [message]})
    request = QuoteRequest(
        mission_country=volunteer.mission_country, mission_start=volunteer.mission_start,
        mission_end=volunteer.mission_end, persons=(insured(volunteer), *map(insured, dependants)),
        choices=choices, subscribed_on=subscribed_on, start_on=start_on)
    start = rules.check_start(start_on, subscribed_on, volunteer.mission_start, volunteer.mission_end)
    tariffs = tariffs_in_force(session, choices, start)
    return compute_quote(request, tariffs, zones_in_force(session, start, [volunteer.mission_country]))

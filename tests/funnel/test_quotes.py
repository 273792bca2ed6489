"""Quotes: the monthly premium per person and in total, the waiting periods, the minimum commitment and the end
of cover, priced on recorded tariff and zone versions."""
import copy
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from funnel.catalogue import Cover, Guarantee, PersonCategory
from funnel.errors import QuoteRefused, UnknownCountry, UnknownFormula
from funnel.grid import parse_grid
from funnel.money import Money
from funnel.quotes import Insured, QuoteRequest, compute_quote, quote_for_volunteer
from funnel.seed import HEALTH_SAMPLE, PREVOYANCE_SAMPLE, sample_zones
from funnel.tariffs import Tariff, Zones, add_tariff_version, add_zone_table

SAMPLE_FROM = date(2026, 1, 1)
TARIFFS = {Cover.health: Tariff("health-2026-01-01-1", Cover.health, SAMPLE_FROM,
                                parse_grid(Cover.health, HEALTH_SAMPLE)),
           Cover.prevoyance: Tariff("prevoyance-2026-01-01-1", Cover.prevoyance, SAMPLE_FROM,
                                    parse_grid(Cover.prevoyance, PREVOYANCE_SAMPLE))}
ZONES = Zones("zones-2026-01-01-1", SAMPLE_FROM, date(2026, 11, 15), sample_zones())
VOLUNTEER = Insured(PersonCategory.volunteer, date(2000, 4, 2), "v")
SPOUSE = Insured(PersonCategory.spouse, date(1999, 7, 14), "s")
CHILD = Insured(PersonCategory.child, date(2024, 3, 1), "c")


def request(**overrides) -> QuoteRequest:
    values = dict(mission_country="US", mission_start=date(2026, 11, 3), mission_end=date(2027, 10, 31),
                  persons=(VOLUNTEER, SPOUSE, CHILD), choices={Cover.health: "comfort"},
                  subscribed_on=date(2026, 11, 20))
    values.update(overrides)
    return QuoteRequest(**values)


def test_a_family_in_zone_three_pays_each_persons_premium():
    quote = compute_quote(request(), TARIFFS, ZONES)
    health = quote.cover(Cover.health)
    assert quote.zone == 3 and quote.zone_table_ref == "zones-2026-01-01-1"
    assert [(p.insured.ref, p.monthly) for p in health.persons] == [
        ("v", Money("EUR", 6400)), ("s", Money("EUR", 7600)), ("c", Money("EUR", 3500))]
    assert health.monthly_total == quote.monthly_total == Money("EUR", 17500)
    assert health.tariff_ref == "health-2026-01-01-1" and health.formula.code == "comfort"


def test_the_cover_starts_the_next_day_and_ends_with_the_mission():
    quote = compute_quote(request(), TARIFFS, ZONES)
    assert (quote.start_on, quote.ends_on) == (date(2026, 11, 21), date(2027, 10, 31))
    health = quote.cover(Cover.health)
    # less than 12 months of mission remain: the commitment is the rest of the mission
    assert health.minimum_term_months == 12 and health.commitment_ends_on == date(2027, 10, 31)


def test_a_longer_mission_commits_for_twelve_months():
    quote = compute_quote(request(mission_end=date(2028, 10, 31)), TARIFFS, ZONES)
    assert quote.cover(Cover.health).commitment_ends_on == date(2027, 11, 20)


def test_the_prevoyance_top_up_prices_the_volunteer_only_beside_the_health_top_up():
    quote = compute_quote(request(choices={Cover.health: "essential", Cover.prevoyance: "extended"}),
                          TARIFFS, ZONES)
    prevoyance = quote.cover(Cover.prevoyance)
    assert [p.insured.ref for p in prevoyance.persons] == ["v"]
    assert prevoyance.monthly_total == Money("EUR", 1700)
    assert quote.monthly_total == Money("EUR", 3900 + 4700 + 2200 + 1700)
    assert [c.cover for c in quote.covers] == [Cover.health, Cover.prevoyance]


def test_no_waiting_period_in_the_first_month_of_mission():
    assert compute_quote(request(), TARIFFS, ZONES).cover(Cover.health).waiting_periods == ()


def test_waiting_periods_once_the_first_month_has_passed():
    quote = compute_quote(request(subscribed_on=date(2027, 1, 10)), TARIFFS, ZONES)
    waiting = {w.guarantee: (w.months, w.covered_from) for w in quote.cover(Cover.health).waiting_periods}
    assert waiting == {Guarantee.dental: (6, date(2027, 7, 11)), Guarantee.optical: (6, date(2027, 7, 11)),
                       Guarantee.maternity: (10, date(2027, 11, 11)),
                       Guarantee.alternative_medicine: (3, date(2027, 4, 11))}


def test_a_child_over_the_age_limit_is_refused_by_name():
    older = Insured(PersonCategory.child, date(2005, 6, 1))
    with pytest.raises(QuoteRefused) as caught:
        compute_quote(request(persons=(VOLUNTEER, older)), TARIFFS, ZONES)
    assert caught.value.fields == {"persons.1.birth_date": [
        "A child is covered up to the age of %(limit)s: this child is over the age limit."]}
    assert "up to the age of 21" in str(caught.value)


def test_a_child_reaching_the_limit_during_the_cover_is_covered_until_the_eve():
    almost = Insured(PersonCategory.child, date(2006, 3, 15))
    line = compute_quote(request(persons=(VOLUNTEER, almost)), TARIFFS, ZONES).cover(Cover.health).persons[1]
    assert line.covered_until == date(2027, 3, 14)


@pytest.mark.parametrize("persons,field", [
    ((SPOUSE,), "persons"), ((VOLUNTEER, SPOUSE, SPOUSE), "persons"), ((VOLUNTEER, VOLUNTEER), "persons"),
    ((VOLUNTEER, Insured(PersonCategory.child, date(2027, 5, 1))), "persons.1.birth_date")])
def test_the_people_to_cover_are_checked(persons, field):
    with pytest.raises(QuoteRefused) as caught:
        compute_quote(request(persons=persons), TARIFFS, ZONES)
    assert field in caught.value.fields


def test_dates_outside_the_mission_are_refused():
    with pytest.raises(QuoteRefused) as caught:
        compute_quote(request(start_on=date(2027, 11, 1)), TARIFFS, ZONES)
    assert "start_date" in caught.value.fields


def test_a_country_outside_the_zone_table_is_a_clear_error():
    with pytest.raises(UnknownCountry) as caught:
        compute_quote(request(mission_country="FR"), TARIFFS, ZONES)
    assert "FR" in str(caught.value) and "mission_country" in caught.value.fields


def test_an_unknown_formula_or_no_cover_is_refused():
    with pytest.raises(UnknownFormula):
        compute_quote(request(choices={Cover.health: "gold"}), TARIFFS, ZONES)
    with pytest.raises(QuoteRefused):
        compute_quote(request(choices={}), TARIFFS, ZONES)


def test_the_record_keeps_the_versions_and_every_amount():
    record = compute_quote(request(choices={Cover.health: "comfort", Cover.prevoyance: "standard"}),
                           TARIFFS, ZONES).as_record()
    assert record["zone_table"] == "zones-2026-01-01-1"
    assert [(c["cover"], c["tariff"]) for c in record["covers"]] == [
        ("health", "health-2026-01-01-1"), ("prevoyance", "prevoyance-2026-01-01-1")]
    assert record["monthly_total"] == {"minor": 17500 + 900, "currency": "EUR"}


# --- properties over random grids and households --------------------------------------------------------------

cents = st.integers(0, 10**6)
births = st.dates(min_value=date(2006, 12, 1), max_value=date(2026, 11, 1))


@st.composite
def grids(draw):
    data = copy.deepcopy(HEALTH_SAMPLE)
    for formula in data["formulas"]:
        for zone in ("1", "2", "3"):
            formula["premiums"][zone] = {c: draw(cents) for c in ("volunteer", "spouse", "child")}
    return data


@settings(max_examples=150, database=None, deadline=None)
@given(grid=grids(), country=st.sampled_from(sorted(ZONES.by_country)), spouse=st.booleans(),
       children=st.lists(births, max_size=5), formula=st.sampled_from(["essential", "comfort", "integral"]),
       prevoyance=st.booleans())
def test_premiums_are_never_negative_and_totals_are_the_sum_of_their_persons(grid, country, spouse, children,
                                                                           formula, prevoyance):
    tariffs = {Cover.health: Tariff("h", Cover.health, SAMPLE_FROM, parse_grid(Cover.health, grid)),
               Cover.prevoyance: TARIFFS[Cover.prevoyance]}
    persons = [VOLUNTEER] + ([SPOUSE] if spouse else []) + [Insured(PersonCategory.child, b) for b in children]
    choices = {Cover.health: formula, **({Cover.prevoyance: "standard"} if prevoyance else {})}
    quote = compute_quote(request(mission_country=country, persons=tuple(persons), choices=choices), tariffs,
                          ZONES)
    for cover in quote.covers:
        assert all(p.monthly.minor >= 0 for p in cover.persons)
        assert cover.monthly_total == Money.total((p.monthly for p in cover.persons), "EUR")
    assert len(quote.cover(Cover.health).persons) == len(persons)
    assert quote.monthly_total.minor == sum(c.monthly_total.minor for c in quote.covers) >= 0


# --- on the database: the versions in force on the cover's start ----------------------------------------------

def test_a_volunteer_is_quoted_from_the_roster_on_the_versions_in_force(session, products, make_volunteer):
    volunteer = make_volunteer(mission_country="DE", mission_start="2026-11-03", mission_end="2028-10-31")
    dearer = copy.deepcopy(HEALTH_SAMPLE)
    dearer["formulas"][0]["premiums"]["1"]["volunteer"] = 2000
    version = add_tariff_version(session, Cover.health, dearer, effective_from=date(2027, 1, 1),
                                 today=date(2026, 12, 1))
    assert version.ref == "health-2027-01-01-1"
    before = quote_for_volunteer(session, volunteer, {Cover.health: "essential"}, subscribed_on=date(2026, 12, 1))
    after = quote_for_volunteer(session, volunteer, {Cover.health: "essential"}, subscribed_on=date(2026, 12, 1),
                                start_on=date(2027, 1, 1))
    assert (before.zone, before.cover(Cover.health).tariff_ref) == (1, "health-2026-01-01-1")
    assert before.monthly_total == Money("EUR", 1900)
    assert after.cover(Cover.health).tariff_ref == "health-2027-01-01-1"
    assert after.monthly_total == Money("EUR", 2000)
    assert before.cover(Cover.health).persons[0].insured.ref == volunteer.public_id


def test_a_zone_change_takes_effect_from_its_date(session, products, make_volunteer):
    volunteer = make_volunteer(mission_country="TH")
    zones = dict(sample_zones(), TH=3)
    add_zone_table(session, zones, effective_from=date(2027, 2, 1), reviewed_on=date(2026, 12, 1),
                   today=date(2026, 12, 1))
    early = quote_for_volunteer(session, volunteer, {Cover.health: "essential"}, subscribed_on=date(2026, 11, 20))
    late = quote_for_volunteer(session, volunteer, {Cover.health: "essential"}, subscribed_on=date(2026, 11, 20),
                               start_on=date(2027, 2, 1))
    assert (early.zone, late.zone) == (2, 3)
    assert late.zone_table_ref == "zones-2027-02-01-1"

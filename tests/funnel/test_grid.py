"""Tariff grids as data: a complete grid reads back as typed formulas and premiums; an incomplete or inconsistent
one is refused with every problem named by its path (no database)."""
import copy

import pytest

from funnel.catalogue import Cover, Guarantee, LimitBasis, PersonCategory
from funnel.errors import GridInvalid, UnknownFormula
from funnel.grid import parse_grid
from funnel.seed import HEALTH_SAMPLE, PREVOYANCE_SAMPLE


def refused(cover, data) -> dict:
    with pytest.raises(GridInvalid) as caught:
        parse_grid(cover, data)
    return caught.value.fields


def test_the_sample_health_grid_prices_every_zone_and_person():
    grid = parse_grid(Cover.health, HEALTH_SAMPLE)
    assert [f.code for f in grid.formulas] == ["essential", "comfort", "integral"]
    comfort = grid.formula("comfort")
    assert comfort.label == "Comfort"
    assert comfort.monthly_premium(3, PersonCategory.spouse) == 7600
    assert comfort.monthly_premium(1, PersonCategory.child) == 1800
    assert len(comfort.premiums) == 9  # 3 zones × 3 person categories
    assert grid.child_age_limit == 21 and grid.minimum_term_months == 12 and grid.currency == "EUR"
    assert grid.waiting_periods[Guarantee.maternity] == 10
    room = next(line for line in comfort.guarantees if line.guarantee is Guarantee.private_room)
    assert (room.percent, room.limit_minor, room.basis) == (None, 9000, LimitBasis.per_day)


def test_the_prevoyance_grid_is_priced_by_formula_for_the_volunteer_only():
    grid = parse_grid(Cover.prevoyance, PREVOYANCE_SAMPLE)
    extended = grid.formula("extended")
    assert extended.premiums == {(None, PersonCategory.volunteer): 1700}
    assert grid.child_age_limit is None
    assert {line.guarantee for line in extended.guarantees} == {
        Guarantee.death, Guarantee.permanent_disability, Guarantee.accidental_death}


@pytest.mark.parametrize("cover,data", [(Cover.health, HEALTH_SAMPLE), (Cover.prevoyance, PREVOYANCE_SAMPLE)])
def test_a_grid_reads_back_equal_from_its_data(cover, data):
    grid = parse_grid(cover, data)
    assert parse_grid(cover, grid.to_data()) == grid
    assert grid.to_data() == data


def test_an_unknown_formula_is_a_clear_error():
    with pytest.raises(UnknownFormula) as caught:
        parse_grid(Cover.health, HEALTH_SAMPLE).formula("gold")
    assert "formula" in caught.value.fields


def test_every_problem_of_a_grid_is_named_by_its_path():
    data = copy.deepcopy(HEALTH_SAMPLE)
    data["currency"] = "euro"
    data["minimum_term_months"] = 0
    del data["child_age_limit"]
    data["waiting_periods"]["death"] = 6
    essential = data["formulas"][0]
    essential["premiums"]["2"]["spouse"] = -100
    del essential["premiums"]["3"]
    essential["premiums"]["4"] = {"volunteer": 1}
    essential["guarantees"][1]["basis"] = None
    essential["guarantees"].append({"guarantee": "telepathy", "percent": 100})
    data["formulas"][1]["code"] = "essential"
    fields = refused(Cover.health, data)
    assert set(fields) == {
        "currency", "minimum_term_months", "child_age_limit", "waiting_periods.death",
        "formulas.0.premiums.2.spouse", "formulas.0.premiums.3", "formulas.0.premiums.4",
        "formulas.0.guarantees.1.basis", "formulas.0.guarantees.7.guarantee", "formulas.1.code"}
    assert fields["waiting_periods.death"] == ["This guarantee belongs to the other cover."]
    assert fields["formulas.0.premiums.2.spouse"] == ["Give an amount in cents: a whole number, zero or more."]


def test_a_cover_for_the_volunteer_only_prices_nobody_else():
    data = copy.deepcopy(PREVOYANCE_SAMPLE)
    data["formulas"][0]["premiums"]["spouse"] = 500
    data["child_age_limit"] = 18
    fields = refused(Cover.prevoyance, data)
    assert set(fields) == {"formulas.0.premiums.spouse", "child_age_limit"}


@pytest.mark.parametrize("bad", [None, [], "grid", {"formulas": []}])
def test_a_grid_that_is_not_one_is_refused(bad):
    assert refused(Cover.health, bad)


@pytest.mark.parametrize("amount", [12.5, "1900", True, None])
def test_premiums_are_whole_cents(amount):
    data = copy.deepcopy(HEALTH_SAMPLE)
    data["formulas"][0]["premiums"]["1"]["volunteer"] = amount
    assert set(refused(Cover.health, data)) == {"formulas.0.premiums.1.volunteer"}

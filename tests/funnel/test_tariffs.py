"""Tariff and zone-table versions: effective-dated, never edited, read as in force on a date; the sample data."""
import copy
from datetime import date

import pytest
from sqlalchemy import func, select

from core.db import AppendOnlyViolation
from funnel.catalogue import Cover, PersonCategory
from funnel.errors import GridInvalid, NoVersionInForce, UnknownCountry, VersionRefused
from funnel.models import TariffVersion, ZoneTable, ZoneTableCountry
from funnel.seed import HEALTH_SAMPLE, SAMPLE_NOTE, seed_sample_products
from funnel.tariffs import (add_tariff_version, add_zone_table, review_zone_table, tariff_by_ref, tariff_history,
                            tariff_in_force, tariffs_in_force, zone_of, zone_table_history, zones_in_force)

TODAY = date(2026, 12, 1)


def priced(volunteer_premium: int) -> dict:
    grid = copy.deepcopy(HEALTH_SAMPLE)
    grid["formulas"][0]["premiums"]["2"]["volunteer"] = volunteer_premium
    return grid


def premium(tariff) -> int:
    return tariff.grid.formula("essential").monthly_premium(2, PersonCategory.volunteer)


def test_the_version_in_force_is_the_latest_that_has_taken_effect(session, products):
    add_tariff_version(session, Cover.health, priced(2700), effective_from=date(2027, 1, 1), today=TODAY)
    add_tariff_version(session, Cover.health, priced(2900), effective_from=date(2027, 7, 1), today=TODAY)
    assert premium(tariff_in_force(session, Cover.health, date(2026, 12, 31))) == 2600
    assert premium(tariff_in_force(session, Cover.health, date(2027, 1, 1))) == 2700
    assert premium(tariff_in_force(session, Cover.health, date(2027, 6, 30))) == 2700
    assert premium(tariff_in_force(session, Cover.health, date(2030, 1, 1))) == 2900
    # the other cover has its own versions
    assert tariff_in_force(session, Cover.prevoyance, date(2030, 1, 1)).ref == "prevoyance-2026-01-01-1"
    # several covers in one read: the same versions
    for day in (date(2026, 12, 31), date(2027, 1, 1), date(2030, 1, 1)):
        both = tariffs_in_force(session, [Cover.health, Cover.prevoyance], day)
        assert {c: t.ref for c, t in both.items()} == {c: tariff_in_force(session, c, day).ref for c in Cover}
    with pytest.raises(NoVersionInForce):
        tariffs_in_force(session, [Cover.health], date(2020, 1, 1))


def test_a_correction_for_the_same_date_replaces_the_earlier_entry(session, products):
    first = add_tariff_version(session, Cover.health, priced(2700), effective_from=date(2027, 1, 1), today=TODAY)
    second = add_tariff_version(session, Cover.health, priced(2750), effective_from=date(2027, 1, 1), today=TODAY,
                                notes="typo in zone 2")
    assert (first.ref, second.ref) == ("health-2027-01-01-1", "health-2027-01-01-2")
    assert tariff_in_force(session, Cover.health, date(2027, 3, 1)).ref == second.ref
    # what a quote recorded stays readable by its reference
    assert premium(tariff_by_ref(session, first.ref)) == 2700
    assert [v.ref for v in tariff_history(session, Cover.health)] == [
        "health-2027-01-01-2", "health-2027-01-01-1", "health-2026-01-01-1"]


def test_a_version_cannot_take_effect_in_the_past(session, products):
    with pytest.raises(VersionRefused) as caught:
        add_tariff_version(session, Cover.health, priced(2700), effective_from=date(2026, 11, 30), today=TODAY)
    assert "effective_from" in caught.value.fields


def test_an_invalid_grid_writes_nothing(session, products):
    bad = priced(-1)
    with pytest.raises(GridInvalid) as caught:
        add_tariff_version(session, Cover.health, bad, effective_from=date(2027, 1, 1), today=TODAY)
    assert list(caught.value.fields) == ["formulas.0.premiums.2.volunteer"]
    assert session.scalar(select(func.count()).select_from(TariffVersion)) == 2


def test_no_tariff_before_the_first_version(session, products):
    with pytest.raises(NoVersionInForce):
        tariff_in_force(session, Cover.health, date(2025, 12, 31))
    with pytest.raises(NoVersionInForce):
        tariff_by_ref(session, "health-1999-01-01-1")


def test_versions_are_never_edited(session, products):
    version = tariff_in_force(session, Cover.health, TODAY)
    row = session.scalar(select(TariffVersion).where(TariffVersion.ref == version.ref))
    row.notes = "changed"
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()
    table = session.scalar(select(ZoneTable))
    session.delete(table.countries[0])
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()


# --- zones -----------------------------------------------------------------------------------------------------

def test_a_mission_country_has_the_zone_of_the_table_in_force(session, products):
    assert zone_of(session, "US", TODAY) == (3, "zones-2026-01-01-1")
    assert zone_of(session, "DE", TODAY)[0] == 1
    assert zone_of(session, "SN", TODAY)[0] == 2
    table = zones_in_force(session, TODAY)
    assert table.reviewed_on == date(2026, 11, 15) and "FR" not in table.by_country


def test_a_country_the_table_does_not_place_is_a_clear_error(session, products):
    with pytest.raises(UnknownCountry) as caught:
        zone_of(session, "FR", TODAY)
    assert caught.value.code == "unknown_country" and "FR" in str(caught.value)


def test_a_review_records_a_new_version_with_its_changes(session, products):
    reviewed = review_zone_table(session, {"TH": 3, "AQ": None}, effective_from=date(2027, 1, 1),
                                 reviewed_on=TODAY, today=TODAY, notes="annual review")
    assert reviewed.ref == "zones-2027-01-01-1"
    assert zone_of(session, "TH", date(2026, 12, 31))[0] == 2
    assert zone_of(session, "TH", date(2027, 1, 1)) == (3, reviewed.ref)
    with pytest.raises(UnknownCountry):
        zone_of(session, "AQ", date(2027, 1, 1))
    assert zone_of(session, "AQ", date(2026, 12, 31))[0] == 2
    assert [t.ref for t in zone_table_history(session)] == ["zones-2027-01-01-1", "zones-2026-01-01-1"]


def test_a_zone_table_names_its_bad_entries(session):
    with pytest.raises(GridInvalid) as caught:
        add_zone_table(session, {"US": 3, "XX": 1, "DE": 4, "IT": True}, effective_from=TODAY,
                       reviewed_on=TODAY, today=TODAY)
    assert set(caught.value.fields) == {"zones.XX", "zones.DE", "zones.IT"}
    with pytest.raises(GridInvalid):
        add_zone_table(session, {}, effective_from=TODAY, reviewed_on=TODAY, today=TODAY)


def test_no_zone_table_no_zone(session):
    with pytest.raises(NoVersionInForce):
        zone_of(session, "US", TODAY)


# --- the sample data -------------------------------------------------------------------------------------------

def test_the_sample_products_load_once_and_say_they_are_samples(session):
    assert seed_sample_products(session) == 3
    assert seed_sample_products(session) == 0
    versions = session.scalars(select(TariffVersion)).all()
    assert {v.cover for v in versions} == set(Cover)
    assert all(v.notes == SAMPLE_NOTE and "SAMPLE" in v.notes for v in versions)
    assert session.scalar(select(func.count()).select_from(ZoneTableCountry)) == 249

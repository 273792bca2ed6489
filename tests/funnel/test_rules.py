"""The programme's cover rules as plain functions: minimum commitment, start and end of cover, waiting periods,
the children's age limit, new dependants, part-month premiums (no database)."""
from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from funnel import rules
from funnel.catalogue import Guarantee
from funnel.dates import add_months, age_on
from funnel.errors import QuoteRefused

PURE = settings(max_examples=300, database=None)
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@pytest.mark.parametrize("day,months,expected", [
    (date(2027, 1, 31), 1, date(2027, 2, 28)), (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 11, 3), 12, date(2027, 11, 3)), (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 12, 15), 1, date(2027, 1, 15))])
def test_months_are_added_on_the_calendar(day, months, expected):
    assert add_months(day, months) == expected


def test_age_counts_completed_years_and_leap_day_birthdays():
    assert age_on(date(2000, 4, 2), date(2026, 4, 1)) == 25
    assert age_on(date(2000, 4, 2), date(2026, 4, 2)) == 26
    assert age_on(date(2008, 2, 29), date(2029, 2, 28)) == 20
    assert age_on(date(2008, 2, 29), date(2029, 3, 1)) == 21


# --- commitment and cover dates ------------------------------------------------------------------------------

def test_the_commitment_is_twelve_months_when_the_mission_lasts_longer():
    assert rules.commitment_ends_on(date(2026, 11, 4), date(2028, 10, 31), 12) == date(2027, 11, 3)


def test_the_commitment_is_the_rest_of_the_mission_when_less_than_twelve_months_remain():
    assert rules.commitment_ends_on(date(2027, 3, 1), date(2027, 10, 31), 12) == date(2027, 10, 31)


def test_the_cover_ends_when_the_mission_ends():
    assert rules.cover_ends_on(date(2027, 10, 31)) == date(2027, 10, 31)


@PURE
@given(start=days, length=st.integers(0, 800), term=st.integers(1, 24))
def test_the_commitment_never_outlasts_the_mission_nor_the_minimum(start, length, term):
    mission_end = start + timedelta(days=length)
    ends = rules.commitment_ends_on(start, mission_end, term)
    assert start - timedelta(days=1) <= ends <= mission_end
    assert ends < add_months(start, term)
    assert ends == mission_end or ends == add_months(start, term) - timedelta(days=1)


def test_the_cover_starts_the_day_after_subscribing_at_the_earliest():
    assert rules.start_window(date(2026, 12, 10), date(2026, 11, 3), date(2027, 10, 31)) == (
        date(2026, 12, 11), date(2027, 10, 31))
    assert rules.check_start(None, date(2026, 12, 10), date(2026, 11, 3), date(2027, 10, 31)) == date(2026, 12, 11)


def test_a_cover_subscribed_before_the_mission_starts_with_the_mission():
    assert rules.check_start(None, date(2026, 10, 1), date(2026, 11, 3), date(2027, 10, 31)) == date(2026, 11, 3)


@pytest.mark.parametrize("start,field_message", [
    (date(2026, 12, 10), "The cover can start on 2026-12-11 at the earliest (the day after subscribing, and not "
                         "before the mission starts)."),
    (date(2027, 11, 1), "The cover cannot start after the mission ends (2027-10-31)."),
])
def test_a_start_outside_the_window_is_refused_with_the_reason(start, field_message):
    with pytest.raises(QuoteRefused) as caught:
        rules.check_start(start, date(2026, 12, 10), date(2026, 11, 3), date(2027, 10, 31))
    assert str(caught.value) == field_message
    assert "start_date" in caught.value.fields


def test_no_cover_once_the_mission_is_over():
    with pytest.raises(QuoteRefused):
        rules.start_window(date(2027, 10, 31), date(2026, 11, 3), date(2027, 10, 31))


def test_the_last_day_of_the_mission_can_still_start_a_cover():
    assert rules.start_window(date(2027, 10, 30), date(2026, 11, 3), date(2027, 10, 31)) == (
        date(2027, 10, 31), date(2027, 10, 31))


# --- waiting periods -----------------------------------------------------------------------------------------

WAITING = {Guarantee.dental: 6, Guarantee.maternity: 10, Guarantee.optical: 0}


def test_no_waiting_period_during_the_first_month_of_mission():
    assert not rules.waiting_applies(date(2026, 12, 2), date(2026, 11, 3))
    assert rules.waiting_periods(WAITING, list(Guarantee), subscribed_on=date(2026, 12, 2),
                                 mission_start=date(2026, 11, 3), start=date(2026, 12, 3)) == ()


def test_waiting_periods_apply_per_guarantee_after_the_first_month():
    assert rules.waiting_applies(date(2026, 12, 3), date(2026, 11, 3))
    found = rules.waiting_periods(WAITING, [Guarantee.hospital, Guarantee.maternity, Guarantee.dental,
                                            Guarantee.optical],
                                  subscribed_on=date(2027, 1, 15), mission_start=date(2026, 11, 3),
                                  start=date(2027, 1, 16))
    assert found == (rules.WaitingPeriod(Guarantee.maternity, 10, date(2027, 11, 16)),
                     rules.WaitingPeriod(Guarantee.dental, 6, date(2027, 7, 16)))


def test_a_guarantee_the_formula_lacks_has_no_waiting_period():
    found = rules.waiting_periods(WAITING, [Guarantee.hospital], subscribed_on=date(2027, 1, 15),
                                  mission_start=date(2026, 11, 3), start=date(2027, 1, 16))
    assert found == ()


# --- children and new dependants -----------------------------------------------------------------------------

def test_a_child_is_covered_until_the_eve_of_the_age_limit():
    assert rules.child_covered_until(date(2006, 5, 20), 21) == date(2027, 5, 19)
    assert rules.child_within_age_limit(date(2006, 5, 20), date(2027, 5, 19), 21)
    assert not rules.child_within_age_limit(date(2006, 5, 20), date(2027, 5, 20), 21)


def test_a_leap_day_child_reaches_the_limit_on_the_first_of_march():
    assert rules.child_covered_until(date(2008, 2, 29), 21) == date(2029, 2, 28)


def test_a_dependant_declared_within_thirty_days_is_covered_from_the_event():
    birth = date(2027, 2, 10)
    assert rules.dependant_covered_from(birth, declared_on=birth + timedelta(days=30)) == birth


def test_a_dependant_declared_later_is_covered_from_the_next_month():
    birth = date(2027, 2, 10)
    assert rules.dependant_covered_from(birth, declared_on=birth + timedelta(days=31)) == date(2027, 4, 1)
    assert rules.dependant_covered_from(date(2027, 1, 5), declared_on=date(2027, 3, 31)) == date(2027, 4, 1)


def test_a_dependant_is_never_covered_before_the_volunteer():
    assert rules.dependant_covered_from(date(2026, 6, 1), date(2026, 6, 5), cover_start=date(2026, 12, 1)) == \
        date(2026, 12, 1)


# --- months of cover, and part of one --------------------------------------------------------------------------

def test_months_of_cover_run_from_the_start_to_the_same_day_a_month_later():
    start = date(2026, 12, 9)
    assert rules.cover_month(start, date(2026, 12, 9)) == 0
    assert rules.cover_month(start, date(2027, 1, 8)) == 0
    assert rules.cover_month(start, date(2027, 1, 9)) == 1
    assert rules.cover_month_period(date(2027, 1, 31), 1) == (date(2027, 2, 28), date(2027, 3, 31))


def test_a_whole_month_of_cover_costs_the_monthly_premium_and_a_part_its_share():
    period = (date(2026, 12, 9), date(2027, 1, 9))  # 31 days
    assert rules.prorated_period(3100, period, period) == 3100
    assert rules.prorated_period(3100, period, (date(2027, 1, 1), date(2027, 1, 9))) == 800  # 8 of 31 days
    assert rules.prorated_period(3100, period, (date(2026, 1, 1), date(2026, 12, 24))) == 1500  # clipped: 15 days
    assert rules.prorated_period(1, (date(2027, 4, 1), date(2027, 5, 1)), (date(2027, 4, 16), date(2027, 5, 1))) == 1
    assert rules.prorated_period(3100, period, (date(2027, 2, 1), date(2027, 3, 1))) == 0  # outside it


@PURE
@given(monthly=st.integers(0, 10**7), start=days, offset=st.integers(0, 40), n=st.integers(0, 30))
def test_a_part_of_a_month_of_cover_costs_between_nothing_and_the_month(monthly, start, offset, n):
    period = rules.cover_month_period(start, n)
    day = period[0] + timedelta(days=offset)
    assert rules.cover_month(start, period[0]) == n and rules.cover_month(start, period[1] - timedelta(days=1)) == n
    part = rules.prorated_period(monthly, period, (day, period[1]))
    assert 0 <= part <= monthly
    assert part <= rules.prorated_period(monthly, period, (day - timedelta(days=1), period[1]))
    # the days before and from `day` cost the month, within a cent of rounding
    before = rules.prorated_period(monthly, period, (period[0], day))
    assert abs(before + part - monthly) <= 1

"""The collection's and the recovery's rules as plain functions: which months fall due and for how much (a last
part-month prorated), which recovery steps are due on a day (each once, the latest reminder or retry only when
several came at once), and the state an unpaid subscription is in on each day: past due, litigation, suspended
on day S, ended for non-payment on day E."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from funnel.collection import month_due, months_due
from funnel.collection_models import DunningKind
from funnel.collection_plan import (PLAN, CollectionPlan, DunningStep, ended_on, state_on, steps_due,
                                    suspended_from)
from funnel.dates import add_months
from funnel.models import Subscription, SubscriptionState

HEALTH, PREVOYANCE = 3000, 900


def subscription(start: date, ends: date) -> Subscription:
    """A subscription as the collection reads it (no database needed): covers, their persons' premiums, dates."""
    covers = [{"cover": "health", "persons": [{"monthly": {"minor": HEALTH}}]},
              {"cover": "prevoyance", "persons": [{"monthly": {"minor": PREVOYANCE}}]}]
    return Subscription(start_on=start, ends_on=ends, choices={"health": "essential", "prevoyance": "standard"},
                        quote={"covers": covers}, currency="EUR")


def test_later_months_fall_due_on_their_first_day_and_the_last_part_month_is_prorated():
    s = subscription(date(2027, 1, 31), date(2027, 5, 15))
    assert months_due(s, date(2027, 2, 27)) == []  # the first month is paid on the payment page
    due = months_due(s, date(2027, 2, 28))  # 31 January + 1 month: 28 February
    assert [(m.month, m.period_start, m.amount_minor) for m in due] == [("2027-02", date(2027, 2, 28), 3900)]
    due = months_due(s, date(2027, 12, 31))
    assert [m.period_start for m in due] == [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    last = due[-1]
    # the month of cover from 30 April runs to 31 May (31 days); covered 30 April to 15 May: 16 days, each cover
    # prorated half up: 3000 x 16/31 = 1548.39, 900 x 16/31 = 464.52
    assert last.period_end == date(2027, 5, 16)
    assert sorted(last.by_cover.values()) == [465, 1548] and last.amount_minor == 2013


def test_a_collection_day_before_the_month_is_product_data():
    s = subscription(date(2027, 1, 10), date(2027, 12, 31))
    early = CollectionPlan(lead_days=3, steps=PLAN.steps)
    assert months_due(s, date(2027, 2, 6), early) == []
    assert [m.due_on for m in months_due(s, date(2027, 2, 7), early)] == [date(2027, 2, 7)]


def test_a_cover_ended_by_a_radiation_is_not_charged_beyond_its_end():
    s = subscription(date(2027, 1, 10), date(2027, 2, 9))  # one month of cover: nothing more to collect
    assert months_due(s, date(2028, 1, 1)) == []


@settings(max_examples=200, deadline=None)
@given(start=st.dates(date(2026, 1, 1), date(2028, 12, 31)), months=st.integers(0, 14), extra=st.integers(0, 30))
def test_every_month_costs_at_most_its_premium_and_a_whole_month_exactly_it(start, months, extra):
    ends = add_months(start, months) + timedelta(days=extra)
    s = subscription(start, ends)
    due = months_due(s, ends + timedelta(days=400))
    for m in due:
        assert m.period_start <= ends and m.period_end <= ends + timedelta(days=1)
        assert 0 < m.amount_minor <= HEALTH + PREVOYANCE
        if m.period_end == add_months(start, m.index + 1):
            assert m.amount_minor == HEALTH + PREVOYANCE
    assert [m.index for m in due] == list(range(1, len(due) + 1))
    # the months tile the cover from the second month to its end, with no gap and no overlap
    if due:
        assert due[0].period_start == add_months(start, 1) and due[-1].period_end == ends + timedelta(days=1)
        assert all(a.period_end == b.period_start for a, b in zip(due, due[1:], strict=False))
    assert month_due(s, 1).month == add_months(start.replace(day=1), 1).strftime("%Y-%m")


# --- the recovery sequence --------------------------------------------------------------------------------------

T0 = date(2027, 3, 1)


def codes(steps) -> list[str]:
    return [s.code for s in steps]


def test_the_sequence_day_by_day():
    assert codes(steps_due(T0, T0)) == ["d00-reminder"]
    assert codes(steps_due(T0, T0 + timedelta(days=4), ["d00-reminder"])) == []
    assert codes(steps_due(T0, T0 + timedelta(days=5), ["d00-reminder"])) == ["d05-retry"]
    assert codes(steps_due(T0, T0 + timedelta(days=15), ["d00-reminder", "d05-retry", "d08-reminder",
                                                          "d12-retry"])) == ["d15-litigation", "d15-last-notice"]
    # the command did not run for two weeks: only the latest reminder and retry, not every one missed
    assert codes(steps_due(T0, T0 + timedelta(days=13))) == ["d08-reminder", "d12-retry"]
    assert codes(steps_due(T0, T0 + timedelta(days=90))) == ["d12-retry", "d15-litigation", "d15-last-notice",
                                                             "d30-suspension", "d60-termination"]


def test_suspension_on_day_s_and_end_on_day_e():
    assert (PLAN.suspend_day, PLAN.end_day) == (30, 60)
    assert suspended_from(T0) == T0 + timedelta(days=30) and ended_on(T0) == T0 + timedelta(days=60)
    states = {day: state_on(T0, T0 + timedelta(days=day)) for day in range(0, 70)}
    assert {d for d, s in states.items() if s is SubscriptionState.past_due} == set(range(0, 15))
    assert {d for d, s in states.items() if s is SubscriptionState.litigation} == set(range(15, 30))
    assert {d for d, s in states.items() if s is SubscriptionState.suspended} == set(range(30, 60))
    assert {d for d, s in states.items() if s is SubscriptionState.ended_non_payment} == set(range(60, 70))
    other = CollectionPlan(lead_days=0, steps=(DunningStep("r", 0, DunningKind.reminder),
                                               DunningStep("s", 10, DunningKind.suspension),
                                               DunningStep("e", 20, DunningKind.termination)))
    assert suspended_from(T0, other) == T0 + timedelta(days=10) and ended_on(T0, other) == T0 + timedelta(days=20)
    assert state_on(T0, T0 + timedelta(days=19), other) is SubscriptionState.suspended


@pytest.mark.parametrize("steps", [
    (DunningStep("e", 5, DunningKind.termination), DunningStep("s", 3, DunningKind.suspension)),  # out of order
    (DunningStep("s", 3, DunningKind.suspension),),  # never ends
    (DunningStep("s", 3, DunningKind.suspension), DunningStep("s", 5, DunningKind.termination)),  # a code twice
])
def test_a_plan_that_does_not_hold_together_is_refused(steps):
    with pytest.raises(ValueError):
        CollectionPlan(lead_days=0, steps=steps)


@settings(max_examples=200, deadline=None)
@given(gaps=st.lists(st.integers(0, 20), min_size=1, max_size=12))
def test_runs_on_any_days_do_each_step_once_and_reach_the_state_of_the_day(gaps):
    done: list[str] = []
    day = T0
    for gap in gaps:
        day += timedelta(days=gap)
        due = steps_due(T0, day, done)
        assert not set(codes(due)) & set(done)
        done += codes(due)
        assert len(done) == len(set(done))
        # whatever was skipped, the states reached are all done once their day came
        for step in PLAN.steps:
            if step.kind not in (DunningKind.reminder, DunningKind.retry) and step.day <= (day - T0).days:
                assert step.code in done
    assert state_on(T0, day) is {"d60-termination": SubscriptionState.ended_non_payment,
                                 "d30-suspension": SubscriptionState.suspended,
                                 "d15-litigation": SubscriptionState.litigation}.get(
        next((c for c in reversed(done) if c in ("d60-termination", "d30-suspension", "d15-litigation")), ""),
        SubscriptionState.past_due)

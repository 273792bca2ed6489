"""The refund rule of a withdrawal (funnel.withdrawal.refund_due): the premium paid for the month of cover, pro
rata to the days not covered from the withdrawal date; all of it before the cover starts; never negative, never
more than paid."""
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from funnel.withdrawal import month_period, refund_due


class _Sub:
    start_on = date(2026, 12, 10)


def test_the_refund_rule_on_examples():
    period = month_period(_Sub, "2026-12")
    assert period == (date(2026, 12, 10), date(2027, 1, 10))  # 31 days
    assert refund_due(3_100, period, date(2026, 12, 1)) == 3_100  # before the start: all of it
    assert refund_due(3_100, period, date(2026, 12, 10)) == 3_100  # on the first day: not a day covered
    assert refund_due(3_100, period, date(2026, 12, 20)) == 2_100  # 10 days covered, 21 refunded
    assert refund_due(3_100, period, date(2027, 1, 10)) == 0  # the month all covered
    assert month_period(_Sub, "2027-01") == (date(2027, 1, 10), date(2027, 2, 10))


@given(paid=st.integers(min_value=0, max_value=10**9), start=st.dates(date(2020, 1, 1), date(2035, 12, 31)),
       offset=st.integers(min_value=-60, max_value=60), later=st.integers(min_value=0, max_value=40))
def test_a_refund_is_never_negative_nor_more_than_paid_and_never_grows_with_time(paid, start, offset, later):
    class Sub:
        start_on = start

    period = month_period(Sub, start.strftime("%Y-%m"))
    day = start + timedelta(days=offset)
    refund = refund_due(paid, period, day)
    assert 0 <= refund <= paid
    assert refund_due(paid, period, day + timedelta(days=later)) <= refund
    if day <= start:
        assert refund == paid

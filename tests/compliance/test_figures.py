"""Leads refused for health data, week by week, as the audit log recorded them."""
from datetime import timedelta

from core import audit
from core.db import utcnow
from compliance.figures import HEALTH_REFUSAL, health_refusals_by_week, week_starts


def test_refusals_are_counted_in_their_week_and_other_events_are_not(session):
    for _i in range(3):
        audit.record(session, HEALTH_REFUSAL, subject_type="organisation", subject_id="f1", category="health_data")
    audit.record(session, "lead.created", subject_type="organisation", subject_id="f1")
    session.commit()
    today = utcnow().date()

    weeks = health_refusals_by_week(session, today)
    assert [d for d, _n in weeks] == week_starts(today, 12) and len(weeks) == 12
    assert all(d.weekday() == 0 for d, _n in weeks) and weeks[-1][0] <= today < weeks[-1][0] + timedelta(days=7)
    assert [n for _d, n in weeks] == [0] * 11 + [3]

    a_week_later = health_refusals_by_week(session, today + timedelta(days=7))
    assert [n for _d, n in a_week_later] == [0] * 10 + [3, 0]
    assert sum(n for _d, n in health_refusals_by_week(session, today + timedelta(weeks=12))) == 0

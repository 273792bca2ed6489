"""The pipeline's chart figures against counts made case by case in Python: a firm's open cases by stage, the
queue's ageing and the funnel with its conversion."""
from datetime import timedelta

from core.db import utcnow
from pipeline.cases.models import CaseStatus as S
from pipeline.figures import AGE_BUCKETS, FUNNEL_STEPS, funnel, open_by_stage, queue_ageing

STATES = [(S.received, 1), (S.received, 3), (S.needs_analysis, 10), (S.quote_issued, 40), (S.offer, 200),
          (S.active, 5), (S.cancelled, 50), (S.not_pursued, 2), (S.withdrawn, 100)]


def _cases(session, broker, make_broker, new_case):
    other = make_broker()
    now = utcnow()
    cases = []
    for i, (status, days) in enumerate(STATES):
        case = new_case(other if i % 3 == 0 else broker, first_name=f"Client{i}")
        case.status, case.stage_entered_at = status, now - timedelta(days=days, hours=1)
        cases.append(case)
    session.commit()
    return now, cases


def test_open_cases_by_stage_count_only_the_firms_open_cases(session, broker, make_broker, new_case):
    _now, cases = _cases(session, broker, make_broker, new_case)
    rows = open_by_stage(session, broker.organisation_id)
    expected = {}
    for c in cases:
        if c.organisation_id == broker.organisation_id and c.status in (S.received, S.needs_analysis,
                                                                        S.quote_issued, S.offer):
            expected[c.status] = expected.get(c.status, 0) + 1
    assert {status: r.n for status, r in rows.items()} == expected
    assert all(r.oldest is not None for r in rows.values())


def test_the_queue_ageing_buckets_open_cases_by_days_in_their_stage(session, broker, make_broker, new_case):
    now, cases = _cases(session, broker, make_broker, new_case)
    open_ = [c for c in cases if c.status in FUNNEL_STEPS[:-1]]
    expected = [0] * len(AGE_BUCKETS)
    for c in open_:
        days = (now - c.stage_entered_at).days
        expected[next(i for i, (low, high) in enumerate(AGE_BUCKETS) if days >= low and (high is None or days <= high))] += 1
    assert queue_ageing(session, now) == expected == [2, 1, 1, 1]


def test_the_funnel_counts_cases_at_or_past_each_stage_with_the_conversion(session, broker, make_broker, new_case):
    _now, cases = _cases(session, broker, make_broker, new_case)
    steps = funnel(session)
    assert [s.stage for s in steps] == list(FUNNEL_STEPS)
    order = {stage: i for i, stage in enumerate(FUNNEL_STEPS)}

    def position(c):
        if c.status in order:
            return order[c.status]
        return len(FUNNEL_STEPS) - 1 if c.status in (S.active, S.cancelled) else 0

    reached = [sum(1 for c in cases if position(c) >= i) for i in range(len(FUNNEL_STEPS))]
    assert [s.reached for s in steps] == reached
    assert reached[0] == len(cases) and reached[-1] == 2  # the active and the cancelled case had a contract
    assert steps[0].conversion is None
    assert [s.conversion for s in steps[1:]] == [b / a if a else 0 for a, b in zip(reached[:-1], reached[1:], strict=True)]

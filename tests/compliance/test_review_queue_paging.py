"""The review queue's page, without Flask: the first items of a page are those of the whole queue in its order
(oldest or soonest due first, then kind and ref), whatever the number shown, the filters and the ties of a day;
the counts are those of everything waiting."""
from datetime import timedelta

import pytest

import agreements.review_sources  # noqa: F401  (registers its sources)
import compliance.queue_sources  # noqa: F401
import pipeline.review_sources  # noqa: F401
from compliance import complaints
from compliance import review_queue as queue
from compliance.complaint_models import ComplainantKind, ComplaintCategory, ComplaintChannel
from core import audit
from core.db import utcnow


def _waiting(session, today):
    """Complaints received over a week (two a day: ties on their deadlines), refusals all of today."""
    for n in range(14):
        complaints.receive(session, None, complaints.ComplaintInput(
            channel=ComplaintChannel.email, complainant_kind=ComplainantKind.client, complainant_name=f"Client {n}",
            complainant_email=f"client{n}@example.org", category=ComplaintCategory.service,
            description="Nobody answered my three e-mails about my cover.",
            received_on=today - timedelta(days=8 + n // 2)), policy=complaints.DeadlinePolicy(), today=today)
    for _ in range(6):
        audit.record(session, "lead.health_data_refused", organisation=None, categories=["treatment"])
    session.commit()


def test_a_page_is_the_head_of_the_whole_queue(session):
    today = utcnow().date()
    _waiting(session, today)
    everything = queue.items(session, today)
    by_kind = {kind: sum(item.kind == kind for item in everything) for kind in queue.SOURCES}
    assert by_kind["complaint"] == 14 and by_kind["health_refusal"] == 6
    assert [item.due or item.since for item in everything] == sorted(item.due or item.since for item in everything)
    for shown in (1, 2, 5, 7, 13, 15, 19, 20, 40):
        page = queue.page(session, today, shown=shown)
        assert page.items == everything[:shown], shown
        assert page.total == len(everything) and page.more == max(len(everything) - shown, 0)
        assert page.counts == by_kind


def test_filters_narrow_the_page_not_the_counts(session):
    today = utcnow().date()
    _waiting(session, today)
    for filters in ({"kinds": ["complaint"]}, {"kinds": ["health_refusal"]}, {"older_than": 10},
                    {"assignee": "nobody"}, {"kinds": ["complaint"], "older_than": 11}):
        narrowed = queue.items(session, today, **filters)
        page = queue.page(session, today, shown=3, **filters)
        assert page.items == narrowed[:3] and page.total == len(narrowed) and page.more == len(narrowed) - 3
        assert page.counts["complaint"] == 14 and page.counts["health_refusal"] == 6
    assert all(item.age(today) > 10 for item in queue.items(session, today, older_than=10))


def test_one_item_is_found_by_its_ref(session):
    today = utcnow().date()
    _waiting(session, today)
    last = queue.items(session, today, kinds=["health_refusal"])[-1]
    assert queue.find(session, "health_refusal", last.ref, today) == last
    for kind, ref in (("health_refusal", "999999"), ("complaint", last.ref), ("no_such_kind", last.ref)):
        with pytest.raises(queue.NotInQueue):
            queue.find(session, kind, ref, today)

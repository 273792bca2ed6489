"""Property: a volunteer's roster events delivered in any order, in any batches, with replays, end (once the
records refused for a volunteer not known yet are sent again) exactly as delivered one by one in order."""
import itertools
from datetime import date, datetime, timedelta, UTC

from hypothesis import HealthCheck, given, settings, strategies as st

from funnel.models import Outcome
from funnel.roster import apply_events
from funnel.volunteers import find_volunteer
from tests.funnel.conftest import NOW, affiliation_record

START = date(2026, 11, 3)
T0 = datetime(2026, 11, 1, tzinfo=UTC)
_refs = itertools.count(1)

mission_ends = st.dates(min_value=START + timedelta(days=1), max_value=date(2028, 11, 3))
end_dates = st.dates(min_value=START, max_value=date(2028, 11, 3))
later_events = st.lists(st.one_of(
    st.tuples(st.just("prolongation"), mission_ends),
    st.tuples(st.just("radiation"), end_dates),
    st.tuples(st.just("interruption"), end_dates),
    st.tuples(st.just("affiliation"), mission_ends),
), min_size=1, max_size=6)


def records(ref: str, first_end: date, later) -> list[dict]:
    """The volunteer's events in the order they happened, an hour apart."""
    def at(i):
        return (T0 + timedelta(hours=i)).isoformat().replace("+00:00", "Z")

    out = [affiliation_record(file_ref=ref, event_id=f"{ref}-0", occurred_at=at(0), mission_start=START.isoformat(),
                              mission_end=first_end.isoformat(), email=f"{ref.lower()}-0@example.org")]
    for i, (kind, day) in enumerate(later, start=1):
        base = {"event": kind, "event_id": f"{ref}-{i}", "occurred_at": at(i), "file_ref": ref}
        if kind == "prolongation":
            out.append(dict(base, mission_end=day.isoformat()))
        elif kind == "affiliation":
            out.append(dict(out[0], **base, mission_end=day.isoformat(), email=f"{ref.lower()}-{i}@example.org"))
        else:
            out.append(dict(base, end_date=day.isoformat(), **({"reason": f"reason {i}"}
                                                               if kind == "interruption" else {})))
    return out


def state(session, ref: str) -> tuple:
    session.expire_all()
    v = find_volunteer(session, file_ref=ref)
    return (v.mission_end, v.state, v.end_reason, v.email, v.details_as_of, v.mission_as_of)


def renamed(record: dict, ref: str) -> dict:
    old = record["file_ref"]
    return {k: (v.replace(old, ref) if isinstance(v, str) else v) for k, v in record.items()}


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(first_end=mission_ends, later=later_events, data=st.data())
def test_any_delivery_order_ends_as_the_events_happened(session, first_end, later, data):
    n = next(_refs)
    in_order, shuffled = f"ORD-{n}", f"SHF-{n}"
    for record in records(in_order, first_end, later):
        assert apply_events(session, [record], now=NOW).results[0].outcome is not Outcome.rejected
    events = [renamed(r, shuffled) for r in records(in_order, first_end, later)]
    delivery = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=3))))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(delivery)), max_size=3)))
    for lo, hi in zip([0, *cuts], [*cuts, len(delivery)], strict=True):
        apply_events(session, delivery[lo:hi], now=NOW)
    retry = apply_events(session, events, now=NOW).results  # the operator sends the refused ones again
    assert all(r.outcome is not Outcome.rejected for r in retry)
    session.commit()
    assert state(session, shuffled) == state(session, in_order)

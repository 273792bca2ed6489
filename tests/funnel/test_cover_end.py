"""A subscription's cover follows its volunteer's mission as the roster moves it: a radiation or an interruption
ends the cover (and the minimum commitment) at that date without penalty, a prolongation moves the end unless the
volunteer chose an earlier one, a subscription not active yet is closed when the mission ends and reopened by a
newer event that continues it; events arriving late or in another order end the same way."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core.audit import AuditEvent
from core.events import BusinessEvent
from funnel import journey
from funnel.catalogue import Cover
from funnel.models import SubscriptionState
from funnel.roster import MISSION_ENDED, apply_events

from .conftest import NOW, event_record

TODAY = date(2026, 12, 1)
MISSION_END = date(2027, 10, 31)


def _subscription(session, volunteer, state=SubscriptionState.quoted, **values):
    s = journey.save_quote(session, volunteer, {Cover.health: "essential"}, [], today=TODAY, language="fr", now=NOW)
    s.state = state  # the payment steps are not the subject here: the state the subscription reached
    for name, value in values.items():
        setattr(s, name, value)
    session.commit()
    return s


def _apply(session, *records):
    results = apply_events(session, list(records), now=NOW).results
    session.commit()
    return results


def _actions(session, subscription) -> list[str]:
    return session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == subscription.public_id,
                                                           AuditEvent.action.not_like("%quoted"))
                           .order_by(AuditEvent.seq)).all()


def test_a_radiation_ends_an_active_cover_and_its_commitment_at_that_date(session, products, make_volunteer):
    lea = make_volunteer()
    s = _subscription(session, lea, SubscriptionState.active)
    assert (s.ends_on, s.commitment_ends_on) == (MISSION_END, MISSION_END)
    [result] = _apply(session, event_record("radiation", lea.file_ref, "2026-11-20T08:00:00Z", end_date="2027-02-28"))
    assert result.outcome.value == "updated"
    session.refresh(s)
    assert s.state is SubscriptionState.active
    assert (s.ends_on, s.commitment_ends_on) == (date(2027, 2, 28), date(2027, 2, 28))  # no penalty
    [moved] = session.scalars(select(AuditEvent).where(AuditEvent.subject_id == s.public_id,
                                                       AuditEvent.action == "subscription.cover_end_moved")).all()
    event = session.scalars(select(BusinessEvent).where(BusinessEvent.subject == lea.public_id)).one()
    assert event.kind == MISSION_ENDED and event.public_id in moved.data and f"{lea.file_ref}-2" in moved.data


def test_an_interruption_closes_a_subscription_not_active_yet(session, products, make_volunteer):
    for state in (SubscriptionState.quoted, SubscriptionState.adhesion_started, SubscriptionState.signed,
                  SubscriptionState.payment_pending):
        v = make_volunteer()
        s = _subscription(session, v, state)
        _apply(session, event_record("interruption", v.file_ref, "2026-11-20T08:00:00Z", end_date="2026-12-15",
                                     reason="health"))
        session.refresh(s)
        assert (s.state, s.closed_from, s.ends_on) == (SubscriptionState.closed, state, date(2026, 12, 15)), state
        assert s.closed_at is not None
        assert _actions(session, s) == ["subscription.closed", "subscription.cover_end_moved"]
        # closed is not signed: the volunteer is not told "you already signed" about a cover that never started
        assert journey.signed_subscription(session, v) is None, state


def test_a_prolongation_moves_the_cover_unless_the_volunteer_chose_an_earlier_end(session, products,
                                                                                   make_volunteer):
    lea, hugo = make_volunteer(), make_volunteer(first_name="Hugo")
    follows = _subscription(session, lea, SubscriptionState.active)
    chosen = _subscription(session, hugo, SubscriptionState.active, chosen_end_on=date(2027, 6, 30),
                           ends_on=date(2027, 6, 30), commitment_ends_on=date(2027, 6, 30))
    _apply(session, event_record("prolongation", lea.file_ref, "2026-11-20T08:00:00Z", mission_end="2028-04-30"),
           event_record("prolongation", hugo.file_ref, "2026-11-20T08:00:00Z", mission_end="2028-04-30"))
    session.refresh(follows), session.refresh(chosen)
    assert follows.ends_on == date(2028, 4, 30)
    # the minimum commitment stays the one quoted: 12 months from the start
    assert follows.commitment_ends_on == MISSION_END
    assert chosen.ends_on == date(2027, 6, 30) and _actions(session, chosen) == []
    # a radiation before the chosen end ends it there
    _apply(session, event_record("radiation", hugo.file_ref, "2026-11-25T08:00:00Z", n=3, end_date="2027-03-31"))
    session.refresh(chosen)
    assert (chosen.ends_on, chosen.commitment_ends_on) == (date(2027, 3, 31), date(2027, 3, 31))


def test_events_in_any_order_end_the_same_and_a_replay_changes_nothing(session, products, make_volunteer):
    radiation = ("radiation", "2026-11-20T08:00:00Z", {"end_date": "2027-01-31"})
    prolongation = ("prolongation", "2026-11-25T08:00:00Z", {"mission_end": "2028-01-31"})
    outcomes = []
    for order in ((radiation, prolongation), (prolongation, radiation)):
        v = make_volunteer()
        s = _subscription(session, v, SubscriptionState.signed)
        records = [event_record(kind, v.file_ref, at, n=2 + i, **fields) for i, (kind, at, fields) in
                   enumerate(sorted(order, key=lambda e: e[1]))]
        by_kind = {r["event"]: r for r in records}
        for kind, _at, _fields in order:  # one delivery each, in this order
            _apply(session, by_kind[kind])
        session.refresh(s)
        outcomes.append((s.state, s.ends_on, s.closed_from))
        before = _actions(session, s)
        _apply(session, *records)  # the whole roster again: replays
        session.refresh(s)
        assert _actions(session, s) == before and (s.state, s.ends_on) == outcomes[-1][:2]
    # the newest word (the prolongation) wins both ways: the subscription is open, signed, and follows it
    assert outcomes == [(SubscriptionState.signed, date(2028, 1, 31), None)] * 2


def test_an_older_prolongation_arriving_after_a_radiation_leaves_the_cover_ended(session, products, make_volunteer):
    v = make_volunteer()
    s = _subscription(session, v, SubscriptionState.quoted)
    _apply(session, event_record("radiation", v.file_ref, "2026-11-25T08:00:00Z", n=3, end_date="2027-01-31"))
    [late] = _apply(session, event_record("prolongation", v.file_ref, "2026-11-20T08:00:00Z", n=2,
                                          mission_end="2028-01-31"))
    assert late.superseded
    session.refresh(s)
    assert (s.state, s.ends_on) == (SubscriptionState.closed, date(2027, 1, 31))


def test_a_withdrawn_subscription_is_settled(session, products, make_volunteer):
    v = make_volunteer()
    s = _subscription(session, v, SubscriptionState.withdrawn)
    _apply(session, event_record("radiation", v.file_ref, "2026-11-25T08:00:00Z", end_date="2027-01-31"))
    session.refresh(s)
    assert (s.state, s.ends_on) == (SubscriptionState.withdrawn, MISSION_END) and _actions(session, s) == []

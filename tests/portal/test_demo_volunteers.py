"""The volunteer side of the demo: a roster imported through the feed, subscriptions in several states through
the journey, a mission end that closed a quote, and a personal link printed by `flask demo-data` that opens the
demo volunteer's area (the same link on a second run, which changes nothing)."""
from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import func, select

from funnel.models import (AccessLink, RosterImport, RosterSource, Subscription, SubscriptionState, Volunteer,
                           VolunteerState)


def test_the_demo_roster_subscriptions_and_printed_link_let_a_person_walk_the_journey(app, session):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo-data"])
    assert first.exit_code == 0, first.output
    link = re.search(r"no password\): (\S+/v/(\S+))", first.output)
    assert link, first.output
    volunteers = session.scalars(select(Volunteer)).all()
    assert len(volunteers) == 30 and len({v.mission_country for v in volunteers}) == 30
    assert Counter(v.state for v in volunteers) == {VolunteerState.in_post: 27, VolunteerState.radiated: 2,
                                                    VolunteerState.interrupted: 1}
    assert sum(bool(v.current_dependants) for v in volunteers) >= 5
    assert {i.source for i in session.scalars(select(RosterImport))} == {RosterSource.api}
    states = Counter(s.state for s in session.scalars(select(Subscription)))
    assert states == {SubscriptionState.quoted: 2, SubscriptionState.closed: 1,
                      SubscriptionState.adhesion_started: 1, SubscriptionState.signed: 2,
                      SubscriptionState.past_due: 1, SubscriptionState.litigation: 1}
    # the two covers in recovery: the second month unpaid, reminded (each reminder carries its own link)
    from funnel import collection
    from core.outbox import OutboxMessage

    for s in session.scalars(select(Subscription).where(Subscription.state.in_(
            (SubscriptionState.past_due, SubscriptionState.litigation)))):
        assert s.certificate_pdf and collection.amount_due(session, s) == s.monthly_total_minor
    reminders = session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.template == "dunning/reminder"))
    assert reminders == 3
    assert all(s.sealed_pdf for s in session.scalars(select(Subscription).where(
        Subscription.state == SubscriptionState.signed)))

    second = runner.invoke(args=["demo-data"])
    assert "nothing changed" in second.output and link.group(1) in second.output
    assert session.execute(select(func.count()).select_from(AccessLink)).scalar_one() == 1 + reminders
    c = app.test_client()
    opened = c.get(f"/v/{link.group(2)}")
    assert opened.status_code == 302
    assert "Léa" in c.get(opened.location, follow_redirects=True).get_data(as_text=True)

"""A subscription's cover follows its volunteer's mission (issue 13: "the cover always ends when the volunteer's
mission ends, without penalty").

The roster records a business event when a mission ends (radiation, interruption: `volunteer.mission_ended`) or
its end moves (prolongation, a corrected affiliation: `volunteer.mission_end_changed`); in the same transaction
it calls `follow_missions` for those volunteers. Each of their subscriptions (but the withdrawn ones) is set
from the mission as it now stands, so the outcome is the roster's newest word whatever order the events came in
(the roster already ignores an older event arriving late):

- the cover ends on the mission's last day, or on the day the volunteer chose when that is earlier
  (`chosen_end_on`: a prolongation does not move a cover the volunteer chose to end before);
- the minimum commitment never outlasts the cover: a mission that ends early ends it without penalty (the
  commitment the quote computed is kept in its record, so a later prolongation restores it);
- a subscription not active yet (quoted, adhesion in progress, signed, awaiting payment) whose mission ended is
  closed; a newer event that continues the mission reopens it in the state it was in.

A paid subscription whose end moved earlier gets its refund queued (funnel.cover_refunds: what was paid for days
after the new end is refunded, pro rata, and collection never charges past it).

Each change is in the audit trail (`subscription.cover_end_moved`, `subscription.closed`,
`subscription.reopened`), naming the business event and the roster event that caused it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow

from .cover_refunds import ends_before_paid, queue_refund
from .models import Subscription, SubscriptionState, Volunteer, VolunteerState

#: a subscription that is not active yet: closed when the mission ends first
NOT_ACTIVE = (SubscriptionState.quoted, SubscriptionState.adhesion_started, SubscriptionState.signed,
              SubscriptionState.payment_pending)
#: what the mission's end no longer changes (an end for non-payment is final: a prolongation does not reopen it)
SETTLED = (SubscriptionState.withdrawn, SubscriptionState.ended_non_payment)


def cover_end(mission_end: date, chosen_end_on: date | None) -> date:
    """The cover's last day: the mission's, or the earlier one the volunteer chose."""
    return min(mission_end, chosen_end_on) if chosen_end_on else mission_end


def quoted_commitment_end(subscription: Subscription) -> date:
    """The end of the minimum commitment the quote computed (the latest of its covers')."""
    return max(date.fromisoformat(c["commitment_ends_on"]) for c in subscription.quote["covers"])


def follow_mission(session: Session, subscription: Subscription, volunteer: Volunteer, *,
                   cause: Mapping | None = None, now: datetime | None = None) -> list[str]:
    """Set the subscription's end, commitment and state from the mission as it now stands; the audit trail
    records each change (with `cause`: the business and roster events). Returns what changed."""
    if subscription.state in SETTLED:
        return []
    now = now or utcnow()
    cause = dict(cause or {})
    changed = []
    ended = volunteer.state is not VolunteerState.in_post
    if ended and subscription.state in NOT_ACTIVE:
        subscription.closed_from, subscription.state, subscription.closed_at = (
            subscription.state, SubscriptionState.closed, now)
        changed.append("closed")
        audit.record(session, "subscription.closed", subject=subscription, volunteer=volunteer.public_id,
                     closed_from=subscription.closed_from.value, mission_end=volunteer.mission_end.isoformat(),
                     mission_state=volunteer.state.value, **cause)
    elif not ended and subscription.state is SubscriptionState.closed and subscription.closed_from is not None:
        subscription.state, subscription.closed_from, subscription.closed_at = (
            subscription.closed_from, None, None)
        changed.append("reopened")
        audit.record(session, "subscription.reopened", subject=subscription, volunteer=volunteer.public_id,
                     state=subscription.state.value, mission_end=volunteer.mission_end.isoformat(), **cause)
    ends_on = cover_end(volunteer.mission_end, subscription.chosen_end_on)
    commitment = min(quoted_commitment_end(subscription), ends_on)
    if (ends_on, commitment) != (subscription.ends_on, subscription.commitment_ends_on):
        audit.record(session, "subscription.cover_end_moved", subject=subscription, volunteer=volunteer.public_id,
                     ends_on=ends_on.isoformat(), was=subscription.ends_on.isoformat(),
                     commitment_ends_on=commitment.isoformat(), mission_state=volunteer.state.value, **cause)
        was = subscription.ends_on
        subscription.ends_on, subscription.commitment_ends_on = ends_on, commitment
        changed.append("ends_on")
        if ends_before_paid(subscription, was):
            queue_refund(session, subscription)
    if changed:
        subscription.updated_at = now
    return changed


def follow_missions(session: Session, volunteers: Iterable[Volunteer], *,
                    causes: Mapping[str, Mapping] | None = None, now: datetime | None = None) -> int:
    """`follow_mission` for every subscription of these volunteers (one query); `causes` maps a volunteer's
    public id to what moved their mission. Returns how many subscriptions changed. Flushes."""
    by_id = {v.id: v for v in volunteers if v.id is not None}
    if not by_id:
        return 0
    subscriptions = session.scalars(select(Subscription).where(Subscription.volunteer_id.in_(by_id),
                                                               Subscription.state.not_in(SETTLED))
                                    .order_by(Subscription.id)).all()
    count = 0
    for subscription in subscriptions:
        volunteer = by_id[subscription.volunteer_id]
        count += bool(follow_mission(session, subscription, volunteer,
                                     cause=(causes or {}).get(volunteer.public_id), now=now))
    session.flush()
    return count

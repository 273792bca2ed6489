"""What the broker's staff read of the funnel: subscriptions found by a volunteer's name, file reference or
adhesion reference and filtered by state and cover; a volunteer's funnel events and a subscription's history
(its audit trail); and the personal link they send by hand (an "invited" funnel event)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload

from core.audit import AuditEvent

from . import journey
from .catalogue import Cover
from .collection_models import DunningCase
from .models import AccessLink, FunnelEvent, FunnelStage, Subscription, SubscriptionState, Volunteer
from .tracking import record_funnel_event

MAX_SEARCH = 100


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def volunteer_matches(text: str):
    """A volunteer whose name (either order), file reference or e-mail contains `text` (any case)."""
    pattern = _like(" ".join(text.split())[:MAX_SEARCH])
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in (
        Volunteer.file_ref, Volunteer.email, Volunteer.first_name + " " + Volunteer.last_name,
        Volunteer.last_name + " " + Volunteer.first_name)))


def search_subscriptions(text: str = "", *, state: SubscriptionState | None = None,
                         cover: Cover | None = None) -> Select:
    """The subscriptions matching a search (newest first): by the volunteer's name or file reference, or the
    adhesion's reference; by state; by cover."""
    stmt = (select(Subscription).join(Subscription.volunteer).options(joinedload(Subscription.volunteer))
            .order_by(Subscription.id.desc()))
    text = " ".join((text or "").split())
    if text:
        stmt = stmt.where(or_(volunteer_matches(text),
                              func.lower(Subscription.reference).like(_like(text[:MAX_SEARCH]), escape="\\")))
    if state is not None:
        stmt = stmt.where(Subscription.state == state)
    if cover is not None:
        stmt = stmt.where(Subscription.choices[cover.value].as_string().is_not(None))
    return stmt


def search_volunteers(text: str, limit: int = 10) -> Select:
    return select(Volunteer).where(volunteer_matches(text)).order_by(Volunteer.last_name, Volunteer.first_name,
                                                                     Volunteer.id).limit(limit)


def funnel_timeline(session: Session, volunteer: Volunteer) -> list[FunnelEvent]:
    return list(session.scalars(select(FunnelEvent).where(FunnelEvent.volunteer_id == volunteer.id)
                                .order_by(FunnelEvent.occurred_at, FunnelEvent.id)))


def history(session: Session, subscription: Subscription) -> list[AuditEvent]:
    """What happened to the subscription, as the audit trail recorded it (oldest first)."""
    return list(session.scalars(select(AuditEvent).where(AuditEvent.subject_id == subscription.public_id)
                                .order_by(AuditEvent.seq)))


def subscriptions_of(session: Session, volunteer: Volunteer) -> list[Subscription]:
    return list(session.scalars(select(Subscription).where(Subscription.volunteer_id == volunteer.id)
                                .order_by(Subscription.id.desc())))


def links_of(session: Session, volunteer: Volunteer) -> list[AccessLink]:
    return list(session.scalars(select(AccessLink).where(AccessLink.volunteer_id == volunteer.id)
                                .order_by(AccessLink.id.desc())))


def invite(session: Session, volunteer: Volunteer, *, actor, days: int = journey.DEFAULT_LINK_DAYS,
           now: datetime | None = None) -> tuple[AccessLink, str]:
    """A personal link issued by a staff member to send to the volunteer (the raw token, returned once), and
    the funnel's "invited" event (campaign step "manual")."""
    link, raw = journey.issue_link(session, volunteer, actor=actor, days=days, now=now)
    record_funnel_event(session, volunteer, FunnelStage.invited, subject=link.public_id, campaign_step="manual",
                        at=now)
    return link, raw


def recovery_cases(session: Session, subscription: Subscription) -> list[DunningCase]:
    """The subscription's recovery cases (unpaid premiums), newest first, with the steps done."""
    return list(session.scalars(select(DunningCase).where(DunningCase.subscription_id == subscription.id)
                                .order_by(DunningCase.id.desc())))

"""The campaign engine: which steps are due to whom (`due`), and sending them exactly once (`send_due`); then
what the e-mails measure (opens, clicks) and the volunteer's one-click choices (unsubscribe, refuse tracking).

Exactly once: each send is a `CampaignSend` row, unique per (volunteer, step), inserted in the same transaction
as its outbox message. A run that crashes before its commit leaves neither (the next run sends it); a replayed
run, or a second worker, finds the row (INSERT … ON CONFLICT DO NOTHING: on PostgreSQL it waits for the other's
uncommitted insert, then inserts nothing) and sends nothing more.

When a step is sent: on its due day, or within the catch-up window after it (a run missed); never when it fell
due before the volunteer was imported (a roster of volunteers already in post gets no past e-mail), after the
mission's end, or to a volunteer who is no longer on mission, unsubscribed, was erased or is restricted, or who
already holds the cover the step promotes. Every function takes the clock (`now`/`today`) as a value.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from compliance.privacy import restricted_refs
from core import audit
from core.db import new_public_id
from core.outbox import enqueue_mail
from pipeline.privacy import ERASED

from . import journey
from .campaign_models import CampaignPreference, CampaignSend
from .campaign_plan import DEFAULT_CATCH_UP_DAYS, PLAN, STEPS, Anchor, CampaignStep, campaign_language
from .catalogue import Cover
from .models import FunnelStage, Subscription, SubscriptionState, Volunteer, VolunteerState
from .tracking import record_funnel_event

#: a subscription in these states holds its covers (a volunteer who holds one is not offered it again; one whose
#: premiums are being recovered still holds it)
HOLDING = (SubscriptionState.signed, SubscriptionState.payment_pending, SubscriptionState.active,
           SubscriptionState.past_due, SubscriptionState.litigation, SubscriptionState.suspended)
#: how long the personal link a campaign e-mail carries is valid
LINK_DAYS = 30


@dataclass(frozen=True)
class Due:
    volunteer_id: int
    step: str
    due_on: date


def _holdings(session: Session) -> set[tuple[int, Cover]]:
    rows = session.execute(select(Subscription.volunteer_id, Subscription.choices)
                           .where(Subscription.state.in_(HOLDING)))
    return {(volunteer_id, Cover(cover)) for volunteer_id, choices in rows for cover in (choices or {})}


def _opted_out(session: Session) -> set[int]:
    return set(session.scalars(select(CampaignPreference.volunteer_id)
                               .where(CampaignPreference.unsubscribed_at.is_not(None))))


def _candidates(steps: Sequence[CampaignStep], today: date, oldest: date):
    """Which missions can have a step due between `oldest` and `today` (a superset, the exact test follows): a start
    or an end within reach of a step's offset. Keeps the run's reading to the volunteers it may write to."""
    clauses = []
    for step in steps:
        reach = step.months * 31 + step.days
        if step.anchor is Anchor.mission_end:
            clauses.append(Volunteer.mission_end.between(oldest - timedelta(days=step.days),
                                                         today - timedelta(days=step.days)))
        else:
            clauses.append(Volunteer.mission_start.between(oldest - timedelta(days=reach + 1),
                                                           today - timedelta(days=step.months * 28 + step.days)))
    return or_(*clauses)


def due(session: Session, *, today: date, catch_up_days: int = DEFAULT_CATCH_UP_DAYS,
        steps: Sequence[CampaignStep] = PLAN) -> list[Due]:
    """The sends due on `today`: each step whose due day is today or up to `catch_up_days` before, not yet sent."""
    if catch_up_days < 0:
        raise ValueError("the catch-up window cannot be negative")
    oldest = today - timedelta(days=catch_up_days)
    sent = set(session.execute(select(CampaignSend.volunteer_id, CampaignSend.step)
                               .where(CampaignSend.due_on >= oldest - timedelta(days=31))).tuples())
    holdings, opted_out, restricted = _holdings(session), _opted_out(session), restricted_refs(session)
    rows = session.execute(select(Volunteer.id, Volunteer.public_id, Volunteer.mission_start, Volunteer.mission_end,
                                  Volunteer.mission_country, Volunteer.created_at, Volunteer.first_name)
                           .where(Volunteer.state == VolunteerState.in_post, _candidates(steps, today, oldest))
                           .order_by(Volunteer.id))
    found = []
    for vid, public_id, start, end, country, created, first_name in rows:
        if vid in opted_out or public_id in restricted or first_name == ERASED:
            continue
        earliest = max(oldest, created.date())
        for step in steps:
            day = step.due_on(start, end)
            if not earliest <= day <= today or day > end or (vid, step.code) in sent:
                continue
            if step.audience.includes(country) and (step.promotes is None or (vid, step.promotes) not in holdings):
                found.append(Due(vid, step.code, day))
    return found


def _claim(session: Session, item: Due, language: str, now: datetime) -> CampaignSend | None:
    """Insert the send row, or nothing if it exists: INSERT … ON CONFLICT DO NOTHING, which on PostgreSQL waits
    for a concurrent run's uncommitted insert of the same (volunteer, step) and then does nothing if it committed."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    send_id = session.execute(
        insert(CampaignSend).values(public_id=new_public_id(), created_at=now, volunteer_id=item.volunteer_id,
                                    step=item.step, due_on=item.due_on, queued_at=now, language=language,
                                    opens=0, clicks=0)
        .on_conflict_do_nothing(index_elements=["volunteer_id", "step"]).returning(CampaignSend.id)
    ).scalar_one_or_none()
    return None if send_id is None else session.get(CampaignSend, send_id)


def send_due(session: Session, items: Iterable[Due], *, now: datetime) -> int:
    """Queue the e-mail of each send in `items` (from `due`) with its send row; a send another run already made
    is skipped. Returns how many were queued. Flushes; the caller commits (one transaction per batch)."""
    items = list(items)
    volunteers = {v.id: v for v in session.scalars(
        select(Volunteer).where(Volunteer.id.in_({item.volunteer_id for item in items})))}
    queued = 0
    for item in items:
        volunteer = volunteers[item.volunteer_id]
        step = STEPS[item.step]
        language = campaign_language(volunteer.language)
        send = _claim(session, item, language, now)
        if send is None:  # sent by another run (committed, or committed while we waited on its insert)
            continue
        context = {"campaign_send": send.public_id}
        if step.personal_link:
            link, raw = journey.issue_link(session, volunteer, days=LINK_DAYS, now=now)
            send.link_public_id = link.public_id
            context["link_token"] = raw
            record_funnel_event(session, volunteer, FunnelStage.invited, subject=link.public_id,
                                campaign_step=step.code, at=now)
        send.message = enqueue_mail(session, step.template(language), to=volunteer.email, locale=language,
                                    **context)
        queued += 1
    session.flush()
    return queued


# --- what the e-mails measure, and the volunteer's choices ----------------------------------------------------

def preference_of(session: Session, volunteer: Volunteer) -> CampaignPreference | None:
    return session.scalars(select(CampaignPreference)
                           .where(CampaignPreference.volunteer_id == volunteer.id)).first()


def tracking_allowed(session: Session, volunteer: Volunteer) -> bool:
    """Opens and clicks are measured unless the volunteer refused it or unsubscribed."""
    pref = preference_of(session, volunteer)
    return pref is None or (pref.tracking_refused_at is None and pref.unsubscribed_at is None)


def find_send(session: Session, public_id: str) -> CampaignSend | None:
    return session.scalars(select(CampaignSend).where(CampaignSend.public_id == public_id)).first()


def record_open(session: Session, send: CampaignSend, *, now: datetime) -> bool:
    """The tracking pixel was fetched: counted unless the volunteer refused tracking. True when counted."""
    if not tracking_allowed(session, send.volunteer):
        return False
    send.opens += 1
    send.first_opened_at = send.first_opened_at or now
    session.flush()
    return True


def record_click(session: Session, send: CampaignSend, *, now: datetime) -> bool:
    """A link of the e-mail was followed (which also shows it was opened, images blocked or not)."""
    if not tracking_allowed(session, send.volunteer):
        return False
    send.clicks += 1
    send.first_clicked_at = send.first_clicked_at or now
    send.first_opened_at = send.first_opened_at or now
    session.flush()
    return True


def _choose(session: Session, volunteer: Volunteer, field: str, now: datetime) -> bool:
    """Record the volunteer's choice (`field` of their preference) once. True when it changed."""
    pref = preference_of(session, volunteer)
    if pref is None:
        pref = CampaignPreference(volunteer=volunteer)
        session.add(pref)
    if getattr(pref, field) is not None:
        return False
    setattr(pref, field, now)
    session.flush()
    return True


def unsubscribe(session: Session, volunteer: Volunteer, *, now: datetime, ip: str | None = None) -> bool:
    """No more campaign e-mail to this volunteer (their contract's own e-mails still go). True when it changed."""
    changed = _choose(session, volunteer, "unsubscribed_at", now)
    if changed:
        audit.record(session, "volunteer.campaign_unsubscribed", subject=volunteer, ip=ip)
    return changed


def refuse_tracking(session: Session, volunteer: Volunteer, *, now: datetime, ip: str | None = None) -> bool:
    """Campaign e-mail keeps coming, without a tracking pixel or redirect links, and nothing is measured."""
    changed = _choose(session, volunteer, "tracking_refused_at", now)
    if changed:
        audit.record(session, "volunteer.campaign_tracking_refused", subject=volunteer, ip=ip)
    return changed


# --- the staff's view -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepFigures:
    step: CampaignStep
    sent: int
    opened: int
    clicked: int

    @property
    def open_rate(self) -> float | None:
        return None if not self.sent else 100.0 * self.opened / self.sent

    @property
    def click_rate(self) -> float | None:
        return None if not self.sent else 100.0 * self.clicked / self.sent


def figures(session: Session) -> list[StepFigures]:
    """Per step: e-mails sent, opened and clicked (measured), to read beside the programme's reported open rate."""
    rows = {code: (sent, opened, clicked) for code, sent, opened, clicked in session.execute(
        select(CampaignSend.step, func.count(), func.count(CampaignSend.first_opened_at),
               func.count(CampaignSend.first_clicked_at)).group_by(CampaignSend.step))}
    return [StepFigures(step, *rows.get(step.code, (0, 0, 0))) for step in PLAN]

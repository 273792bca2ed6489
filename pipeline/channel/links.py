"""The client's personal link to the secure channel: expiring, single-purpose (this case's channel, nothing
else), revocable; only the SHA-256 of its token is kept (as funnel.journey does for volunteers)."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import privacy
from core import audit
from core.accounts import Role
from core.db import new_secret, utcnow
from core.i18n import N_

from ..cases.models import Case
from ..cases.stages import CLOSED
from .errors import ChannelRefused, LinkInvalid, NotAllowed
from .models import HealthLink

PURPOSE = "health_channel"
DEFAULT_DAYS = 7
MAX_DAYS = 30
#: who sends the link: the broker's account managers (and administrators); never a partner, finance or compliance
SENDERS = frozenset({Role.account_manager, Role.admin})
#: who reads what came through the channel: the senders and compliance
READERS = SENDERS | {Role.compliance}


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def check_sender(actor) -> None:
    if getattr(actor, "role", None) not in SENDERS:
        raise NotAllowed()


def check_reader(actor) -> None:
    if getattr(actor, "role", None) not in READERS:
        raise NotAllowed(N_("Only the broker's account managers and compliance read what the client sent through "
                            "the secure channel."))


def usable(link: HealthLink | None, now: datetime) -> bool:
    return (link is not None and link.purpose == PURPOSE and link.revoked_at is None and link.expires_at > now
            and link.case.status not in CLOSED)


def issue_link(session: Session, actor, case: Case, *, days: int = DEFAULT_DAYS, ip: str | None = None,
               now: datetime | None = None) -> tuple[HealthLink, str]:
    """A new link for the client of `case` (the raw token, to send, is returned once and never stored). The
    case's earlier links stop working: the client holds one link at a time."""
    check_sender(actor)
    now = now or utcnow()
    if not 1 <= days <= MAX_DAYS:
        raise ChannelRefused(N_("A link lasts 1 to %(max)s days."), field="days", max=MAX_DAYS)
    if case.status in CLOSED:
        raise ChannelRefused(N_("This case is closed: the client has nothing more to send."))
    if not case.client_email:
        raise ChannelRefused(N_("The case has no e-mail address for the client: add one before sending the link."))
    if privacy.restriction_of(session, case.public_id) is not None:
        raise ChannelRefused(privacy.RESTRICTED)
    for earlier in active_links(session, case, now):
        _revoke(session, actor, earlier, now, ip, reason="replaced")
    raw = new_secret(32)
    link = HealthLink(case=case, token_hash=hash_token(raw), purpose=PURPOSE, expires_at=now + timedelta(days=days),
                      issued_by_id=actor.id, sent_to=case.client_email)
    session.add(link)
    session.flush()
    audit.record(session, "health_link.issued", actor=actor, subject=case, ip=ip, link=link.public_id,
                 expires_at=link.expires_at.isoformat())
    return link, raw


def active_links(session: Session, case: Case, now: datetime | None = None) -> list[HealthLink]:
    now = now or utcnow()
    return [link for link in links_of(session, case) if usable(link, now)]


def links_of(session: Session, case: Case) -> list[HealthLink]:
    return list(session.scalars(select(HealthLink).where(HealthLink.case_id == case.id).order_by(HealthLink.id.desc())))


def revoke_link(session: Session, actor, link: HealthLink, *, ip: str | None = None,
                now: datetime | None = None) -> None:
    check_sender(actor)
    if link.revoked_at is not None:
        return
    _revoke(session, actor, link, now or utcnow(), ip, reason="revoked")


def _revoke(session, actor, link: HealthLink, now: datetime, ip, *, reason: str) -> None:
    link.revoked_at = now
    link.revoked_by_id = actor.id
    session.flush()
    audit.record(session, "health_link.revoked", actor=actor, subject=link.case, ip=ip, link=link.public_id,
                 reason=reason)


def open_link(session: Session, raw: str | None, *, now: datetime | None = None) -> HealthLink:
    """The link this token is, if it can still be used (LinkInvalid otherwise); records when it was first
    opened."""
    now = now or utcnow()
    if not raw or len(raw) > 128:
        raise LinkInvalid()
    link = session.scalars(select(HealthLink).where(HealthLink.token_hash == hash_token(raw))).first()
    if not usable(link, now):
        raise LinkInvalid()
    if link.first_opened_at is None:
        link.first_opened_at = now
        session.flush()
    return link

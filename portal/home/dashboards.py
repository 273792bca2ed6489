"""What each role sees on its home page: a template and the figures it needs."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.outbox import OutboxMessage, OutboxState

from ..accounts.models import ApiToken, Organisation, PartnerStatus, Role, User


def for_user(session: Session, user: User) -> tuple[str, dict]:
    builder = _BUILDERS.get(user.role, _basic)
    return builder(session, user)


def _org_counts(session: Session) -> dict[PartnerStatus, int]:
    rows = session.execute(select(Organisation.status, func.count()).group_by(Organisation.status)).all()
    counts = {status: 0 for status in PartnerStatus}
    counts.update(dict(rows))
    return counts


def _admin(session: Session, user: User):
    roles = dict(session.execute(select(User.role, func.count()).where(User.active.is_(True))
                                 .group_by(User.role)).all())
    outbox = dict(session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())
    return "home/admin.html", {
        "org_counts": _org_counts(session), "role_counts": {r: roles.get(r, 0) for r in Role},
        "outbox": {s: outbox.get(s, 0) for s in OutboxState}, "outbox_states": OutboxState,
        "recent": _recent_events(session, 8),
    }


def _compliance(session: Session, user: User):
    failed = session.execute(select(func.count()).where(
        AuditEvent.action == "auth.login_failed")).scalar_one()
    return "home/compliance.html", {"org_counts": _org_counts(session), "recent": _recent_events(session, 15),
                                    "failed_logins": failed}


def _staff(session: Session, user: User):
    orgs = session.execute(select(Organisation).order_by(Organisation.legal_name).limit(20)).scalars().all()
    return "home/staff.html", {"org_counts": _org_counts(session), "organisations": orgs}


def _partner(session: Session, user: User):
    team = session.execute(select(User).where(User.organisation_id == user.organisation_id)
                           .order_by(User.full_name)).scalars().all()
    return "home/partner.html", {"org": user.organisation, "team": team}


def _basic(session: Session, user: User):
    tokens = session.execute(select(func.count()).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).scalar_one()
    return "home/basic.html", {"active_tokens": tokens}


def _recent_events(session: Session, n: int):
    return session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(n)).scalars().all()


_BUILDERS = {
    Role.admin: _admin,
    Role.compliance: _compliance,
    Role.finance: _staff,
    Role.account_manager: _staff,
    Role.partner_admin: _partner,
    Role.partner_member: _partner,
}

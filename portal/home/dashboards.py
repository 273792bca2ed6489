"""What each role sees on its home page: a template and the figures it needs.

Home pages are the most visited pages, so their figures come from as few round trips as possible: counts
are scalar subqueries of one SELECT, lists load only the columns shown.
"""
from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from agreements.models import Agreement, AgreementStatus
from core.accounts import Organisation, PartnerStatus, Role, User
from core.audit import AuditEvent
from core.i18n import N_
from core.outbox import OutboxMessage, OutboxState
from core.partners import Lifecycle
from pipeline.cases.models import Case
from core.db import utcnow
from pipeline import figures as pipeline_figures
from pipeline.cases.stages import NEXT_STEP, OPEN_STAGES
from pipeline.leads.models import Lead, LeadStatus

from ..accounts.models import ApiToken
from .. import fragments
from ..figure_cache import cached
from ..firm.standing import standing
from ..security.access import can_access
from ..training.policy import cases_block
from . import charts


def for_user(session: Session, user: User) -> tuple[str, dict]:
    builder = _BUILDERS.get(user.role, _basic)
    return builder(session, user)


def _count(model, *where):
    return select(func.count()).select_from(model).where(*where).scalar_subquery()


def _counts_statement(**subqueries):
    return select(*(q.label(name) for name, q in subqueries.items()))


def _read(session: Session, statement, params: dict | None = None):
    """Run a prebuilt read of plain columns on the session's connection: rows as the ORM would give them, for
    less than half the cost of `session.execute` (no ORM compile step, no entity loading to set up). Home pages
    run a few of these on every request; nothing is pending in the session when they do."""
    return session.connection().execute(statement, params or {})


def _run(session: Session, statement):
    """The row of headline figures: each a column, read by name (`figures.applications`)."""
    return _read(session, statement).one()


def _org_counts_queries() -> dict:
    return {f"org_{s.value}": _count(Organisation, Organisation.status == s) for s in PartnerStatus}


def _org_counts(figures) -> tuple[tuple[PartnerStatus, int], ...]:
    return tuple((s, getattr(figures, f"org_{s.value}")) for s in PartnerStatus)


# Built once: statements are immutable, and building them costs more than running them.
def _attention_queries() -> dict:
    """What waits for the broker's staff: the work queues of onboarding, signing and delivery."""
    return {
        "applications": _count(Organisation, Organisation.lifecycle.in_((Lifecycle.applied, Lifecycle.under_review))),
        "to_countersign": _count(Agreement, Agreement.status == AgreementStatus.partner_signed),
        "sealing": _count(Agreement, Agreement.status == AgreementStatus.countersigned),
        "outbox_failed": _count(OutboxMessage, OutboxMessage.state == OutboxState.failed),
    }


# `audit_head`: the version of the oversight charts, read with the figures rather than on its own
ADMIN_FIGURES = _counts_statement(**_org_counts_queries(), **_attention_queries(),
                                  outbox_pending=_count(OutboxMessage, OutboxMessage.state == OutboxState.pending),
                                  audit_head=charts.AUDIT_HEAD)
COMPLIANCE_FIGURES = _counts_statement(**_org_counts_queries(), **_attention_queries(),
                                       failed_logins=_count(AuditEvent, AuditEvent.action == "auth.login_failed"),
                                       audit_head=charts.AUDIT_HEAD)
STAFF_FIGURES = _counts_statement(**_org_counts_queries())
RECENT_EVENTS = select(AuditEvent.occurred_at, AuditEvent.action, AuditEvent.actor_label, AuditEvent.ip) \
    .order_by(AuditEvent.seq.desc()).limit(bindparam("n"))


def _admin(session: Session, user: User):
    figures = _run(session, ADMIN_FIGURES)
    return "home/admin.html", {"content": fragments.render(
        "home/_admin.html", me=fragments.Viewer.of(user), org_counts=_org_counts(figures), figures=figures,
        recent=_recent_events(session, 5), charts=charts.oversight(session, utcnow().date(), figures.audit_head),
        **_may_open(user))}


def _compliance(session: Session, user: User):
    figures = _run(session, COMPLIANCE_FIGURES)
    return "home/compliance.html", {"content": fragments.render(
        "home/_compliance.html", me=fragments.Viewer.of(user), org_counts=_org_counts(figures), figures=figures,
        recent=_recent_events(session, 10), charts=charts.oversight(session, utcnow().date(), figures.audit_head),
        **_may_open(user))}


def _may_open(user: User) -> dict[str, bool]:
    """The staff home's links the user may follow (the figures show either way)."""
    return {"may_open_organisations": can_access("admin.organisations", user),
            "may_open_outbox": can_access("admin.outbox", user)}


def _staff(session: Session, user: User):
    figures = _run(session, STAFF_FIGURES)
    orgs = session.execute(select(Organisation.public_id, Organisation.legal_name, Organisation.status,
                                  Organisation.country).order_by(Organisation.legal_name).limit(20)).all()
    context = {"org_counts": _org_counts(figures), "organisations": orgs, **_may_open(user)}
    if user.role is Role.finance:
        context["charts"] = charts.finance(session, utcnow().date())
    return "home/staff.html", context


TEAM = (select(User.full_name, User.role, User.active).where(User.organisation_id == bindparam("org"))
        .order_by(User.full_name))


MANAGER_FIGURES = _counts_statement(
    unassigned=_count(Lead, Lead.assigned_to_id.is_(None), Lead.status == LeadStatus.received,
                      ~(Lead.possible_duplicate_of_id.is_not(None) & Lead.attribution_decided.is_(False))),
    conflicts=_count(Lead, Lead.possible_duplicate_of_id.is_not(None), Lead.attribution_decided.is_(False)),
    mine=_count(Lead, Lead.assigned_to_id == bindparam("me"), Lead.status.in_((LeadStatus.received,
                                                                              LeadStatus.contacted))),
    cases_unassigned=_count(Case, Case.assigned_to_id.is_(None), Case.status.in_(OPEN_STAGES)),
    cases_mine=_count(Case, Case.assigned_to_id == bindparam("me"), Case.status.in_(OPEN_STAGES)),
)
#: open cases per account manager: how many, and how long the oldest has waited in its stage
WORKLOAD = (select(User.full_name, func.count(Case.id).label("open"), func.min(Case.stage_entered_at).label("oldest"))
            .join(Case, Case.assigned_to_id == User.id).where(Case.status.in_(OPEN_STAGES))
            .group_by(User.id, User.full_name).order_by(func.min(Case.stage_entered_at)))
OLDEST_CASES = (select(Case.public_id, Case.client_first_name, Case.client_last_name, Case.status,
                       Case.stage_entered_at, Organisation.legal_name, User.full_name.label("worked_by"))
                .join(Organisation, Organisation.id == Case.organisation_id)
                .outerjoin(User, User.id == Case.assigned_to_id)
                .where(Case.status.in_(OPEN_STAGES)).order_by(Case.stage_entered_at).limit(10))
LEAD_NEXT_STEP = {
    LeadStatus.received: N_("The broker contacts the client"),
    LeadStatus.contacted: N_("The broker analyses the need and asks for quotes"),
    LeadStatus.quote_in_progress: N_("The client decides on the broker's proposal"),
}
OLDEST_UNASSIGNED = (select(Lead.public_id, Lead.first_name, Lead.last_name, Lead.created_at,
                            Lead.country_of_residence, Organisation.legal_name)
                     .join(Organisation, Organisation.id == Lead.organisation_id)
                     .where(Lead.assigned_to_id.is_(None), Lead.status == LeadStatus.received)
                     .order_by(Lead.created_at).limit(10))


def _manager(session: Session, user: User):
    """An account manager's work queue: what waits, oldest first."""
    figures = dict(_read(session, MANAGER_FIGURES, {"me": user.id}).one()._mapping)
    return "home/manager.html", {"figures": figures, "oldest": _read(session, OLDEST_UNASSIGNED).all(),
                                 "workload": cached("manager-workload", pipeline_figures.assignment_version(session),
                                                    lambda: _read(session, WORKLOAD).all()),
                                 "oldest_cases": _read(session, OLDEST_CASES).all(),
                                 "charts": charts.manager(session, utcnow())}


def _partner(session: Session, user: User):
    from ..i18n import country_name

    team = tuple(_read(session, TEAM, {"org": user.organisation_id}).all())
    org = user.organisation
    if org.status is PartnerStatus.introducer:
        rows = pipeline_figures.open_leads_by_status(session, org.id)
        pipeline = tuple((status, rows.get(status), LEAD_NEXT_STEP[status]) for status in LEAD_NEXT_STEP)
    else:
        rows = pipeline_figures.open_by_stage(session, org.id)
        pipeline = tuple((status, rows.get(status), NEXT_STEP[status]) for status in OPEN_STAGES)
    is_introducer = org.status is PartnerStatus.introducer
    may_submit = not is_introducer and can_access("cases.new", user)
    viewer = fragments.Viewer.of(user)
    content = fragments.render(
        "home/_partner.html", me=viewer, org=viewer.organisation, team=team, pipeline=pipeline,
        charts=charts.partner(session, org.public_id, pipeline, is_introducer, utcnow().date()),
        standing=standing(session, user), open_total=sum(r.n for r in rows.values()),
        zones=", ".join(country_name(code) for code in org.zones),
        may_refer=is_introducer and can_access("leads.new", user), may_submit=may_submit,
        blocked=cases_block(user) if may_submit else None)
    return "home/partner.html", {"content": content}


def _basic(session: Session, user: User):
    tokens = session.execute(select(func.count()).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).scalar_one()
    return "home/basic.html", {"active_tokens": tokens}


def _recent_events(session: Session, n: int):
    return tuple(_read(session, RECENT_EVENTS, {"n": n}).all())


_BUILDERS = {
    Role.admin: _admin,
    Role.compliance: _compliance,
    Role.finance: _staff,
    Role.account_manager: _manager,
    Role.partner_admin: _partner,
    Role.partner_member: _partner,
}

"""What each role sees on its home page: a template and the figures it needs.

Home pages are the most visited pages, so their figures come from as few round trips as possible: counts
are scalar subqueries of one SELECT, lists load only the columns shown.
"""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Integer, bindparam, cast, func, literal_column, null, select, union_all
from sqlalchemy.orm import Session

from agreements.models import Agreement, AgreementStatus
from core.accounts import Organisation, PartnerStatus, Role, User
from core.audit import AuditEvent
from core.i18n import N_
from core.outbox import OutboxMessage, OutboxState
from ledger.models import Posting
from core.partners import Lifecycle
from pipeline.cases.models import Case
from core.db import members_in, utcnow
from pipeline import figures as pipeline_figures
from pipeline.cases.stages import NEXT_STEP, OPEN_STAGES
from pipeline.leads.models import Lead, LeadStatus

from ..accounts.models import ApiToken
from .. import fragments
from ..figure_cache import cached
from ..firm.standing import PENDING_STATUSES, PendingAgreement, standing
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
        "applications": _count(Organisation, members_in(Organisation.lifecycle, (Lifecycle.applied, Lifecycle.under_review))),
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


# The partner home's reads in one statement (it is the page most people land on): the firm's open cases (or an
# introducer's referrals in progress) by stage, its team, the ledger's version (of the commission chart) and the
# agreement on its way to being in force. One row per case stage, per team member, one for the ledger and at most
# one for the agreement, told apart by `kind`; each kind fills its own columns (typed by the first branch, so that
# enums and moments come back as the ORM gives them) and leaves the others NULL.
KIND_STAGE, KIND_TEAM, KIND_LEDGER, KIND_PENDING = 0, 1, 2, 3


def _partner_statement(status, oldest, where):
    columns = {"stage": status, "n": func.count(), "oldest": func.min(oldest), "name": User.full_name,
               "role": User.role, "active": User.active, "ledger": Posting.id, "public_id": Agreement.public_id,
               "reference": Agreement.reference, "agreement": Agreement.status}

    def branch(kind: int, **values):
        # every column typed in every branch (PostgreSQL matches a UNION's branches pairwise, and an untyped NULL
        # is text): the kind's own values, and a NULL of the column's type for the others
        return select(literal_column(str(kind), Integer).label("kind"), *(
            (values[name] if name in values else cast(null(), column.type)).label(name)
            for name, column in columns.items()))

    stage = branch(KIND_STAGE, stage=status, n=func.count(), oldest=func.min(oldest)).where(*where).group_by(status)
    team = branch(KIND_TEAM, name=User.full_name, role=User.role, active=User.active).where(
        User.organisation_id == bindparam("org"))
    ledger = branch(KIND_LEDGER, ledger=func.max(Posting.id))
    pending = (select(Agreement.public_id, Agreement.reference, Agreement.status)
               .where(Agreement.organisation_id == bindparam("org"), members_in(Agreement.status, PENDING_STATUSES))
               .order_by(Agreement.id.desc()).limit(1).subquery())  # as standing.PENDING
    agreement = branch(KIND_PENDING, public_id=pending.c.public_id, reference=pending.c.reference,
                       agreement=pending.c.status).select_from(pending)
    union = union_all(stage, team, ledger, agreement).subquery()
    return select(union).order_by(union.c.kind, union.c.name)


PARTNER_HOME = _partner_statement(Case.status, Case.stage_entered_at,
                                  (Case.organisation_id == bindparam("org"), members_in(Case.status, OPEN_STAGES)))
INTRODUCER_HOME = _partner_statement(Lead.status, Lead.created_at,
                                     (Lead.organisation_id == bindparam("org"), members_in(Lead.status, LEAD_NEXT_STEP)))


class Stage(NamedTuple):
    status: object
    n: int
    oldest: object


class Member(NamedTuple):
    full_name: str
    role: Role
    active: bool


def partner_figures(session: Session, org: Organisation):
    """(open cases or referrals by stage {stage: Stage}, the team (Member, by name), the ledger's version, the
    agreement on its way to being in force (PendingAgreement with its signers: the team's active administrators,
    by name) or None): what the partner home shows, in one round trip."""
    statement = INTRODUCER_HOME if org.status is PartnerStatus.introducer else PARTNER_HOME
    stages, team, ledger, pending = {}, [], None, None
    for r in _read(session, statement, {"org": org.id}):
        if r.kind == KIND_STAGE:
            stages[r.stage] = Stage(r.stage, r.n, r.oldest)
        elif r.kind == KIND_TEAM:
            team.append(Member(r.name, r.role, r.active))
        elif r.kind == KIND_LEDGER:
            ledger = r.ledger
        else:
            pending = r
    if pending is not None:
        pending = PendingAgreement(pending.public_id, pending.reference, pending.agreement, tuple(
            m.full_name for m in team if m.role is Role.partner_admin and m.active))
    return stages, tuple(team), ledger, pending


def _partner(session: Session, user: User):
    from ..i18n import country_name

    org = user.organisation
    rows, team, ledger, pending = partner_figures(session, org)
    is_introducer = org.status is PartnerStatus.introducer
    if is_introducer:
        pipeline = tuple((status, rows.get(status), LEAD_NEXT_STEP[status]) for status in LEAD_NEXT_STEP)
    else:
        pipeline = tuple((status, rows.get(status), NEXT_STEP[status]) for status in OPEN_STAGES)
    may_submit = not is_introducer and can_access("cases.new", user)
    viewer = fragments.Viewer.of(user)
    content = fragments.render(
        "home/_partner.html", me=viewer, org=viewer.organisation, team=team, pipeline=pipeline,
        charts=charts.partner(session, org.public_id, pipeline, is_introducer, utcnow().date(), ledger),
        standing=standing(session, user, pending), open_total=sum(r.n for r in rows.values()),
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

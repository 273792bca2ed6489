"""What the pipeline tells the compliance dashboard about each partner firm, in a few grouped reads: copies of
milestones sent and withheld, the share of the clients' consents that allow copies, and referrals flagged (refused
by the health-data screen, or possible duplicates awaiting their attribution)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from compliance.figures import HEALTH_REFUSAL
from core import audit
from core.accounts import Organisation
from core.audit import AuditEvent

from .cases.models import Case, CcLog, CcOutcome
from .leads.models import Consent, Lead


@dataclass(frozen=True)
class FirmPipeline:
    #: (not counted, 0, when `figures_by_firm` is asked without: the dashboard's page does not show it)
    cases: int = 0
    #: the clients' consents the firm captured (leads and cases), and those that allow copies of milestones
    consents: int = 0
    consents_to_copies: int = 0
    copies_sent: int = 0
    copies_withheld: int = 0
    health_refusals: int = 0
    attribution_conflicts: int = 0
    #: cases held in an EU/EEA host state the firm has not notified, awaiting compliance's release
    cross_border_holds: int = 0

    @property
    def cc_consent_share(self) -> float | None:
        return self.consents_to_copies / self.consents if self.consents else None


def consents_by_firm(session: Session) -> dict[int, tuple[int, int]]:
    """{firm: (the clients' consents it captured, for its leads and cases alike; those allowing copies)}."""
    return {org: (total, consented) for org, total, consented in session.execute(
        select(Consent.organisation_id, func.count(), func.count().filter(Consent.cc_on_milestones.is_(True)))
        .group_by(Consent.organisation_id))}


def consents_version(session: Session) -> int | None:
    """Changes whenever `consents_by_firm` may: consents are append-only, so the newest id tells (one seek)."""
    return session.scalar(select(func.max(Consent.id)))


def refusals_by_firm(session: Session, since: date) -> dict[int, int]:
    """{firm: referrals refused by the health-data screen since `since`}, counted from the audit log, which
    records each refusal without the refused words."""
    by_public = dict(session.execute(select(Organisation.public_id, Organisation.id)).tuples().all())
    firm = audit.data_field(session, "organisation")
    out = {}
    for public, n in session.execute(select(firm, func.count()).where(
            AuditEvent.action == HEALTH_REFUSAL,
            AuditEvent.occurred_at >= datetime.combine(since, time.min, tzinfo=UTC)).group_by(firm)):
        org = by_public.get(public)
        if org is not None:
            out[org] = n
    return out


def refusals_version(session: Session) -> int | None:
    """Changes whenever `refusals_by_firm` may for a given day: the audit log is append-only, so the newest
    refusal's sequence number tells (one seek in the index on (action, seq))."""
    return session.scalar(select(func.max(AuditEvent.seq)).where(AuditEvent.action == HEALTH_REFUSAL))


def figures_by_firm(session: Session, *, refusals_since: date, cases: bool = True,
                    consents: dict[int, tuple[int, int]] | None = None,
                    refusals: dict[int, int] | None = None) -> dict[int, FirmPipeline]:
    """Each firm's figures (`cases`: with the number of its cases, which reads every case). `consents` and
    `refusals`, when given, are what `consents_by_firm` and `refusals_by_firm(refusals_since)` return (a caller
    that keeps them between calls, keyed on their versions); otherwise they are counted."""
    rows: dict[int, dict] = {}

    def row(org: int) -> dict:
        return rows.setdefault(org, {})

    for org, total in session.execute(select(Case.organisation_id, func.count()).group_by(Case.organisation_id)) \
            if cases else ():
        row(org)["cases"] = total
    for org, (total, consented) in (consents_by_firm(session) if consents is None else consents).items():
        row(org).update(consents=total, consents_to_copies=consented)
    for org, outcome, n in session.execute(select(CcLog.organisation_id, CcLog.outcome, func.count(CcLog.id))
                                           .group_by(CcLog.organisation_id, CcLog.outcome)):
        row(org)["copies_sent" if outcome is CcOutcome.sent else "copies_withheld"] = n
    for org, n in session.execute(select(Lead.organisation_id, func.count(Lead.id)).where(
            Lead.possible_duplicate_of_id.is_not(None), Lead.attribution_decided.is_(False))
            .group_by(Lead.organisation_id)):
        row(org)["attribution_conflicts"] = n
    from .cases.crossborder import CaseCrossBorderCheck, O

    for org, n in session.execute(select(Case.organisation_id, func.count()).join(
            CaseCrossBorderCheck, CaseCrossBorderCheck.case_id == Case.id).where(
            CaseCrossBorderCheck.outcome == O.held, CaseCrossBorderCheck.resolved_at.is_(None))
            .group_by(Case.organisation_id)):
        row(org)["cross_border_holds"] = n
    for org, n in (refusals_by_firm(session, refusals_since) if refusals is None else refusals).items():
        row(org)["health_refusals"] = n
    return {org: FirmPipeline(**values) for org, values in rows.items()}

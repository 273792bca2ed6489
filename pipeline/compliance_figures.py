"""What the pipeline tells the compliance dashboard about each partner firm, in a few grouped reads: copies of
milestones sent and withheld, the share of the clients' consents that allow copies, and referrals flagged (refused
by the health-data screen, or possible duplicates awaiting their attribution)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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


def figures_by_firm(session: Session, *, refusals_since: date, cases: bool = True) -> dict[int, FirmPipeline]:
    """Each firm's figures (`cases`: with the number of its cases, which reads every case)."""
    rows: dict[int, dict] = {}

    def row(org: int) -> dict:
        return rows.setdefault(org, {})

    for org, total in session.execute(select(Case.organisation_id, func.count()).group_by(Case.organisation_id)) \
            if cases else ():
        row(org)["cases"] = total
    # the clients' consents the firm captured (for its leads and cases alike), and those that allow copies
    for org, total, consented in session.execute(
            select(Consent.organisation_id, func.count(), func.count().filter(Consent.cc_on_milestones.is_(True)))
            .group_by(Consent.organisation_id)):
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
    by_public = dict(session.execute(select(Organisation.public_id, Organisation.id)).tuples().all())
    since = datetime.combine(refusals_since, time.min, tzinfo=UTC)
    firm = audit.data_field(session, "organisation")
    for public, n in session.execute(select(firm, func.count()).where(
            AuditEvent.action == "lead.health_data_refused", AuditEvent.occurred_at >= since).group_by(firm)):
        org = by_public.get(public)
        if org is not None:
            row(org)["health_refusals"] = n
    return {org: FirmPipeline(**values) for org, values in rows.items()}

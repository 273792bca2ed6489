"""The compliance dashboard's rows: one per partner firm, composed from what each package tells about it
(agreements.queries, compliance.training / disclosures / complaints, pipeline.compliance_figures) in a few grouped
reads, whatever the number of firms.

The three counts that read the most rows (the clients' consents, the referrals refused in the last 12 months from
the audit log, the days to approve disclosures) come from append-only records, so they are kept per process
(portal.figure_cache) and counted again when a new record appears: the newest id of each is one index seek."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from agreements.queries import latest_status_by_firm
from compliance import complaints, disclosures, training
from core.accounts import Lifecycle, Organisation
from pipeline import compliance_figures
from pipeline.compliance_figures import FirmPipeline

from ..figure_cache import cached

#: how far back the referrals refused by the health-data screen are counted
FLAGGED_DAYS = 365


@dataclass(frozen=True)
class FirmRow:
    organisation: Organisation
    agreement_status: str | None
    #: people in scope of the training obligation, and those below their pro-rata target this year
    trained_people: int
    below_target: int
    disclosures: disclosures.FirmDisclosures | None
    pipeline: FirmPipeline
    complaints_open: int
    complaints_overdue: int

    @property
    def training_share(self) -> float | None:
        """Share of the firm's people at or above their target (None: nobody in scope, e.g. an introducer)."""
        if not self.trained_people:
            return None
        return (self.trained_people - self.below_target) / self.trained_people


def rows(session: Session, today: date, organisation: Organisation | None = None, *,
         cases: bool = True) -> list[FirmRow]:
    """A row per partner firm (active, suspended or applying), by name; or only `organisation`'s. Without `cases`,
    the firms' numbers of cases are not counted (the page does not show them; the CSV export does)."""
    query = select(Organisation).where(Organisation.lifecycle != Lifecycle.rejected).order_by(Organisation.legal_name)
    if organisation is not None:
        query = query.where(Organisation.id == organisation.id)
    firms = session.scalars(query).all()
    agreements = latest_status_by_firm(session)
    people = training.shortfall_by_firm(session, today.year, today, organisation=organisation)
    disclosed = disclosures.figures_by_firm(session, delays=cached(
        "dashboard.approval_delays", disclosures.approval_delays_version(session),
        lambda: disclosures.approval_delays_by_firm(session)))
    since = today - timedelta(days=FLAGGED_DAYS)
    pipeline = compliance_figures.figures_by_firm(
        session, refusals_since=since, cases=cases,
        consents=cached("dashboard.consents", compliance_figures.consents_version(session),
                        lambda: compliance_figures.consents_by_firm(session)),
        refusals=cached(("dashboard.refusals", since), compliance_figures.refusals_version(session),
                        lambda: compliance_figures.refusals_by_firm(session, since)))
    complained = complaints.open_by_firm(session, today)
    out = []
    for org in firms:
        in_scope, below = people.get(org.id, (0, 0))
        open_, late = complained.get(org.id, (0, 0))
        out.append(FirmRow(org, agreements.get(org.id), in_scope, below, disclosed.get(org.id),
                           pipeline.get(org.id, FirmPipeline()), open_, late))
    return out


def lowest(rows_: list[FirmRow], key, n: int = 15) -> list[tuple[FirmRow, float]]:
    """The `n` firms with the lowest value of `key` (those with one), lowest first: what a chart shows."""
    valued = [(r, key(r)) for r in rows_ if key(r) is not None]
    return sorted(valued, key=lambda pair: (pair[1], pair[0].organisation.legal_name))[:n]

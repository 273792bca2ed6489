"""The review queue's sources kept in compliance: firms awaiting the decision on their status, contract
disclosures awaiting review, complaints nearing or past a deadline, firms with people below their training
target (see compliance.review_queue)."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from core.accounts import Lifecycle, Organisation
from core.contracts import Contract
from core.i18n import N_

from .complaint_models import Complaint, ComplaintState
from .disclosure_models import ContractDisclosure, DisclosureState
from .review_queue import Listing, QueueItem, firm_names, source
from .training import shortfall_by_firm

#: a complaint enters the queue this many days before its deadline
COMPLAINT_WARNING_DAYS = 7


@source("partner_status", N_("Partner status applications"))
def status_applications(session: Session, today: date) -> list[QueueItem]:
    firms = session.scalars(select(Organisation).where(Organisation.lifecycle.in_(
        (Lifecycle.applied, Lifecycle.under_review))).order_by(Organisation.id))
    return [QueueItem("partner_status", o.public_id, o.legal_name, N_("Awaits the decision on the status it claims"),
                      o.created_at.date(), firm=o.legal_name,
                      link=("admin.organisation_view", {"public_id": o.public_id})) for o in firms]


@source("disclosure", N_("Contract disclosures"))
def disclosures_to_review(session: Session, today: date) -> Listing:
    query = (select(Contract.public_id, Contract.policy_number, ContractDisclosure.submitted_at,
                    ContractDisclosure.created_at, ContractDisclosure.organisation_id)
             .join(Contract, Contract.id == ContractDisclosure.contract_id)
             .where(ContractDisclosure.state == DisclosureState.submitted))
    # a declaration is submitted with its time (disclosures.submit), so the queue orders by it, from an index
    return Listing(query, Contract.public_id, ContractDisclosure.submitted_at, _disclosures)


def _disclosures(session: Session, rows) -> list[QueueItem]:
    names = firm_names(session, {row.organisation_id for row in rows})
    return [QueueItem("disclosure", ref, policy, N_("The partner's declaration awaits review"),
                      (submitted or created).date(), firm=names.get(org),
                      link=("disclosures.review", {"contract_public_id": ref}))
            for ref, policy, submitted, created, org in rows]


@source("complaint", N_("Complaints nearing a deadline"))
def complaints_due(session: Session, today: date) -> Listing:
    """Complaints whose next deadline (to acknowledge, then to answer) is within a week, or past."""
    soon = today + timedelta(days=COMPLAINT_WARNING_DAYS)
    due = case((Complaint.state == ComplaintState.received, Complaint.acknowledge_due), else_=Complaint.answer_due)
    query = (select(Complaint.public_id, Complaint.reference, Complaint.state, Complaint.received_on,
                    due.label("due"), Organisation.legal_name)
             .outerjoin(Organisation, Organisation.id == Complaint.organisation_id)
             .where(Complaint.state.in_((ComplaintState.received, ComplaintState.acknowledged)), due <= soon))
    return Listing(query, Complaint.public_id, Complaint.received_on, _complaints, order=due)


def _complaints(session: Session, rows) -> list[QueueItem]:
    return [QueueItem("complaint", ref, reference, N_("To acknowledge by %(day)s") if state is ComplaintState.received
                      else N_("To answer by %(day)s"), received, {"day": deadline.isoformat()}, firm=firm,
                      link=("complaints.view", {"public_id": ref}), due=deadline)
            for ref, reference, state, received, deadline, firm in rows]


@source("training", N_("Training shortfalls"))
def training_shortfalls(session: Session, today: date) -> list[QueueItem]:
    """A firm (or the broker's own staff) with people below the pro-rata target of the current year."""
    below = {org: n for org, (_, n) in shortfall_by_firm(session, today.year, today).items() if n}
    firms = {o.id: o for o in session.scalars(select(Organisation).where(
        Organisation.id.in_([org for org in below if org is not None])))} if below else {}
    out = []
    for org_id, count in below.items():
        org = firms.get(org_id)
        out.append(QueueItem("training", f"{org.public_id if org else 'staff'}:{today.year}",
                             org.legal_name if org else "—", N_("People below their training target: %(count)s"),
                             date(today.year, 1, 1), {"count": count},
                             firm=org.legal_name if org else None,
                             link=("training.coverage", {"below": "1"})))
    return out

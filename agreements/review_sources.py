"""The review queue's sources in agreements (see compliance.review_queue): recurring introducer commissions awaiting
compliance's approval, and agreements the partner signed awaiting the broker's countersignature."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.review_queue import QueueItem, source
from core.accounts import Organisation
from core.i18n import N_

from .models import Agreement, AgreementKind, AgreementStatus
from .operations import needs_recurring_approval


@source("agreement", N_("Agreements awaiting review"))
def agreements_to_review(session: Session, today: date) -> list[QueueItem]:
    rows = session.execute(select(Agreement, Organisation.legal_name)
                           .join(Organisation, Organisation.id == Agreement.organisation_id)
                           .where(Agreement.status.in_((AgreementStatus.draft, AgreementStatus.partner_signed)))
                           .order_by(Agreement.id)).all()
    out = []
    for a, firm in rows:
        if a.status is AgreementStatus.partner_signed:
            detail = N_("Signed by the partner: awaits the broker's countersignature")
        elif a.kind is AgreementKind.introduction and needs_recurring_approval(a):
            detail = N_("A recurring introducer commission awaits compliance's approval")
        else:
            continue
        out.append(QueueItem("agreement", a.public_id, a.reference, detail, a.created_at.date(), firm=firm,
                             link=("agreements.view", {"public_id": a.public_id})))
    return out

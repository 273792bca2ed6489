"""The review queue's sources in the pipeline (see compliance.review_queue): referrals refused by the health-data
screen (counts and categories only: the text was never stored), possible duplicates awaiting their attribution,
and consents withdrawn — the first and the last are notices compliance marks reviewed."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.health_data import CATEGORY_LABELS
from compliance.review_queue import QueueItem, reviewed_keys, source
from core.accounts import Organisation
from core.audit import AuditEvent
from core.i18n import N_

from .cases.models import Case
from .leads.models import Consent, ConsentWithdrawal, Lead

#: how far back refused referrals are shown (older ones are in the audit log)
HEALTH_REFUSALS_DAYS = 90


def _firm_names(session: Session, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Organisation.id, Organisation.legal_name)
                                .where(Organisation.id.in_(ids))).tuples().all())


@source("health_refusal", N_("Referrals refused by the health-data screen"))
def health_refusals(session: Session, today: date) -> list[QueueItem]:
    since = datetime.combine(today - timedelta(days=HEALTH_REFUSALS_DAYS), time.min, tzinfo=UTC)
    done = reviewed_keys(session, "health_refusal")
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "lead.health_data_refused",
                                                      AuditEvent.occurred_at >= since).order_by(AuditEvent.seq))
    by_org = dict(session.execute(select(Organisation.public_id, Organisation.legal_name)).tuples().all())
    out = []
    for ev in events:
        ref = str(ev.seq)
        if ref in done:
            continue
        data = json.loads(ev.data or "{}")
        firm = by_org.get(data.get("organisation"))
        out.append(QueueItem("health_refusal", ref, firm or ev.actor_label, N_("Refused for health data:"),
                             ev.occurred_at.date(), tags=tuple(CATEGORY_LABELS.get(c, c)
                                                               for c in data.get("categories") or []),
                             firm=firm, acknowledgeable=True))
    return out


@source("attribution", N_("Attribution conflicts"))
def attribution_conflicts(session: Session, today: date) -> list[QueueItem]:
    leads = session.scalars(select(Lead).where(Lead.possible_duplicate_of_id.is_not(None),
                                               Lead.attribution_decided.is_(False)).order_by(Lead.id)).all()
    names = _firm_names(session, [lead.organisation_id for lead in leads])
    return [QueueItem("attribution", lead.public_id, f"{lead.first_name} {lead.last_name}",
                      N_("Possible duplicate of an earlier referral: decide who it is attributed to"),
                      lead.created_at.date(), firm=names.get(lead.organisation_id),
                      link=("leads.view", {"public_id": lead.public_id})) for lead in leads]


@source("consent_withdrawal", N_("Consents withdrawn"))
def consent_withdrawals(session: Session, today: date) -> list[QueueItem]:
    done = reviewed_keys(session, "consent_withdrawal")
    rows = session.execute(select(ConsentWithdrawal.id, ConsentWithdrawal.scope, ConsentWithdrawal.created_at,
                                  ConsentWithdrawal.recorded_by_id, Consent.id, Organisation.legal_name)
                           .join(Consent, Consent.id == ConsentWithdrawal.consent_id)
                           .join(Organisation, Organisation.id == Consent.organisation_id)
                           .order_by(ConsentWithdrawal.id)).all()
    rows = [r for r in rows if str(r[0]) not in done]
    consent_ids = {r[4] for r in rows}
    cases = {c: (ref, f"{first} {last}") for c, ref, first, last in session.execute(
        select(Case.consent_id, Case.public_id, Case.client_first_name, Case.client_last_name)
        .where(Case.consent_id.in_(consent_ids)))}
    leads = {c: (ref, f"{first} {last}") for c, ref, first, last in session.execute(
        select(Lead.consent_id, Lead.public_id, Lead.first_name, Lead.last_name).where(Lead.consent_id.in_(consent_ids)))}
    out = []
    for wid, scope, at, recorded_by, consent_id, firm in rows:
        if consent_id in cases:
            ref, title = cases[consent_id]
            link = ("cases.view", {"public_id": ref})
        elif consent_id in leads:
            ref, title = leads[consent_id]
            link = ("leads.view", {"public_id": ref})
        else:
            title, link = "—", None
        detail = N_("Withdrew all consent") if scope == "all" else N_("Withdrew consent to copies of milestones")
        out.append(QueueItem("consent_withdrawal", str(wid), title, detail, at.date(), firm=firm, link=link,
                             acknowledgeable=True, involved=frozenset({recorded_by})))
    return out


@source("cross_border", N_("Cross-border holds and checks"))
def cross_border(session: Session, today: date) -> list[QueueItem]:
    """Cases held in an EU/EEA host state the firm has not notified (compliance releases them), and host-state
    checks still to mark done; the local licensing considerations are the account manager's, not listed here."""
    from .cases.crossborder import CaseCrossBorderCheck, O

    rows = session.execute(select(Case.public_id, Case.client_first_name, Case.client_last_name,
                                  CaseCrossBorderCheck.outcome, CaseCrossBorderCheck.client_country,
                                  CaseCrossBorderCheck.created_at, Organisation.legal_name)
                           .join(CaseCrossBorderCheck, CaseCrossBorderCheck.case_id == Case.id)
                           .join(Organisation, Organisation.id == Case.organisation_id)
                           .where(CaseCrossBorderCheck.resolved_at.is_(None),
                                  CaseCrossBorderCheck.outcome.in_((O.held, O.host_state_check))))
    return [QueueItem("cross_border", ref, f"{first} {last}",
                      N_("Held: the firm has not notified %(country)s") if outcome is O.held
                      else N_("Host-state check to record for %(country)s"), at.date(), {"country": country},
                      firm=firm, link=("cases.view", {"public_id": ref}))
            for ref, first, last, outcome, country, at, firm in rows]

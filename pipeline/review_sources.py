"""The review queue's sources in the pipeline (see compliance.review_queue): referrals refused by the health-data
screen (counts and categories only: the text was never stored), possible duplicates awaiting their attribution,
and consents withdrawn — the first and the last are notices compliance marks reviewed."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from compliance.figures import HEALTH_REFUSAL
from compliance.health_data import CATEGORY_LABELS
from compliance.review_queue import Listing, QueueItem, firm_names, not_reviewed, source
from core.accounts import Organisation
from core.audit import AuditEvent
from core.i18n import N_

from .cases.models import Case
from .leads.models import Consent, ConsentWithdrawal, Lead

#: how far back refused referrals are shown (older ones are in the audit log)
HEALTH_REFUSALS_DAYS = 90


@source("health_refusal", N_("Referrals refused by the health-data screen"))
def health_refusals(session: Session, today: date) -> Listing:
    since = datetime.combine(today - timedelta(days=HEALTH_REFUSALS_DAYS), time.min, tzinfo=UTC)
    ref = cast(AuditEvent.seq, String)
    query = select(AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.actor_label, AuditEvent.data).where(
        AuditEvent.action == HEALTH_REFUSAL, AuditEvent.occurred_at >= since,
        not_reviewed("health_refusal", ref))
    return Listing(query, ref, AuditEvent.occurred_at, _refusals)


def _refusals(session: Session, rows) -> list[QueueItem]:
    data = [json.loads(row.data or "{}") for row in rows]
    wanted = {d.get("organisation") for d in data} - {None}
    by_org = dict(session.execute(select(Organisation.public_id, Organisation.legal_name)
                                  .where(Organisation.public_id.in_(wanted))).tuples().all()) if wanted else {}
    out = []
    for (seq, occurred_at, actor_label, _), details in zip(rows, data, strict=True):
        firm = by_org.get(details.get("organisation"))
        out.append(QueueItem("health_refusal", str(seq), firm or actor_label, N_("Refused for health data:"),
                             occurred_at.date(), tags=tuple(CATEGORY_LABELS.get(c, c)
                                                            for c in details.get("categories") or []),
                             firm=firm, acknowledgeable=True))
    return out


@source("attribution", N_("Attribution conflicts"))
def attribution_conflicts(session: Session, today: date) -> Listing:
    query = select(Lead.public_id, Lead.first_name, Lead.last_name, Lead.created_at, Lead.organisation_id).where(
        Lead.possible_duplicate_of_id.is_not(None), Lead.attribution_decided.is_(False))
    return Listing(query, Lead.public_id, Lead.created_at, _conflicts)


def _conflicts(session: Session, rows) -> list[QueueItem]:
    names = firm_names(session, [row.organisation_id for row in rows])
    return [QueueItem("attribution", ref, f"{first} {last}",
                      N_("Possible duplicate of an earlier referral: decide who it is attributed to"),
                      created_at.date(), firm=names.get(org), link=("leads.view", {"public_id": ref}))
            for ref, first, last, created_at, org in rows]


@source("consent_withdrawal", N_("Consents withdrawn"))
def consent_withdrawals(session: Session, today: date) -> Listing:
    ref = cast(ConsentWithdrawal.id, String)
    query = select(ConsentWithdrawal.id, ConsentWithdrawal.scope, ConsentWithdrawal.created_at,
                   ConsentWithdrawal.recorded_by_id, ConsentWithdrawal.consent_id).where(
        not_reviewed("consent_withdrawal", ref))
    return Listing(query, ref, ConsentWithdrawal.created_at, _withdrawals)


def _withdrawals(session: Session, rows) -> list[QueueItem]:
    consent_ids = {r[4] for r in rows}
    firms = dict(session.execute(select(Consent.id, Organisation.legal_name)
                                 .join(Organisation, Organisation.id == Consent.organisation_id)
                                 .where(Consent.id.in_(consent_ids))).tuples().all()) if consent_ids else {}
    cases = {c: (ref, f"{first} {last}") for c, ref, first, last in session.execute(
        select(Case.consent_id, Case.public_id, Case.client_first_name, Case.client_last_name)
        .where(Case.consent_id.in_(consent_ids)))} if consent_ids else {}
    leads = {c: (ref, f"{first} {last}") for c, ref, first, last in session.execute(
        select(Lead.consent_id, Lead.public_id, Lead.first_name, Lead.last_name)
        .where(Lead.consent_id.in_(consent_ids)))} if consent_ids else {}
    out = []
    for wid, scope, at, recorded_by, consent_id in rows:
        if consent_id in cases:
            ref, title = cases[consent_id]
            link = ("cases.view", {"public_id": ref})
        elif consent_id in leads:
            ref, title = leads[consent_id]
            link = ("leads.view", {"public_id": ref})
        else:
            title, link = "—", None
        detail = N_("Withdrew all consent") if scope == "all" else N_("Withdrew consent to copies of milestones")
        out.append(QueueItem("consent_withdrawal", str(wid), title, detail, at.date(), firm=firms.get(consent_id),
                             link=link,
                             acknowledgeable=True, involved=frozenset({recorded_by})))
    return out


@source("cross_border", N_("Cross-border holds and checks"))
def cross_border(session: Session, today: date) -> Listing:
    """Cases held in an EU/EEA host state the firm has not notified (compliance releases them), and host-state
    checks still to mark done; the local licensing considerations are the account manager's, not listed here."""
    from .cases.crossborder import CaseCrossBorderCheck, O

    query = (select(Case.public_id, Case.client_first_name, Case.client_last_name, CaseCrossBorderCheck.outcome,
                    CaseCrossBorderCheck.client_country, CaseCrossBorderCheck.created_at, Organisation.legal_name)
             .join(CaseCrossBorderCheck, CaseCrossBorderCheck.case_id == Case.id)
             .join(Organisation, Organisation.id == Case.organisation_id)
             .where(CaseCrossBorderCheck.resolved_at.is_(None),
                    CaseCrossBorderCheck.outcome.in_((O.held, O.host_state_check))))
    return Listing(query, Case.public_id, CaseCrossBorderCheck.created_at, _cross_border_items)


def _cross_border_items(session: Session, rows) -> list[QueueItem]:
    from .cases.crossborder import O

    return [QueueItem("cross_border", ref, f"{first} {last}",
                      N_("Held: the firm has not notified %(country)s") if outcome is O.held
                      else N_("Host-state check to record for %(country)s"), at.date(), {"country": country},
                      firm=firm, link=("cases.view", {"public_id": ref}))
            for ref, first, last, outcome, country, at, firm in rows]

"""The case pipeline: the stages, the moves allowed between them, and what each move records.

Every move is a milestone appended to the case's history (who, when, a note the partner may read, a note it
may not). Placing a contract, cancelling it and renewing it also write the contract records and the business
event the ledger posts. Key milestones notify the client and, where consent allows, copy the partner. The offer
waits for the client's demands and needs statement (pipeline.cases.needs).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from babel.numbers import list_currencies
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit, events, subject_keys
from core.accounts import Role, User
from core.contracts import Contract, ContractStatus, ContractTerm, Insurer
from core.db import utcnow
from core.i18n import N_
from core.products import ProductLine

from ..errors import MoveRefused, PlacementRefused
from ..leads.models import Lead, LeadStatus, consent_key
from ..leads.services import record_withdrawal
from . import crossborder, needs
from .models import Case, CaseStatus, Milestone, case_key
from .notifications import notify_milestone
from .stages import KEY_MILESTONES, LEAD_LEVEL, OPEN_STAGES, TRANSITIONS, S

PIPELINE_ROLES = (Role.account_manager, Role.admin)
MAX_PREMIUM_MINOR = 10**11
NEEDS_FIRST = N_("Record the client's demands and needs statement before the offer: see “Demands and needs” on "
                 "the case page.")


@dataclass(frozen=True)
class Placement:
    insurer: Insurer
    policy_number: str
    product_line: ProductLine
    #: the first year's premium, in minor units of `currency`
    premium_minor: int
    currency: str
    start_date: date


def allowed_moves(case: Case) -> tuple[CaseStatus, ...]:
    return TRANSITIONS[case.status]


def term_end(start: date) -> date:
    """The last day of a year of cover starting on `start` (a 29 February start ends on 27/28 February)."""
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:
        anniversary = date(start.year + 1, 3, 1)
    return anniversary - timedelta(days=1)


def _sealed_notes(session: Session, case: Case, partner_note: str | None, internal_note: str | None) -> dict:
    """A milestone's notes sealed under the case's key (they may name the client; see Milestone)."""
    key = case_key(case.public_id)
    return {"partner_note_sealed": subject_keys.seal(session, key, partner_note),
            "internal_note_sealed": subject_keys.seal(session, key, internal_note)}


def record_submission(session: Session, case: Case, user: User, *, partner_note: str | None = None,
                      internal_note: str | None = None) -> Milestone:
    """The first milestone of every case: received."""
    milestone = Milestone(case_id=case.id, stage=S.received, previous_stage=None, recorded_by_id=user.id,
                          **_sealed_notes(session, case, partner_note, internal_note))
    session.add(milestone)
    session.flush()
    return milestone


def _clean_note(text: str | None) -> str | None:
    text = (text or "").strip()
    if len(text) > 2000:
        raise PlacementRefused(N_("Keep notes under 2,000 characters."), field="partner_note")
    return text or None


def _check_placement(session: Session, placement: Placement | None, now: datetime) -> None:
    if placement is None:
        raise PlacementRefused(N_("Placing a contract needs the insurer, policy number, product line, premium, "
                                  "currency and start date."), field="insurer")
    if not placement.insurer.active:
        raise PlacementRefused(N_("This insurer is not active."), field="insurer")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ./_-]{0,63}", placement.policy_number.strip()):
        raise PlacementRefused(N_("Enter the insurer's policy number (letters, digits, . / _ -)."),
                               field="policy_number")
    if not 0 < placement.premium_minor < MAX_PREMIUM_MINOR:
        raise PlacementRefused(N_("Enter the yearly premium, more than zero."), field="premium")
    if placement.currency not in list_currencies() or placement.currency != placement.currency.upper():
        raise PlacementRefused(N_("Use an ISO 4217 currency code (EUR, GBP, USD…)."), field="currency")
    if abs((placement.start_date - now.date()).days) > 366:
        raise PlacementRefused(N_("The start date must be within a year of today."), field="start_date")
    taken = session.execute(select(Contract.id).where(
        Contract.insurer_id == placement.insurer.id,
        Contract.policy_number == placement.policy_number.strip())).first()
    if taken:
        raise PlacementRefused(N_("This insurer's policy number is already recorded on another contract."),
                               field="policy_number")


def move(session: Session, user: User, case: Case, to: CaseStatus, *, partner_note: str | None = None,
         internal_note: str | None = None, placement: Placement | None = None, cancelled_on: date | None = None,
         renewal_premium_minor: int | None = None, ip: str | None = None, now: datetime | None = None) -> Milestone:
    """Move `case` to stage `to`, or refuse. Placing (contract_issued), cancelling and renewing need their
    figures. Two people moving the same case at once: the second is refused, not applied twice."""
    now = now or utcnow()
    if user.role not in PIPELINE_ROLES:
        raise MoveRefused(N_("Only the broker's account managers move cases."))
    previous = case.status
    if to not in TRANSITIONS[previous]:
        raise MoveRefused(N_("A case at “%(from)s” cannot move to “%(to)s”."), fields={"stage": [N_("Not allowed.")]},
                          **{"from": previous.label, "to": to.label})
    crossborder.refuse_move(session, case, to)
    if to is S.offer and needs.current(session, case) is None:
        raise MoveRefused(NEEDS_FIRST, fields={"stage": [NEEDS_FIRST]})
    partner_note, internal_note = _clean_note(partner_note), _clean_note(internal_note)
    contract = case.contract
    if to is S.contract_issued:
        _check_placement(session, placement, now)
    elif to is S.cancelled:
        if cancelled_on is None:
            raise PlacementRefused(N_("Enter the date the cancellation takes effect."), field="cancelled_on")
        if contract is not None and cancelled_on < contract.start_date:
            raise PlacementRefused(N_("The cancellation cannot take effect before the contract starts."),
                                   field="cancelled_on")
    elif to is S.renewed and (renewal_premium_minor is None or not 0 < renewal_premium_minor < MAX_PREMIUM_MINOR):
        raise PlacementRefused(N_("Enter the yearly premium, more than zero."), field="premium")

    milestone = _advance(session, user, case, previous, to, partner_note, internal_note, now)

    if to is S.contract_issued:
        contract = _place(session, user, case, placement)
    elif to is S.cancelled and contract is not None:
        _cancel(session, contract, cancelled_on)
    elif to is S.renewed and contract is not None:
        _renew(session, contract, renewal_premium_minor)

    lead_news = False
    if case.lead_id is not None:
        session.get(Lead, case.lead_id).status = LEAD_LEVEL[to]
        lead_news = to in KEY_MILESTONES and LEAD_LEVEL[to] is not _level_last_told(session, case, milestone)
    audit.record(session, "case.moved", actor=user, subject=case, ip=ip, **{"from": previous.value, "to": to.value},
                 milestone=milestone.public_id)
    notify_milestone(session, case, milestone, news_for_introducer=lead_news)
    session.flush()
    return milestone


def _advance(session: Session, user: User, case: Case, previous: CaseStatus, to: CaseStatus,
             partner_note: str | None, internal_note: str | None, now: datetime) -> Milestone:
    # Compare-and-set: only one of two concurrent moves from the same stage succeeds.
    assignee = case.assigned_to_id or (user.id if user.is_staff else None)
    moved = session.execute(update(Case).where(Case.id == case.id, Case.status == previous)
                            .values(status=to, stage_entered_at=now, assigned_to_id=assignee)
                            .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise MoveRefused(N_("Someone else moved this case meanwhile; reload it and try again."))
    session.refresh(case)
    milestone = Milestone(case_id=case.id, stage=to, previous_stage=previous, recorded_by_id=user.id,
                          created_at=now, **_sealed_notes(session, case, partner_note, internal_note))
    session.add(milestone)
    session.flush()
    return milestone


def withdraw_consent(session: Session, user: User, case: Case, *, scope: str, reason: str,
                     ip: str | None = None, now: datetime | None = None) -> None:
    """The client withdraws consent, told to the partner or to the broker's staff. From then on no copy goes
    to the partner; withdrawing all consent also stops work on a case still in progress."""
    record_withdrawal(session, user, case.consent, scope=scope, reason=reason)
    if scope == "all" and case.status in OPEN_STAGES:
        _advance(session, user, case, case.status, S.withdrawn, None, reason.strip(), now or utcnow())
        if case.lead_id is not None:
            session.get(Lead, case.lead_id).status = LEAD_LEVEL[S.withdrawn]
    session.flush()
    audit.record(session, "consent.withdrawn", actor=user, subject=case, ip=ip, scope=scope,
                 personal={"reason": reason}, personal_key=consent_key(case.consent.public_id))


def _level_last_told(session: Session, case: Case, milestone: Milestone) -> LeadStatus:
    """The lead-level status the introducer last heard of: that of the previous key milestone (an introducer
    is told of key milestones only), or "contacted", which it sees when its lead becomes a case."""
    previous_key = session.execute(select(Milestone.stage).where(
        Milestone.case_id == case.id, Milestone.id < milestone.id, Milestone.stage.in_(KEY_MILESTONES))
        .order_by(Milestone.id.desc()).limit(1)).scalar_one_or_none()
    return LEAD_LEVEL[previous_key] if previous_key is not None else LeadStatus.contacted


def _place(session: Session, user: User, case: Case, placement: Placement) -> Contract:
    contract = Contract(case_id=case.id, organisation_id=case.organisation_id, insurer_id=placement.insurer.id,
                        policy_number=placement.policy_number.strip(), product_line=placement.product_line,
                        premium_minor=placement.premium_minor, currency=placement.currency,
                        start_date=placement.start_date, status=ContractStatus.in_force, placed_by_id=user.id)
    contract.terms.append(ContractTerm(number=1, start_date=placement.start_date,
                                       end_date=term_end(placement.start_date),
                                       premium_minor=placement.premium_minor))
    session.add(contract)
    session.flush()
    events.emit(session, events.CONTRACT_PLACED, contract.public_id, placement.start_date,
                case=case.public_id, organisation_id=case.organisation_id, insurer=placement.insurer.code,
                product_line=placement.product_line.value, premium_minor=placement.premium_minor,
                currency=placement.currency, term=1, client_initials=case.client_initials)
    session.expire(case, ["contract"])
    return contract


def _cancel(session: Session, contract: Contract, cancelled_on: date) -> None:
    contract.status = ContractStatus.cancelled
    contract.cancelled_on = cancelled_on
    term = contract.current_term
    events.emit(session, events.CONTRACT_CANCELLED, contract.public_id, cancelled_on, term=term.number,
                term_start=term.start_date.isoformat(), term_end=term.end_date.isoformat(),
                premium_minor=term.premium_minor, currency=contract.currency)


def _renew(session: Session, contract: Contract, premium_minor: int) -> None:
    previous = contract.current_term
    start = previous.end_date + timedelta(days=1)
    term = ContractTerm(number=previous.number + 1, start_date=start, end_date=term_end(start),
                        premium_minor=premium_minor)
    contract.terms.append(term)
    contract.premium_minor = premium_minor
    session.flush()
    case = session.get(Case, contract.case_id) if contract.case_id is not None else None
    events.emit(session, events.CONTRACT_RENEWED, contract.public_id, start, term=term.number,
                premium_minor=premium_minor, currency=contract.currency,
                client_initials=case.client_initials if case else None)


def claim(session: Session, user: User, case: Case) -> None:
    if user.role not in PIPELINE_ROLES:
        raise MoveRefused(N_("Only the broker's account managers move cases."))
    case.assigned_to_id = user.id
    session.flush()
    audit.record(session, "case.claimed", actor=user, subject=case)


def introducer_progress(session: Session, lead: Lead, case: Case | None) -> list[tuple[datetime, LeadStatus]]:
    """What the introducer may see of its lead's progress: when it reached each lead-level status, nothing
    more (no stage names beyond those levels, no notes, no insurer, no premium)."""
    progress = [(lead.created_at, LeadStatus.received)]
    if case is not None:
        rows = session.execute(select(Milestone.created_at, Milestone.stage).where(Milestone.case_id == case.id)
                               .order_by(Milestone.id)).all()
        for at, stage in rows:
            level = LEAD_LEVEL[stage]
            if level is not progress[-1][1]:
                progress.append((at, level))
    elif lead.status is not LeadStatus.received:
        progress.append((None, lead.status))
    return progress

"""The review of a placed contract's disclosures (IDD art. 19-20): the partner firm declares what it told the
client of its role and remuneration; compliance approves it, or returns it with reasons.

- A contract a partner firm brought has a disclosure record (`disclosure_for`, made on first use); a direct sale
  (no partner) has nothing to declare.
- `declare`: a user of that firm (never of another) says what was disclosed, when (not in the future, not before
  the case could exist: any past day), how, and may attach evidence (PDF, PNG or JPEG up to 5 MB). Allowed while
  awaiting a declaration or returned; it then awaits review.
- `approve` / `return_`: a compliance officer decides, with a written reason, on a submitted declaration. Four
  eyes: someone involved in the case (the caller names who was) cannot review it. The approval is the business
  event `disclosure.approved` (core.events): the ledger consumes it and releases the partner's held share — this
  package never calls the ledger, and no one else can release a hold.
Each operation flushes, audits and never commits.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.accounts import PARTNER_ROLES, Role
from core.contracts import Contract
from core.db import utcnow
from core.errors import DomainError
from core.events import DISCLOSURE_APPROVED, emit
from core.i18n import N_

from .disclosure_models import (ContractDisclosure, DisclosureChannel, DisclosureDecision, DisclosureReview,
                                DisclosureState)

EVIDENCE_MAX_BYTES = 5 * 1024 * 1024
#: what an evidence file may be, recognised by its first bytes (not by the name it was sent with)
EVIDENCE_TYPES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
REASON_MIN = 10
TEXT_MAX = 4000
DECLARABLE = (DisclosureState.awaiting_declaration, DisclosureState.returned)


class DisclosureRefused(DomainError):
    code = "disclosure_refused"


class NoPartner(DisclosureRefused):
    status = 409
    message = N_("This contract was not brought by a partner firm: there is no partner disclosure to declare.")


class NotYourFirm(DisclosureRefused):
    status = 403
    message = N_("Only the partner firm that brought this contract declares its disclosures.")


class NotDeclarable(DisclosureRefused):
    status = 409
    message = N_("There is nothing to declare now: the declaration of this contract is awaiting review or already "
                 "approved.")


class NotReviewable(DisclosureRefused):
    status = 409
    message = N_("Only a declaration awaiting review can be approved or returned.")


class ReviewerNotAllowed(DisclosureRefused):
    status = 403
    message = N_("Only a compliance officer reviews disclosures.")


class FourEyes(DisclosureRefused):
    status = 403
    message = N_("You were involved in this case, so another compliance officer must review its disclosures.")


class ReasonRequired(DisclosureRefused):
    field = "reason"
    message = N_("Write the reason for the decision (at least 10 characters).")


class EvidenceRefused(DisclosureRefused):
    field = "evidence"
    message = N_("The evidence must be a PDF, PNG or JPEG file of at most 5 MB.")


@dataclass(frozen=True)
class Declaration:
    role_disclosed: str
    remuneration_disclosed: str
    disclosed_on: date
    channel: DisclosureChannel
    remuneration_disclosed_minor: int | None = None
    evidence: bytes | None = None
    evidence_name: str | None = None


@dataclass(frozen=True)
class Evidence:
    name: str
    mime: str
    data: bytes


def disclosure_for(session: Session, contract: Contract) -> ContractDisclosure:
    """The contract's disclosure record (made, awaiting the partner's declaration, on first use)."""
    if contract.organisation_id is None:
        raise NoPartner()
    found = session.scalar(select(ContractDisclosure).where(ContractDisclosure.contract_id == contract.id))
    if found is None:
        found = ContractDisclosure(contract_id=contract.id, organisation_id=contract.organisation_id,
                                   state=DisclosureState.awaiting_declaration)
        session.add(found)
        session.flush()
    return found


def _evidence(d: Declaration) -> Evidence | None:
    if not d.evidence:
        return None
    mime = next((m for magic, m in EVIDENCE_TYPES.items() if d.evidence.startswith(magic)), None)
    if mime is None or len(d.evidence) > EVIDENCE_MAX_BYTES:
        raise EvidenceRefused()
    name = (d.evidence_name or "evidence").replace("/", "_").replace("\\", "_")[-200:]
    return Evidence(name, mime, d.evidence)


def _declaration_problems(d: Declaration, today: date) -> dict[str, list[str]]:
    problems = {}
    for name in ("role_disclosed", "remuneration_disclosed"):
        text = (getattr(d, name) or "").strip()
        if len(text) < REASON_MIN:
            problems[name] = [N_("Say what you told the client (at least 10 characters).")]
        elif len(text) > TEXT_MAX:
            problems[name] = [N_("At most 4,000 characters.")]
    if d.disclosed_on > today:
        problems["disclosed_on"] = [N_("The disclosure cannot be dated in the future.")]
    if d.remuneration_disclosed_minor is not None and d.remuneration_disclosed_minor < 0:
        problems["remuneration_disclosed_minor"] = [N_("An amount disclosed is positive.")]
    return problems


def declare(session: Session, actor, contract: Contract, declaration: Declaration, *, today: date,
            now: datetime | None = None) -> ContractDisclosure:
    """The partner firm's declaration of what it disclosed to the client (see the module)."""
    disclosure = disclosure_for(session, contract)
    if actor.role not in PARTNER_ROLES or actor.organisation_id != contract.organisation_id:
        raise NotYourFirm()
    if disclosure.state not in DECLARABLE:
        raise NotDeclarable()
    problems = _declaration_problems(declaration, today)
    if problems:
        raise DisclosureRefused(N_("The declaration is not complete."), fields=problems)
    evidence = _evidence(declaration)
    now = now or utcnow()
    disclosure.role_disclosed = declaration.role_disclosed.strip()
    disclosure.remuneration_disclosed = declaration.remuneration_disclosed.strip()
    disclosure.remuneration_disclosed_minor = declaration.remuneration_disclosed_minor
    disclosure.disclosed_on, disclosure.channel = declaration.disclosed_on, declaration.channel
    if evidence is not None:
        disclosure.evidence_name, disclosure.evidence_mime = evidence.name, evidence.mime
        disclosure.evidence = evidence.data
    disclosure.declared_by_id, disclosure.declared_at, disclosure.submitted_at = actor.id, now, now
    disclosure.state, disclosure.updated_at = DisclosureState.submitted, now
    session.flush()
    audit.record(session, "disclosure.declared", actor=actor, subject=disclosure, contract=contract.public_id,
                 channel=declaration.channel.value, disclosed_on=declaration.disclosed_on.isoformat(),
                 evidence=evidence.name if evidence else None)
    return disclosure


def _decide(session: Session, actor, disclosure: ContractDisclosure, decision: DisclosureDecision, reason: str,
            involved: Collection[int], now: datetime) -> DisclosureReview:
    if actor.role is not Role.compliance:
        raise ReviewerNotAllowed()
    if disclosure.state is not DisclosureState.submitted:
        raise NotReviewable()
    if actor.id in involved:
        raise FourEyes()
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN:
        raise ReasonRequired()
    review = DisclosureReview(disclosure_id=disclosure.id, decision=decision, reason=reason[:TEXT_MAX],
                              reviewer_id=actor.id, decided_at=now)
    session.add(review)
    disclosure.state = (DisclosureState.approved if decision is DisclosureDecision.approved
                        else DisclosureState.returned)
    disclosure.updated_at = now
    session.flush()
    audit.record(session, f"disclosure.{decision.value}", actor=actor, subject=disclosure,
                 contract=disclosure.contract.public_id, reason=reason[:500])
    return review


def approve(session: Session, actor, disclosure: ContractDisclosure, *, reason: str, involved: Collection[int],
            today: date, now: datetime | None = None) -> DisclosureReview:
    """Approve the declaration: the ledger, consuming the event, makes the partner's held share payable."""
    review = _decide(session, actor, disclosure, DisclosureDecision.approved, reason, involved, now or utcnow())
    emit(session, DISCLOSURE_APPROVED, disclosure.contract.public_id, today, reviewer=actor.email,
         review=review.public_id)
    return review


def return_(session: Session, actor, disclosure: ContractDisclosure, *, reason: str, involved: Collection[int],
            now: datetime | None = None) -> DisclosureReview:
    """Send the declaration back to the partner firm, saying what to correct."""
    return _decide(session, actor, disclosure, DisclosureDecision.returned, reason, involved, now or utcnow())


def awaiting(session: Session, states: Collection[DisclosureState] | None = None):
    """The contracts brought by partner firms whose disclosures are in `states` (all when None), newest first:
    the compliance officer's queue, a statement of contracts to page and filter (`disclosures_of` then reads
    their records)."""
    query = (select(Contract).outerjoin(ContractDisclosure, ContractDisclosure.contract_id == Contract.id)
             .where(Contract.organisation_id.is_not(None)))
    if states:
        wanted = [ContractDisclosure.state.in_(tuple(states))]
        if DisclosureState.awaiting_declaration in states:
            wanted.append(ContractDisclosure.id.is_(None))
        query = query.where(or_(*wanted))
    return query.order_by(Contract.id.desc())


def disclosures_of(session: Session, contracts: Collection[Contract]) -> dict[int, ContractDisclosure]:
    """{contract id: its disclosure record} for these contracts (those with one)."""
    ids = [c.id for c in contracts]
    return {d.contract_id: d for d in session.scalars(select(ContractDisclosure)
                                                      .where(ContractDisclosure.contract_id.in_(ids)))}


def state_of(disclosure: ContractDisclosure | None) -> DisclosureState:
    return disclosure.state if disclosure is not None else DisclosureState.awaiting_declaration


@dataclass(frozen=True)
class FirmDisclosures:
    #: contracts the firm brought
    contracts: int
    approved: int
    #: declared, awaiting review
    submitted: int
    returned: int
    #: mean days from the declaration to the approval, over the approved ones
    mean_days_to_approval: float | None

    @property
    def approval_rate(self) -> float | None:
        return self.approved / self.contracts if self.contracts else None

    @property
    def open(self) -> int:
        """Not approved yet: to declare, to declare again, or to review."""
        return self.contracts - self.approved


def _days_between(session: Session, later, earlier):
    """`later - earlier` in days, as the database computes it."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return func.extract("epoch", later - earlier) / 86400


def approval_delays_by_firm(session: Session) -> dict[int, float]:
    """{firm: mean days from submission to approval of its contracts' disclosures}."""
    # an approval is final (a disclosure is reviewed only while submitted), so an approved disclosure has exactly
    # one approving review: a plain join, read from the index on (decision, disclosure, time)
    days = _days_between(session, DisclosureReview.decided_at, ContractDisclosure.submitted_at)
    return {org: float(mean) for org, mean in session.execute(
        select(ContractDisclosure.organisation_id, func.avg(days))
        .join(DisclosureReview, DisclosureReview.disclosure_id == ContractDisclosure.id)
        .where(DisclosureReview.decision == DisclosureDecision.approved,
               ContractDisclosure.state == DisclosureState.approved, ContractDisclosure.submitted_at.is_not(None))
        .group_by(ContractDisclosure.organisation_id)) if mean is not None}


def approval_delays_version(session: Session) -> int | None:
    """Changes whenever `approval_delays_by_firm` may: a disclosure is approved by a review, and reviews are
    append-only, so the newest review's id tells (one seek)."""
    return session.scalar(select(func.max(DisclosureReview.id)))


def figures_by_firm(session: Session, delays: dict[int, float] | None = None) -> dict[int, FirmDisclosures]:
    """{organisation id: its disclosures' figures}, for every firm that brought a contract: a few grouped reads.
    `delays`, when given, is what `approval_delays_by_firm` returns (kept by the caller); otherwise counted."""
    contracts = dict(session.execute(select(Contract.organisation_id, func.count(Contract.id))
                                     .where(Contract.organisation_id.is_not(None))
                                     .group_by(Contract.organisation_id)).tuples().all())
    states: dict[int, dict[DisclosureState, int]] = {}
    for org, state, n in session.execute(select(ContractDisclosure.organisation_id, ContractDisclosure.state,
                                                func.count(ContractDisclosure.id))
                                         .group_by(ContractDisclosure.organisation_id, ContractDisclosure.state)):
        states.setdefault(org, {})[state] = n
    if delays is None:
        delays = approval_delays_by_firm(session)
    out = {}
    for org, n in contracts.items():
        s = states.get(org, {})
        mean = delays.get(org)
        out[org] = FirmDisclosures(n, s.get(DisclosureState.approved, 0), s.get(DisclosureState.submitted, 0),
                                   s.get(DisclosureState.returned, 0), max(mean, 0.0) if mean is not None
                                   else None)
    return out

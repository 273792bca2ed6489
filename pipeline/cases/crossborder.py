"""The cross-border check of a case (compliance.crossborder has the rule and the firms' notifications).

Assessed on submission (`assess_case`) and kept on the case, one row per case:

- held (an EU/EEA host state the firm has not notified): the case moves no further than "not pursued" or
  "withdrawn" until compliance releases the hold with a reason (`release_hold`), four-eyes: not someone who
  worked the case (`people_on_case`);
- host-state check (a notified EU/EEA host state): an account manager or compliance marks it done with a note
  (`complete_host_state_check`);
- outside the EU/EEA: the account manager records which local licensing consideration was checked
  (`record_local_licensing`) before the offer.

The partner sees only that a check is pending (`pending_for_partner`), never the notes.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from compliance.crossborder import CrossBorderOutcome, NotificationBasis, assess, notified_host_countries
from core import audit
from core.accounts import Role, User
from core.db import Base, created_at, enum_column, intpk, utcnow
from core.i18n import N_

from ..errors import CrossBorderCheckNotAllowed, CrossBorderCheckNotOpen, CrossBorderCheckRefused, MoveRefused
from .models import Case, CaseStatus

O = CrossBorderOutcome
#: who releases a held case
RELEASE_ROLES = frozenset({Role.compliance})
#: who marks a host-state check done
HOST_CHECK_ROLES = frozenset({Role.account_manager, Role.admin, Role.compliance})
#: who records the local licensing consideration
LOCAL_LICENSING_ROLES = frozenset({Role.account_manager, Role.admin})
#: the moves a held case may still make: letting it go
MOVES_WHILE_HELD = frozenset({CaseStatus.not_pursued, CaseStatus.withdrawn})


class CaseCrossBorderCheck(Base):
    """The outcome of the cross-border rule for a case, and how it was resolved (who, when, the note)."""

    __tablename__ = "case_cross_border_checks"
    __table_args__ = (Index("ix_case_cross_border_checks_open", "outcome", "resolved_at"),)

    id: Mapped[intpk]
    #: when the case was assessed (its submission)
    created_at: Mapped[created_at]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    outcome: Mapped[CrossBorderOutcome] = mapped_column(enum_column(CrossBorderOutcome))
    #: the firm's home country and the client's country of residence, as assessed
    home_country: Mapped[str] = mapped_column(String(2))
    client_country: Mapped[str] = mapped_column(String(2))
    #: the basis of the firm's notification in the client's state (host-state checks)
    basis: Mapped[NotificationBasis | None] = mapped_column(enum_column(NotificationBasis))
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the release reason, the host-state check's note, or the local licensing consideration (staff only)
    resolution_note: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship()
    resolved_by: Mapped[User | None] = relationship()

    @property
    def pending(self) -> bool:
        return self.outcome is not O.domestic and self.resolved_at is None


#: a case's check, read-only from the case's side: lists load it for a page of cases in one statement
#: (`selectinload(Case.cross_border_check)`) instead of one `check_of` per case
Case.cross_border_check = relationship(CaseCrossBorderCheck, uselist=False, viewonly=True)


def check_of(session: Session, case: Case) -> CaseCrossBorderCheck | None:
    return session.execute(select(CaseCrossBorderCheck).where(CaseCrossBorderCheck.case_id == case.id)
                           ).scalar_one_or_none()


def assess_case(session: Session, user: User, case: Case, day: date, *, ip: str | None = None) -> CaseCrossBorderCheck:
    """Apply the rule to a new case (its firm's home country and notifications on `day`), and keep the outcome."""
    org = case.organisation
    result = assess(org.country, case.country_of_residence, notified_host_countries(session, org.id, day))
    check = CaseCrossBorderCheck(case_id=case.id, outcome=result.outcome, basis=result.basis,
                                 home_country=org.country, client_country=case.country_of_residence)
    session.add(check)
    session.flush()
    if result.outcome is not O.domestic:
        audit.record(session, "case.cross_border_assessed", actor=user, subject=case, ip=ip,
                     outcome=result.outcome.value, home_country=org.country, client_country=case.country_of_residence)
    return check


def refuse_move(session: Session, case: Case, to: CaseStatus) -> None:
    """A held case goes no further until released; outside the EU/EEA, no offer before the local licensing
    consideration is recorded."""
    check = check_of(session, case)
    if check is None or not check.pending:
        return
    if check.outcome is O.held and to not in MOVES_WHILE_HELD:
        raise MoveRefused(N_("This case is held for compliance: the client lives in an EU/EEA state the firm has "
                             "not notified. Compliance must release the hold before the case moves on."))
    if check.outcome is O.outside_eea and to is CaseStatus.offer:
        raise MoveRefused(N_("Record which local licensing consideration was checked before the offer."),
                          field="stage")


def people_on_case(session: Session, case: Case) -> set[int]:
    """Who worked the case: who submitted it, the account manager assigned, and every user who acted on it (its
    audit trail)."""
    from core.audit import AuditEvent

    people = {case.assigned_to_id, case.submitted_by_id}
    people |= set(session.scalars(select(AuditEvent.actor_id).where(
        AuditEvent.subject_type == Case.__tablename__, AuditEvent.subject_id == case.public_id)))
    return {p for p in people if p is not None}


def _note(text: str | None, minimum: int, message: str, field: str) -> str:
    text = (text or "").strip()
    if len(text) < minimum:
        raise CrossBorderCheckRefused(message, field=field)
    if len(text) > 2000:
        raise CrossBorderCheckRefused(N_("Keep notes under 2,000 characters."), field=field)
    return text


def _open(session: Session, case: Case, outcome: CrossBorderOutcome) -> CaseCrossBorderCheck:
    check = check_of(session, case)
    if check is None or check.outcome is not outcome:
        raise CrossBorderCheckNotOpen(N_("This case has no such cross-border check."))
    if check.resolved_at is not None:
        raise CrossBorderCheckNotOpen(N_("This cross-border check was already recorded."))
    return check


def _resolve(session: Session, user: User, check: CaseCrossBorderCheck, note: str, now: datetime | None) -> None:
    check.resolved_at, check.resolved_by_id, check.resolution_note = now or utcnow(), user.id, note
    session.flush()


def release_hold(session: Session, user: User, case: Case, *, reason: str, ip: str | None = None,
                 now: datetime | None = None) -> None:
    """Compliance releases a held case, with its reason; never someone who worked the case."""
    if user.role not in RELEASE_ROLES:
        raise CrossBorderCheckNotAllowed(N_("Only compliance releases a case held for a cross-border check."))
    check = _open(session, case, O.held)
    reason = _note(reason, 10, N_("Write the reason for the release (at least 10 characters)."), "reason")
    if user.id in people_on_case(session, case):
        raise CrossBorderCheckNotAllowed(N_("You worked this case: another compliance officer releases it."))
    _resolve(session, user, check, reason, now)
    audit.record(session, "case.cross_border_released", actor=user, subject=case, ip=ip)


def complete_host_state_check(session: Session, user: User, case: Case, *, note: str, ip: str | None = None,
                              now: datetime | None = None) -> None:
    """An account manager or compliance marks the host-state check done, with a note."""
    if user.role not in HOST_CHECK_ROLES:
        raise CrossBorderCheckNotAllowed(N_("Only the broker's account managers and compliance mark this check done."))
    check = _open(session, case, O.host_state_check)
    note = _note(note, 10, N_("Write what was checked (at least 10 characters)."), "note")
    _resolve(session, user, check, note, now)
    audit.record(session, "case.host_state_checked", actor=user, subject=case, ip=ip)


def record_local_licensing(session: Session, user: User, case: Case, *, consideration: str,
                           ip: str | None = None, now: datetime | None = None) -> None:
    """The account manager records which local licensing consideration was checked (outside the EU/EEA)."""
    if user.role not in LOCAL_LICENSING_ROLES:
        raise CrossBorderCheckNotAllowed(N_("Only the broker's account managers record this."))
    check = _open(session, case, O.outside_eea)
    consideration = _note(consideration, 5, N_("Say which local licensing consideration was checked."),
                          "consideration")
    _resolve(session, user, check, consideration, now)
    audit.record(session, "case.local_licensing_recorded", actor=user, subject=case, ip=ip)

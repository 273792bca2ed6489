"""The client's demands and needs statement (IDD art. 20(1)), recorded on the case by the broker's account manager
before the offer: what the client needs, the budget, the countries the cover must work in, the cover chosen and
why. A case cannot move to the offer stage without one (pipeline.cases.pipeline.move).

Versioned and append-only: recording it again adds a new version that replaces the previous one in the
documents; the history stays. It never holds medical information (the texts pass the health-data screen, the
broker asks the client for that through its secure channel) nor rates (there is no field for them: the budget
is the client's). Partner firms are not shown its content. Each operation flushes, audits and never commits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from babel.numbers import list_currencies
from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from compliance.health_data import Verdict, assess
from core import audit
from core.accounts import Role, User
from core.db import Base, append_only, created_at, intpk, public_id
from core.errors import DomainError
from core.i18n import N_

from .models import Case

RECORDERS = (Role.account_manager, Role.admin)
TEXT_MIN, TEXT_MAX = 10, 4000
MAX_BUDGET_MINOR = 10**9
COUNTRY = re.compile(r"[A-Z]{2}")


@append_only
class NeedsStatement(Base):
    """One version of a case's demands and needs statement."""

    __tablename__ = "needs_statements"
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    #: 1, 2, …: the highest is the statement in force
    version: Mapped[int] = mapped_column(Integer)
    #: the client's demands and needs, in the account manager's words
    needs: Mapped[str] = mapped_column(Text)
    #: the client's yearly budget, in minor units of `budget_currency`
    budget_minor: Mapped[int] = mapped_column(Integer)
    budget_currency: Mapped[str] = mapped_column(String(3))
    #: ISO 3166-1 alpha-2 codes of the countries the cover must work in
    countries: Mapped[list] = mapped_column(JSON, default=list)
    chosen_cover: Mapped[str] = mapped_column(Text)
    #: why this cover meets the demands and needs
    reasons: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship()
    recorded_by: Mapped[User] = relationship()


@dataclass(frozen=True)
class NeedsInput:
    needs: str
    budget_minor: int | None
    budget_currency: str
    countries: list[str] = field(default_factory=list)
    chosen_cover: str = ""
    reasons: str = ""


class NeedsRefused(DomainError):
    code = "needs_statement_refused"


class NotRecorder(NeedsRefused):
    status = 403
    message = N_("Only the broker's account managers record the demands and needs statement.")


HEALTH_REFUSED = N_("No medical information here: the broker asks the client for it directly, through its secure "
                    "channel.")


def _problems(values: NeedsInput) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for name in ("needs", "chosen_cover", "reasons"):
        text = (getattr(values, name) or "").strip()
        if len(text) < TEXT_MIN:
            problems[name] = [N_("Write at least 10 characters.")]
        elif len(text) > TEXT_MAX:
            problems[name] = [N_("At most 4,000 characters.")]
        elif assess(text).verdict is not Verdict.clean:
            problems[name] = [HEALTH_REFUSED]
    if values.budget_minor is None or not 0 < values.budget_minor < MAX_BUDGET_MINOR:
        problems["budget"] = [N_("Enter the client's yearly budget, more than zero.")]
    if values.budget_currency not in list_currencies() or values.budget_currency != values.budget_currency.upper():
        problems["budget_currency"] = [N_("Use an ISO 4217 currency code (EUR, GBP, USD…).")]
    countries = values.countries or []
    if not countries:
        problems["countries"] = [N_("Choose the countries where the cover must work.")]
    elif not all(isinstance(c, str) and COUNTRY.fullmatch(c) for c in countries) or len(countries) > 60:
        problems["countries"] = [N_("Choose countries from the list.")]
    return problems


def current(session: Session, case: Case) -> NeedsStatement | None:
    """The statement in force on the case (its latest version), or None."""
    return session.scalars(select(NeedsStatement).where(NeedsStatement.case_id == case.id)
                           .order_by(NeedsStatement.version.desc()).limit(1)).first()


def history(session: Session, case: Case) -> list[NeedsStatement]:
    """Every version, the newest first."""
    return list(session.scalars(select(NeedsStatement).where(NeedsStatement.case_id == case.id)
                                .order_by(NeedsStatement.version.desc())))


def record(session: Session, actor: User, case: Case, values: NeedsInput, *, ip: str | None = None,
           now: datetime | None = None) -> NeedsStatement:
    """Record the statement (a new version when there is one already). Medical information is refused; nothing
    of a refused text is stored or audited."""
    if actor.role not in RECORDERS:
        raise NotRecorder()
    problems = _problems(values)
    if problems:
        raise NeedsRefused(N_("The demands and needs statement is not complete."), fields=problems)
    version = (session.scalar(select(func.max(NeedsStatement.version)).where(NeedsStatement.case_id == case.id))
               or 0) + 1
    statement = NeedsStatement(case_id=case.id, version=version, needs=values.needs.strip(),
                               budget_minor=values.budget_minor, budget_currency=values.budget_currency,
                               countries=list(dict.fromkeys(values.countries)),
                               chosen_cover=values.chosen_cover.strip(), reasons=values.reasons.strip(),
                               recorded_by_id=actor.id)
    if now is not None:
        statement.created_at = now
    session.add(statement)
    session.flush()
    audit.record(session, "needs_statement.recorded", actor=actor, subject=case, ip=ip, version=version,
                 statement=statement.public_id)
    return statement

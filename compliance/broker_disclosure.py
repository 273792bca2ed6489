"""The broker's own disclosure settings (IDD art. 18-19): who the distributor is, its address and registration, the
basis of its advice with the insurers it works with, any holding of 10% or more between it and an insurer, and
its complaints and mediation procedures. The broker's disclosure document to each client is produced from the
version in force on the day (pipeline.disclosure_document).

Effective-dated and never edited: an administrator publishes a new version that takes effect from a date (today
or later, never before the latest version's date), and the version in force on a day is the latest published one
whose date has come. Each publication flushes, audits and never commits.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import JSON, Date, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core import audit
from core.accounts import Role, User
from core.db import Base, append_only, created_at, enum_column, intpk, public_id
from core.errors import DomainError
from core.i18n import N_

PUBLISHERS = (Role.admin,)
READERS = (Role.admin, Role.compliance)
NAME_MAX, LINE_MAX, TEXT_MAX, LIST_MAX = 255, 300, 4000, 50
PROCEDURE_MIN = 20


class AdviceBasis(enum.Enum):
    """On what basis the broker advises (IDD art. 19(1)(e))."""

    #: a fair and personal analysis of a sufficiently large number of contracts on the market
    fair_analysis = "fair_analysis"
    #: contractually obliged to work with one or more insurers
    tied = "tied"
    #: neither: not obliged, but no fair analysis either (the insurers worked with are named)
    neither = "neither"

    @property
    def label(self) -> str:
        return ADVICE_LABELS[self]


ADVICE_LABELS = {
    AdviceBasis.fair_analysis: N_("A fair and personal analysis of the market"),
    AdviceBasis.tied: N_("Contractually tied to one or more insurers"),
    AdviceBasis.neither: N_("Neither: not tied, no fair analysis (the insurers worked with are named)"),
}


@append_only
class BrokerDisclosureSettings(Base):
    """One published version of the broker's disclosure settings; never edited, replaced by a later one."""

    __tablename__ = "broker_disclosure_settings"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    effective_from: Mapped[date] = mapped_column(Date, index=True)
    legal_name: Mapped[str] = mapped_column(String(NAME_MAX))
    address: Mapped[str] = mapped_column(Text)
    #: the intermediaries' register (e.g. "ORIAS") and the number in it
    register: Mapped[str] = mapped_column(String(100))
    registration_number: Mapped[str] = mapped_column(String(64))
    advice_basis: Mapped[AdviceBasis] = mapped_column(enum_column(AdviceBasis, 16))
    #: the insurers the broker works with (names, in order)
    insurers: Mapped[list] = mapped_column(JSON, default=list)
    #: holdings of 10% or more of voting rights or capital, between the broker and an insurer (may be empty)
    holdings: Mapped[list] = mapped_column(JSON, default=list)
    complaints_procedure: Mapped[str] = mapped_column(Text)
    mediation_procedure: Mapped[str] = mapped_column(Text)
    published_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    published_by: Mapped[User] = relationship()


@dataclass(frozen=True)
class SettingsInput:
    effective_from: date
    legal_name: str
    address: str
    register: str
    registration_number: str
    advice_basis: AdviceBasis
    insurers: list[str] = field(default_factory=list)
    holdings: list[str] = field(default_factory=list)
    complaints_procedure: str = ""
    mediation_procedure: str = ""


class SettingsRefused(DomainError):
    code = "disclosure_settings_refused"


class NotPublisher(SettingsRefused):
    status = 403
    message = N_("Only an administrator publishes the broker's disclosure settings.")


def clean_list(items) -> list[str]:
    """Lines as entered: stripped, blanks dropped, duplicates dropped (first kept)."""
    out: list[str] = []
    for item in items or ():
        text = " ".join(str(item).split())
        if text and text not in out:
            out.append(text)
    return out


def _problems(values: SettingsInput, today: date, latest: BrokerDisclosureSettings | None) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if values.effective_from < today:
        problems["effective_from"] = [N_("A new version takes effect today or later, never in the past.")]
    elif latest is not None and values.effective_from < latest.effective_from:
        problems["effective_from"] = [N_("A new version cannot take effect before the latest one.")]
    for name, limit in (("legal_name", NAME_MAX), ("register", 100), ("registration_number", 64)):
        text = (getattr(values, name) or "").strip()
        if not text:
            problems[name] = [N_("Required.")]
        elif len(text) > limit:
            problems[name] = [N_("Too long.")]
    address = (values.address or "").strip()
    if len(address) < 10:
        problems["address"] = [N_("Enter the full postal address.")]
    elif len(address) > 1000:
        problems["address"] = [N_("Too long.")]
    insurers, holdings = clean_list(values.insurers), clean_list(values.holdings)
    if values.advice_basis is not AdviceBasis.fair_analysis and not insurers:
        problems["insurers"] = [N_("Name the insurers the broker works with (one a line).")]
    for name, items in (("insurers", insurers), ("holdings", holdings)):
        if len(items) > LIST_MAX or any(len(item) > LINE_MAX for item in items):
            problems.setdefault(name, []).append(N_("At most 50 lines of 300 characters."))
    for name in ("complaints_procedure", "mediation_procedure"):
        text = (getattr(values, name) or "").strip()
        if len(text) < PROCEDURE_MIN:
            problems[name] = [N_("Describe the procedure (at least 20 characters).")]
        elif len(text) > TEXT_MAX:
            problems[name] = [N_("At most 4,000 characters.")]
    return problems


def latest(session: Session) -> BrokerDisclosureSettings | None:
    """The most recently published version (whether or not in force yet)."""
    return session.scalars(select(BrokerDisclosureSettings).order_by(
        BrokerDisclosureSettings.effective_from.desc(), BrokerDisclosureSettings.id.desc()).limit(1)).first()


def in_force(session: Session, on: date) -> BrokerDisclosureSettings | None:
    """The version in force on `on`: the latest published whose date has come (None before the first)."""
    return session.scalars(select(BrokerDisclosureSettings)
                           .where(BrokerDisclosureSettings.effective_from <= on)
                           .order_by(BrokerDisclosureSettings.effective_from.desc(),
                                     BrokerDisclosureSettings.id.desc()).limit(1)).first()


def history(session: Session) -> list[BrokerDisclosureSettings]:
    """Every version, the newest first."""
    return list(session.scalars(select(BrokerDisclosureSettings).order_by(
        BrokerDisclosureSettings.effective_from.desc(), BrokerDisclosureSettings.id.desc())))


def publish(session: Session, actor: User, values: SettingsInput, *, today: date,
            ip: str | None = None) -> BrokerDisclosureSettings:
    """Publish a new version effective from `values.effective_from` (see the module)."""
    if actor.role not in PUBLISHERS:
        raise NotPublisher()
    problems = _problems(values, today, latest(session))
    if problems:
        raise SettingsRefused(N_("Some settings need correcting."), fields=problems)
    version = BrokerDisclosureSettings(
        effective_from=values.effective_from, legal_name=values.legal_name.strip(), address=values.address.strip(),
        register=values.register.strip(), registration_number=values.registration_number.strip(),
        advice_basis=values.advice_basis, insurers=clean_list(values.insurers), holdings=clean_list(values.holdings),
        complaints_procedure=values.complaints_procedure.strip(),
        mediation_procedure=values.mediation_procedure.strip(), published_by_id=actor.id)
    session.add(version)
    session.flush()
    audit.record(session, "disclosure_settings.published", actor=actor, subject=version, ip=ip,
                 effective_from=values.effective_from.isoformat(), advice_basis=values.advice_basis.value,
                 insurers=len(version.insurers), holdings=len(version.holdings))
    return version

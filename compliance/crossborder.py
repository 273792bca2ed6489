"""Cross-border business in the EU/EEA ("general good") and outside it.

An EU/EEA intermediary may work in another EU/EEA state (the host state) once its home supervisor has notified
that state: under the freedom to provide services or the freedom of establishment. The firm's notifications are
recorded here (`HostStateNotification`, effective from the day of notification until ended). A case is assessed
on submission against the firm's home country (`Organisation.country`) and the client's country of residence:

- the same country: domestic, nothing to check;
- both in the EU/EEA and the host state notified: flagged for a host-state check ("general good" rules);
- both in the EU/EEA and the host state not notified: held for compliance. A firm with no notification on
  record at all (its register not kept yet) is flagged for the check rather than held: the portal does not
  know it has none, so someone has to look;
- otherwise (the client or the firm outside the EU/EEA): the local licensing consideration that was checked is
  recorded on the case.

`assess` is the rule alone (plain values, no database); the country lists are in `compliance.country_lists`.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core import audit
from core.accounts import Organisation, Role, User
from core.db import Base, created_at, enum_column, intpk, public_id
from core.i18n import N_

from .country_lists import in_eea
from .errors import CrossBorderNotAllowed, CrossBorderRefused

#: who keeps the firms' notifications
NOTIFICATION_ROLES = frozenset({Role.admin, Role.compliance})


class CrossBorderOutcome(enum.Enum):
    domestic = "domestic"
    host_state_check = "host_state_check"
    held = "held"
    outside_eea = "outside_eea"

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]


OUTCOME_LABELS = {
    CrossBorderOutcome.domestic: N_("Domestic"),
    CrossBorderOutcome.host_state_check: N_("EU/EEA host state: host-state check"),
    CrossBorderOutcome.held: N_("EU/EEA host state not notified: held for compliance"),
    CrossBorderOutcome.outside_eea: N_("Outside the EU/EEA: local licensing to check"),
}


class NotificationBasis(enum.Enum):
    freedom_of_services = "freedom_of_services"
    establishment = "establishment"

    @property
    def label(self) -> str:
        return BASIS_LABELS[self]


BASIS_LABELS = {
    NotificationBasis.freedom_of_services: N_("Freedom to provide services"),
    NotificationBasis.establishment: N_("Freedom of establishment (branch)"),
}


@dataclass(frozen=True)
class Assessment:
    outcome: CrossBorderOutcome
    #: the basis the firm was notified on in the client's state (host-state checks only)
    basis: NotificationBasis | None = None


def assess(home_country: str, client_country: str,
           notified: Mapping[str, NotificationBasis] | None) -> Assessment:
    """The cross-border outcome of a case. `notified`: the firm's host states in force and their basis; None when
    the firm has no notification on record at all (flagged for the check, not held: see the module's text)."""
    if client_country == home_country:
        return Assessment(CrossBorderOutcome.domestic)
    if not (in_eea(home_country) and in_eea(client_country)):
        return Assessment(CrossBorderOutcome.outside_eea)
    if notified is None:
        return Assessment(CrossBorderOutcome.host_state_check)
    if client_country in notified:
        return Assessment(CrossBorderOutcome.host_state_check, notified[client_country])
    return Assessment(CrossBorderOutcome.held)


class HostStateNotification(Base):
    """The firm's home supervisor notified `country` (a host state) on `notified_on`, on `basis`; in force from that
    day until `ended_on` (the first day it no longer applies), if ever."""

    __tablename__ = "host_state_notifications"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    #: ISO 3166-1 alpha-2 code of the host state (EU/EEA)
    country: Mapped[str] = mapped_column(String(2))
    basis: Mapped[NotificationBasis] = mapped_column(enum_column(NotificationBasis))
    notified_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation: Mapped[Organisation] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])

    def in_force(self, day: date) -> bool:
        return self.notified_on <= day and (self.ended_on is None or day < self.ended_on)


def notifications(session: Session, organisation_id: int) -> list[HostStateNotification]:
    """Every notification of the firm, in force or not, by country then date."""
    return list(session.scalars(select(HostStateNotification)
                                .where(HostStateNotification.organisation_id == organisation_id)
                                .order_by(HostStateNotification.country, HostStateNotification.notified_on)))


def notified_host_countries(session: Session, organisation_id: int, day: date) -> dict[str, NotificationBasis] | None:
    """The firm's host states in force on `day` and their basis; None when it has no notification on record."""
    rows = notifications(session, organisation_id)
    if not rows:
        return None
    return {row.country: row.basis for row in rows if row.in_force(day)}


def record_notification(session: Session, actor: User, org: Organisation, *, country: str,
                        basis: NotificationBasis, notified_on: date, ip: str | None = None) -> HostStateNotification:
    """Admins and compliance record that the firm's home supervisor notified a host state."""
    _check_role(actor)
    country = (country or "").strip().upper()
    if not in_eea(org.country):
        raise CrossBorderRefused(N_("Only a firm established in the EU/EEA notifies host states."), field="country")
    if not in_eea(country):
        raise CrossBorderRefused(N_("Choose an EU/EEA state."), field="country")
    if country == org.country:
        raise CrossBorderRefused(N_("The firm's home country is not a host state."), field="country")
    if any(row.country == country and (row.ended_on is None or row.ended_on > notified_on)
           for row in notifications(session, org.id)):
        raise CrossBorderRefused(N_("This host state is already notified: end that notification first."),
                                 field="country")
    row = HostStateNotification(organisation_id=org.id, country=country, basis=basis, notified_on=notified_on,
                                recorded_by_id=actor.id)
    session.add(row)
    session.flush()
    audit.record(session, "host_state.notified", actor=actor, subject=org, ip=ip, notification=row.public_id,
                 country=country, basis=basis.value, notified_on=notified_on.isoformat())
    return row


def end_notification(session: Session, actor: User, row: HostStateNotification, *, ended_on: date,
                     ip: str | None = None) -> None:
    """The notification no longer applies from `ended_on` (withdrawn, or the passport lapsed)."""
    _check_role(actor)
    if row.ended_on is not None:
        raise CrossBorderRefused(N_("This notification has already ended."), field="ended_on")
    if ended_on <= row.notified_on:
        raise CrossBorderRefused(N_("The end must come after the day of notification."), field="ended_on")
    row.ended_on, row.ended_by_id = ended_on, actor.id
    session.flush()
    audit.record(session, "host_state.ended", actor=actor, subject=row.organisation, ip=ip,
                 notification=row.public_id, country=row.country, ended_on=ended_on.isoformat())


def _check_role(actor: User) -> None:
    if actor.role not in NOTIFICATION_ROLES:
        raise CrossBorderNotAllowed(N_("Only administrators and compliance keep the firms' host-state notifications."))

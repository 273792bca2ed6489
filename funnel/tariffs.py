"""Tariff and zone-table versions: add one taking effect from a date, read the one in force on a date.

A version is never changed once written. Staff correct a price or a zone by adding a version; a version added
for the same date as an earlier one replaces it from then on (the later entry wins). A version takes effect
today or later, never in the past: quotes already given keep the version they used (they record its `ref`), and
a quote asked again for a past date must not find another price than the one shown then.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.accounts import User
from core.i18n import N_

from .catalogue import ZONES, Cover
from .countries import UNKNOWN_COUNTRY_CODE, is_country
from .errors import GridInvalid, NoVersionInForce, UnknownCountry, VersionRefused
from .grid import UNKNOWN_ZONE, TariffGrid, parse_grid
from .models import TariffVersion, ZoneTable, ZoneTableCountry


@dataclass(frozen=True)
class Tariff:
    """A tariff version as the rules use it: its reference and its validated grid."""

    ref: str
    cover: Cover
    effective_from: date
    grid: TariffGrid


@dataclass(frozen=True)
class Zones:
    """A zone table as the rules use it."""

    ref: str
    effective_from: date
    reviewed_on: date
    by_country: Mapping[str, int]

    def zone_of(self, country: str) -> int:
        """The zone of a mission country; UnknownCountry when the table does not place it."""
        try:
            return self.by_country[country]
        except KeyError:
            raise UnknownCountry(country=country) from None


def _check_effective(effective_from: date, today: date) -> None:
    if effective_from < today:
        message = N_("A new version takes effect today or later: quotes already given keep the version they used.")
        raise VersionRefused(message, fields={"effective_from": [message]})


def _next_ref(session: Session, model, prefix: str, effective_from: date, *criteria) -> str:
    same_day = session.scalar(select(func.count()).select_from(model).where(
        model.effective_from == effective_from, *criteria))
    return f"{prefix}-{effective_from.isoformat()}-{same_day + 1}"


# --- tariffs ---------------------------------------------------------------------------------------------------

def add_tariff_version(session: Session, cover: Cover, grid: Mapping, *, effective_from: date, today: date,
                       notes: str = "", created_by_id: int | None = None) -> TariffVersion:
    """Record `grid` (the JSON shape of funnel.grid) as `cover`'s tariff from `effective_from`; GridInvalid names
    every problem of the grid, VersionRefused a date in the past."""
    parsed = parse_grid(cover, grid)
    _check_effective(effective_from, today)
    version = TariffVersion(ref=_next_ref(session, TariffVersion, cover.value, effective_from,
                                          TariffVersion.cover == cover),
                            cover=cover, effective_from=effective_from, grid=parsed.to_data(), notes=notes,
                            created_by_id=created_by_id)
    session.add(version)
    session.flush()
    return version


def publish_tariff_version(session: Session, actor: User, cover: Cover, grid: Mapping, *, effective_from: date,
                           today: date, notes: str = "", based_on: str | None = None,
                           ip: str | None = None) -> TariffVersion:
    """A staff member publishes a new tariff version (add_tariff_version's rules), on the audit chain."""
    version = add_tariff_version(session, cover, grid, effective_from=effective_from, today=today, notes=notes,
                                 created_by_id=actor.id)
    audit.record(session, "tariff.version_added", actor=actor, subject=version, ip=ip, ref=version.ref,
                 cover=cover.value, effective_from=effective_from.isoformat(), based_on=based_on)
    return version


#: parsed grids by version public id: a version is never changed, so its parsed grid never goes stale
_PARSED: dict[str, Tariff] = {}
_PARSED_MAX = 256
_HEADER = (TariffVersion.id, TariffVersion.public_id, TariffVersion.ref, TariffVersion.cover,
           TariffVersion.effective_from)


def _tariff(session: Session, header) -> Tariff:
    tariff = _PARSED.get(header.public_id)
    if tariff is None:
        grid = session.scalar(select(TariffVersion.grid).where(TariffVersion.id == header.id))
        tariff = Tariff(ref=header.ref, cover=header.cover, effective_from=header.effective_from,
                        grid=parse_grid(header.cover, grid))
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[header.public_id] = tariff
    return tariff


def tariff_in_force(session: Session, cover: Cover, on: date) -> Tariff:
    header = session.execute(select(*_HEADER).where(
        TariffVersion.cover == cover, TariffVersion.effective_from <= on).order_by(
        TariffVersion.effective_from.desc(), TariffVersion.id.desc()).limit(1)).first()
    if header is None:
        raise NoVersionInForce(N_("No tariff of this cover is in force on %(day)s."), day=on.isoformat())
    return _tariff(session, header)


def tariffs_in_force(session: Session, covers: Iterable[Cover], on: date) -> dict[Cover, Tariff]:
    """`tariff_in_force` of several covers in one statement (a cover has a few versions: all read, the newest
    kept)."""
    covers = list(covers)
    headers = {}
    for header in session.execute(select(*_HEADER).where(
            TariffVersion.cover.in_(covers), TariffVersion.effective_from <= on).order_by(
            TariffVersion.effective_from.desc(), TariffVersion.id.desc())):
        headers.setdefault(header.cover, header)
    for cover in covers:
        if cover not in headers:
            raise NoVersionInForce(N_("No tariff of this cover is in force on %(day)s."), day=on.isoformat())
    return {cover: _tariff(session, headers[cover]) for cover in covers}


def tariff_by_ref(session: Session, ref: str) -> Tariff:
    """The version a quote or a contract recorded."""
    header = session.execute(select(*_HEADER).where(TariffVersion.ref == ref)).first()
    if header is None:
        raise NoVersionInForce(N_("No tariff version %(ref)s."), ref=ref)
    return _tariff(session, header)


def tariff_history(session: Session, cover: Cover) -> list[TariffVersion]:
    """Every version of `cover`, the newest effective date first (the editor's list)."""
    return list(session.scalars(select(TariffVersion).where(TariffVersion.cover == cover).order_by(
        TariffVersion.effective_from.desc(), TariffVersion.id.desc())))


# --- zone tables -----------------------------------------------------------------------------------------------

def check_zone_table(zones: Mapping[str, int]) -> None:
    """GridInvalid naming each country that is not an ISO code or whose zone is not 1, 2 or 3."""
    fields: dict[str, list[str]] = {}
    if not zones:
        fields["zones"] = [N_("Place at least one country in a zone.")]
    for country, zone in zones.items():
        if not is_country(country):
            fields.setdefault(f"zones.{country}", []).append(UNKNOWN_COUNTRY_CODE)
        if zone not in ZONES or isinstance(zone, bool):
            fields.setdefault(f"zones.{country}", []).append(UNKNOWN_ZONE)
    if fields:
        raise GridInvalid(N_("The zone table is not consistent."), fields=fields)


def add_zone_table(session: Session, zones: Mapping[str, int], *, effective_from: date, reviewed_on: date,
                   today: date, notes: str = "", created_by_id: int | None = None) -> ZoneTable:
    """Record a complete zone table (country → zone) in force from `effective_from`."""
    check_zone_table(zones)
    _check_effective(effective_from, today)
    table = ZoneTable(ref=_next_ref(session, ZoneTable, "zones", effective_from), effective_from=effective_from,
                      reviewed_on=reviewed_on, notes=notes, created_by_id=created_by_id,
                      countries=[ZoneTableCountry(country=c, zone=z) for c, z in sorted(zones.items())])
    session.add(table)
    session.flush()
    return table


def review_zone_table(session: Session, changes: Mapping[str, int | None], *, effective_from: date,
                      reviewed_on: date, today: date, notes: str = "",
                      created_by_id: int | None = None) -> ZoneTable:
    """A new version: the table in force on `effective_from` with `changes` (a zone, or None to drop the country).
    A review that changes nothing still records a version, with its review date."""
    zones = dict(zones_in_force(session, effective_from).by_country)
    for country, zone in changes.items():
        if zone is None:
            zones.pop(country, None)
        else:
            zones[country] = zone
    return add_zone_table(session, zones, effective_from=effective_from, reviewed_on=reviewed_on, today=today,
                          notes=notes, created_by_id=created_by_id)


def publish_zone_review(session: Session, actor: User, changes: Mapping[str, int | None], *, effective_from: date,
                        reviewed_on: date, today: date, notes: str = "", ip: str | None = None) -> ZoneTable:
    """A staff member records a review of the zone table (review_zone_table's rules), on the audit chain."""
    table = review_zone_table(session, changes, effective_from=effective_from, reviewed_on=reviewed_on,
                              today=today, notes=notes, created_by_id=actor.id)
    audit.record(session, "zone_table.added", actor=actor, subject=table, ip=ip, ref=table.ref,
                 effective_from=effective_from.isoformat(), reviewed_on=reviewed_on.isoformat(),
                 changes=dict(sorted(changes.items())))
    return table


def _zone_table_in_force(session: Session, on: date) -> ZoneTable:
    table = session.scalars(select(ZoneTable).where(ZoneTable.effective_from <= on).order_by(
        ZoneTable.effective_from.desc(), ZoneTable.id.desc()).limit(1)).first()
    if table is None:
        raise NoVersionInForce(N_("No zone table is in force on %(day)s."), day=on.isoformat())
    return table


def zones_in_force(session: Session, on: date, countries: Iterable[str] | None = None) -> Zones:
    """The zone table in force on `on` (only the rows of `countries` when given: a quote needs one), read in one
    statement: the table in force, outer-joined to its rows."""
    in_force = (select(ZoneTable.id).where(ZoneTable.effective_from <= on)
                .order_by(ZoneTable.effective_from.desc(), ZoneTable.id.desc()).limit(1).scalar_subquery())
    on_rows = ZoneTableCountry.zone_table_id == ZoneTable.id
    if countries is not None:
        on_rows = on_rows & ZoneTableCountry.country.in_(list(countries))
    rows = session.execute(select(ZoneTable.ref, ZoneTable.effective_from, ZoneTable.reviewed_on,
                                  ZoneTableCountry.country, ZoneTableCountry.zone)
                           .outerjoin(ZoneTableCountry, on_rows).where(ZoneTable.id == in_force)).all()
    if not rows:
        raise NoVersionInForce(N_("No zone table is in force on %(day)s."), day=on.isoformat())
    ref, effective_from, reviewed_on = rows[0][:3]
    return Zones(ref=ref, effective_from=effective_from, reviewed_on=reviewed_on,
                 by_country={row.country: row.zone for row in rows if row.country is not None})


def zone_of(session: Session, country: str, on: date) -> tuple[int, str]:
    """(zone, zone table ref) of a mission country on a date; UnknownCountry when the table does not place it."""
    table = _zone_table_in_force(session, on)
    zone = session.scalar(select(ZoneTableCountry.zone).where(
        ZoneTableCountry.zone_table_id == table.id, ZoneTableCountry.country == country))
    if zone is None:
        raise UnknownCountry(country=country)
    return zone, table.ref


def zone_table_history(session: Session) -> list[ZoneTable]:
    return list(session.scalars(select(ZoneTable).order_by(ZoneTable.effective_from.desc(), ZoneTable.id.desc())))

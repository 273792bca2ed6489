"""How one delivery of roster records reads and writes the database in a few statements, whatever its size.

It reads the event ids already applied and the volunteers concerned once; it keeps the volunteers it creates
as drafts (`NewVolunteer`) and writes them, their dependants, the log of every record and the business events
in one statement per table at the end. Changes to existing volunteers go through the session, flushed once.
The rules of each event are in funnel.roster.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from core import subject_keys
from core.db import new_public_id
from core.events import BusinessEvent

from .catalogue import PersonCategory, Programme
from .models import (Dependant, DependantSource, Outcome, RosterEvent, RosterImport, Volunteer, VolunteerState,
                     roster_key)
from .roster_input import Problem, RosterRecord, parse_record


def _canonical(raw) -> str:
    return json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def short(value, length: int) -> str | None:
    """`value` when it is a string that fits a column of `length`, else None (a rejected record's fields)."""
    return value if isinstance(value, str) and len(value) <= length else None


@dataclass
class Item:
    """A record of the delivery, as sent and, once `read`, as understood."""

    position: int
    raw: object
    record: RosterRecord | None = None
    problems: dict[str, list[Problem]] = field(default_factory=dict)

    def read(self, now: datetime) -> None:
        self.record, self.problems = parse_record(self.raw, now=now)

    @property
    def event_id(self) -> str | None:
        if self.record:
            return self.record.event_id
        value = self._fields.get("event_id")
        return short(value.strip(), 64) if isinstance(value, str) else None

    @property
    def file_ref(self) -> str | None:
        return self.record.file_ref if self.record else short(self._fields.get("file_ref"), 32)

    @property
    def _fields(self) -> Mapping:
        return self.raw if isinstance(self.raw, Mapping) else {}

    @cached_property
    def canonical(self) -> str:
        return _canonical(self.raw if isinstance(self.raw, Mapping) else {"record": self.raw})

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the record as sent: the same event id with another fingerprint is not a replay."""
        return hashlib.sha256(self.canonical.encode()).hexdigest()


@dataclass(eq=False)
class NewDependant:
    category: PersonCategory
    birth_date: date
    first_name: str | None = None
    last_name: str | None = None
    source: DependantSource = DependantSource.roster
    removed_at: datetime | None = None


@dataclass(eq=False)
class NewVolunteer:
    """A volunteer this delivery creates, with the attributes of funnel.models.Volunteer the rules read."""

    file_ref: str
    first_name: str
    last_name: str
    email: str
    birth_date: date
    programme: Programme
    mission_country: str
    mission_start: date
    mission_end: date
    language: str
    details_as_of: datetime
    mission_as_of: datetime
    state: VolunteerState = VolunteerState.in_post
    end_reason: str | None = None
    updated_at: datetime | None = None
    public_id: str = field(default_factory=new_public_id)
    dependants: list[NewDependant] = field(default_factory=list)
    #: the row's id, once written
    id: int | None = None

    @property
    def current_dependants(self) -> list[NewDependant]:
        return [d for d in self.dependants if d.removed_at is None]

    def row(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__ if name not in ("dependants", "id")}


def add_roster_dependant(volunteer: Volunteer | NewVolunteer, category: PersonCategory, birth_date: date,
                         first_name: str | None, last_name: str | None) -> None:
    kind = NewDependant if isinstance(volunteer, NewVolunteer) else Dependant
    volunteer.dependants.append(kind(category=category, birth_date=birth_date, first_name=first_name,
                                     last_name=last_name, source=DependantSource.roster))


def sealed_payload(file_ref: str | None, keys: dict, payload: dict) -> dict:
    ref = roster_key(file_ref or "")
    return {"sealed": subject_keys.seal_with(ref, keys[ref], json.dumps(payload, sort_keys=True))}


def opened_payload(session: Session, payload: dict) -> dict | None:
    """A roster event's raw record (None once its volunteer was erased)."""
    if not subject_keys.is_sealed(payload.get("sealed")):
        return payload
    opened = subject_keys.open_sealed(session, payload["sealed"])
    return json.loads(opened) if opened is not None else None


class Batch:
    """One delivery being applied: what is known of its event ids and volunteers, and the rows it will write."""

    def __init__(self, session: Session, roster_import: RosterImport, now: datetime):
        self.session, self.roster_import, self.now = session, roster_import, now
        #: event id → (fingerprint, outcome, changed, superseded, volunteer public id) of the events applied
        self.applied: dict[str, tuple] = {}
        self.volunteers: dict[str, Volunteer | NewVolunteer] = {}
        self.log_rows: list[tuple[dict, Volunteer | NewVolunteer | None]] = []
        self.business_events: list[dict] = []

    def load_applied(self, ids: set[str]) -> None:
        """What became of the events of these ids that earlier deliveries applied."""
        rows = self.session.execute(
            select(RosterEvent.event_id, RosterEvent.fingerprint, RosterEvent.outcome, RosterEvent.changed,
                   RosterEvent.superseded, Volunteer.public_id)
            .outerjoin(Volunteer, RosterEvent.volunteer_id == Volunteer.id)
            .where(RosterEvent.event_id.in_(ids), RosterEvent.outcome != Outcome.rejected)).all()
        self.applied = {row[0]: tuple(row[1:]) for row in rows}

    def load_volunteers(self, refs: set[str]) -> None:
        if refs:
            self.volunteers = {v.file_ref: v for v in self.session.scalars(
                select(Volunteer).where(Volunteer.file_ref.in_(refs)).options(selectinload(Volunteer.dependants)))}

    def create(self, volunteer: NewVolunteer) -> NewVolunteer:
        self.volunteers[volunteer.file_ref] = volunteer
        return volunteer

    def log(self, item: Item, outcome: Outcome, *, volunteer: Volunteer | NewVolunteer | None = None,
            changed=(), superseded: bool = False, reasons=None) -> None:
        record = item.record
        self.log_rows.append(({
            "position": item.position, "event_id": item.event_id, "file_ref": item.file_ref,
            "kind": record.kind.value if record else short(item._fields.get("event"), 32),
            "occurred_at": record.occurred_at if record else None, "outcome": outcome, "changed": list(changed),
            "superseded": superseded, "fingerprint": item.fingerprint, "payload": json.loads(item.canonical),
            "reasons": {name: [p.as_dict() for p in problems] for name, problems in (reasons or {}).items()},
        }, volunteer))

    def business_event(self, kind: str, volunteer: Volunteer | NewVolunteer, **payload) -> None:
        """As core.events.emit records one (these kinds are none of the ledger's), written with the batch."""
        self.business_events.append(dict(kind=kind, subject=volunteer.public_id, public_id=new_public_id(),
                                         effective_on=volunteer.mission_end, payload=payload))

    def write(self) -> None:
        self.session.flush()
        new = [v for v in self.volunteers.values() if isinstance(v, NewVolunteer)]
        if new:
            ids = self.session.scalars(insert(Volunteer).returning(Volunteer.id, sort_by_parameter_order=True),
                                       [v.row() for v in new]).all()
            for volunteer, id_ in zip(new, ids, strict=True):
                volunteer.id = id_
            dependants = [dict(vars(d), volunteer_id=v.id, public_id=new_public_id())
                          for v in new for d in v.dependants]
            if dependants:
                self.session.execute(insert(Dependant), dependants)
        if self.log_rows:
            # the raw records name the volunteer: sealed under their file reference's key (crypto-shredding)
            keys = subject_keys.ensure_keys(self.session, {roster_key(row["file_ref"] or "") for row, _ in self.log_rows})
            self.session.execute(insert(RosterEvent), [
                dict(row, import_id=self.roster_import.id, volunteer_id=volunteer.id if volunteer else None,
                     payload=sealed_payload(row["file_ref"], keys, row["payload"]))
                for row, volunteer in self.log_rows])
        if self.business_events:
            self.session.execute(insert(BusinessEvent), self.business_events)

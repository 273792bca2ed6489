"""The roster feed: the programme operator's affiliation, radiation, prolongation and interruption events,
applied to the volunteers.

- Idempotent: an applied event's id is kept; sent again with the same content it changes nothing and answers
  as the first time (`replayed`); sent again with other content it is refused.
- Ordered: each volunteer keeps the time of the newest event applied to its details and to its mission's end
  and state; an older event arriving later leaves them as they are (`unchanged`, `superseded`). The newest word
  wins, so a roster delivered out of order, in any batches, ends as if delivered in order (once the records
  refused for a volunteer not known yet are sent again).
- Per record: each record gets its own result; an invalid one is refused with its reasons while the valid ones
  of the same delivery apply.
- A batch is a few queries whatever its size (funnel.roster_batch).

When a mission ends (radiation, interruption) or its end moves, a business event (core.events) records it:
`volunteer.mission_ended` / `volunteer.mission_end_changed`, about the volunteer's public id, effective on the
mission's last day. In the same transaction the volunteers' subscriptions follow the mission (funnel.cover_end):
the cover ends with it, and a subscription not active yet is closed when the mission ended.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from core.db import utcnow
from core.i18n import N_

from .cover_end import follow_missions
from .dates import add_months
from .models import DependantSource, Outcome, RosterEventKind, RosterImport, RosterSource, Volunteer, VolunteerState
from .roster_batch import Batch, Item, NewVolunteer, add_roster_dependant
from .roster_input import DATES_ORDER, MAX_MISSION_MONTHS, TOO_LONG_MISSION, Problem, RosterRecord

MISSION_ENDED = "volunteer.mission_ended"
MISSION_END_CHANGED = "volunteer.mission_end_changed"

UNKNOWN_VOLUNTEER = Problem("unknown_volunteer", N_("No volunteer has this file reference: send the "
                                                    "affiliation first."))
END_BEFORE_START = Problem("end_before_start", N_("The mission cannot end before it starts."))
ID_REUSED = Problem("event_id_reused", N_("This event id was already used for another event."))

DETAILS = ("first_name", "last_name", "email", "birth_date", "programme", "mission_country", "mission_start",
           "language")


@dataclass(frozen=True)
class RecordResult:
    position: int
    event_id: str | None
    file_ref: str | None
    outcome: Outcome
    #: the volunteer's public id, when the record is about a known volunteer
    volunteer: str | None = None
    #: the fields the event changed
    changed: tuple[str, ...] = ()
    #: for a rejected record: {field: [Problem]}
    reasons: Mapping[str, list[Problem]] = field(default_factory=dict)
    #: applied by an earlier delivery: this answer is the one given then
    replayed: bool = False
    #: a newer event had already set what this one would change
    superseded: bool = False

    def as_dict(self) -> dict:
        return {"position": self.position, "event_id": self.event_id, "file_ref": self.file_ref,
                "result": self.outcome.value, "volunteer": self.volunteer, "changed": list(self.changed),
                "reasons": {name: [p.as_dict() for p in problems] for name, problems in self.reasons.items()},
                "replayed": self.replayed, "superseded": self.superseded}


@dataclass(frozen=True)
class BatchResult:
    roster_import: RosterImport
    results: list[RecordResult]

    def count(self, outcome: Outcome) -> int:
        return sum(r.outcome is outcome for r in self.results)


def apply_events(session: Session, events: Sequence, *, source: RosterSource = RosterSource.api,
                 actor_id: int | None = None, filename: str | None = None, now: datetime | None = None,
                 roster_import: RosterImport | None = None, first_position: int = 0) -> BatchResult:
    """Apply a delivery of roster records (mappings, as `funnel.roster_input` describes). Returns one result per
    record, in the order given. A file imported in chunks passes the same `roster_import` (and each chunk's
    `first_position`) to every call. Flushes; the caller commits."""
    now = now or utcnow()
    if roster_import is None:
        roster_import = RosterImport(source=source, filename=filename, actor_id=actor_id, received=0, created=0,
                                     updated=0, unchanged=0, rejected=0, replayed=0)
        session.add(roster_import)
    batch = Batch(session, roster_import, now)
    items = [Item(first_position + i, raw) for i, raw in enumerate(events)]
    batch.load_applied({item.event_id for item in items if item.event_id})
    results: dict[int, RecordResult] = {}
    for item in items:
        # a replay is answered from the log without reading the record again: it was valid when applied
        replay = _replay(batch, item)
        if replay is None:
            item.read(now)
            if item.problems:
                replay = _reject(batch, item, item.problems)
        if replay is not None:
            results[item.position] = replay
    pending = [item for item in items if item.position not in results]
    batch.load_volunteers({item.record.file_ref for item in pending})
    # in the order the events happened, so an affiliation creates the volunteer its prolongation then finds
    for item in sorted(pending, key=lambda item: (item.record.occurred_at, item.position)):
        results[item.position] = _apply_one(batch, item)
    ordered = [results[item.position] for item in items]
    _count(roster_import, ordered)
    batch.write()
    _follow_mission_ends(batch)
    return BatchResult(roster_import=roster_import, results=ordered)


def _follow_mission_ends(batch: Batch) -> None:
    """The subscriptions of the volunteers whose mission ended or moved follow it, in the same transaction
    (funnel.cover_end), each change naming the newest business event about its volunteer."""
    causes = {event["subject"]: {"business_event": event["public_id"],
                                 "roster_event": event["payload"].get("roster_event")}
              for event in batch.business_events}
    moved = [v for v in batch.volunteers.values() if isinstance(v, Volunteer) and v.public_id in causes]
    if moved:
        follow_missions(batch.session, moved, causes=causes, now=batch.now)


def _count(roster_import: RosterImport, results: list[RecordResult]) -> None:
    roster_import.received += len(results)
    roster_import.replayed += sum(r.replayed for r in results)
    for outcome in Outcome:
        n = sum(r.outcome is outcome and not r.replayed for r in results)
        setattr(roster_import, outcome.value, getattr(roster_import, outcome.value) + n)


def _reject(batch: Batch, item: Item, problems, volunteer=None) -> RecordResult:
    batch.log(item, Outcome.rejected, volunteer=volunteer, reasons=problems)
    return RecordResult(position=item.position, event_id=item.event_id, file_ref=item.file_ref,
                        outcome=Outcome.rejected, volunteer=volunteer.public_id if volunteer else None,
                        reasons=problems)


def _replay(batch: Batch, item: Item) -> RecordResult | None:
    """The answer given when this event was applied, or None when it was not; a refusal for an event id already
    applied with other content."""
    known = batch.applied.get(item.event_id)
    if known is None:
        return None
    fp, outcome, changed, superseded, volunteer = known
    if fp != item.fingerprint:
        item.read(batch.now)
        return _reject(batch, item, {"event_id": [ID_REUSED]})
    return RecordResult(position=item.position, event_id=item.event_id, file_ref=item.file_ref, outcome=outcome,
                        volunteer=volunteer, changed=tuple(changed), replayed=True, superseded=superseded)


def _apply_one(batch: Batch, item: Item) -> RecordResult:
    record = item.record
    replay = _replay(batch, item)  # the same event twice in one delivery
    if replay is not None:
        return replay
    volunteer = batch.volunteers.get(record.file_ref)
    if record.kind is RosterEventKind.affiliation:
        outcome, volunteer, changed, superseded, problems = _affiliate(batch, record, volunteer)
    elif volunteer is None:
        outcome, changed, superseded, problems = Outcome.rejected, (), False, {"file_ref": [UNKNOWN_VOLUNTEER]}
    else:
        outcome, changed, superseded, problems = _move_end(batch, record, volunteer)
    if problems:
        return _reject(batch, item, problems, volunteer)
    batch.log(item, outcome, volunteer=volunteer, changed=changed, superseded=superseded)
    batch.applied[record.event_id] = (item.fingerprint, outcome, list(changed), superseded, volunteer.public_id)
    return RecordResult(position=item.position, event_id=record.event_id, file_ref=record.file_ref,
                        outcome=outcome, volunteer=volunteer.public_id, changed=tuple(changed),
                        superseded=superseded)


def _set(volunteer: Volunteer | NewVolunteer, changes: dict) -> list[str]:
    changed = [name for name, value in changes.items() if getattr(volunteer, name) != value]
    for name in changed:
        setattr(volunteer, name, changes[name])
    return changed


def _affiliate(batch: Batch, record: RosterRecord, volunteer: Volunteer | NewVolunteer | None):
    details = {name: getattr(record, name) for name in DETAILS}
    at = record.occurred_at
    if volunteer is None:
        volunteer = batch.create(NewVolunteer(file_ref=record.file_ref, mission_end=record.mission_end,
                                              details_as_of=at, mission_as_of=at, **details))
        for d in record.dependants or ():
            add_roster_dependant(volunteer, d.category, d.birth_date, d.first_name, d.last_name)
        return Outcome.created, volunteer, (), False, {}
    changed, superseded = [], True
    if at >= volunteer.details_as_of:
        superseded = False
        volunteer.details_as_of = at
        changed += _set(volunteer, details)
        if record.dependants is not None and _sync_dependants(volunteer, record.dependants, batch.now):
            changed.append("dependants")
    if at >= volunteer.mission_as_of:
        superseded = False
        changed += _end_moved(batch, volunteer, record, mission_end=record.mission_end,
                              state=VolunteerState.in_post, end_reason=None)
    return _outcome(volunteer, changed, batch.now), volunteer, changed, superseded, {}


def _move_end(batch: Batch, record: RosterRecord, volunteer: Volunteer | NewVolunteer):
    if record.occurred_at < volunteer.mission_as_of:
        return Outcome.unchanged, (), True, {}
    if record.kind is RosterEventKind.prolongation:
        if record.mission_end <= volunteer.mission_start:
            return Outcome.rejected, (), False, {"mission_end": [DATES_ORDER]}
        if record.mission_end > add_months(volunteer.mission_start, MAX_MISSION_MONTHS):
            return Outcome.rejected, (), False, {"mission_end": [TOO_LONG_MISSION]}
        # the newest word wins: a prolongation newer than a radiation continues the mission (so the outcome is
        # the same whatever order the two arrive in)
        changes = dict(mission_end=record.mission_end, state=VolunteerState.in_post, end_reason=None)
    else:
        if record.end_date < volunteer.mission_start:
            return Outcome.rejected, (), False, {"end_date": [END_BEFORE_START]}
        state = VolunteerState.radiated if record.kind is RosterEventKind.radiation else VolunteerState.interrupted
        changes = dict(mission_end=record.end_date, state=state, end_reason=record.reason)
    changed = _end_moved(batch, volunteer, record, **changes)
    return _outcome(volunteer, changed, batch.now), changed, False, {}


def _outcome(volunteer: Volunteer | NewVolunteer, changed: list[str], now: datetime) -> Outcome:
    if not changed:
        return Outcome.unchanged
    volunteer.updated_at = now
    return Outcome.updated


def _end_moved(batch: Batch, volunteer: Volunteer | NewVolunteer, record: RosterRecord, **changes) -> list[str]:
    """Set the mission's end and state as of `record`; a business event says so when they changed."""
    volunteer.mission_as_of = record.occurred_at
    changed = _set(volunteer, changes)
    if "mission_end" in changed or "state" in changed:
        ended = volunteer.state is not VolunteerState.in_post
        batch.business_event(MISSION_ENDED if ended else MISSION_END_CHANGED, volunteer,
                             file_ref=volunteer.file_ref, roster_event=record.event_id, event=record.kind.value,
                             state=volunteer.state.value, mission_end=volunteer.mission_end.isoformat(),
                             reason=volunteer.end_reason)
    return changed


def _sync_dependants(volunteer: Volunteer | NewVolunteer, listed, now: datetime) -> bool:
    """Make the roster's dependants those `listed` (matched by category and birth date); the ones the roster no
    longer lists are marked removed, the volunteer's own declarations stay. True when anything changed."""
    current = [d for d in volunteer.current_dependants if d.source is DependantSource.roster]
    wanted = list(listed)
    changed = False
    for dependant in current:
        match = next((w for w in wanted if (w.category, w.birth_date) == (dependant.category, dependant.birth_date)),
                     None)
        if match is None:
            dependant.removed_at = now
            changed = True
            continue
        wanted.remove(match)
        if (match.first_name, match.last_name) != (dependant.first_name, dependant.last_name):
            dependant.first_name, dependant.last_name = match.first_name, match.last_name
            changed = True
    for d in wanted:
        add_roster_dependant(volunteer, d.category, d.birth_date, d.first_name, d.last_name)
        changed = True
    return changed


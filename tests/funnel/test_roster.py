"""The roster feed: affiliation, radiation, prolongation and interruption applied idempotently and in order, each
record with its own result, invalid records refused with field-level reasons while the valid ones apply."""
from datetime import date, datetime, UTC

import pytest
from sqlalchemy import event, func, select

from core.events import BusinessEvent
from funnel.catalogue import PersonCategory, Programme
from funnel.errors import VolunteerNotFound
from funnel.models import (DependantSource, Outcome, RosterEvent, RosterImport, RosterSource, Volunteer,
                           VolunteerState)
from funnel.roster import MISSION_END_CHANGED, MISSION_ENDED, apply_events
from funnel.volunteers import find_volunteer
from tests.funnel.conftest import NOW, affiliation_record, event_record


def apply(session, records, **kw):
    batch = apply_events(session, records, now=NOW, **kw)
    session.commit()
    return batch


def codes(result) -> dict:
    return {name: [p.code for p in problems] for name, problems in result.reasons.items()}


def reload(session, file_ref) -> Volunteer:
    session.expire_all()
    return find_volunteer(session, file_ref=file_ref)


def test_an_affiliation_creates_the_volunteer_with_an_opaque_id(session):
    record = affiliation_record(dependants=[{"category": "spouse", "birth_date": "1999-07-14"},
                                            {"category": "child", "birth_date": "2024-03-01", "first_name": "Noé"}])
    result = apply(session, [record]).results[0]
    assert result.outcome is Outcome.created and not result.reasons
    volunteer = reload(session, record["file_ref"])
    assert result.volunteer == volunteer.public_id
    assert len(volunteer.public_id) == 32 and record["file_ref"] not in volunteer.public_id
    assert (volunteer.first_name, volunteer.programme, volunteer.mission_country) == ("Léa", Programme.VIE, "US")
    assert (volunteer.mission_start, volunteer.mission_end) == (date(2026, 11, 3), date(2027, 10, 31))
    assert volunteer.state is VolunteerState.in_post
    assert [(d.category, d.birth_date, d.first_name, d.source) for d in volunteer.current_dependants] == [
        (PersonCategory.spouse, date(1999, 7, 14), None, DependantSource.roster),
        (PersonCategory.child, date(2024, 3, 1), "Noé", DependantSource.roster)]


def test_invalid_records_are_refused_with_reasons_while_valid_ones_apply(session):
    good = affiliation_record()
    bad = affiliation_record(mission_country="XY", email="not-an-email", programme="VSI", birth_date="2000-02-30",
                             mission_start="2026-11-03", mission_end="2026-10-01", language="de", nickname="L")
    home = affiliation_record(mission_country="FR", birth_date="2012-01-01")
    long = affiliation_record(mission_end="2029-01-01", first_name="", occurred_at="2026-11-02 08:00")
    batch = apply(session, [bad, good, home, long, "nonsense", {"event": "transfer"}])
    results = batch.results
    assert [r.outcome for r in results] == [Outcome.rejected, Outcome.created] + [Outcome.rejected] * 4
    assert codes(results[0]) == {"mission_country": ["unknown_country"], "email": ["invalid_email"],
                                 "programme": ["unknown_programme"], "birth_date": ["invalid_date"],
                                 "mission_end": ["dates_order"], "language": ["unknown_language"],
                                 "nickname": ["unknown_field"]}
    assert codes(results[2]) == {"mission_country": ["home_country"], "birth_date": ["too_young"]}
    assert codes(results[3]) == {"mission_end": ["mission_too_long"], "first_name": ["required"],
                                 "occurred_at": ["invalid_datetime"]}
    assert codes(results[4]) == {"record": ["invalid_record"]}
    assert codes(results[5]) == {"event": ["unknown_event"], "event_id": ["required"],
                                 "occurred_at": ["required"], "file_ref": ["required"]}
    assert results[0].reasons["mission_country"][0].message.startswith("Unknown country code")
    assert session.scalar(select(func.count()).select_from(Volunteer)) == 1
    history = session.get(RosterImport, batch.roster_import.id)
    assert (history.received, history.created, history.rejected) == (6, 1, 5)
    logged = session.scalars(select(RosterEvent).order_by(RosterEvent.position)).all()
    assert [e.outcome for e in logged] == [r.outcome for r in results]
    assert logged[0].reasons["email"] == [{"code": "invalid_email", "message": "Give a valid e-mail address."}]


def test_an_event_dated_in_the_future_is_refused(session):
    result = apply(session, [affiliation_record(occurred_at="2026-12-02T08:00:00Z")]).results[0]
    assert codes(result) == {"occurred_at": ["in_future"]}
    result = apply(session, [affiliation_record(occurred_at="2026-11-02T08:00:00")]).results[0]
    assert codes(result) == {"occurred_at": ["invalid_datetime"]}


def test_dependants_are_checked_field_by_field(session):
    record = affiliation_record(dependants=[{"category": "spouse", "birth_date": "1999-07-14"},
                                            {"category": "parent", "birth_date": "1970-01-01"},
                                            {"category": "spouse", "birth_date": "1998-01-01", "age": 28}])
    assert codes(apply(session, [record]).results[0]) == {"dependants.1.category": ["unknown_category"],
                                                         "dependants.2.age": ["unknown_field"]}
    record = affiliation_record(dependants=[{"category": "spouse", "birth_date": "1999-07-14"},
                                            {"category": "spouse", "birth_date": "1998-01-01"}])
    assert codes(apply(session, [record]).results[0]) == {"dependants": ["too_many_spouses"]}


# --- idempotent ------------------------------------------------------------------------------------------------

def test_a_replayed_batch_changes_nothing_and_answers_as_before(session):
    records = [affiliation_record() for _ in range(3)]
    records.append(event_record("prolongation", records[0]["file_ref"], "2026-11-20T10:00:00Z",
                                mission_end="2028-04-30"))
    first = apply(session, records)
    rows = session.scalar(select(func.count()).select_from(RosterEvent))
    replay = apply(session, records)
    assert [(r.outcome, r.volunteer, r.changed) for r in replay.results] == [
        (r.outcome, r.volunteer, r.changed) for r in first.results]
    assert [r.outcome for r in replay.results] == [Outcome.created] * 3 + [Outcome.updated]
    assert all(r.replayed for r in replay.results) and not any(r.replayed for r in first.results)
    assert session.scalar(select(func.count()).select_from(RosterEvent)) == rows
    assert session.scalar(select(func.count()).select_from(Volunteer)) == 3
    history = session.get(RosterImport, replay.roster_import.id)
    assert (history.received, history.replayed, history.created, history.updated) == (4, 4, 0, 0)


def test_the_same_event_id_with_other_content_is_refused(session):
    record = affiliation_record()
    apply(session, [record])
    result = apply(session, [dict(record, email="other@example.org")]).results[0]
    assert codes(result) == {"event_id": ["event_id_reused"]}
    assert reload(session, record["file_ref"]).email == record["email"]


def test_a_rejected_record_can_be_sent_again_corrected_under_its_id(session):
    record = affiliation_record(mission_country="XY")
    assert apply(session, [record]).results[0].outcome is Outcome.rejected
    result = apply(session, [dict(record, mission_country="JP")]).results[0]
    assert result.outcome is Outcome.created and not result.replayed


def test_an_event_id_twice_in_one_batch_applies_once(session):
    record = affiliation_record()
    results = apply(session, [record, dict(record)]).results
    assert [(r.outcome, r.replayed) for r in results] == [(Outcome.created, False), (Outcome.created, True)]
    assert session.scalar(select(func.count()).select_from(Volunteer)) == 1


# --- ordered ---------------------------------------------------------------------------------------------------

def test_an_older_event_arriving_late_does_not_overwrite_a_newer_one(session):
    record = affiliation_record()
    ref = record["file_ref"]
    apply(session, [record])
    radiation = event_record("radiation", ref, "2026-11-30T09:00:00Z", end_date="2027-02-28")
    late_prolongation = event_record("prolongation", ref, "2026-11-15T09:00:00Z", n=3, mission_end="2028-04-30")
    apply(session, [radiation])
    result = apply(session, [late_prolongation]).results[0]
    assert (result.outcome, result.superseded) == (Outcome.unchanged, True)
    volunteer = reload(session, ref)
    assert (volunteer.state, volunteer.mission_end) == (VolunteerState.radiated, date(2027, 2, 28))


def test_a_late_affiliation_updates_the_details_but_not_a_newer_end(session):
    record = affiliation_record()
    ref = record["file_ref"]
    apply(session, [record])
    apply(session, [event_record("prolongation", ref, "2026-11-20T09:00:00Z", mission_end="2028-04-30")])
    # a correction of the e-mail, dated between the affiliation and the prolongation, arrives last
    correction = dict(record, event_id=f"{ref}-fix", occurred_at="2026-11-10T09:00:00Z",
                      email="lea.new@example.org")
    result = apply(session, [correction]).results[0]
    assert (result.outcome, result.changed, result.superseded) == (Outcome.updated, ("email",), False)
    volunteer = reload(session, ref)
    assert (volunteer.email, volunteer.mission_end) == ("lea.new@example.org", date(2028, 4, 30))


def test_events_of_one_batch_apply_in_the_order_they_happened(session):
    record = affiliation_record()
    prolongation = event_record("prolongation", record["file_ref"], "2026-11-20T09:00:00Z",
                                mission_end="2028-01-31")
    results = apply(session, [prolongation, record]).results
    assert [r.outcome for r in results] == [Outcome.updated, Outcome.created]
    assert results[0].changed == ("mission_end",)
    assert reload(session, record["file_ref"]).mission_end == date(2028, 1, 31)


# --- the mission's end -----------------------------------------------------------------------------------------

def test_a_radiation_records_the_end_and_says_so_to_whatever_follows(session):
    record = affiliation_record()
    apply(session, [record])
    result = apply(session, [event_record("radiation", record["file_ref"], "2026-11-25T09:00:00Z",
                                          end_date="2027-05-31")]).results[0]
    assert (result.outcome, set(result.changed)) == (Outcome.updated, {"mission_end", "state"})
    volunteer = reload(session, record["file_ref"])
    assert (volunteer.state, volunteer.mission_end) == (VolunteerState.radiated, date(2027, 5, 31))
    ended = session.scalars(select(BusinessEvent).where(BusinessEvent.kind == MISSION_ENDED)).one()
    assert (ended.subject, ended.effective_on) == (volunteer.public_id, date(2027, 5, 31))
    assert ended.payload["event"] == "radiation" and ended.payload["file_ref"] == record["file_ref"]


def test_an_interruption_records_its_reason(session):
    record = affiliation_record()
    apply(session, [record])
    apply(session, [event_record("interruption", record["file_ref"], "2026-11-25T09:00:00Z",
                                 end_date="2026-12-15", reason="Resigned for family reasons")])
    volunteer = reload(session, record["file_ref"])
    assert (volunteer.state, volunteer.mission_end, volunteer.end_reason) == (
        VolunteerState.interrupted, date(2026, 12, 15), "Resigned for family reasons")
    ended = session.scalars(select(BusinessEvent).where(BusinessEvent.kind == MISSION_ENDED)).one()
    assert ended.payload["reason"] == "Resigned for family reasons"


def test_a_prolongation_moves_the_end_and_says_so(session):
    record = affiliation_record()
    apply(session, [record])
    apply(session, [event_record("prolongation", record["file_ref"], "2026-11-25T09:00:00Z",
                                 mission_end="2028-04-30")])
    moved = session.scalars(select(BusinessEvent).where(BusinessEvent.kind == MISSION_END_CHANGED)).one()
    assert moved.effective_on == date(2028, 4, 30)


@pytest.mark.parametrize("kind,fields,field,code", [
    ("prolongation", {"mission_end": "2029-01-31"}, "mission_end", "mission_too_long"),
    ("prolongation", {"mission_end": "2026-10-01"}, "mission_end", "dates_order"),
    ("radiation", {"end_date": "2026-11-01"}, "end_date", "end_before_start"),
    ("interruption", {"end_date": "2027-01-01"}, "reason", "required"),
    ("radiation", {"end_date": "2027-01-01", "reason": "x"}, "reason", "unknown_field"),
])
def test_end_events_are_checked_against_the_mission(session, kind, fields, field, code):
    record = affiliation_record()
    apply(session, [record])
    result = apply(session, [event_record(kind, record["file_ref"], "2026-11-25T09:00:00Z", **fields)]).results[0]
    assert codes(result) == {field: [code]}
    assert reload(session, record["file_ref"]).state is VolunteerState.in_post


def test_events_about_an_unknown_volunteer_are_refused(session):
    result = apply(session, [event_record("radiation", "BF-0000-NOBODY", "2026-11-25T09:00:00Z",
                                          end_date="2027-01-01")]).results[0]
    assert codes(result) == {"file_ref": ["unknown_volunteer"]}


def test_the_newest_word_on_the_mission_wins_whatever_its_kind(session):
    record = affiliation_record()
    ref = record["file_ref"]
    apply(session, [record])
    apply(session, [event_record("radiation", ref, "2026-11-20T09:00:00Z", end_date="2027-01-31")])
    result = apply(session, [event_record("prolongation", ref, "2026-11-21T09:00:00Z", n=3,
                                          mission_end="2027-12-31")]).results[0]
    assert set(result.changed) == {"mission_end", "state"}
    volunteer = reload(session, ref)
    assert (volunteer.state, volunteer.mission_end) == (VolunteerState.in_post, date(2027, 12, 31))
    apply(session, [event_record("interruption", ref, "2026-11-22T09:00:00Z", n=4, end_date="2027-03-15",
                                 reason="Health")])
    reopened = dict(record, event_id=f"{ref}-5", occurred_at="2026-11-23T09:00:00Z", mission_end="2027-09-30")
    assert apply(session, [reopened]).results[0].outcome is Outcome.updated
    volunteer = reload(session, ref)
    assert (volunteer.state, volunteer.mission_end, volunteer.end_reason) == (
        VolunteerState.in_post, date(2027, 9, 30), None)


def test_a_roster_update_of_dependants_keeps_what_the_volunteer_declared(session):
    record = affiliation_record(dependants=[{"category": "spouse", "birth_date": "1999-07-14"}])
    ref = record["file_ref"]
    apply(session, [record])
    volunteer = reload(session, ref)
    from funnel.models import Dependant

    session.add(Dependant(volunteer=volunteer, category=PersonCategory.child, birth_date=date(2026, 5, 1),
                          source=DependantSource.volunteer))
    session.commit()
    update = dict(record, event_id=f"{ref}-2", occurred_at="2026-11-12T08:00:00Z",
                  dependants=[{"category": "child", "birth_date": "2025-01-01"}])
    result = apply(session, [update]).results[0]
    assert result.changed == ("dependants",)
    volunteer = reload(session, ref)
    assert sorted((d.category.value, d.source.value) for d in volunteer.current_dependants) == [
        ("child", "roster"), ("child", "volunteer")]
    assert [d.removed_at is not None for d in volunteer.dependants] == [True, False, False]
    # an affiliation saying nothing of dependants leaves them as they are
    again = dict(record, event_id=f"{ref}-3", occurred_at="2026-11-13T08:00:00Z")
    again.pop("dependants")
    assert apply(session, [again]).results[0].outcome is Outcome.unchanged


# --- a batch is a few queries --------------------------------------------------------------------------------

def _statements(session, records) -> tuple[int, object]:
    engine = session.get_bind()
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        batch = apply_events(session, records, now=NOW)
        session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen), batch


def test_a_batch_of_500_takes_a_few_statements_not_one_per_record(session):
    records = [affiliation_record(dependants=[{"category": "child", "birth_date": "2023-05-01"}])
               for _ in range(500)]
    created, batch = _statements(session, records)
    assert batch.count(Outcome.created) == 500
    radiations = [event_record("radiation", r["file_ref"], "2026-11-20T09:00:00Z", end_date="2027-06-30")
                  for r in records]
    updated, batch = _statements(session, radiations)
    assert batch.count(Outcome.updated) == 500
    replayed, batch = _statements(session, radiations)
    assert all(r.replayed for r in batch.results)
    # read the known ids, the volunteers (and their dependants); write each table once
    assert created <= 10 and updated <= 10 and replayed <= 4, (created, updated, replayed)


def test_a_csv_import_in_chunks_counts_as_one_import(session):
    records = [affiliation_record() for _ in range(5)]
    first = apply(session, records[:3], source=RosterSource.csv, filename="roster.csv")
    second = apply(session, records[3:], roster_import=first.roster_import, first_position=3)
    assert [r.position for r in second.results] == [3, 4]
    history = session.scalars(select(RosterImport)).one()
    assert (history.source, history.filename, history.received, history.created) == (
        RosterSource.csv, "roster.csv", 5, 5)


def test_a_volunteer_is_found_by_file_reference_or_public_id(session, make_volunteer):
    volunteer = make_volunteer()
    assert find_volunteer(session, public_id=volunteer.public_id) is volunteer
    with pytest.raises(VolunteerNotFound):
        find_volunteer(session, file_ref="nobody")


def test_times_are_kept_in_utc(session):
    record = affiliation_record(occurred_at="2026-11-02T10:00:00+02:00")
    apply(session, [record])
    volunteer = reload(session, record["file_ref"])
    assert volunteer.details_as_of == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

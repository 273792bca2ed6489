"""The funnel's events: each stage reached, with its cover, zone and campaign step, kept as written."""
from datetime import datetime, UTC

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from core.db import AppendOnlyViolation
from funnel.catalogue import Cover
from funnel.models import FunnelEvent, FunnelStage
from funnel.tracking import record_funnel_event

AT = datetime(2026, 11, 13, 9, 30, tzinfo=UTC)


def test_a_stage_is_recorded_with_its_cover_zone_and_campaign_step(session, make_volunteer):
    volunteer = make_volunteer()
    record_funnel_event(session, volunteer, FunnelStage.invited, campaign_step="d+10", at=AT)
    quoted = record_funnel_event(session, volunteer, FunnelStage.quoted, cover=Cover.health, zone=3,
                                 campaign_step="d+10", subject="q" * 32)
    session.commit()
    events = session.scalars(select(FunnelEvent).order_by(FunnelEvent.id)).all()
    assert [(e.stage, e.cover, e.zone, e.campaign_step) for e in events] == [
        (FunnelStage.invited, None, None, "d+10"), (FunnelStage.quoted, Cover.health, 3, "d+10")]
    assert events[0].occurred_at == AT and events[0].volunteer_id == volunteer.id
    assert quoted.occurred_at > AT and quoted.subject == "q" * 32


def test_every_stage_has_a_label(session):
    assert [s.label for s in FunnelStage][:3] == ["Invited", "Link opened", "Quoted"]
    assert len(FunnelStage) == 9


def test_an_unknown_zone_is_refused(session, make_volunteer):
    with pytest.raises(ValueError):
        record_funnel_event(session, make_volunteer(), FunnelStage.quoted, zone=4)


def test_funnel_events_are_never_edited(session, products, make_volunteer):
    event = record_funnel_event(session, make_volunteer(), FunnelStage.paid, at=AT)
    session.commit()
    event.zone = 1
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()
    # nor by SQL, past the ORM (nor are the roster's log and the tariffs)
    for statement in ("UPDATE funnel_events SET zone = 1", "DELETE FROM roster_events",
                      "UPDATE tariff_versions SET notes = 'x'"):
        with pytest.raises(DBAPIError):
            session.execute(text(statement))
        session.rollback()

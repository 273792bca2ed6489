"""The funnel KPIs' per-volunteer summary (funnel.kpi_summary) stays equal to a recount from the raw records through
a realistic mixed sequence of writes, the KPIs counted from it equal counts made here from the raw events (cover
filter included), and `flask funnel kpis verify|rebuild` find and repair a drifted summary."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, select, update

from funnel import campaigns, kpi_summary
from funnel.campaign_models import CampaignSend
from funnel.campaign_plan import STEPS
from funnel.catalogue import Cover
from funnel.kpi_models import VolunteerFunnel
from funnel.kpis import STAGES, Filters, compute
from funnel.models import FunnelEvent, FunnelStage, Subscription, SubscriptionState
from funnel.tracking import record_funnel_event

LINK = ("d10-top-up", "d20-top-up-reminder", "m3-beneficiary")
LATER = (FunnelStage.quoted, FunnelStage.adhesion_started, FunnelStage.signed, FunnelStage.paid,
         FunnelStage.certificate_issued)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _mixed(session, make_volunteer, seed=5, n=50):
    """Volunteers invited by one or several steps (some recorded later with an earlier time, some by staff), their
    e-mails opened and clicked through the tracking (a volunteer refusing it), stages with and without covers, in
    interleaved transactions."""
    rng = random.Random(seed)
    people = [make_volunteer(mission_country=rng.choice(("US", "SN", "DE")), language=rng.choice(("fr", "en")))
              for _i in range(n)]
    writes = []
    for v in people:
        day = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 330))
        for k, step in enumerate(rng.sample(LINK, rng.randint(0, 3))):
            # the second invitation recorded may be the earlier one (a replayed or back-dated run)
            when = day + timedelta(days=rng.choice((-40, 15)) * k)
            writes.append(("invite", v, step if rng.random() < 0.85 else None, _at(when)))
            if step is not None:
                writes.append(("send", v, step, _at(when)))
        for stage in LATER:
            if rng.random() < 0.4:
                break
            cover = rng.choice((None, Cover.health, Cover.prevoyance))
            writes.append(("stage", v, (stage, cover), _at(day + timedelta(days=20))))
    rng.shuffle(writes)
    refused = people[0]
    campaigns.refuse_tracking(session, refused, now=_at(date(2026, 1, 1)))
    for i, (kind, v, what, at) in enumerate(writes):
        if kind == "invite":
            record_funnel_event(session, v, FunnelStage.invited, campaign_step=what, at=at)
        elif kind == "stage":
            record_funnel_event(session, v, what[0], cover=what[1], zone=1, at=at)
        else:
            send = session.scalars(select(CampaignSend).where(CampaignSend.volunteer_id == v.id,
                                                              CampaignSend.step == what)).first()
            if send is None:
                send = CampaignSend(volunteer=v, step=what, due_on=at.date(), queued_at=at, language=v.language)
                session.add(send)
                session.flush()
            if rng.random() < 0.7:
                campaigns.record_open(session, send, now=at + timedelta(hours=2))
            if rng.random() < 0.4:
                campaigns.record_click(session, send, now=at + timedelta(hours=3))
        if i % 7 == 0:
            session.commit()
    session.commit()
    return people


def test_the_summary_equals_a_recount_from_the_raw_records(session, products, make_volunteer):
    people = _mixed(session, make_volunteer)
    assert kpi_summary.differences(session) == []
    rows = {r.volunteer_id: r for r in session.scalars(select(VolunteerFunnel))}
    events = session.execute(select(FunnelEvent.volunteer_id, FunnelEvent.stage, FunnelEvent.occurred_at,
                                    FunnelEvent.campaign_step, FunnelEvent.cover).order_by(FunnelEvent.id)).all()
    for v in people:
        invitations = [e for e in events if e.volunteer_id == v.id and e.stage is FunnelStage.invited]
        if invitations:
            first = min(invitations, key=lambda e: e.occurred_at)  # the earliest, whatever the order recorded
            assert (rows[v.id].first_invited_at, rows[v.id].first_step) == (first.occurred_at, first.campaign_step)
            assert rows[v.id].first_invited_month == first.occurred_at.date().replace(day=1)
        quoted_health = any(e.volunteer_id == v.id and e.stage is FunnelStage.quoted and e.cover in (None, Cover.health)
                            for e in events)
        assert (v.id in rows and rows[v.id].quoted_health) is quoted_health
    # the volunteer who refused tracking: nothing measured, so nothing opened
    assert people[0].id not in rows or not rows[people[0].id].opened


def _expected_funnel(session, f: Filters) -> list[int]:
    """The funnel's total for `f` counted from the raw events and sends, following the KPIs' definitions."""
    start, end = _at(f.first, 0), _at(f.end, 0)
    events = session.execute(select(FunnelEvent.volunteer_id, FunnelEvent.stage, FunnelEvent.occurred_at,
                                    FunnelEvent.campaign_step, FunnelEvent.cover).order_by(FunnelEvent.id)).all()
    first: dict[int, tuple] = {}
    for e in events:
        if e.stage is FunnelStage.invited and (e.volunteer_id not in first or e.occurred_at < first[e.volunteer_id][0]):
            first[e.volunteer_id] = (e.occurred_at, e.campaign_step)
    cohort = {vid for vid, (at, step) in first.items() if start <= at < end
              and (f.cover is None or step is None or STEPS[step].promotes is f.cover)}
    sends = session.scalars(select(CampaignSend).where(CampaignSend.step.in_(LINK))).all()

    def reached(vid, stage):
        return any(e.volunteer_id == vid and e.stage is stage and (f.cover is None or e.cover in (None, f.cover))
                   for e in events)

    # opened: the tracking recorded a first opening, which a click records too (images blocked or not)
    out = [len(cohort), len({s.volunteer_id for s in sends if s.first_opened_at is not None} & cohort),
           len({s.volunteer_id for s in sends if s.clicks} & cohort)]
    for stage in LATER:
        out.append(sum(1 for vid in cohort if reached(vid, stage) and (
            f.cover is None or stage in (FunnelStage.quoted, FunnelStage.paid) or reached(vid, FunnelStage.quoted))))
    return out


def test_the_funnel_counted_from_the_summary_equals_the_raw_events(session, products, make_volunteer):
    _mixed(session, make_volunteer, seed=9, n=60)
    for cover in (None, Cover.health, Cover.prevoyance):
        for first, last in ((date(2026, 1, 1), date(2026, 12, 1)), (date(2026, 4, 1), date(2026, 6, 1))):
            f = Filters(first, last, cover=cover)
            k = compute(session, f, today=date(2026, 12, 1))
            expected = _expected_funnel(session, f)
            assert k["funnel_by_month"].total == expected, (cover, first)
            for key in ("funnel_by_zone", "funnel_by_country", "funnel_by_step", "funnel_by_language"):
                assert [sum(v[i] for _k, v in k[key].rows) for i in range(len(STAGES))] == expected, key
    assert sum(_expected_funnel(session, Filters(date(2026, 1, 1), date(2026, 12, 1)))[3:]) > 0


def test_a_volunteer_holding_a_cover_twice_counts_once_a_month(session, products, make_volunteer):
    v = make_volunteer()
    for n, (start, end) in enumerate(((date(2026, 2, 10), date(2026, 5, 20)), (date(2026, 5, 1), date(2026, 7, 3)),
                                      (date(2026, 9, 1), date(2026, 9, 30)))):
        session.add(Subscription(reference=f"ADH-H-{n}", volunteer=v, state=SubscriptionState.signed, language="fr",
                                 choices={"health": "essential"}, persons=[], quote={}, zone=1,
                                 monthly_total_minor=1000, currency="EUR", subscribed_on=start, start_on=start,
                                 commitment_ends_on=end, ends_on=end, signed_at=_at(start)))
    session.commit()
    k = compute(session, Filters(date(2026, 1, 1), date(2026, 12, 1)), today=date(2026, 12, 1))
    held = [values[1] for _m, values in k["subscription_rate"].rows]
    assert held == [0, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0]


def test_verify_finds_a_drifted_summary_and_rebuild_repairs_it(app, session, products, make_volunteer):
    people = _mixed(session, make_volunteer, seed=2, n=12)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["funnel", "kpis", "verify"]).exit_code == 0
    invited = session.scalars(select(VolunteerFunnel.volunteer_id)
                              .where(VolunteerFunnel.first_invited_at.is_not(None))).all()
    session.execute(update(VolunteerFunnel).where(VolunteerFunnel.volunteer_id == invited[0])
                    .values(first_invited_at=_at(date(2020, 1, 1))))
    session.execute(delete(VolunteerFunnel).where(VolunteerFunnel.volunteer_id == invited[1]))
    session.commit()
    result = runner.invoke(args=["funnel", "kpis", "verify"])
    assert result.exit_code == 1
    assert "2 volunteers' summary differs" in result.output and str(invited[0]) in result.output
    result = runner.invoke(args=["funnel", "kpis", "rebuild"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["funnel", "kpis", "verify"]).exit_code == 0
    assert len(people) == 12


def test_the_migration_fills_the_summary_from_the_raw_records(app, session, products, make_volunteer):
    _mixed(session, make_volunteer, seed=4, n=30)
    before = kpi_summary.stored(session)
    session.commit()
    session.close()
    def flask_db(*args):  # `flask db downgrade|upgrade`: the migrations run through Flask-Migrate
        result = app.test_cli_runner().invoke(args=["db", *args])
        assert result.exit_code == 0 and result.exception is None, result.output

    flask_db("downgrade", "e4c1b7a2d9f6")  # the summary's table dropped
    flask_db("upgrade")  # and filled again by the migration, from the funnel events and the sends alone
    assert kpi_summary.stored(session) == before
    assert kpi_summary.differences(session) == []
    assert sum(1 for row in before.values() if row[0] is not None) > 10


def test_a_volunteer_moving_country_moves_in_the_funnel(session, products, make_volunteer):
    people = _mixed(session, make_volunteer, seed=8, n=20)
    f = Filters(date(2025, 6, 1), date(2026, 12, 1))
    invited = session.scalars(select(VolunteerFunnel).where(VolunteerFunnel.first_invited_at.is_not(None))).all()
    mover = next(v for v in people if v.id == invited[0].volunteer_id)
    before = dict(compute(session, f, today=date(2026, 12, 1))["funnel_by_country"].rows)
    mover.mission_country, mover.language = "JP", "en-GB"  # the roster updates the volunteer through the ORM
    session.commit()
    assert kpi_summary.differences(session) == []
    k = compute(session, f, today=date(2026, 12, 1))
    after = dict(k["funnel_by_country"].rows)
    assert before.get("JP") is None and after["JP"][0] == 1
    assert k["funnel_by_country"].total == k["funnel_by_language"].total
    assert compute(session, Filters(f.first, f.last, country="JP"), today=date(2026, 12, 1))[
        "funnel_by_month"].total[0] == 1


def test_the_sends_of_a_volunteer_refusing_tracking_are_left_out_of_the_rates(session, products, make_volunteer):
    people = _mixed(session, make_volunteer, seed=6, n=25)
    now = _at(date(2026, 12, 1))
    for v in people[1:4]:  # refusing after their e-mails were opened: those opens are left out too
        campaigns.refuse_tracking(session, v, now=now)
    session.commit()
    refused = {v.id for v in people[:4]}
    k = compute(session, Filters(date(2025, 6, 1), date(2026, 12, 1)), today=date(2026, 12, 1))
    sends = [s for s in session.scalars(select(CampaignSend)) if s.volunteer_id not in refused]
    assert len(sends) < len(session.scalars(select(CampaignSend)).all())
    for step, values in k["campaign_rates"].rows:
        ours = [s for s in sends if s.step == step]
        assert values[0] == len(ours), step
        assert values[1] == sum(1 for s in ours if s.first_opened_at is not None), step
        assert values[4] == sum(1 for s in ours if s.clicks), step
    # some e-mail was clicked with its images blocked (no open counted): it is counted as opened all the same
    assert any(s.clicks and not s.opens for s in sends)

"""The programme's KPIs equal counts made here from the raw rows, and the programme's view withholds every group
under 5 (a small cell, and whatever would let one be worked out from a total)."""
from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from funnel.campaign_models import CampaignSend
from funnel.catalogue import Cover
from funnel.disclosure import COMPLEMENT, SMALL, Withheld, publish, suppress
from funnel.kpis import STAGES, Filters, Table, compute
from funnel.models import FunnelEvent, FunnelStage, Subscription, SubscriptionState
from funnel.payment_models import MethodKind, Payment, PaymentState
from funnel.tracking import record_funnel_event

COUNTRIES = ("US", "SN", "DE", "BR", "JP")
LANGS = ("fr", "en")


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _subscription(session, volunteer, n, covers, signed_at, start, withdrawn=False, certificate_hours=None):
    sub = Subscription(reference=f"ADH-T-{n:06d}", volunteer=volunteer, state=SubscriptionState.signed,
                       language="fr", choices={c.value: "essential" for c in covers}, persons=[], quote={},
                       zone=1, monthly_total_minor=1000, currency="EUR", subscribed_on=signed_at.date(),
                       start_on=start, commitment_ends_on=start + timedelta(days=365),
                       ends_on=start + timedelta(days=365), signed_at=signed_at,
                       withdrawn_at=signed_at + timedelta(days=3) if withdrawn else None,
                       certificate_issued_at=signed_at + timedelta(hours=certificate_hours)
                       if certificate_hours is not None else None)
    session.add(sub)
    return sub


def _world(session, products, make_volunteer, seed=7, n=60):
    rng = random.Random(seed)
    people = []
    for i in range(n):
        start = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 300))
        v = make_volunteer(mission_country=rng.choice(COUNTRIES), language=rng.choice(LANGS),
                           mission_start=start.isoformat(), mission_end=(start + timedelta(days=400)).isoformat())
        people.append(v)
        if rng.random() < 0.8:
            invited = start + timedelta(days=10)
            step = rng.choice(("d10-top-up", "d20-top-up-reminder", "m3-beneficiary"))
            record_funnel_event(session, v, FunnelStage.invited, campaign_step=step, at=_at(invited))
            opened, clicked = rng.random() < 0.7, rng.random() < 0.5
            session.add(CampaignSend(volunteer=v, step=step, due_on=invited, queued_at=_at(invited), language=v.language,
                                     opens=int(opened), clicks=int(clicked),
                                     # a click records the e-mail's first opening too (campaigns.record_click)
                                     first_opened_at=_at(invited, 12) if opened or clicked else None,
                                     first_clicked_at=_at(invited, 13) if clicked else None))
            day = invited
            for stage in (FunnelStage.quoted, FunnelStage.adhesion_started, FunnelStage.signed, FunnelStage.paid,
                          FunnelStage.certificate_issued):
                if rng.random() < 0.75:
                    break
                day += timedelta(days=rng.randrange(0, 4))
                cover = rng.choice(list(Cover)) if stage in (FunnelStage.quoted, FunnelStage.paid) else None
                record_funnel_event(session, v, stage, cover=cover, zone=1, at=_at(day))
        if rng.random() < 0.3:
            signed = _at(start + timedelta(days=rng.randrange(5, 120)))
            covers = rng.choice(([Cover.health], [Cover.prevoyance], [Cover.health, Cover.prevoyance]))
            _subscription(session, v, i, covers, signed, signed.date(), withdrawn=rng.random() < 0.1,
                          certificate_hours=rng.randrange(0, 48))
        if rng.random() < 0.2:
            purpose = f"subscription:x{i}:2026-06"
            session.add(Payment(volunteer=v, purpose=purpose, amount_minor=1000, currency="EUR",
                                kind=MethodKind.sepa_debit, state=PaymentState.failed, idempotency_key=f"f{i}",
                                created_at=_at(date(2026, 6, 5))))
            if rng.random() < 0.5:
                session.add(Payment(volunteer=v, purpose=purpose, amount_minor=1000, currency="EUR",
                                    kind=MethodKind.sepa_debit, state=PaymentState.succeeded, idempotency_key=f"s{i}",
                                    created_at=_at(date(2026, 6, 20))))
    session.commit()
    return people


def test_the_kpis_equal_counts_made_from_the_raw_rows(session, products, make_volunteer):
    _world(session, products, make_volunteer)
    f = Filters(date(2026, 1, 1), date(2026, 12, 1))
    k = compute(session, f, today=date(2026, 12, 1))

    events = session.execute(select(FunnelEvent.volunteer_id, FunnelEvent.stage, FunnelEvent.occurred_at,
                                    FunnelEvent.campaign_step)).all()
    invited = {e.volunteer_id for e in events if e.stage is FunnelStage.invited}
    sends = session.scalars(select(CampaignSend)).all()
    expected = [len(invited), len({s.volunteer_id for s in sends if s.first_opened_at is not None}),
                len({s.volunteer_id for s in sends if s.clicks})]
    for stage in STAGES[3:]:
        expected.append(len({e.volunteer_id for e in events if e.stage.value == stage} & invited))
    assert k["funnel_by_month"].total == expected
    assert k["funnel_by_zone"].total == expected
    # every breakdown adds up to the total, stage by stage
    for key in ("funnel_by_month", "funnel_by_zone", "funnel_by_country", "funnel_by_step", "funnel_by_language"):
        table = k[key]
        assert [sum(v[i] for _k, v in table.rows) for i in range(len(STAGES))] == expected, key
    # by step: the step of each volunteer's invitation
    d10 = {e.volunteer_id for e in events if e.stage is FunnelStage.invited and e.campaign_step == "d10-top-up"}
    assert k["funnel_by_step"].row("d10-top-up")[0] == len(d10)

    subs = [s for s in session.scalars(select(Subscription)) if s.signed_at.year == 2026]
    by_month = {}
    for s in subs:
        key = s.signed_at.date().replace(day=1).isoformat()
        by_month[key] = by_month.get(key, 0) + 1
    assert {m: v[0] for m, v in k["subscriptions_by_month"].rows if v[0]} == by_month
    days = sorted((s.signed_at.date() - s.volunteer.mission_start).days for s in subs)
    assert k["time_to_subscribe"].rows[0][1][0] == len(days)
    assert k["time_to_subscribe"].rows[0][1][2] == statistics.median(days)
    failed = session.scalars(select(Payment).where(Payment.state == PaymentState.failed)).all()
    assert failed
    recovered = [p for p in failed if session.scalar(select(Payment.id).where(
        Payment.purpose == p.purpose, Payment.state == PaymentState.succeeded))]
    assert k["payment_failures"].rows[0][1][:2] == [len(failed), len(recovered)]
    rates = dict(k["campaign_rates"].rows)
    d10_sends = [s for s in sends if s.step == "d10-top-up"]
    assert rates["d10-top-up"][:2] == [len(d10_sends), sum(1 for s in d10_sends if s.first_opened_at is not None)]
    assert rates["d10-top-up"][3] == 0.74  # the programme's own figure beside ours

    # the subscription rate of the health cover in June: holders over volunteers in post
    june = date(2026, 6, 1)
    holders = {s.volunteer_id for s in subs if "health" in s.choices and s.withdrawn_at is None
               and s.start_on < date(2026, 7, 1) and s.ends_on >= june}
    row = k["subscription_rate"].row("2026-06-01")
    assert row[1] == len(holders)


def test_filters_narrow_every_figure(session, products, make_volunteer):
    people = _world(session, products, make_volunteer, seed=3)
    f = Filters(date(2026, 1, 1), date(2026, 12, 1), country="US", language="fr")
    k = compute(session, f, today=date(2026, 12, 1))
    ours = {v.id for v in people if v.mission_country == "US" and v.language == "fr"}
    invited = {e.volunteer_id for e in session.scalars(select(FunnelEvent).where(
        FunnelEvent.stage == FunnelStage.invited))}
    assert k["funnel_by_month"].total[0] == len(ours & invited)
    assert [key for key, _v in k["funnel_by_country"].rows] in ([], ["US"])


def _t(rows, total=None, chain=(0,), parts=True):
    return Table("t", "t", "zone", ["a"] * len(rows[0][1]), rows, total, chain=chain, parts=parts,
                 counts=tuple(range(len(rows[0][1]))))


def test_a_small_cell_is_withheld_and_cannot_be_worked_out_from_the_total():
    table = _t([("1", [40]), ("2", [3]), ("3", [20])], total=[63])
    out = suppress(table)
    values = [v[0] for _k, v in out.rows]
    assert values[1] is SMALL and str(values[1]) == "< 5"
    # the subtraction attack: the total minus what is shown must not give the small cell back
    shown = [v for v in values if not isinstance(v, Withheld)]
    assert out.total[0] == 63 and 63 - sum(shown) != 3
    assert values[2] is COMPLEMENT and values[0] == 40


def test_two_small_cells_summing_under_five_need_a_third():
    out = suppress(_t([("1", [1]), ("2", [1]), ("3", [9]), ("4", [30])], total=[41]))
    values = [v[0] for _k, v in out.rows]
    assert values[:3] == [SMALL, SMALL, COMPLEMENT] and values[3] == 30


def test_a_stage_close_to_the_one_before_is_withheld():
    out = suppress(_t([("1", [50, 47, 20])], total=None, chain=(0, 1, 2), parts=False))
    assert out.rows[0][1] == [50, COMPLEMENT, 20]  # 3 stopped between the first two stages: a group of 3


def test_the_programme_view_of_a_month_withholds_every_small_group(session, products, make_volunteer):
    _world(session, products, make_volunteer, seed=11, n=80)
    year = compute(session, Filters(date(2026, 1, 1), date(2026, 12, 1)), today=date(2026, 12, 1))
    month = compute(session, Filters(date(2026, 6, 1), date(2026, 6, 1)), today=date(2026, 12, 1))
    view = publish(year, month)
    assert view["funnel_by_month"].total is None  # no total over the months
    for table in view.tables.values():
        for _k, values in table.rows + ([("total", table.total)] if table.total else []):
            for c in table.counts:
                v = values[c]
                assert isinstance(v, Withheld) or v == 0 or v >= 5, (table.key, values)
        if table.parts and table.total is not None:
            for c in table.counts:
                if isinstance(table.total[c], Withheld):
                    continue
                hidden = [raw for (_k, v), (_k2, rv) in zip(table.rows, month[table.key].rows, strict=True)
                          for raw in [rv[c]] if isinstance(v[c], Withheld)]
                assert not hidden or (len(hidden) >= 2 and sum(hidden) >= 5), table.key

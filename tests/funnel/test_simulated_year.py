"""A simulated year of the volunteers' funnel (issue 16): 1,000 volunteers affiliated through the roster, mission
starts spread over 2027 (and a hundred already in post at the import), fr/en; the campaign clock runs every day of
the year, and some of each day's e-mails are opened and clicked through the tracking functions (the pixel, the
redirect link). A share of the volunteers follow the J+10 e-mail's link the whole way: quote, adhesion, signature
with the e-mailed code (sealed), the first month paid by card on the payment page (a first card sometimes declined,
another given) or by a cheque staff record, the funnel's own `settle` (the certificate sealed, the contracts placed,
the first month booked); others stop at the quote or at the adhesion. Some subscribers then pay the later months on
their saved card that a scripted provider declines (recovered by a retry, or not: litigation, suspension, end for
non-payment), some are radiated mid-year (the refund beyond the end of cover run by its outbox job), some
unsubscribe or refuse tracking. Every expectation is computed here from the raw rows and the script, never by asking
the code under test: each campaign e-mail once per volunteer and step to whom it was due, every euro kept in the
books per contract and month, each recovery in the state the provider's answers lead to, and every figure of the
programme's KPIs (funnel.kpis: the funnel's stages by month, language, country and step, the drop-off, the
subscriptions per month, the subscription rate of each cover, the cross-selling, the times to subscribe and to the
certificate, the payment failures and recoveries, the opens and clicks per step) as the script made them."""

from __future__ import annotations

import random
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import pytest

from sqlalchemy import select, update

from core.accounts import Role
from core.contracts import Contract
from core.outbox import OutboxMessage
from funnel import activation, campaigns, collection, cover_refunds, dunning, journey, kpis, payments
from funnel.campaign_models import CampaignSend
from funnel.catalogue import Cover
from funnel.collection_models import DunningCase, DunningState, PremiumCollection
from funnel.dates import add_months
from funnel.models import Subscription, SubscriptionState, Volunteer
from funnel.payment_models import MethodKind, Payment, PaymentState
from funnel.payments import IntentResult, MethodResult
from funnel.roster import apply_events
from ledger.collected_premiums import CLIENT_MONEY, EVENT_KIND, INSURER_PAYABLE
from ledger.commissions import INCOME
from ledger.integrity import verify
from ledger.models import Account, JournalEntry, Posting

from .premium_books import INSURER, add_rates, seal_config
from .test_campaigns import EXPECTED_PLAN, expected_day

SEED = 16
T0 = date(2027, 1, 1)
LAST = date(2027, 12, 31)
VOLUNTEERS = 1000
IMPORTED = T0 - timedelta(days=1)  # the day the roster was imported
IN_POST = 100  # already on mission when imported: no past e-mail
#: the covers each top-up step offers (independently of funnel.campaign_plan)
PROMOTES = {"d10-top-up": Cover.health, "d20-top-up-reminder": Cover.health, "m3-beneficiary": Cover.prevoyance}
DECLINED = "requires_payment_method"
#: what the provider answers a card subscription's charges: the month (index from the start of cover) declined,
#: and how many attempts of it are declined (the retries are on days 5 and 12; 3 = every attempt)
SCENARIOS = {"good": None, "recovered": (2, 1), "recovered-late": (2, 2), "lost": (2, 99)}
#: the card a volunteer first types that the bank declines on the payment page (they then give another one)
DECLINED_CARD = "pm_declined"
#: the share of each campaign e-mail opened, and of those opened the share clicked (a volunteer who goes on to
#: quote always clicked the J+10 e-mail's link, tracking allowed)
OPEN_SHARE, CLICK_SHARE = 0.6, 0.3
HOLDER_PHONE, HOLDER_ADDRESS = "+33 1 23 45 67 89", "1 rue de la Paix, 75002 Paris"


def at(day: date, hour: int = 6, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


class YearProvider:
    """The provider on the simulated clock: each off-session charge answered from the subscription's scenario
    (keyed on the charge's idempotency key `collect-<subscription>-<YYYY-MM>-<attempt>`); refunds kept."""

    def __init__(self):
        self.declines: dict[str, tuple[str, int]] = {}  # subscription public id → (month declined, attempts)
        self.charges: list[tuple[str, int, str]] = []
        self.refunds: list[tuple[str, int, str]] = []

    def create_customer(self, *, email, name, reference, idempotency_key):
        return f"cus_{reference}"

    def pay_by_card(self, *, customer_id, payment_method_id, amount_minor, currency, save_for_later, metadata,
                    idempotency_key):
        """The first month on the card typed on the payment page: the declined card is refused, any other paid."""
        status = DECLINED if payment_method_id == DECLINED_CARD else "succeeded"
        self.charges.append((idempotency_key, amount_minor, status))
        return IntentResult(id=f"pi_{len(self.charges)}", status=status, payment_method=payment_method_id,
                            failure_code="card_declined" if status == DECLINED else None)

    def card_details(self, payment_method_id):
        return MethodResult(method_id=payment_method_id, kind=MethodKind.card, status=None,
                            display="visa •••• 4242", country="FR")

    def charge_saved_method(self, *, customer_id, payment_method_id, kind, amount_minor, currency, metadata,
                            idempotency_key):
        _c, public_id, year, month, attempt = idempotency_key.rsplit("-", 4)
        declined = self.declines.get(public_id)
        status = ("succeeded" if declined is None or declined[0] != f"{year}-{month}" or int(attempt) >= declined[1]
                  else DECLINED)
        self.charges.append((idempotency_key, amount_minor, status))
        return IntentResult(id=f"pi_{len(self.charges)}", status=status,
                            failure_code="card_declined" if status == DECLINED else None)

    def refund(self, *, intent_id, amount_minor, idempotency_key):
        self.refunds.append((intent_id, amount_minor, idempotency_key))

    def retrieve_intent(self, intent_id):  # pragma: no cover - nothing is processing here
        raise AssertionError("no refresh expected")


@pytest.fixture(scope="module")
def seal(tmp_path_factory):
    return seal_config(tmp_path_factory.mktemp("year-seal"))


@dataclass
class Journeys:
    """What the simulated volunteers did on the funnel, as the script made them do it: volunteer id → when."""

    quoted: dict[int, datetime] = field(default_factory=dict)
    started: dict[int, datetime] = field(default_factory=dict)
    signed: dict[int, datetime] = field(default_factory=dict)
    paid: dict[int, datetime] = field(default_factory=dict)
    certified: dict[int, datetime] = field(default_factory=dict)
    covers: dict[int, set[Cover]] = field(default_factory=dict)
    #: (volunteer id, step) → whether an open, a click was counted (tracking allowed) when the volunteer made it
    opened: set[tuple[int, str]] = field(default_factory=set)
    clicked: set[tuple[int, str]] = field(default_factory=set)


def campaign_run(session, day: date) -> int:
    """`flask funnel campaigns run` on `day`: decide, then send in committed batches."""
    items = campaigns.due(session, today=day)
    session.rollback()
    queued = 0
    for start in range(0, len(items), 200):
        queued += campaigns.send_due(session, items[start:start + 200], now=at(day))
        session.commit()
    return queued


def collection_run(session, provider, issuer_for, day: date) -> None:
    items = collection.due(session, today=day)
    session.rollback()
    for item in items:
        collection.collect(session, provider, item, issuer_for, today=day, now=at(day))
        session.commit()
    for case_id in dunning.open_cases(session):
        dunning.advance(session, provider, session.get(DunningCase, case_id), issuer_for, today=day, now=at(day))
        session.commit()


def refund_jobs(session, provider, done: set[int], day: date) -> None:
    """The refund jobs the roster queued, run as `cover_refunds.refund_job` does but on the simulated day (the job
    dates its ledger entries with the wall clock, which would go back before the simulated year's postings)."""
    for job in session.scalars(select(OutboxMessage).where(OutboxMessage.job_name == cover_refunds.REFUND_JOB)
                               .order_by(OutboxMessage.id)).all():
        if job.id not in done:
            found = session.scalar(select(Subscription).where(Subscription.public_id == job.payload["subscription"]))
            cover_refunds.refund_beyond_end(session, provider, found, today=day)
            session.commit()
            done.add(job.id)


def _affiliation(n: int) -> dict:
    if n < IN_POST:
        start = T0 - timedelta(days=95 - n)
    else:
        start = T0 + timedelta(days=(n - IN_POST) * 300 // (VOLUNTEERS - IN_POST))
    months = 6 if n % 7 == 0 else 12
    ref = f"SY-2027-{n:06d}"
    return {"event": "affiliation", "event_id": f"{ref}-1", "occurred_at": "2026-12-31T05:00:00Z", "file_ref": ref,
            "first_name": "Volontaire", "last_name": f"N{n}", "email": f"v{n}@example.org",
            "birth_date": "2000-04-02", "programme": "VIE", "mission_country": ("US", "SN", "DE")[n % 3],
            "mission_start": start.isoformat(),
            "mission_end": (add_months(start, months) - timedelta(days=1)).isoformat(),
            "language": ("fr", "en")[n % 2]}


def _script(volunteers: list[Volunteer]) -> dict:
    """Who does what, and when (deterministic): day → [(action, volunteer, argument)]."""
    rng, journeys_rng = random.Random(SEED), random.Random(SEED + 1)
    plan = defaultdict(list)
    for v in volunteers:
        if v.mission_start < T0:
            continue
        roll = rng.random()
        if roll < 0.05:
            plan[v.mission_start + timedelta(days=7)].append(("unsubscribe", v, None))
        elif roll < 0.10:
            plan[v.mission_start + timedelta(days=3)].append(("refuse-tracking", v, None))
        if v.mission_start + timedelta(days=12) <= date(2027, 8, 15) and rng.random() < 0.12 and roll >= 0.05:
            card = rng.random() < 0.6
            scenario = rng.choice(["good", "good", "recovered", "recovered-late", "lost"]) if card else None
            both = rng.random() < 0.5
            first_declined = card and journeys_rng.random() < 0.15
            plan[v.mission_start + timedelta(days=12)].append(("subscribe", v, (card, scenario, both,
                                                                                first_declined)))
            if scenario in (None, "good") and rng.random() < 0.3:
                plan[v.mission_start + timedelta(days=rng.randint(45, 130))].append(("radiate", v, None))
        elif roll >= 0.05 and rng.random() < 0.03:
            plan[v.mission_start + timedelta(days=rng.randint(20, 120))].append(("radiate", v, None))
        elif roll >= 0.05 and journeys_rng.random() < 0.08:  # quoted, and stopped there or at the adhesion
            plan[v.mission_start + timedelta(days=journeys_rng.choice((11, 12, 14)))].append(
                ("quote", v, journeys_rng.choice(("quoted", "adhesion_started"))))
    return plan


def _quote(session, v: Volunteer, day: date, both: bool, journeys: Journeys, stop: str | None = None):
    """The volunteer follows the J+10 e-mail's link: quote, then (unless `stop`) the adhesion filled in."""
    covers = {Cover.health} | ({Cover.prevoyance} if both else set())
    choices = {Cover.health: "essential"} | ({Cover.prevoyance: "standard"} if both else {})
    s = journey.save_quote(session, v, choices, [], today=day, language=v.language, now=at(day, 7))
    journeys.quoted[v.id], journeys.covers[v.id] = at(day, 7), covers
    if stop == "quoted":
        return s
    holder = journey.Holder(v.first_name, v.last_name, v.email, HOLDER_PHONE, HOLDER_ADDRESS)
    journey.start_adhesion(session, s, holder=holder, beneficiaries="my heirs" if both else None, start_on=s.start_on,
                           accepted=True, today=day, translate=str, broker_name="BIG", now=at(day, 7, 5))
    journeys.started[v.id] = at(day, 7, 5)
    return s


def _subscribe(session, staff, provider, issuer, v: Volunteer, day: date, card: bool, scenario, both: bool,
               first_declined: bool, journeys: Journeys):
    """Quote, adhesion, signature with the e-mailed code, the first month (card or cheque), the certificate."""
    s = _quote(session, v, day, both, journeys)
    code = journey.send_signature_code(session, s, now=at(day, 7, 10))
    evidence = journey.Evidence(f"{v.first_name} {v.last_name}", code, s.document_sha256, "203.0.113.16",
                                "simulated browser")
    journey.sign_adhesion(session, s, evidence, translate=str, broker_name="BIG", seal_config=issuer.seal_config,
                          now=at(day, 7, 15))
    journeys.signed[v.id] = at(day, 7, 15)
    session.commit()
    if card:  # paid on the payment page, the card kept for the later months
        if first_declined:  # the bank refuses the first card typed; the volunteer gives another
            payment, _secret = activation.pay_first_month_by_card(
                session, provider, s, payment_method_id=DECLINED_CARD,
                idempotency_key=activation.card_idempotency_key(session, s))
            assert payment.state is PaymentState.failed
            session.commit()
        payment, _secret = activation.pay_first_month_by_card(
            session, provider, s, payment_method_id=f"pm_{v.id}",
            idempotency_key=activation.card_idempotency_key(session, s))
        paid_at = at(day, 7, 20)
        activation.settle(session, provider, s, issuer, today=day, now=paid_at)
        if SCENARIOS[scenario] is not None:
            index, attempts = SCENARIOS[scenario]
            provider.declines[s.public_id] = (f"{add_months(s.start_on, index):%Y-%m}", attempts)
    else:  # a cheque, received and recorded by staff in the afternoon
        activation.record_cheque(session, staff, s, amount_minor=s.monthly_total_minor, cheque_number=f"{v.id:07d}",
                                 received_on=day, today=day, bank="La Banque Postale")
        paid_at = at(day, 15, 15)
        activation.settle(session, None, s, issuer, today=day, now=paid_at)
    journeys.paid[v.id] = journeys.certified[v.id] = paid_at
    session.commit()
    assert s.state is SubscriptionState.active and s.certificate_pdf.startswith(b"%PDF")
    return s


def track(session, rng: random.Random, day: date, refused: set[int], will_subscribe: set[int],
          journeys: Journeys) -> None:
    """The day's campaign e-mails opened (the pixel) and clicked (the redirect link) by some volunteers, through
    the tracking functions; what counts is kept in `journeys` (nothing from a volunteer who refused tracking)."""
    for send in session.scalars(select(CampaignSend).where(CampaignSend.queued_at == at(day))
                                .order_by(CampaignSend.id)):
        vid, step = send.volunteer_id, send.step
        follows = step == "d10-top-up" and vid in will_subscribe
        if follows or rng.random() < OPEN_SHARE:
            campaigns.record_open(session, send, now=at(day, 12))
            if vid not in refused:
                journeys.opened.add((vid, step))
            if follows or rng.random() < CLICK_SHARE:
                campaigns.record_click(session, send, now=at(day, 12, 1))
                if vid not in refused:
                    journeys.clicked.add((vid, step))
    session.commit()


def test_a_simulated_year_of_one_thousand_volunteers(session, products, make_user, seal):
    add_rates(session)
    wall_start = datetime.now(UTC)  # payments are dated by the wall clock, not the simulated one
    issuer = activation.Issuer(translate=str, broker_name="BIG", seal_config=seal, insurer_code=INSURER,
                               insurer_name="Volunteer top-up insurer")

    def issuer_for(_subscription):
        return issuer

    staff = make_user(Role.finance)
    provider = YearProvider()
    app_provider = list(payments._PROVIDED)  # the web app's, given back at the end for the tests after this one
    payments.provide_gateway(lambda: provider)
    result = apply_events(session, [_affiliation(n) for n in range(VOLUNTEERS)], now=at(T0 - timedelta(days=1)))
    assert Counter(r.outcome.value for r in result.results) == {"created": VOLUNTEERS}, result.results[0].reasons
    session.execute(update(Volunteer).values(created_at=at(T0 - timedelta(days=1))))  # imported on 31 December
    session.commit()
    volunteers = session.scalars(select(Volunteer).order_by(Volunteer.id)).all()
    original_end = {v.id: v.mission_end for v in volunteers}
    script = _script(volunteers)
    will_subscribe = {v.id for actions in script.values() for action, v, _a in actions if action == "subscribe"}
    journeys, track_rng = Journeys(), random.Random(SEED + 2)

    subscribed: dict[int, tuple[date, Subscription, str | None, bool]] = {}
    unsubscribed, radiated, refused = {}, {}, set()
    jobs_done: set[int] = set()
    replay_day = date(2027, 6, 15)
    try:
        day = T0
        while day <= LAST:
            for action, v, arg in script.get(day, ()):
                if action == "radiate" and day <= v.mission_end:
                    ref = v.file_ref
                    apply_events(session, [{"event": "radiation", "event_id": f"{ref}-2",
                                            "occurred_at": f"{day}T05:00:00Z", "file_ref": ref,
                                            "end_date": day.isoformat()}], now=at(day, 5))
                    radiated[v.id] = day
                elif action == "unsubscribe":
                    campaigns.unsubscribe(session, v, now=at(day, 5))
                    unsubscribed[v.id] = day
                elif action == "refuse-tracking":
                    campaigns.refuse_tracking(session, v, now=at(day, 5))
                    refused.add(v.id)
                elif action == "subscribe" and v.id not in radiated:
                    card, scenario, both, first_declined = arg
                    subscribed[v.id] = (day, _subscribe(session, staff, provider, issuer, v, day, card, scenario,
                                                        both, first_declined, journeys), scenario, card)
                elif action == "quote" and v.id not in radiated:
                    _quote(session, v, day, False, journeys, stop=arg)
                session.commit()
            campaign_run(session, day)
            track(session, track_rng, day, refused, will_subscribe, journeys)
            collection_run(session, provider, issuer_for, day)
            refund_jobs(session, provider, jobs_done, day)
            if day == replay_day:  # one day's run replayed: nothing new
                charges, sends = len(provider.charges), len(session.scalars(select(CampaignSend.id)).all())
                assert campaign_run(session, day) == 0
                collection_run(session, provider, issuer_for, day)
                assert len(provider.charges) == charges
                assert len(session.scalars(select(CampaignSend.id)).all()) == sends
            day += timedelta(days=1)
    finally:
        payments._PROVIDED[:] = app_provider
    wall_end = datetime.now(UTC)
    session.expire_all()
    assert len(subscribed) >= 60 and len(radiated) >= 20 and len(unsubscribed) >= 20
    assert len(journeys.quoted) > len(journeys.started) > len(journeys.signed) >= 60
    sent = _check_campaigns(session, volunteers, original_end, subscribed, unsubscribed, radiated)
    _check_kpis(session, volunteers, sent, journeys, refused, provider, (wall_start, wall_end))
    _check_tracking(session, refused, unsubscribed)
    _check_recoveries(session, provider, subscribed)
    _check_books(session, provider)


def _check_campaigns(session, volunteers, original_end, subscribed, unsubscribed, radiated):
    sends = session.execute(select(CampaignSend.volunteer_id, CampaignSend.step, CampaignSend.due_on,
                                   CampaignSend.message_id)).all()
    pairs = Counter((v, step) for v, step, _d, _m in sends)
    assert max(pairs.values()) == 1  # never twice
    # one outbox e-mail per send, to its volunteer
    messages = {m.id: m for m in session.scalars(select(OutboxMessage).where(OutboxMessage.template.like("campaign/%")))}
    assert sorted(messages) == sorted(m for *_x, m in sends)
    #: a cover is held from the day subscribed to the end of cover (which a radiation or the end for non-payment
    #: moves): (from, to, covers)
    holds = {vid: (day, s.ends_on, set(s.choices)) for vid, (day, s, _scenario, _card) in subscribed.items()}
    expected = {}
    for v in volunteers:
        for code, (_a, _d, _m, countries) in EXPECTED_PLAN.items():
            due_on = expected_day(code, v.mission_start, original_end[v.id])
            if not IMPORTED <= due_on <= LAST or due_on > v.mission_end:
                continue  # past at the import, after the year, or after the (possibly moved) end of the mission
            if countries is not None and v.mission_country not in countries:
                continue
            if v.id in unsubscribed and due_on >= unsubscribed[v.id]:
                continue
            if v.id in radiated and due_on >= radiated[v.id]:
                continue
            cover = PROMOTES.get(code)
            if cover is not None and v.id in holds and holds[v.id][0] <= due_on <= holds[v.id][1] and (
                    cover.value in holds[v.id][2]):
                continue
            expected[(v.id, code)] = max(due_on, T0)  # the day it went: its day, or the first run's for the past
    assert set(pairs) == set(expected)
    # volunteers in post at the import got only what fell due from then
    in_post = {v.id for v in volunteers if v.mission_start < T0}
    assert all(due >= IMPORTED for vid, _s, due, _m in sends if vid in in_post)
    assert any(vid in in_post for vid, *_r in sends)
    by_id = {v.id: v for v in volunteers}
    for vid, step, _due, mid in sends:
        assert (messages[mid].to, messages[mid].template) == (by_id[vid].email,
                                                              f"campaign/{step}.{by_id[vid].language}")
    return expected


def _check_tracking(session, refused, unsubscribed):
    """A volunteer who refused tracking still gets the e-mails, and opening one counts nothing."""
    sends = session.scalars(select(CampaignSend).order_by(CampaignSend.id)).all()
    mine = [s for s in sends if s.volunteer_id in refused]
    others = [s for s in sends if s.volunteer_id not in refused and s.volunteer_id not in unsubscribed][:50]
    assert mine and others
    before = sum(s.opens for s in others)
    assert not any(campaigns.record_open(session, s, now=at(LAST, 20)) for s in mine)
    assert all(campaigns.record_open(session, s, now=at(LAST, 20)) for s in others)
    session.commit()
    assert sum(s.opens for s in mine) == 0 and sum(s.opens for s in others) == before + len(others)


def _check_recoveries(session, provider, subscribed):
    charged = Counter((key.rsplit("-", 1)[0]) for key, _a, status in provider.charges if status == "succeeded")
    assert max(charged.values()) == 1  # no month charged successfully twice
    rows = session.execute(select(PremiumCollection.subscription_id, PremiumCollection.month)).all()
    assert len(rows) == len(set(rows))
    cases = {c.subscription_id: c for c in session.scalars(select(DunningCase))}
    seen = Counter()
    for _vid, (_day, s, scenario, card) in subscribed.items():
        session.refresh(s)
        if not card or scenario == "good":
            assert s.id not in cases and s.state is SubscriptionState.active, (scenario, s.state)
            continue
        case = cases[s.id]
        declined = [k for k, _a, status in provider.charges if k.startswith(f"collect-{s.public_id}-")
                    and status == DECLINED]
        seen[scenario] += 1
        if scenario == "recovered":
            assert (case.state, s.state, len(declined)) == (DunningState.recovered, SubscriptionState.active, 1)
        elif scenario == "recovered-late":
            assert (case.state, s.state, len(declined)) == (DunningState.recovered, SubscriptionState.active, 2)
        else:
            days = (LAST - case.opened_on).days
            state = (SubscriptionState.past_due if days < 15 else SubscriptionState.litigation if days < 30
                     else SubscriptionState.suspended if days < 60 else SubscriptionState.ended_non_payment)
            assert s.state is state, (days, s.state)
            assert len(declined) == 3  # the first charge and the two retries, nothing charged after
            if state is SubscriptionState.ended_non_payment:
                assert case.state is DunningState.ended and s.ends_on == case.opened_on + timedelta(days=60)
    assert all(seen[k] >= 2 for k in ("recovered", "recovered-late", "lost")), seen


def _half_up(amount: int, rate: Decimal) -> int:
    return int((Decimal(amount) * rate).to_integral_value(rounding=ROUND_HALF_UP))


def _check_books(session, provider):
    # what the payments table says was kept, per subscription and month
    kept = defaultdict(int)
    subs = {s.id: s for s in session.scalars(select(Subscription))}
    by_volunteer = defaultdict(list)
    for s in subs.values():
        by_volunteer[s.volunteer_id].append(s)
    for p in session.scalars(select(Payment).where(Payment.state.in_((PaymentState.succeeded,
                                                                      PaymentState.refunded)))):
        [s] = by_volunteer[p.volunteer_id]
        kept[(s.public_id, p.purpose[-7:])] += p.amount_minor - p.refunded_minor - p.refund_owed_minor
    assert sum(a for _i, a, _k in provider.refunds) == sum(
        p.refunded_minor for p in session.scalars(select(Payment).where(Payment.kind == MethodKind.card)))
    # what the books say, per contract and month, from the postings
    lines = session.execute(select(JournalEntry.id, JournalEntry.event_ref, JournalEntry.details, Account.code,
                                   Posting.amount_minor)
                            .join(Posting, Posting.entry_id == JournalEntry.id)
                            .join(Account, Account.id == Posting.account_id)
                            .where(JournalEntry.event_kind == EVENT_KIND)).all()
    # the contracts the subscriptions placed, one per cover, named after the adhesion (`<reference>-H` / `-P`)
    by_reference = {s.reference: s for s in subs.values()}
    subscription_of = {c.public_id: by_reference[c.policy_number.rsplit("-", 1)[0]].public_id
                       for c in session.scalars(select(Contract).where(Contract.placed_by_id.is_(None)))}
    books = defaultdict(lambda: defaultdict(int))
    for _id, ref, _details, code, amount in lines:
        contract_ref, month = ref.rsplit(":", 1)
        role = ("client" if code == CLIENT_MONEY else "insurer" if code.startswith(INSURER_PAYABLE)
                else "commission" if code == INCOME else code)
        books[(contract_ref, month)][role] += amount
    per_subscription = defaultdict(int)
    for (contract_ref, month), b in books.items():
        assert set(b) <= {"client", "insurer", "commission"}, b  # a direct sale: no partner's share
        # per contract and month: client money in (a debit) = owed to the insurer + the commission (credits), the
        # commission 15 % of what was kept, rounded half up; a month refunded in full leaves nothing
        assert b["client"] + b["insurer"] + b["commission"] == 0
        assert -b["commission"] == _half_up(b["client"], Decimal("0.15")), (contract_ref, month, b)
        per_subscription[(subscription_of[contract_ref], month)] += b["client"]
    assert {k: v for k, v in per_subscription.items() if v} == {k: v for k, v in kept.items() if v}
    # the whole year: client money held = premiums kept; the insurer's and the broker's shares add up to it
    assert sum(kept.values()) == sum(b["client"] for b in books.values()) > 0
    assert sum(-b["commission"] for b in books.values()) + sum(-b["insurer"] for b in books.values()) == sum(
        kept.values())
    assert any(p for p in kept.values()) and provider.refunds  # refunds happened and are mirrored
    assert verify(session) == []


def _quartiles(values: list[float]) -> list:
    """Count, then first quartile, median, third quartile ("inclusive" method), as the KPI tables show them."""
    values = sorted(values)
    if not values:
        return [0, None, None, None]
    if len(values) == 1:
        return [1, *values * 3]
    return [len(values), *statistics.quantiles(values, n=4, method="inclusive")]


def _months(first: date, last: date) -> list[date]:
    out = [first]
    while out[-1] < last:
        out.append(add_months(out[-1], 1))
    return out


def _check_kpis(session, volunteers, sent, journeys: Journeys, refused, provider, wall):
    """Every KPI of the year equals what the script did: the invitations it sent (checked against the sends above),
    the opens and clicks it made, the quotes, adhesions, signatures, payments and certificates, the provider's
    answers; the holdings from the subscriptions' dates and the missions' dates (a radiation moves both)."""
    months = _months(T0, date(2027, 12, 1))
    k = kpis.compute(session, kpis.Filters(T0, months[-1]), today=LAST)
    by_id = {v.id: v for v in volunteers}

    # the funnel: a cohort by the day of each volunteer's first invitation (a step carrying the quote link)
    first: dict[int, tuple[date, str]] = {}
    for (vid, step), day in sorted(sent.items(), key=lambda item: item[1]):
        if step in PROMOTES and vid not in first:
            first[vid] = (day, step)
    stages = {}
    for vid in first:
        stages[vid] = [True, any((vid, s) in journeys.opened for s in PROMOTES),
                       any((vid, s) in journeys.clicked for s in PROMOTES),
                       vid in journeys.quoted, vid in journeys.started, vid in journeys.signed, vid in journeys.paid,
                       vid in journeys.certified]

    def rows(key_of, keys=None):
        counted = defaultdict(lambda: [0] * 8)
        for vid, reached in stages.items():
            counted[key_of(vid)] = [n + hit for n, hit in zip(counted[key_of(vid)], reached, strict=True)]
        return [(key, counted.get(key, [0] * 8)) for key in (keys if keys is not None else sorted(counted))]

    total = [sum(reached[i] for reached in stages.values()) for i in range(8)]
    assert total[0] > total[1] > total[2] > total[3] > total[4] > total[5] >= 60  # every stage has its drop-off
    assert total[5] == total[6] == total[7] == len(journeys.signed)
    by_month = rows(lambda vid: date(first[vid][0].year, first[vid][0].month, 1).isoformat(),
                    [m.isoformat() for m in months])
    assert (k["funnel_by_month"].rows, k["funnel_by_month"].total) == (by_month, total)
    assert k["funnel_by_language"].rows == rows(lambda vid: by_id[vid].language)
    assert k["funnel_by_country"].rows == rows(lambda vid: by_id[vid].mission_country)
    assert k["funnel_by_step"].rows == rows(lambda vid: first[vid][1])
    assert k["drop_off"].rows == [(kpis.STAGES[i], [total[i - 1], total[i], total[i - 1] - total[i],
                                                    total[i] / total[i - 1]]) for i in range(1, 8)]

    # subscriptions: signatures per month, against the programme's baseline of 40 to 100
    signed = Counter(at_.date().replace(day=1) for at_ in journeys.signed.values())
    assert [(key, values[0]) for key, values in k["subscriptions_by_month"].rows] == [
        (m.isoformat(), signed[m]) for m in months]
    assert k["subscriptions_by_month"].total[0] == len(journeys.signed)
    # the subscription rate of each cover: holders on a day of the month over the volunteers in post on one
    subs = {s.volunteer_id: s for s in session.scalars(select(Subscription).where(Subscription.signed_at.is_not(None)))}
    assert set(subs) == set(journeys.signed) and not any(s.withdrawn_at for s in subs.values())
    in_post = {v.id: (v.mission_start, v.mission_end) for v in session.scalars(select(Volunteer))}
    expected_rates = []
    for m in months:
        following = add_months(m, 1)
        posted = sum(1 for start, end in in_post.values() if start < following and end >= m)
        row = [posted]
        for cover in (Cover.health, Cover.prevoyance):
            holders = sum(1 for vid, s in subs.items()
                          if cover in journeys.covers[vid] and s.start_on < following and s.ends_on >= m)
            row += [holders, holders / posted]
        expected_rates.append((m.isoformat(), row))
    assert k["subscription_rate"].rows == expected_rates
    assert expected_rates[-1][1][1] > 0 and expected_rates[-1][1][3] > 0  # both covers still held in December
    # cross-selling: of the volunteers holding a cover in December, those holding both
    december = {vid for vid, s in subs.items() if s.start_on <= LAST and s.ends_on >= months[-1]}
    both = sum(1 for vid in december if journeys.covers[vid] == set(Cover))
    assert k["cross_selling"].rows == [("cross_selling", [len(december), both, both / len(december)])]
    assert 0 < both < len(december)
    # time to subscribe (days from the mission's start) and to the certificate (hours from the signature)
    assert k["time_to_subscribe"].rows == [("days", _quartiles(
        [float((at_.date() - by_id[vid].mission_start).days) for vid, at_ in journeys.signed.items()]))]
    hours = [(journeys.certified[vid] - at_).total_seconds() / 3600 for vid, at_ in journeys.signed.items()]
    assert k["time_to_certificate"].rows == [("hours", _quartiles(hours))]
    assert min(hours) < 1 < 8 == max(hours)  # a card pays at once, a cheque is recorded in the afternoon

    # opens and clicks per step: the sends to volunteers who did not refuse tracking, and what they opened
    per_step = Counter(step for vid, step in sent if vid not in refused)
    opened, clicked = Counter(step for _v, step in journeys.opened), Counter(step for _v, step in journeys.clicked)
    figures = {key: values for key, values in k["campaign_rates"].rows}
    assert {key: [v[0], v[1], v[4]] for key, v in figures.items() if v[0]} == {
        step: [n, opened[step], clicked[step]] for step, n in per_step.items()}
    assert figures["d10-top-up"][2] == opened["d10-top-up"] / per_step["d10-top-up"]
    assert figures["m3-beneficiary"][3] == 0.56  # beside the programme's reported rate

    # payment failures and recoveries: payments are dated by the wall clock (the provider's requests), so over
    # the months the test ran in: every charge the provider declined, recovered when the same month of the same
    # subscription was charged successfully afterwards
    declined = [(i, key.rsplit("-", 1)[0]) for i, (key, _a, status) in enumerate(provider.charges)
                if status == DECLINED]
    recovered = sum(1 for i, month in declined if any(
        key.rsplit("-", 1)[0] == month and status == "succeeded" for key, _a, status in provider.charges[i + 1:]))
    paying = kpis.compute(session, kpis.Filters(kpis.month_of(wall[0]), kpis.month_of(wall[1])), today=LAST)
    assert paying["payment_failures"].rows == [("payments", [len(declined), recovered, recovered / len(declined)])]
    assert 0 < recovered < len(declined)
    assert any(key.startswith("sub-") for _i, key in declined)  # a first month declined on the payment page too

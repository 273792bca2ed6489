"""A simulated year of the volunteers' funnel (issue 16): 1,000 volunteers affiliated through the roster, mission
starts spread over 2027 (and a hundred already in post at the import), fr/en; the campaign clock runs every day of
the year; a share subscribe after the J+10 e-mail (quote, cheque for the first month, the funnel's own `settle`),
some then pay the later months on a saved card that a scripted provider declines (recovered by a retry, or not:
litigation, suspension, end for non-payment), some are radiated mid-year (the refund beyond the end of cover run by
its outbox job), some unsubscribe or refuse tracking. Every expectation is computed here from the raw rows and the
script, never by asking the code under test: each campaign e-mail once per volunteer and step to whom it was due,
every euro kept in the books per contract and month, each recovery in the state the provider's answers lead to.

The certificate is not sealed here (a PDF seal per subscription is tested in test_cover_refunds and the web tests):
its digest is set before `settle`, as tests/funnel/test_dunning.py does."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, update

from core.accounts import Role
from core.contracts import Contract
from core.outbox import OutboxMessage
from funnel import activation, campaigns, collection, cover_refunds, dunning, journey, payments
from funnel.campaign_models import CampaignSend
from funnel.catalogue import Cover
from funnel.collection_models import DunningCase, DunningState, PremiumCollection
from funnel.dates import add_months
from funnel.models import Subscription, SubscriptionState, Volunteer
from funnel.payment_models import MethodKind, MethodState, Payment, PaymentState, SavedPaymentMethod
from funnel.payments import IntentResult
from funnel.roster import apply_events
from ledger.collected_premiums import CLIENT_MONEY, EVENT_KIND, INSURER_PAYABLE
from ledger.commissions import INCOME
from ledger.integrity import verify
from ledger.models import Account, JournalEntry, Posting

from .premium_books import INSURER, add_rates
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
ISSUER = activation.Issuer(translate=str, broker_name="BIG", seal_config=None, insurer_code=INSURER,
                           insurer_name="Volunteer top-up insurer")
#: what the provider answers a card subscription's charges: the month (index from the start of cover) declined,
#: and how many attempts of it are declined (the retries are on days 5 and 12; 3 = every attempt)
SCENARIOS = {"good": None, "recovered": (2, 1), "recovered-late": (2, 2), "lost": (2, 99)}


def at(day: date, hour: int = 6) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


class YearProvider:
    """The provider on the simulated clock: each off-session charge answered from the subscription's scenario
    (keyed on the charge's idempotency key `collect-<subscription>-<YYYY-MM>-<attempt>`); refunds kept."""

    def __init__(self):
        self.declines: dict[str, tuple[str, int]] = {}  # subscription public id → (month declined, attempts)
        self.charges: list[tuple[str, int, str]] = []
        self.refunds: list[tuple[str, int, str]] = []

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


def issuer_for(_subscription):
    return ISSUER


def campaign_run(session, day: date) -> int:
    """`flask funnel campaigns run` on `day`: decide, then send in committed batches."""
    items = campaigns.due(session, today=day)
    session.rollback()
    queued = 0
    for start in range(0, len(items), 200):
        queued += campaigns.send_due(session, items[start:start + 200], now=at(day))
        session.commit()
    return queued


def collection_run(session, provider, day: date) -> None:
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
    rng = random.Random(SEED)
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
            plan[v.mission_start + timedelta(days=12)].append(("subscribe", v, (card, scenario, both)))
            if scenario in (None, "good") and rng.random() < 0.3:
                plan[v.mission_start + timedelta(days=rng.randint(45, 130))].append(("radiate", v, None))
        elif roll >= 0.05 and rng.random() < 0.03:
            plan[v.mission_start + timedelta(days=rng.randint(20, 120))].append(("radiate", v, None))
    return plan


def _subscribe(session, staff, provider, v: Volunteer, day: date, card: bool, scenario, both: bool):
    choices = {Cover.health: "essential"} | ({Cover.prevoyance: "standard"} if both else {})
    s = journey.save_quote(session, v, choices, [], today=day, language=v.language, now=at(day, 7))
    s.state = SubscriptionState.signed  # the signature is tested elsewhere
    s.certificate_sha256 = f"{v.id:064d}"  # not sealed here (see the module)
    session.commit()
    activation.record_cheque(session, staff, s, amount_minor=s.monthly_total_minor, cheque_number=f"{v.id:07d}",
                             received_on=day, today=day, bank="La Banque Postale")
    activation.settle(session, None, s, ISSUER, today=day, now=at(day, 7))
    if card:  # the later months on a card the volunteer saved
        s.payment_method = SavedPaymentMethod(
            volunteer_id=v.id, kind=MethodKind.card, state=MethodState.active, provider_customer_id=f"cus_{v.id}",
            provider_method_id=f"pm_{v.id}", display="visa •••• 4242")
        if SCENARIOS[scenario] is not None:
            index, attempts = SCENARIOS[scenario]
            provider.declines[s.public_id] = (f"{add_months(s.start_on, index):%Y-%m}", attempts)
    session.commit()
    assert s.state is SubscriptionState.active
    return s


def test_a_simulated_year_of_one_thousand_volunteers(session, products, make_user):
    add_rates(session)
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
                    card, scenario, both = arg
                    subscribed[v.id] = (day, _subscribe(session, staff, provider, v, day, card, scenario, both),
                                        scenario, card)
                session.commit()
            campaign_run(session, day)
            collection_run(session, provider, day)
            refund_jobs(session, provider, jobs_done, day)
            if day == replay_day:  # one day's run replayed: nothing new
                charges, sends = len(provider.charges), len(session.scalars(select(CampaignSend.id)).all())
                assert campaign_run(session, day) == 0
                collection_run(session, provider, day)
                assert len(provider.charges) == charges
                assert len(session.scalars(select(CampaignSend.id)).all()) == sends
            day += timedelta(days=1)
    finally:
        payments._PROVIDED[:] = app_provider
    session.expire_all()
    assert len(subscribed) >= 60 and len(radiated) >= 20 and len(unsubscribed) >= 20
    _check_campaigns(session, volunteers, original_end, subscribed, unsubscribed, radiated)
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
    expected = set()
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
            expected.add((v.id, code))
    assert set(pairs) == expected
    # volunteers in post at the import got only what fell due from then
    in_post = {v.id for v in volunteers if v.mission_start < T0}
    assert all(due >= IMPORTED for vid, _s, due, _m in sends if vid in in_post)
    assert any(vid in in_post for vid, *_r in sends)
    by_id = {v.id: v for v in volunteers}
    for vid, step, _due, mid in sends:
        assert (messages[mid].to, messages[mid].template) == (by_id[vid].email,
                                                              f"campaign/{step}.{by_id[vid].language}")


def _check_tracking(session, refused, unsubscribed):
    """A volunteer who refused tracking still gets the e-mails, and opening one counts nothing."""
    sends = session.scalars(select(CampaignSend).order_by(CampaignSend.id)).all()
    mine = [s for s in sends if s.volunteer_id in refused]
    others = [s for s in sends if s.volunteer_id not in refused and s.volunteer_id not in unsubscribed][:50]
    assert mine and others
    assert not any(campaigns.record_open(session, s, now=at(LAST, 20)) for s in mine)
    assert all(campaigns.record_open(session, s, now=at(LAST, 20)) for s in others)
    session.commit()
    assert sum(s.opens for s in mine) == 0 and sum(s.opens for s in others) == len(others)


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

"""The collection and the recovery on a simulated clock, with a provider that answers each off-session charge as the
test scripts it (the Stripe adapter's own behaviour is tested against localstripe in tests/portal): a month
declined → past due → a reminder → a retry that succeeds → active again; a month never paid → litigation →
suspended on day 30 → ended for non-payment on day 60; each step once however often the runs are replayed; months
falling due meanwhile recorded as due, not charged; nothing charged once the cover ended."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.outbox import OutboxMessage
from funnel import collection, dunning, journey
from funnel.activation import Issuer
from funnel.catalogue import Cover
from funnel.collection_models import DunningAction, DunningState, PremiumCollection
from funnel.models import SubscriptionState
from funnel.payment_models import MethodKind, MethodState, PaymentState, SavedPaymentMethod
from funnel.payments import IntentResult

from .conftest import NOW

START = date(2027, 1, 10)
ISSUER = Issuer(translate=str, broker_name="BIG", seal_config=None, insurer_code="VOLUNTEER-TOPUP",
                insurer_name="Volunteer top-up insurer")


class ScriptedProvider:
    """Stands in for the payment provider: each off-session charge is answered as scripted (then `succeeded`),
    and every charge asked for is kept with its idempotency key."""

    def __init__(self, *answers: str):
        self.answers, self.charges = list(answers), []

    def charge_saved_method(self, *, customer_id, payment_method_id, kind, amount_minor, currency, metadata,
                            idempotency_key):
        status = self.answers.pop(0) if self.answers else "succeeded"
        self.charges.append((idempotency_key, amount_minor))
        return IntentResult(id=f"pi_{len(self.charges)}_{idempotency_key[-12:]}", status=status,
                            failure_code="card_declined" if status == "requires_payment_method" else None)

    def retrieve_intent(self, intent_id):  # pragma: no cover - nothing is processing here
        raise AssertionError("no refresh expected")


def at(day: date) -> datetime:
    return datetime.combine(day, time(6), tzinfo=UTC)


def issuer_for(_subscription):
    return ISSUER


@pytest.fixture
def active(session, products, make_volunteer):
    """An active health top-up from 10 January 2027, its later months on a saved card."""
    volunteer = make_volunteer()
    s = journey.save_quote(session, volunteer, {Cover.health: "essential"}, [], today=date(2026, 12, 1),
                           language="fr", now=NOW)
    method = SavedPaymentMethod(volunteer_id=volunteer.id, kind=MethodKind.card, state=MethodState.active,
                                provider_customer_id=f"cus_{volunteer.id}", provider_method_id=f"pm_{volunteer.id}",
                                display="visa •••• 4242")
    session.add(method)
    s.state, s.start_on, s.payment_method = SubscriptionState.active, START, method
    s.certificate_sha256 = f"{volunteer.id:064d}"
    session.commit()
    return s


def collect(session, provider, day: date) -> list[str]:
    """One scheduled run's collection part, each month in its own transaction (as the command does)."""
    items = collection.due(session, today=day)
    session.rollback()
    outcomes = []
    for item in items:
        outcomes.append(collection.collect(session, provider, item, issuer_for, today=day, now=at(day)))
        session.commit()
    return outcomes


def advance(session, provider, day: date) -> list[str]:
    done = []
    for case_id in dunning.open_cases(session):
        case = session.get(dunning.DunningCase, case_id)
        done += dunning.advance(session, provider, case, issuer_for, today=day, now=at(day))
        session.commit()
    return done


def run(session, provider, day: date) -> tuple[list[str], list[str]]:
    return collect(session, provider, day), advance(session, provider, day)


def reminders(session) -> list[OutboxMessage]:
    return session.scalars(select(OutboxMessage).where(OutboxMessage.template == "dunning/reminder")
                           .order_by(OutboxMessage.id)).all()


def test_a_declined_month_is_recovered_by_the_retry_and_each_step_is_done_once(session, active):
    s, monthly = active, active.monthly_total_minor
    provider = ScriptedProvider("requires_payment_method")
    february = START + timedelta(days=31)
    assert run(session, provider, february - timedelta(days=1)) == ([], [])  # not due yet
    assert run(session, provider, february) == (["failed"], ["d00-reminder"])
    assert s.state is SubscriptionState.past_due
    [case] = session.scalars(select(dunning.DunningCase)).all()
    assert (case.opened_on, case.state) == (february, DunningState.open)
    assert collection.amount_due(session, s) == monthly
    # replayed the same day: nothing charged, nothing sent again
    assert run(session, provider, february) == ([], [])
    [mail] = reminders(session)
    assert mail.payload["amount_due_minor"] == monthly and mail.payload["subscription"] == s.public_id
    assert mail.payload["suspended_from"] == (february + timedelta(days=30)).isoformat()
    assert mail.locale == "fr" and mail.to == s.volunteer.email and mail.payload["link_token"]

    assert run(session, provider, february + timedelta(days=4)) == ([], [])
    assert run(session, provider, february + timedelta(days=5)) == ([], ["d05-retry"])
    session.refresh(s)
    assert s.state is SubscriptionState.active and collection.amount_due(session, s) == 0
    assert case.state is DunningState.recovered
    [row] = session.scalars(select(PremiumCollection)).all()
    assert (row.attempts, row.payment.state, row.paid_at is not None) == (2, PaymentState.succeeded, True)
    # one key per subscription x month x attempt
    assert [key for key, _amount in provider.charges] == [f"collect-{s.public_id}-2027-02-0",
                                                          f"collect-{s.public_id}-2027-02-1"]
    # recovered: the sequence stops
    assert run(session, provider, february + timedelta(days=8)) == ([], [])
    assert len(reminders(session)) == 1
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == s.public_id)
                              .order_by(AuditEvent.seq)).all()
    assert [a for a in actions if a.startswith("subscription.") and a != "subscription.quoted"] == [
        "subscription.month_due", "subscription.past_due", "subscription.dunning_step", "subscription.month_paid",
        "subscription.recovered", "subscription.dunning_step"]


def test_a_month_never_paid_goes_to_litigation_then_suspension_then_the_end_of_the_cover(session, active):
    s, monthly = active, active.monthly_total_minor
    provider = ScriptedProvider(*["requires_payment_method"] * 20)
    first = START + timedelta(days=31)  # 10 February
    collect(session, provider, first)
    days = {0: ["d00-reminder"], 5: ["d05-retry"], 8: ["d08-reminder"], 12: ["d12-retry"],
            15: ["d15-litigation", "d15-last-notice"], 30: ["d30-suspension"], 60: ["d60-termination"]}
    states = {0: SubscriptionState.past_due, 15: SubscriptionState.litigation, 30: SubscriptionState.suspended,
              60: SubscriptionState.ended_non_payment}
    state = None
    for day in range(0, 70):
        today = first + timedelta(days=day)
        outcomes, done = run(session, provider, today)
        assert done == days.get(day, []), day
        session.refresh(s)
        state = states.get(day, state)
        assert s.state is state, day
        if today == date(2027, 3, 10):  # a month falling due in recovery: recorded as due, not charged
            assert outcomes == ["deferred"]
        if day == 12:  # the retry failed too: February is still due
            assert collection.amount_due(session, s) == monthly
    assert len(provider.charges) == 1 + 2  # the first charge, then two retries; March was never charged
    assert dunning.status_since(session, s) == first + timedelta(days=60)
    assert s.ends_on == first + timedelta(days=60)
    case = session.scalars(select(dunning.DunningCase)).one()
    assert case.state is DunningState.ended
    assert [a.kind.value for a in case.actions].count("reminder") == 3
    litigation = session.scalars(select(DunningAction).where(DunningAction.step == "d15-litigation")).one()
    assert litigation.amount_due_minor == monthly
    # ended: never charged again, and it stays on the staff's list with what is due
    assert collect(session, provider, date(2027, 12, 1)) == []
    [overdue] = dunning.overdue(session)
    assert (overdue.subscription.id, overdue.amount_due_minor) == (s.id, 2 * monthly)
    assert session.scalar(select(func.count()).select_from(DunningAction)) == 8


def test_a_suspended_cover_says_since_when_and_a_payment_brings_it_back(session, active):
    s = active
    provider = ScriptedProvider(*["requires_payment_method"] * 3)
    first = START + timedelta(days=31)
    for day in (0, 5, 12, 30):
        run(session, provider, first + timedelta(days=day))
    session.refresh(s)
    assert s.state is SubscriptionState.suspended
    assert dunning.status_since(session, s) == first + timedelta(days=30)
    # the volunteer's bank lifts the block: the next charge (the volunteer paying from their area) succeeds, for
    # February and for March (which fell due meanwhile and was recorded, not charged)
    assert collection.amount_due(session, s) == 2 * s.monthly_total_minor
    assert dunning.charge_due(session, provider, s, issuer_for, today=first + timedelta(days=31),
                              now=at(first + timedelta(days=31))) == 2
    session.commit()
    assert s.state is SubscriptionState.active and collection.amount_due(session, s) == 0
    assert advance(session, provider, first + timedelta(days=60)) == []


def test_a_withdrawn_or_closed_subscription_is_never_charged(session, active):
    s = active
    provider = ScriptedProvider()
    for state in (SubscriptionState.withdrawn, SubscriptionState.closed, SubscriptionState.suspended):
        s.state = state
        session.commit()
        assert collect(session, provider, date(2027, 6, 1)) == []
    assert provider.charges == []


def test_an_end_for_non_payment_is_final_a_prolongation_does_not_reopen_it(session, active):
    from funnel.roster import apply_events

    from .conftest import event_record

    s = active
    provider = ScriptedProvider(*["requires_payment_method"] * 5)
    first = START + timedelta(days=31)
    for day in (0, 60):
        run(session, provider, first + timedelta(days=day))
    session.refresh(s)
    assert (s.state, s.ends_on) == (SubscriptionState.ended_non_payment, first + timedelta(days=60))
    apply_events(session, [event_record("prolongation", s.volunteer.file_ref, "2026-11-25T08:00:00Z", n=7,
                                        mission_end="2028-06-30")], now=NOW)
    session.commit()
    session.refresh(s)
    assert (s.state, s.ends_on) == (SubscriptionState.ended_non_payment, first + timedelta(days=60))


def test_a_radiation_ends_the_collection_with_a_prorated_last_month(session, active):
    s = active
    s.ends_on = date(2027, 2, 23)  # the mission ended (funnel.cover_end set the cover's end)
    session.commit()
    provider = ScriptedProvider()
    assert collect(session, provider, date(2027, 6, 1)) == ["succeeded"]
    # the month of cover from 10 February has 28 days; covered until 23 February: 14 of them
    assert provider.charges == [(f"collect-{s.public_id}-2027-02-0", (2 * s.monthly_total_minor * 14 + 28) // 56)]
    assert collect(session, provider, date(2027, 12, 1)) == []


def test_a_cheque_for_the_month_past_due_closes_the_recovery_and_one_paid_ahead_is_never_charged(
        session, active, make_user):
    """The tender lists cheque among the means of payment: a volunteer in recovery may send one, and one may pay
    months ahead. Either way the month is paid once: the recovery closes, the collection charges nothing for it."""
    from core.accounts import Role
    from funnel import cheques

    s, monthly = active, active.monthly_total_minor
    provider = ScriptedProvider("requires_payment_method")
    staff = make_user(Role.finance)
    february = START + timedelta(days=31)
    assert run(session, provider, february) == (["failed"], ["d00-reminder"])
    assert s.state is SubscriptionState.past_due and collection.amount_due(session, s) == monthly

    cheques.record_cheque_months(session, staff, s, ISSUER, months=["2027-02", "2027-03"], amount_minor=2 * monthly,
                                 cheque_number_raw="0012345", bank="La Banque Postale",
                                 received_on=february + timedelta(days=3), today=february + timedelta(days=3))
    session.commit()
    session.refresh(s)
    assert s.state is SubscriptionState.active and collection.amount_due(session, s) == 0
    [case] = session.scalars(select(dunning.DunningCase)).all()
    assert case.state is DunningState.recovered
    # the retry day comes and goes, March falls due: nothing is charged (both months were paid by the cheque)
    assert run(session, provider, february + timedelta(days=5)) == ([], [])
    march = date(2027, 3, 10)
    assert run(session, provider, march) == (["succeeded"], [])
    assert len(provider.charges) == 1  # February's declined charge alone
    rows = session.scalars(select(PremiumCollection).order_by(PremiumCollection.month)).all()
    assert [(r.month, r.payment.kind, r.paid_at is not None) for r in rows] == [
        ("2027-02", MethodKind.cheque, True), ("2027-03", MethodKind.cheque, True)]
    # April is charged on the card as usual
    assert run(session, provider, date(2027, 4, 10)) == (["succeeded"], [])
    assert len(provider.charges) == 2

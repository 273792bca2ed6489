"""Radiation stops collection and refunds pro rata, and cheques pay later months, without the web (cheques: no
provider, so the refunds are owed and finance records them paid back; the provider's refunds are tested through
localstripe in tests/portal/test_cover_refunds_web.py). A subscription paid for December by cheque, then January
and February by one cheque for both months; the roster radiates the volunteer on 20 January: February is refunded
in full, January for the days after the 20th, once however often the event is replayed, and an older event arriving
late changes nothing. The books follow, balanced, and never anything on the yearly premium."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import func, select

from core.accounts import Role
from core.audit import AuditEvent
from core.outbox import OutboxMessage
from funnel import activation, cheques, payments
from funnel.catalogue import Cover
from funnel.cover_refunds import REFUND_JOB, month_due_minor, months_payable, refund_job, to_refund
from funnel.payment_models import Payment, PaymentState
from funnel.roster import apply_events
from ledger import engine
from ledger.collected_premiums import CLIENT_MONEY, EVENT_KIND, insurer_payable
from ledger.commissions import INCOME
from ledger.integrity import verify
from ledger.models import JournalEntry

from .conftest import NOW, event_record
from .premium_books import INSURER, TODAY, make_issuer, paid_subscription, seal_config


@pytest.fixture(scope="module")
def seal(tmp_path_factory):
    return seal_config(tmp_path_factory.mktemp("seal"))


@pytest.fixture
def issuer(session, seal) -> activation.Issuer:
    return make_issuer(session, seal)


@pytest.fixture
def active(session, products, make_user, issuer):
    """Léa's health and prévoyance top-ups, from 8 December, the first month paid by cheque."""
    staff = make_user(Role.finance)
    s = paid_subscription(session, staff, issuer, products=False)
    return s.volunteer, s, staff


def _balance(session, code: str) -> int:
    session.expire_all()
    try:
        return engine.account(session, code, "EUR").normal_balance
    except Exception:  # noqa: BLE001 (an account never opened holds nothing)
        return 0


def _prorata(monthly: int, days: int, of: int) -> int:
    return int((Decimal(monthly) * days / of).to_integral_value(rounding=ROUND_HALF_UP))


def _covers(s) -> dict[Cover, int]:
    return {Cover(v): activation.cover_monthly_minor(s, Cover(v)) for v in s.choices}


def _jobs(session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.job_name == REFUND_JOB)))


def test_a_cheque_pays_later_months_and_each_month_is_booked_once(session, active, issuer):
    lea, s, staff = active
    monthly = s.monthly_total_minor
    assert cheques.months_open(session, s, through="2027-02") == ["2027-01", "2027-02"]
    with pytest.raises(cheques.ChequeMonthsAmountWrong):
        cheques.record_cheque_months(session, staff, s, issuer, months=["2027-01", "2027-02"],
                                     amount_minor=monthly, cheque_number_raw="200002", bank="BNP",
                                     received_on=TODAY, today=TODAY)
    for refused in (dict(months=["2026-12"]), dict(months=["2027-11"]), dict(months=[]), dict(bank=" ")):
        values = dict(months=["2027-01"], bank="BNP") | refused
        with pytest.raises(activation.ChequeRefused):
            cheques.record_cheque_months(session, staff, s, issuer, amount_minor=monthly, cheque_number_raw="200002",
                                         received_on=TODAY, today=TODAY, **values)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Payment)) == 1  # refused: nothing written
    for _ in range(2):  # the form resent: the same payments
        paid = cheques.record_cheque_months(session, staff, s, issuer, months=["2027-02", "2027-01"],
                                            amount_minor=2 * monthly, cheque_number_raw="200-002", bank="BNP",
                                            received_on=TODAY, today=TODAY)
        session.commit()
    assert [(p.purpose[-7:], p.amount_minor, p.cheque_number, p.cheque_bank) for p in paid] == [
        ("2027-01", monthly, "200002", "BNP"), ("2027-02", monthly, "200002", "BNP")]
    assert session.scalar(select(func.count()).select_from(Payment)) == 3
    # each month is booked like any collected month: per cover, premium, commission, the insurer's share
    entries = session.scalars(select(JournalEntry).where(JournalEntry.event_kind == EVENT_KIND)).all()
    assert sorted(e.details["month"] for e in entries) == ["2026-12"] * 2 + ["2027-01"] * 2 + ["2027-02"] * 2
    assert _balance(session, CLIENT_MONEY) == 3 * monthly
    assert _balance(session, INCOME) == sum(e.details["commission_minor"] for e in entries)
    assert _balance(session, insurer_payable(INSURER)) == 3 * monthly - _balance(session, INCOME)
    # the yearly premium of the contracts placed is never posted: only the months collected
    assert session.scalar(select(func.count()).select_from(JournalEntry)
                          .where(JournalEntry.event_kind != EVENT_KIND)) == 0
    assert cheques.months_open(session, s, through="2027-02") == []
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "payment.cheque_recorded")).all()
    assert len(actions) == 3
    assert verify(session) == []


def test_a_radiation_refunds_what_was_paid_beyond_the_end_once_and_a_late_event_changes_nothing(
        session, active, issuer):
    lea, s, staff = active
    monthly = s.monthly_total_minor
    cheques.record_cheque_months(session, staff, s, issuer, months=["2027-01", "2027-02"],
                                 amount_minor=2 * monthly, cheque_number_raw="200002", bank="BNP",
                                 received_on=TODAY, today=TODAY)
    session.commit()
    radiation = event_record("radiation", lea.file_ref, "2026-11-25T08:00:00Z", end_date="2027-01-20")
    assert apply_events(session, [radiation], now=NOW).results[0].outcome.value == "updated"
    session.commit()
    assert s.ends_on == date(2027, 1, 20)
    # collection may no longer charge past the end: January pro rata (13 of its 31 days), nothing after
    assert months_payable(s, through="2027-06") == ["2026-12", "2027-01"]
    kept_january = sum(_prorata(m, 13, 31) for m in _covers(s).values())
    assert month_due_minor(s, "2027-01") == kept_january and month_due_minor(s, "2027-02") == 0

    [job] = _jobs(session)
    for _ in range(2):  # the worker runs it, and again (a retry): once
        refund_job(session, **job.payload)
        session.commit()
    by_month = {p.purpose[-7:]: p for p in session.scalars(select(Payment))}
    assert by_month["2026-12"].refund_owed_minor == 0
    assert by_month["2027-01"].refund_owed_minor == monthly - kept_january
    assert by_month["2027-02"].refund_owed_minor == monthly  # a cheque: owed, for finance to pay back

    # the same radiation replayed, then an older prolongation arriving late: nothing moves, nothing is queued
    replay = apply_events(session, [radiation], now=NOW).results[0]
    late = apply_events(session, [event_record("prolongation", lea.file_ref, "2026-11-10T08:00:00Z", n=3,
                                               mission_end="2027-12-31")], now=NOW).results[0]
    session.commit()
    assert replay.replayed and late.superseded and s.ends_on == date(2027, 1, 20)
    assert len(_jobs(session)) == 1
    refund_job(session, **job.payload)
    session.commit()
    owed = monthly - kept_january + monthly
    assert sum(p.refund_owed_minor for p in session.scalars(select(Payment))) == owed

    # finance pays back what was owed on February's cheque; a later run owes nothing more
    payments.record_refund_made(session, staff, by_month["2027-02"], reference="VIR-2027-001")
    refund_job(session, **job.payload)
    session.commit()
    assert by_month["2027-02"].state is PaymentState.refunded and by_month["2027-02"].refunded_minor == monthly

    # the books: client money holds what is kept; commission only on the days covered; balanced, verified
    assert _balance(session, CLIENT_MONEY) == monthly + kept_january
    commission = sum(_prorata(k, 15, 100) for k in _covers(s).values()) + sum(
        _prorata(_prorata(m, 13, 31), 15, 100) for m in _covers(s).values())
    assert _balance(session, INCOME) == commission
    assert _balance(session, insurer_payable(INSURER)) == monthly + kept_january - commission
    refunded = session.scalars(select(AuditEvent).where(AuditEvent.action == "subscription.refunded_beyond_end")).all()
    assert len(refunded) == 2
    assert verify(session) == []


def test_a_cover_ending_before_it_started_refunds_everything(session, active, issuer):
    lea, s, _staff = active
    apply_events(session, [event_record("interruption", lea.file_ref, "2026-11-25T08:00:00Z", end_date="2026-12-05",
                                        reason="health")], now=NOW)
    session.commit()
    # the reconciliation finds it too (a job lost, a SEPA debit collected after it ran)
    assert to_refund(session, today=TODAY) == [s]
    [job] = _jobs(session)
    refund_job(session, **job.payload)
    session.commit()
    assert to_refund(session, today=TODAY) == []
    assert s.first_payment.refund_owed_minor == s.monthly_total_minor
    assert months_payable(s) == [] and _balance(session, CLIENT_MONEY) == 0 and _balance(session, INCOME) == 0
    assert verify(session) == []

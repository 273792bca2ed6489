"""The volunteer's withdrawal within 14 days (step 7 of the journey), Flask-free.

The period runs from the delivery of the contract terms by e-mail (`journey.withdrawal_ends_on`; not yet running
while they are undelivered) and its last day is included. `withdraw` then, in one unit of work:
- ends the cover: the subscription is `withdrawn` (its last covered day is the day before the withdrawal, nothing
  when it had not started) and its contracts are cancelled on the withdrawal date;
- refunds the period not covered through `funnel.payments.refund_payment` (the rule is `refund_due`): each
  monthly premium collected pays for one month from the cover's start (start_on to the same day a month later);
  the volunteer is refunded that premium × the days of that month not covered (from the withdrawal date) / the
  month's days, rounded down to the cent. A withdrawal before the cover starts refunds everything paid;
- takes back the premium refunded in the books, with the broker's commission and the insurer's share on it
  (`ledger.collected_premiums.reverse_collected_premium`: the refund split between the covers in proportion to what
  each booked for the month, so the books move by exactly the money returned and the commission stays on what the
  volunteer keeps paying for);
- records the funnel event `withdrawn` (one per cover) and the audit record.
Once: a second call (a double submit) finds the subscription withdrawn and changes nothing; the provider is given
one idempotency key per payment, so a retry after a lost answer never refunds twice. After the period it is
refused (`WithdrawalClosed`, saying the day it ended) and writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.contracts import Contract, ContractStatus
from core.i18n import N_
from ledger.collected_premiums import entry_key, kept_minor, reverse_collected_premium
from ledger.money import split

from .activation import month_paid_for, payments_of, policy_number
from .additions import addition_of, commission_key, refund_on_withdrawal
from .catalogue import Cover
from .dates import add_months, day_before
from .errors import FunnelError
from .journey import withdrawal_ends_on
from .models import FunnelStage, Subscription, SubscriptionState, volunteer_key
from .payment_models import PaymentState
from .payments import PaymentGateway, refund_payment
from .tracking import record_funnel_event

#: the states a volunteer can withdraw from: signed (paid or not yet)
WITHDRAWABLE = (SubscriptionState.signed, SubscriptionState.payment_pending, SubscriptionState.active)


class WithdrawalClosed(FunnelError):
    code = "withdrawal_closed"
    status = 409
    message = N_("The 14-day withdrawal period ended on %(day)s, so your adhesion can no longer be withdrawn. "
                 "Your cover continues until its end date.")


class NotWithdrawable(FunnelError):
    code = "not_withdrawable"
    status = 409
    message = N_("Only a signed adhesion can be withdrawn.")


class PaymentStillProcessing(FunnelError):
    code = "payment_processing"
    status = 409
    message = N_("Your payment is still being confirmed by your bank. You can withdraw as soon as it is confirmed, "
                 "within the withdrawal period.")


def month_period(subscription: Subscription, month: str) -> tuple[date, date]:
    """[first day, day after the last) of the month of cover a monthly premium for `month` (YYYY-MM) pays for:
    the n-th month from the cover's start."""
    year, number = (int(part) for part in month.split("-"))
    n = (year * 12 + number) - (subscription.start_on.year * 12 + subscription.start_on.month)
    return add_months(subscription.start_on, n), add_months(subscription.start_on, n + 1)


def refund_due(paid_minor: int, period: tuple[date, date], withdrawn_on: date) -> int:
    """What is refunded of `paid_minor` paid for `period` ([start, end)) when the cover ends the day before
    `withdrawn_on`: pro rata to the days not covered, rounded down; all of it before the period starts."""
    start, end = period
    days = (end - start).days
    covered = min(max((withdrawn_on - start).days, 0), days)
    return paid_minor * (days - covered) // days


@dataclass(frozen=True)
class Withdrawal:
    subscription: Subscription
    refunded_minor: int
    #: False when it was already withdrawn (nothing done this time)
    done_now: bool


def withdrawn_subscription(session: Session, volunteer) -> Subscription | None:
    return session.scalars(select(Subscription).where(Subscription.volunteer_id == volunteer.id,
                                                      Subscription.state == SubscriptionState.withdrawn)
                           .order_by(Subscription.id.desc())).first()


def refund_preview(session: Session, subscription: Subscription, *, today: date) -> int:
    """What a withdrawal today would refund (for the confirmation page)."""
    total = 0
    for p in payments_of(session, subscription):
        if p.state is not PaymentState.succeeded:
            continue
        addition = addition_of(session, p)
        if addition is not None:
            total += min(sum(refund_on_withdrawal(addition, today, refund_due).values()),
                         p.amount_minor - p.refunded_minor)
        else:
            total += refund_due(p.amount_minor - p.refunded_minor,
                                month_period(subscription, month_paid_for(subscription, p)), today)
    return total


def _contract(session: Session, subscription: Subscription, cover: Cover) -> Contract | None:
    return session.scalar(select(Contract).where(Contract.policy_number == policy_number(subscription, cover)))


def _withdraw_addition(session: Session, gateway: PaymentGateway, subscription: Subscription, addition,
                       payment, today: date) -> int:
    """A dependant's addition charged with the premium of days now not covered: those are refunded, and the
    commission kept on the rest."""
    by_cover = refund_on_withdrawal(addition, today, refund_due)
    amount = min(sum(by_cover.values()), payment.amount_minor - payment.refunded_minor)
    if amount:
        refund_payment(session, gateway, payment, amount_minor=amount, idempotency_key=f"withdrawal-{payment.public_id}")
    for line in addition.lines:
        contract = _contract(session, subscription, Cover(line["cover"]))
        if contract is not None:
            reverse_collected_premium(session, contract_ref=contract.public_id, month=line["months"][0]["month"],
                                      kept_minor=line["charged"] - by_cover[Cover(line["cover"])], today=today,
                                      key=commission_key(contract.public_id, addition))
    return amount


def _reverse_month(session: Session, subscription: Subscription, month: str, refunded: int, today: date) -> None:
    """The books of a month a withdrawal refunded `refunded` of: the refund split between the covers in proportion
    to what each has booked for the month (the parts sum to the refund, so the books move by exactly the money
    returned), each cover's entry reversed and what it keeps booked again."""
    booked = {}
    for value in subscription.choices:
        contract = _contract(session, subscription, Cover(value))
        if contract is not None:
            booked[contract] = kept_minor(session, entry_key(contract.public_id, month))
    if not refunded or not any(booked.values()):
        return
    for (contract, live), part in zip(booked.items(), split(refunded, list(booked.values())), strict=True):
        reverse_collected_premium(session, contract_ref=contract.public_id, month=month,
                                  kept_minor=max(live - part, 0), today=today)


def check_open(subscription: Subscription, *, today: date) -> None:
    if subscription.state not in WITHDRAWABLE:
        raise NotWithdrawable()
    last = withdrawal_ends_on(subscription)
    if last is not None and today > last:
        raise WithdrawalClosed(day=last.isoformat())


def withdraw(session: Session, gateway: PaymentGateway, subscription: Subscription, *, today: date, now: datetime,
             reason: str | None = None) -> Withdrawal:
    """Withdraw the subscription within the 14-day period (see the module): cover ended, the period not covered
    refunded, the commission on it reversed. Idempotent; refused after the period, writing nothing."""
    # one request at a time on this subscription (a double submit waits, then finds it withdrawn)
    session.execute(select(Subscription.id).where(Subscription.id == subscription.id).with_for_update())
    session.refresh(subscription)
    if subscription.state is SubscriptionState.withdrawn:
        return Withdrawal(subscription, 0, False)
    check_open(subscription, today=today)
    payments = payments_of(session, subscription)
    if any(p.state in (PaymentState.processing,) for p in payments):
        raise PaymentStillProcessing()
    refunded = 0
    for payment in payments:
        if payment.state is not PaymentState.succeeded:
            continue
        addition = addition_of(session, payment)
        if addition is not None:
            refunded += _withdraw_addition(session, gateway, subscription, addition, payment, today)
            continue
        month = month_paid_for(subscription, payment)
        period = month_period(subscription, month)
        amount = refund_due(payment.amount_minor - payment.refunded_minor, period, today)
        if amount:
            refund_payment(session, gateway, payment, amount_minor=amount,
                           idempotency_key=f"withdrawal-{payment.public_id}")
            refunded += amount
        _reverse_month(session, subscription, month, amount, today)
    for value in subscription.choices:
        contract = _contract(session, subscription, Cover(value))
        if contract is not None and contract.status is ContractStatus.in_force:
            contract.status, contract.cancelled_on = ContractStatus.cancelled, today
            audit.record(session, "contract.cancelled", subject=contract, reason="withdrawal",
                         subscription=subscription.public_id)
        record_funnel_event(session, subscription.volunteer, FunnelStage.withdrawn, cover=Cover(value),
                            zone=subscription.zone, subject=subscription.public_id, at=now)
    old = subscription.state
    subscription.state, subscription.withdrawn_at, subscription.updated_at = SubscriptionState.withdrawn, now, now
    if today > subscription.start_on:
        subscription.ends_on = min(subscription.ends_on, day_before(today))
    session.flush()
    audit.record(session, "subscription.withdrawn", subject=subscription, old=old.value, refunded_minor=refunded,
                 personal={"reason": (reason or "")[:500]},
                 personal_key=volunteer_key(subscription.volunteer.public_id))
    return Withdrawal(subscription, refunded, True)

"""The monthly collection of premiums after the first month, Flask-free.

- `months_due` (a plain function): the months of cover after the first whose collection day (funnel.
  collection_plan) has come, up to the cover's end (`ends_on`); a last part-month is prorated per cover with
  `rules.prorated_period`.
- `due` / `collect`: the scheduled run. Each month charged is a `PremiumCollection` row, unique per subscription
  and month, inserted (INSERT … ON CONFLICT DO NOTHING) in the same transaction as the charge: a replayed run, or
  a second worker (on PostgreSQL it waits for the first's uncommitted insert), charges nothing more; a crash
  before the commit leaves neither, and the next run charges again with the same idempotency key (per
  subscription × month × attempt), so the provider answers with the payment it made.
- The charge is off-session on the saved card or SEPA mandate. Succeeded: the month is paid and the broker's
  commission posted (`activation.post_commissions`). A SEPA debit is `processing` until the provider reports
  (`payment_reported`, from the webhook or a refresh). Declined or returned: the subscription is past due and a
  recovery case opens (`open_case`; funnel.dunning runs its steps). A month falling due while a case is open is
  recorded, not charged: it is part of what is due.
- Never charged: a withdrawn, closed, suspended or ended subscription, one whose cover ended (radiation), one with
  no saved method (paid by cheque: staff record those).
Every function takes the session and values, flushes and never commits; every change is audited.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.db import new_public_id, utcnow

from . import payments, rules
from .activation import Issuer, cover_billed_minor, first_month, month_paid_for, post_commissions, purpose
from .catalogue import Cover
from .collection_models import DunningCase, DunningState, PremiumCollection
from .collection_plan import PLAN, CollectionPlan, collection_day
from .dates import add_months
from .models import Subscription, SubscriptionState
from .payment_models import MethodState, Payment, PaymentState

#: a subscription whose months keep falling due (charged while active, recorded as due while in recovery)
ACCRUING = (SubscriptionState.active, SubscriptionState.past_due, SubscriptionState.litigation)
#: in recovery: what a payment of everything due brings back to active
IN_RECOVERY = (SubscriptionState.past_due, SubscriptionState.litigation, SubscriptionState.suspended)
#: the cover was in force (a late failure of the first month counts from these)
COVERED = (SubscriptionState.active, *IN_RECOVERY)

IssuerFor = Callable[[Subscription], Issuer]


# --- which months, how much ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MonthDue:
    #: 1 for the second month of cover
    index: int
    month: str
    period_start: date
    period_end: date
    due_on: date
    #: {cover: amount}, prorated when the cover ends within the month
    by_cover: dict

    @property
    def amount_minor(self) -> int:
        return sum(self.by_cover.values())


def month_label(start_on: date, n: int) -> str:
    return add_months(start_on.replace(day=1), n).strftime("%Y-%m")


def month_index(start_on: date, month: str) -> int:
    year, number = (int(part) for part in month.split("-"))
    return year * 12 + number - (start_on.year * 12 + start_on.month)


def cover_due_minor(subscription: Subscription, cover: Cover, n: int) -> int:
    """What the n-th month of cover (n >= 1) costs for `cover`: its monthly premium, prorated for the days left
    when the cover ends within the month (activation.cover_billed_minor)."""
    return cover_billed_minor(subscription, cover, month_label(subscription.start_on, n))


def month_due(subscription: Subscription, n: int, plan: CollectionPlan = PLAN) -> MonthDue:
    start, end = rules.cover_month_period(subscription.start_on, n)
    by_cover = {Cover(value): cover_due_minor(subscription, Cover(value), n) for value in subscription.choices}
    return MonthDue(n, month_label(subscription.start_on, n), start, min(end, subscription.ends_on + timedelta(days=1)),
                    collection_day(start, plan), by_cover)


def months_due(subscription: Subscription, today: date, plan: CollectionPlan = PLAN) -> list[MonthDue]:
    """The months after the first whose collection day is `today` or before, within the cover."""
    found, n = [], 1
    while True:
        start = rules.cover_month_period(subscription.start_on, n)[0]
        if start > subscription.ends_on or collection_day(start, plan) > today:
            return found
        due = month_due(subscription, n, plan)
        if due.amount_minor > 0:
            found.append(due)
        n += 1


# --- the run --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Due:
    subscription_id: int
    month: str


def due(session: Session, *, today: date, plan: CollectionPlan = PLAN) -> list[Due]:
    """The months to charge (or record as due) on `today`, not yet recorded."""
    done = set(session.execute(select(PremiumCollection.subscription_id, PremiumCollection.month)).tuples())
    found = []
    for subscription in session.scalars(select(Subscription).where(
            Subscription.state.in_(ACCRUING), Subscription.payment_method_id.is_not(None),
            Subscription.start_on <= today + timedelta(days=plan.lead_days + 31)).order_by(Subscription.id)):
        for m in months_due(subscription, today, plan):
            if (subscription.id, m.month) not in done:
                found.append(Due(subscription.id, m.month))
    return found


def _claim(session: Session, subscription: Subscription, m: MonthDue, now: datetime) -> PremiumCollection | None:
    """The month's row, or None when another run recorded it (committed, or committed while we waited)."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    row_id = session.execute(
        insert(PremiumCollection).values(
            public_id=new_public_id(), created_at=now, subscription_id=subscription.id, month=m.month,
            period_start=m.period_start, period_end=m.period_end, amount_minor=m.amount_minor,
            currency=subscription.currency, due_on=m.due_on, attempts=0)
        .on_conflict_do_nothing(index_elements=["subscription_id", "month"]).returning(PremiumCollection.id)
    ).scalar_one_or_none()
    return None if row_id is None else session.get(PremiumCollection, row_id)


def collect(session: Session, gateway: payments.PaymentGateway, item: Due, issuer_for: IssuerFor, *, today: date,
            now: datetime, plan: CollectionPlan = PLAN) -> str:
    """Record the month and charge it (see the module). Returns what happened: "taken" (another run did it),
    "deferred" (in recovery: recorded as due), or the payment's state."""
    subscription = session.get(Subscription, item.subscription_id)
    if subscription.state not in ACCRUING:
        return "taken"
    m = next((m for m in months_due(subscription, today, plan) if m.month == item.month), None)
    if m is None:
        return "taken"
    row = _claim(session, subscription, m, now)
    if row is None:
        return "taken"
    audit.record(session, "subscription.month_due", subject=subscription, month=m.month,
                 amount_minor=m.amount_minor, due_on=m.due_on.isoformat())
    other = _paid_otherwise(session, subscription, row.month)
    if other is not None:  # paid ahead by cheque: never charged again
        row.payment, row.updated_at = other, now
        apply_outcome(session, subscription, row, issuer_for, today=today, now=now)
        return other.state.value
    if subscription.state is not SubscriptionState.active:
        session.flush()
        return "deferred"
    payment = charge_month(session, gateway, subscription, row, issuer_for, today=today, now=now)
    return payment.state.value if payment is not None else "deferred"


# --- charging a month -----------------------------------------------------------------------------------------

def _settled(payment: Payment | None) -> bool:
    return payment is not None and payment.state in (PaymentState.succeeded, PaymentState.processing,
                                                     PaymentState.refunded)


def _paid_otherwise(session: Session, subscription: Subscription, month: str) -> Payment | None:
    """A payment of the month made other than by this collection (a cheque staff recorded), paid or being paid."""
    return session.scalar(select(Payment).where(
        Payment.purpose == purpose(subscription, month),
        Payment.state.in_((PaymentState.succeeded, PaymentState.processing))).order_by(Payment.id.desc()).limit(1))


def paid_otherwise(session: Session, subscription: Subscription, payments_made: list[Payment],
                   issuer_for: IssuerFor, *, today: date, now: datetime) -> None:
    """Payments of months made otherwise (a cheque for months past due or to come): a month already recorded
    as due is settled by them, and the recovery closes once nothing else is due."""
    rows = {row.month: row for row in months_of(session, subscription) if not _settled(row.payment)}
    for payment in payments_made:
        row = rows.get(month_paid_for(subscription, payment))
        if row is not None:
            row.payment, row.updated_at = payment, now
            apply_outcome(session, subscription, row, issuer_for, today=today, now=now)


def charge_key(session: Session, subscription: Subscription, month: str) -> str:
    """Per subscription, month and attempt: the attempt counts the month's failed payments, so the same call
    again (a replay, a double click) finds the payment it made, and a retry after a failure is a new charge."""
    failed = session.scalar(select(func.count(Payment.id)).where(
        Payment.purpose == purpose(subscription, month), Payment.state == PaymentState.failed))
    return f"collect-{subscription.public_id}-{month}-{failed}"


def charge_month(session: Session, gateway: payments.PaymentGateway, subscription: Subscription,
                 row: PremiumCollection, issuer_for: IssuerFor, *, today: date, now: datetime) -> Payment | None:
    """Charge the month off-session on the subscription's saved method, unless it is paid or being paid; then
    apply what the provider answered. None when there is no active method to charge."""
    if _settled(row.payment):
        return row.payment
    other = _paid_otherwise(session, subscription, row.month)
    if other is not None:
        row.payment, row.updated_at = other, now
        apply_outcome(session, subscription, row, issuer_for, today=today, now=now)
        return other
    method = subscription.payment_method
    if method is None or method.state is not MethodState.active:
        return None
    payment = payments.charge_saved_method(
        session, gateway, method, purpose=purpose(subscription, row.month), amount_minor=row.amount_minor,
        currency=row.currency.lower(), idempotency_key=charge_key(session, subscription, row.month))
    if payment is not row.payment:
        row.payment, row.attempts, row.updated_at = payment, row.attempts + 1, now
    session.flush()
    apply_outcome(session, subscription, row, issuer_for, today=today, now=now)
    return payment


def apply_outcome(session: Session, subscription: Subscription, row: PremiumCollection, issuer_for: IssuerFor, *,
                  today: date, now: datetime) -> None:
    """What the month's latest payment says: paid (commission posted; recovery closed when nothing else is
    due), failed (past due, a recovery case open), or still processing (nothing yet)."""
    payment = row.payment
    if payment is None or payment.state is PaymentState.processing:
        return
    if payment.is_paid:
        if row.paid_at is None:
            row.paid_at, row.updated_at = now, now
            if row.month == first_month(subscription):
                subscription.first_payment = payment
                subscription.paid_at = subscription.paid_at or now
            audit.record(session, "subscription.month_paid", subject=subscription, month=row.month,
                         amount_minor=row.amount_minor, payment=payment.public_id)
        post_commissions(session, subscription, payment, issuer_for(subscription), today=today)
        recover_if_paid(session, subscription, now=now)
    elif payment.state is PaymentState.failed:
        open_case(session, subscription, row, today=today)
    session.flush()


def payment_reported(session: Session, payment: Payment, issuer_for: IssuerFor, *, today: date,
                     now: datetime) -> bool:
    """The provider reported on a payment (webhook, refresh): a month collected moves on; a first month that
    failed after the certificate was issued (a SEPA debit returned within its 14 business days) gets its row and
    opens the recovery. Returns whether the payment was one of the collection's."""
    row = session.scalar(select(PremiumCollection).where(PremiumCollection.payment_id == payment.id))
    if row is not None:
        apply_outcome(session, row.subscription, row, issuer_for, today=today, now=now)
        return True
    subscription = session.scalar(select(Subscription).where(Subscription.first_payment_id == payment.id))
    if (subscription is None or payment.state is not PaymentState.failed or subscription.state not in COVERED
            or subscription.certificate_sha256 is None):
        return False
    row = first_month_row(session, subscription, payment, now=now)
    apply_outcome(session, subscription, row, issuer_for, today=today, now=now)
    return True


def first_month_row(session: Session, subscription: Subscription, payment: Payment, *,
                    now: datetime) -> PremiumCollection:
    """The first month's row, made when its payment failed after the cover started (once)."""
    month = first_month(subscription)
    row = session.scalar(select(PremiumCollection).where(PremiumCollection.subscription_id == subscription.id,
                                                         PremiumCollection.month == month))
    if row is None:
        start, end = rules.cover_month_period(subscription.start_on, 0)
        row = PremiumCollection(subscription_id=subscription.id, month=month, period_start=start, period_end=end,
                                amount_minor=payment.amount_minor, currency=subscription.currency,
                                due_on=subscription.start_on, attempts=1, payment=payment, updated_at=now)
        session.add(row)
        session.flush()
    return row


def processing(session: Session) -> list[Payment]:
    """The collection's payments the provider has not reported on yet, and first months still being debited on
    a cover in force (a refresh catches a webhook that never came)."""
    rows = session.scalars(select(Payment).join(PremiumCollection, PremiumCollection.payment_id == Payment.id)
                           .where(Payment.state == PaymentState.processing)).all()
    firsts = session.scalars(select(Payment).join(Subscription, Subscription.first_payment_id == Payment.id)
                             .where(Payment.state == PaymentState.processing,
                                    Subscription.state.in_(COVERED))).all()
    return list(dict.fromkeys([*rows, *firsts]))


# --- what is due, and the recovery case -----------------------------------------------------------------------

def months_of(session: Session, subscription: Subscription) -> list[PremiumCollection]:
    return list(session.scalars(select(PremiumCollection).where(PremiumCollection.subscription_id == subscription.id)
                                .order_by(PremiumCollection.period_start)))


def unpaid(session: Session, subscription: Subscription) -> list[PremiumCollection]:
    """The months recorded and not paid: never charged (in recovery when due), or whose latest charge failed."""
    return [row for row in months_of(session, subscription) if not _settled(row.payment)]


def amount_due(session: Session, subscription: Subscription) -> int:
    return sum(row.amount_minor for row in unpaid(session, subscription))


def open_case_of(session: Session, subscription: Subscription) -> DunningCase | None:
    return session.scalar(select(DunningCase).where(DunningCase.subscription_id == subscription.id,
                                                    DunningCase.state == DunningState.open))


def open_case(session: Session, subscription: Subscription, row: PremiumCollection, *, today: date) -> DunningCase:
    """A premium failed: the subscription is past due and its recovery case open (one at a time: a failure while
    one is open joins it, its days still counting from the first)."""
    case = open_case_of(session, subscription)
    if case is not None:
        return case
    try:
        with session.begin_nested():
            case = DunningCase(subscription_id=subscription.id, opened_on=today, state=DunningState.open)
            session.add(case)
            session.flush()
    except IntegrityError:  # opened meanwhile by a concurrent run or webhook
        return open_case_of(session, subscription)
    old = subscription.state
    if old is SubscriptionState.active:
        subscription.state, subscription.updated_at = SubscriptionState.past_due, utcnow()
    audit.record(session, "subscription.past_due", subject=subscription, old=old.value, month=row.month,
                 amount_minor=row.amount_minor, payment=row.payment.public_id if row.payment else None,
                 failure_code=row.payment.failure_code if row.payment else None, case=case.public_id)
    session.flush()
    return case


def recover_if_paid(session: Session, subscription: Subscription, *, now: datetime) -> bool:
    """Everything due is paid (nothing failed, nothing still being debited): the case is closed and the
    subscription active again (an ended cover stays ended). Returns whether it recovered now."""
    case = open_case_of(session, subscription)
    if case is None or any(row.payment is None or row.payment.state is not PaymentState.succeeded
                           for row in months_of(session, subscription) if row.paid_at is None):
        return False
    case.state, case.closed_at = DunningState.recovered, now
    old = subscription.state
    if old in IN_RECOVERY:
        subscription.state, subscription.updated_at = SubscriptionState.active, now
    audit.record(session, "subscription.recovered", subject=subscription, old=old.value, case=case.public_id)
    session.flush()
    return True


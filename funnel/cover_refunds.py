"""When the cover ends earlier than the months paid for (a radiation, an interruption, a corrected end date: the
roster moves `Subscription.ends_on`, funnel.cover_end), collection stops and what was paid for the days after the
new end of cover is refunded, pro rata.

- `months_payable` / `month_due_minor`: what collection may still charge. A month of cover runs from the cover's
  start to the same day a month later (funnel.rules); a month whose first day is after `ends_on` is never
  charged, and the month in which the cover ends is due for its days covered only (`rules.prorated_period`).
  `ends_on` is the one authority: the roster's newest word (an older event arriving late does not move it).
- `refund_beyond_end`: for each payment of the subscription, what it paid for days after `ends_on` (each cover's
  part of the month: its monthly premium × the days not covered / the days of that month of cover, never more than
  was paid; a dependant's addition, each month it charged for its days not covered) less what was already
  refunded or owed on it, refunded now: a card or SEPA payment through the provider's refund (one idempotency key
  per payment, end of cover and step, so a retry after a lost answer never refunds twice), a cheque recorded as
  owed (finance pays it back and records it, `payments.record_refund_made`). The books follow per contract and
  month (`ledger.collected_premiums.reverse_collected_premium`: client money out, the insurer's share and the
  broker's commission on the refunded part reversed). Once, however often it runs: what is due is computed from
  `ends_on` and what was refunded already, so a replayed event (or a second run) finds nothing more to do, and a
  later prolongation never takes a refund back.
- `to_refund`: what `flask journey reconcile` refunds (a SEPA debit still processing when the job ran, a lost job).
- `REFUND_JOB`: the roster's transaction queues it (core.outbox) when a paid subscription's end moved earlier;
  the outbox worker runs it with the provider the app gave (`payments.provided_gateway`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.contracts import Contract
from core.db import utcnow
from core.outbox import enqueue_job, job
from ledger.collected_premiums import entry_key, reverse_collected_premium

from . import payments
from .activation import cover_monthly_minor, cover_shares, month_paid_for, payments_of, policy_number
from .additions import addition_of, commission_key
from .addition_models import DependantAddition
from .catalogue import Cover
from .dates import add_months
from .models import Subscription, SubscriptionState
from .payment_models import Payment, PaymentState
from .rules import prorated_period
from .withdrawal import month_period

REFUND_JOB = "subscription.refund_beyond_end"
#: never paid for a cover, or settled otherwise (a closed subscription is refunded in full, a withdrawn one by
#: the withdrawal's rule)
NOT_REFUNDED_HERE = (SubscriptionState.quoted, SubscriptionState.adhesion_started, SubscriptionState.signed,
                     SubscriptionState.payment_pending, SubscriptionState.closed, SubscriptionState.withdrawn)


# --- what collection may charge ---------------------------------------------------------------------------------

def _covered(subscription: Subscription) -> tuple[date, date]:
    return subscription.start_on, subscription.ends_on + timedelta(days=1)


def months_payable(subscription: Subscription, *, through: str | None = None) -> list[str]:
    """The months (YYYY-MM) of the subscription that may be charged, from its first, through `through` (the
    month collection runs for) when given: those whose month of cover starts on or before the cover's end."""
    months, n = [], 0
    while True:
        start = add_months(subscription.start_on, n)
        month = f"{start:%Y-%m}"
        if start > subscription.ends_on or (through is not None and month > through):
            return months
        months.append(month)
        n += 1


def month_due_minor(subscription: Subscription, month: str) -> int:
    """What is due for `month`: the monthly premium of each cover for that month, for the days of its month of
    cover the cover lasts (all of them but in the month the cover ends; nothing after)."""
    period = month_period(subscription, month)
    return sum(prorated_period(cover_monthly_minor(subscription, Cover(v), month), period, _covered(subscription))
               for v in subscription.choices)


# --- what was paid beyond the end ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kept:
    """What a payment keeps of each ledger entry it was booked under (contract, key, month, amount kept)."""

    contract: Contract
    key: str
    month: str
    kept_minor: int


def _contract(session: Session, subscription: Subscription, cover: Cover) -> Contract | None:
    return session.scalar(select(Contract).where(Contract.policy_number == policy_number(subscription, cover)))


def _addition_kept(session: Session, subscription: Subscription, addition: DependantAddition
                   ) -> tuple[int, list[Kept]]:
    """(what the addition's charge keeps, per line) when the cover ends on `ends_on`."""
    covered, total, kept = _covered(subscription), 0, []
    for line in addition.lines:
        amount = sum(prorated_period(m["minor"], (date.fromisoformat(m["from"]), date.fromisoformat(m["to"])),
                                     covered) for m in line["months"])
        amount = min(amount, line["charged"])
        total += amount
        contract = _contract(session, subscription, Cover(line["cover"]))
        if contract is not None:
            kept.append(Kept(contract, commission_key(contract.public_id, addition), line["months"][0]["month"],
                             amount))
    return total + addition.payment.amount_minor - sum(line["charged"] for line in addition.lines), kept


def kept_of(session: Session, subscription: Subscription, payment: Payment) -> tuple[int, list[Kept]]:
    """(what the payment keeps when the cover ends on `ends_on`, and per contract and ledger key what it keeps)."""
    addition = addition_of(session, payment)
    if addition is not None:
        return _addition_kept(session, subscription, addition)
    month = month_paid_for(subscription, payment)
    period, covered = month_period(subscription, month), _covered(subscription)
    total, kept = 0, []
    for cover, paid in cover_shares(subscription, month, payment.amount_minor).items():
        amount = min(paid, prorated_period(cover_monthly_minor(subscription, cover, month), period, covered))
        total += amount
        contract = _contract(session, subscription, cover)
        if contract is not None:
            kept.append(Kept(contract, entry_key(contract.public_id, month), month, amount))
    return total, kept


def refundable(payment: Payment) -> int:
    """What the provider collected on the payment and is neither refunded nor owed back yet."""
    if payment.state not in (PaymentState.succeeded, PaymentState.refunded):
        return 0
    return payment.amount_minor - payment.refunded_minor - payment.refund_owed_minor


def paid_beyond_end(session: Session, subscription: Subscription) -> list[tuple[Payment, int, list[Kept]]]:
    """Each payment that paid for days after `ends_on` and is not refunded for them yet: (payment, what to refund
    now, what it keeps per ledger entry)."""
    due = []
    for payment in payments_of(session, subscription):
        left = refundable(payment)
        if left <= 0:
            continue
        kept, per_entry = kept_of(session, subscription, payment)
        amount = min(left, max(payment.amount_minor - kept - payment.refunded_minor - payment.refund_owed_minor, 0))
        due.append((payment, amount, per_entry))
    return due


def refund_beyond_end(session: Session, gateway: payments.PaymentGateway | None, subscription: Subscription, *,
                      today: date) -> int:
    """Refund what was paid for days after the end of cover, and mirror it in the books (see the module). A card
    or SEPA payment to refund needs the gateway: without one PaymentUnavailable is raised before anything is
    written (the job is retried). Returns what was refunded or recorded as owed now."""
    if subscription.state in NOT_REFUNDED_HERE:
        return 0
    # one run at a time on this subscription (a replayed event's job waits, then finds nothing more to do)
    session.execute(select(Subscription.id).where(Subscription.id == subscription.id).with_for_update())
    total, due = 0, paid_beyond_end(session, subscription)
    if gateway is None and any(amount and payment.provider_intent_id for payment, amount, _k in due):
        raise payments.PaymentUnavailable()
    for payment, amount, per_entry in due:
        if amount:
            step = payment.refunded_minor + payment.refund_owed_minor
            payments.refund_payment(session, gateway, payment, amount_minor=amount,
                                    idempotency_key=f"cover-end-{payment.public_id}-{subscription.ends_on}-{step}")
            audit.record(session, "subscription.refunded_beyond_end", subject=subscription,
                         payment=payment.public_id, amount_minor=amount, ends_on=subscription.ends_on.isoformat(),
                         owed=payment.provider_intent_id is None)
            total += amount
        for k in per_entry:
            reverse_collected_premium(session, contract_ref=k.contract.public_id, month=k.month,
                                      kept_minor=k.kept_minor, today=today, key=k.key)
    session.flush()
    return total


def to_refund(session: Session, *, today: date, horizon_days: int = 62) -> list[Subscription]:
    """The subscriptions the reconciliation checks (a SEPA debit collected after its job ran, a job lost): paid,
    not settled otherwise, whose cover ended or ends within `horizon_days` (collection charges no further ahead),
    with something paid beyond the end not refunded yet."""
    candidates = session.scalars(select(Subscription).where(
        Subscription.state.not_in(NOT_REFUNDED_HERE), Subscription.paid_at.is_not(None),
        Subscription.ends_on < today + timedelta(days=horizon_days)).order_by(Subscription.id))
    return [s for s in candidates if any(amount for _p, amount, _k in paid_beyond_end(session, s))]


# --- the roster's half, and the worker's ---------------------------------------------------------------------------

def ends_before_paid(subscription: Subscription, was: date) -> bool:
    """The cover's end moved earlier on a subscription that was paid for: a refund may be due."""
    return (subscription.ends_on < was and subscription.paid_at is not None
            and subscription.state not in NOT_REFUNDED_HERE)


def queue_refund(session: Session, subscription: Subscription) -> None:
    """Queue the refund beyond the end of cover (run by the outbox worker, with the provider)."""
    enqueue_job(session, REFUND_JOB, subscription=subscription.public_id, ends_on=subscription.ends_on.isoformat())


@job(REFUND_JOB)
def refund_job(session: Session, subscription: str, ends_on: str | None = None) -> None:
    """The outbox worker's half: refund what was paid beyond the end of cover as it stands now."""
    found = session.scalar(select(Subscription).where(Subscription.public_id == subscription))
    if found is None:
        return
    through_provider = any(amount and payment.provider_intent_id
                           for payment, amount, _kept in paid_beyond_end(session, found))
    refund_beyond_end(session, payments.provided_gateway() if through_provider else None, found,
                      today=utcnow().date())

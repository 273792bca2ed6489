"""Cheques for later months: staff record a cheque received for one month, or several, of a subscription whose
cover runs (the first month's cheque is `activation.record_cheque`, which the same staff form calls).

The cheque pays exactly what is due for the months it names (`cover_refunds.month_due_minor`: each month's premium,
pro rata in the month the cover ends); each month must be one collection may charge (`months_payable`: never
after the end of cover) and not paid yet. One payment per month (kind `cheque`, no provider, the cheque's number,
bank and received date), each booked like any collected month (`activation.post_commissions`): client money for
the insurer, the broker's commission withheld, the rest owed to the insurer. Audited. The same cheque number and
months again (a resent form) returns the payments it recorded; nothing is written when anything is refused.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.i18n import N_

from .activation import (ChequeDateInvalid, ChequeRefused, Issuer, _money, normalise_cheque_number, payments_of,
                         post_commissions, purpose)
from . import collection
from .cover_refunds import NOT_REFUNDED_HERE, month_due_minor, months_payable
from .payment_models import MethodKind, Payment, PaymentState


class ChequeMonthsInvalid(ChequeRefused):
    field = "months"
    message = N_("Choose the months the cheque pays: months of the cover not paid yet, up to the end of cover.")


class ChequeMonthsAmountWrong(ChequeRefused):
    field = "amount"
    message = N_("The cheque must pay what is due for the months chosen, %(expected)s: a different amount cannot "
                 "be accepted (return it and ask for a new one).")


class ChequeBankMissing(ChequeRefused):
    field = "bank"
    message = N_("Give the bank the cheque is drawn on.")


def _paid(payment: Payment) -> bool:
    return payment.state in (PaymentState.succeeded, PaymentState.processing, PaymentState.refunded)


def months_open(session: Session, subscription, *, through: str | None = None) -> list[str]:
    """The months a cheque may pay now: payable (up to the end of cover), not paid (or being paid) yet."""
    if subscription.state in NOT_REFUNDED_HERE:
        return []
    paid = {p.purpose for p in payments_of(session, subscription) if _paid(p)}
    return [m for m in months_payable(subscription, through=through)
            if purpose(subscription, m) not in paid and month_due_minor(subscription, m) > 0]


def record_cheque_months(session: Session, actor, subscription, issuer: Issuer, *, months: list[str],
                         amount_minor: int, cheque_number_raw: str, bank: str | None, received_on: date,
                         today: date) -> list[Payment]:
    """Record a cheque paying `months` (YYYY-MM) of a running cover (see the module); returns its payments."""
    number = normalise_cheque_number(cheque_number_raw)
    months = sorted(set(months or []))
    keys = {m: f"cheque-{subscription.public_id}-{number}-{m}" for m in months}
    existing = list(session.scalars(select(Payment).where(Payment.idempotency_key.in_(list(keys.values())))))
    if months and len(existing) == len(months):
        return sorted(existing, key=lambda p: p.purpose)
    bank = (bank or "").strip()
    if not bank or len(bank) > 64:
        raise ChequeBankMissing()
    if not months or not set(months) <= set(months_open(session, subscription)):
        raise ChequeMonthsInvalid()
    due = {m: month_due_minor(subscription, m) for m in months}
    if amount_minor != sum(due.values()):
        raise ChequeMonthsAmountWrong(expected=_money(sum(due.values()), subscription.currency))
    if received_on > today or received_on < subscription.subscribed_on:
        raise ChequeDateInvalid()
    now, recorded = utcnow(), []
    for month in months:
        payment = Payment(volunteer_id=subscription.volunteer_id, purpose=purpose(subscription, month),
                          amount_minor=due[month], currency=subscription.currency.lower(), kind=MethodKind.cheque,
                          state=PaymentState.succeeded, idempotency_key=keys[month], provider_intent_id=None,
                          succeeded_at=now, cheque_number=number, cheque_bank=bank, received_on=received_on,
                          recorded_by_id=actor.id)
        session.add(payment)
        session.flush()
        recorded.append(payment)
        audit.record(session, "payment.cheque_recorded", actor=actor, subject=payment,
                     subscription=subscription.public_id, amount_minor=due[month], cheque_number=number,
                     bank=bank, month=month, received_on=received_on.isoformat())
        post_commissions(session, subscription, payment, issuer, today=today)
    collection.paid_otherwise(session, subscription, recorded, lambda _subscription: issuer, today=today, now=now)
    return recorded

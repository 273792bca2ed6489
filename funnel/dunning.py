"""The recovery of unpaid premiums (the tender's pre-litigation), Flask-free: each open case's steps done on
their day (funnel.collection_plan), exactly once each.

- reminder: an e-mail through the outbox in the volunteer's language, with what is due and a personal link to
  their area, where they update their payment method (then what is due is charged again: `charge_due`);
- retry: each unpaid month charged again on the saved method (a new attempt, a new idempotency key);
- litigation: the subscription is passed to staff with the amount due;
- suspension: no cover from that day until paid (the certificate, checked at /verify, says since when);
- termination: the cover ends for non-payment (final): the subscription's end, its contracts cancelled.
A payment of everything due (a retry, a charge on a new method, a late success) closes the case and brings the
subscription back to active (funnel.collection.recover_if_paid): no further step runs.

Each step done is a `DunningAction` row, unique per (case, step), inserted (INSERT … ON CONFLICT DO NOTHING) in
the same transaction as what the step does: a replayed run or a second worker does nothing more.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from agreements.verification import Verdict
from core import audit
from core.contracts import Contract, ContractStatus
from core.i18n import N_
from core.outbox import enqueue_mail

from . import journey, payments
from .activation import policy_number, purpose, sealed_certificate
from .catalogue import Cover
from .collection import (IssuerFor, amount_due, apply_outcome, charge_key, charge_month, months_of, open_case_of,
                         recover_if_paid, unpaid)
from .collection_models import DunningAction, DunningCase, DunningKind, DunningState
from .collection_plan import PLAN, STATE_AFTER, CollectionPlan, DunningStep, ended_on, steps_due, suspended_from
from .errors import FunnelError
from .models import Subscription, SubscriptionState
from .payment_models import MethodState, Payment, PaymentState, SavedPaymentMethod

#: how long the personal link a reminder carries is valid
LINK_DAYS = 30
#: the languages the reminder is written in with care (the catalog has the others too)
REMINDER_TEMPLATE = "dunning/reminder"


def open_cases(session: Session) -> list[int]:
    return list(session.scalars(select(DunningCase.id).where(DunningCase.state == DunningState.open)
                                .order_by(DunningCase.id)))


def _claim(session: Session, case: DunningCase, step: DunningStep, today: date, now: datetime, due_minor: int
           ) -> DunningAction | None:
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    action_id = session.execute(
        insert(DunningAction).values(case_id=case.id, step=step.code, kind=step.kind, done_on=today,
                                     amount_due_minor=due_minor, created_at=now)
        .on_conflict_do_nothing(index_elements=["case_id", "step"]).returning(DunningAction.id)
    ).scalar_one_or_none()
    return None if action_id is None else session.get(DunningAction, action_id)


def advance(session: Session, gateway: payments.PaymentGateway, case: DunningCase, issuer_for: IssuerFor, *,
            today: date, now: datetime, plan: CollectionPlan = PLAN) -> list[str]:
    """Do the steps of `case` due on `today` (see the module). Returns the codes of the steps done now."""
    subscription = case.subscription
    # one run at a time on this subscription (a concurrent run waits, then finds the steps done)
    session.execute(select(Subscription.id).where(Subscription.id == subscription.id).with_for_update())
    session.refresh(case)
    if case.state is not DunningState.open:
        return []
    done_now = []
    for step in steps_due(case.opened_on, today, [a.step for a in case.actions], plan):
        if recover_if_paid(session, subscription, now=now):
            break
        action = _claim(session, case, step, today, now, amount_due(session, subscription))
        if action is None:
            continue
        _do(session, gateway, case, action, step, issuer_for, today=today, now=now, plan=plan)
        done_now.append(step.code)
        session.refresh(case)
        if case.state is not DunningState.open:
            break
    session.flush()
    return done_now


def _do(session, gateway, case, action, step, issuer_for, *, today, now, plan) -> None:
    subscription = case.subscription
    if step.kind is DunningKind.reminder:
        action.message = remind(session, subscription, case, step, today=today, now=now, plan=plan)
    elif step.kind is DunningKind.retry:
        charge_due(session, gateway, subscription, issuer_for, today=today, now=now)
    else:
        _move(session, subscription, case, STATE_AFTER[step.kind], today=today, now=now,
              due_minor=action.amount_due_minor)
    audit.record(session, "subscription.dunning_step", subject=subscription, step=step.code, kind=step.kind.value,
                 case=case.public_id, amount_due_minor=action.amount_due_minor)


def remind(session: Session, subscription: Subscription, case: DunningCase, step: DunningStep, *, today: date,
           now: datetime, plan: CollectionPlan = PLAN):
    """The reminder e-mail (queued): what is due, the days of suspension and end, a personal link to the area."""
    volunteer = subscription.volunteer
    _link, raw = journey.issue_link(session, volunteer, days=LINK_DAYS, now=now)
    return enqueue_mail(
        session, "dunning/reminder", to=(subscription.holder or {}).get("email", volunteer.email),
        locale=subscription.language, subscription=subscription.public_id, step=step.code, link_token=raw,
        amount_due_minor=amount_due(session, subscription), currency=subscription.currency,
        suspended_from=suspended_from(case.opened_on, plan).isoformat(),
        ended_on=ended_on(case.opened_on, plan).isoformat(), last_notice=step.day >= _litigation_day(plan))


def _litigation_day(plan: CollectionPlan) -> int:
    return next((s.day for s in plan.steps if s.kind is DunningKind.litigation), plan.suspend_day)


def charge_due(session: Session, gateway: payments.PaymentGateway, subscription: Subscription,
               issuer_for: IssuerFor, *, today: date, now: datetime) -> int:
    """Charge every unpaid month again on the subscription's saved method (a retry, or after the volunteer gave
    a new one). Returns how many were charged; a month paid or being paid is left alone."""
    charged = 0
    for row in unpaid(session, subscription):
        if charge_month(session, gateway, subscription, row, issuer_for, today=today, now=now) is not None:
            charged += 1
    return charged


def _move(session: Session, subscription: Subscription, case: DunningCase, state: SubscriptionState, *,
          today: date, now: datetime, due_minor: int) -> None:
    old = subscription.state
    if old in (SubscriptionState.ended_non_payment, SubscriptionState.withdrawn, SubscriptionState.closed):
        return
    subscription.state, subscription.updated_at = state, now
    details = {"old": old.value, "amount_due_minor": due_minor, "case": case.public_id, "on": today.isoformat()}
    if state is SubscriptionState.ended_non_payment:
        subscription.ends_on = min(subscription.ends_on, today)
        subscription.commitment_ends_on = min(subscription.commitment_ends_on, today)
        case.state, case.closed_at = DunningState.ended, now
        for value in subscription.choices:
            contract = session.scalar(select(Contract).where(
                Contract.policy_number == policy_number(subscription, Cover(value))))
            if contract is not None and contract.status is ContractStatus.in_force:
                contract.status, contract.cancelled_on = ContractStatus.cancelled, today
                audit.record(session, "contract.cancelled", subject=contract, reason="non-payment",
                             subscription=subscription.public_id)
    audit.record(session, f"subscription.{state.value}", subject=subscription, **details)
    session.flush()


# --- the volunteer updates their payment method ----------------------------------------------------------------

class NothingDue(FunnelError):
    code = "nothing_due"
    status = 409
    message = N_("Nothing is due on your cover: there is no payment to make.")


UPDATABLE = (SubscriptionState.past_due, SubscriptionState.litigation, SubscriptionState.suspended)


def _oldest_unpaid(session: Session, subscription: Subscription):
    rows = unpaid(session, subscription) if subscription.state in UPDATABLE else []
    if not rows:
        raise NothingDue()
    return rows[0]


def _use_method(session: Session, subscription: Subscription, method, *, now: datetime) -> None:
    if subscription.payment_method_id == method.id:
        return
    old = subscription.payment_method
    subscription.payment_method, subscription.updated_at = method, now
    session.flush()
    audit.record(session, "subscription.payment_method_updated", subject=subscription, kind=method.kind.value,
                 method=method.public_id, replaced=old.public_id if old is not None else None,
                 mandate_reference=method.mandate_reference)


def pay_due_by_card(session: Session, gateway: payments.PaymentGateway, subscription: Subscription,
                    issuer_for: IssuerFor, *, payment_method_id: str, today: date, now: datetime
                    ) -> tuple[Payment, str | None]:
    """A new card: the oldest unpaid month is charged on it at once (3-D Secure when the bank asks: the client
    secret is returned, and `finish_card` asks the provider how it ended), the card kept for the later months,
    and once it is confirmed the other months due are charged on it. The same form again charges once."""
    row = _oldest_unpaid(session, subscription)
    key = f"{charge_key(session, subscription, row.month)}-card"
    payment, secret = payments.pay_by_card(
        session, gateway, subscription.volunteer, purpose=purpose(subscription, row.month),
        amount_minor=row.amount_minor, currency=row.currency.lower(), payment_method_id=payment_method_id,
        idempotency_key=key, save_for_later=True)
    if payment is not row.payment:
        row.payment, row.attempts, row.updated_at = payment, row.attempts + 1, now
    session.flush()
    finish_card(session, gateway, subscription, row, issuer_for, today=today, now=now, refresh=False)
    return payment, secret


def finish_card(session: Session, gateway: payments.PaymentGateway, subscription: Subscription, row,
                issuer_for: IssuerFor, *, today: date, now: datetime, refresh: bool = True) -> None:
    """After the new card's payment (and its 3-D Secure challenge): the card becomes the subscription's method
    once the provider confirmed it, and the rest of what is due is charged on it."""
    payment = row.payment
    if refresh and payment is not None and payment.state is PaymentState.requires_action:
        payments.refresh_payment(session, gateway, payment)
    if payment is None or payment.state is not PaymentState.succeeded:
        if payment is not None and payment.state is PaymentState.failed:
            apply_outcome(session, subscription, row, issuer_for, today=today, now=now)
        return
    if payment.method is not None:
        _use_method(session, subscription, payment.method, now=now)
    apply_outcome(session, subscription, row, issuer_for, today=today, now=now)
    charge_due(session, gateway, subscription, issuer_for, today=today, now=now)


def card_in_progress(session: Session, subscription: Subscription):
    """The month whose new-card payment awaits its 3-D Secure challenge, if any."""
    return next((row for row in months_of(session, subscription)
                 if row.payment is not None and row.payment.state is PaymentState.requires_action), None)


def pay_due_by_sepa(session: Session, gateway: payments.PaymentGateway, subscription: Subscription,
                    issuer_for: IssuerFor, *, iban: str, holder_name: str, ip: str | None, user_agent: str | None,
                    today: date, now: datetime):
    """A new SEPA mandate (an IBAN of the SEPA scheme only): once active it is the subscription's method and
    everything due is debited on it (processing until the bank confirms)."""
    _oldest_unpaid(session, subscription)
    count = session.scalar(select(func.count(SavedPaymentMethod.id))
                           .where(SavedPaymentMethod.volunteer_id == subscription.volunteer_id))
    method = payments.save_sepa_mandate(session, gateway, subscription.volunteer, iban=iban, holder_name=holder_name,
                                        ip=ip, user_agent=user_agent,
                                        idempotency_key=f"sub-{subscription.public_id}-mandate-{count}")
    if method.state is MethodState.active:
        _use_method(session, subscription, method, now=now)
        charge_due(session, gateway, subscription, issuer_for, today=today, now=now)
    return method


# --- what staff and /verify read --------------------------------------------------------------------------------

def step_day(case: DunningCase, kind: DunningKind) -> date | None:
    """The day a step of this kind was done for the case (the first, if several)."""
    return next((a.done_on for a in case.actions if a.kind is kind), None)


def latest_case(session: Session, subscription: Subscription) -> DunningCase | None:
    return session.scalars(select(DunningCase).where(DunningCase.subscription_id == subscription.id)
                           .order_by(DunningCase.id.desc())).first()


def status_since(session: Session, subscription: Subscription) -> date | None:
    """Since when a suspended cover is suspended, or the day a cover ended for non-payment."""
    kind = {SubscriptionState.suspended: DunningKind.suspension,
            SubscriptionState.ended_non_payment: DunningKind.termination}.get(subscription.state)
    case = latest_case(session, subscription) if kind else None
    return step_day(case, kind) if case is not None else None


def sealed_certificate_status(session: Session, digest: str, reference: str | None) -> Verdict | None:
    """/verify's finder for certificates (activation.sealed_certificate), telling the cover's news: valid while
    past due or in litigation (the cover stays in force until the suspension), suspended since / ended for
    non-payment on a day afterwards."""
    verdict = sealed_certificate(session, digest, reference)
    if verdict is None or verdict.reference is None:
        return verdict
    subscription = session.scalar(select(Subscription).where(Subscription.reference == verdict.reference[:-2]))
    if subscription is None:
        return verdict
    status, since = verdict.status, None
    if subscription.state in (SubscriptionState.past_due, SubscriptionState.litigation):
        status = SubscriptionState.active.value
    elif subscription.state in (SubscriptionState.suspended, SubscriptionState.ended_non_payment):
        since = status_since(session, subscription)
    return Verdict(verdict.issued_here, verdict.intact, status, verdict.agreement_id, verdict.reference,
                   kind=verdict.kind, superseded=verdict.superseded,
                   status_since=since.isoformat() if since else None)


@dataclass(frozen=True)
class Overdue:
    subscription: Subscription
    case: DunningCase | None
    amount_due_minor: int


#: the states the staff's list of overdue premiums shows
OVERDUE_STATES = (SubscriptionState.past_due, SubscriptionState.litigation, SubscriptionState.suspended,
                  SubscriptionState.ended_non_payment)


def overdue(session: Session, state: SubscriptionState | None = None) -> list[Overdue]:
    """Subscriptions in recovery (or ended for non-payment) with what is due, oldest case first."""
    states = (state,) if state in OVERDUE_STATES else OVERDUE_STATES
    found = []
    for subscription in session.scalars(select(Subscription).where(Subscription.state.in_(states))
                                        .order_by(Subscription.id)):
        case = open_case_of(session, subscription) or latest_case(session, subscription)
        found.append(Overdue(subscription, case, amount_due(session, subscription)))
    return sorted(found, key=lambda o: (o.case.opened_on if o.case else date.max, o.subscription.id))

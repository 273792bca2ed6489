"""Payments, Flask-free: a volunteer pays by card (3-D Secure when the bank asks), saves a card or a SEPA
direct-debit mandate for later months, is charged on it off-session, is refunded; the provider's webhooks move
payments to the state it reports.

The provider sits behind `PaymentGateway` (a Protocol; the Stripe adapter is portal.payments.stripe_gateway).
Rules kept here, whatever the provider:
- the portal never trusts the browser: a payment is `succeeded` only when the provider says so, in the answer to
  a call, a retrieval (`refresh_payment`) or a signed webhook (`apply_webhook_event`);
- the same idempotency key never charges twice: it finds the payment it made, and is passed on to the provider;
- a provider that cannot be reached raises `PaymentUnavailable` before anything is written here (the caller
  rolls back; trying again with the same key is safe);
- SEPA direct debit is offered only for an IBAN of a country in the SEPA scheme (schwifty's registry).
Each function takes the session, flushes and never commits; each change is in the audit chain.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from schwifty.registry import get_iban_spec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.errors import DomainError
from core.i18n import N_

from .models import Volunteer
from .payment_models import (MethodKind, MethodState, Payment, PaymentCustomer, PaymentState,
                             ProcessedWebhookEvent, SavedPaymentMethod)

# --- errors ---------------------------------------------------------------------------------------------------


class PaymentError(DomainError):
    code = "payment_error"


class PaymentUnavailable(PaymentError):
    """The provider could not be reached, or answered with an error of its own: nothing was recorded."""

    code = "payment_unavailable"
    status = 503
    message = N_("The payment service cannot be reached just now, so nothing was recorded. Please try again in a "
                 "few minutes: you will not be charged twice.")


class IbanInvalid(PaymentError):
    code = "iban_invalid"
    field = "iban"
    message = N_("This is not a valid IBAN: please check it against your bank details.")


class SepaNotOffered(PaymentError):
    code = "sepa_not_offered"
    field = "iban"
    message = N_("SEPA direct debit is only offered for a bank account in the SEPA area, and this account is in "
                 "%(country)s. Please pay by card instead.")


class PaymentMismatch(PaymentError):
    """An idempotency key already used for another payment (another amount, purpose or volunteer)."""

    code = "payment_mismatch"
    status = 409
    message = N_("This payment form was already used for another payment. Please reload the page and try again.")


class RefundRefused(PaymentError):
    code = "refund_refused"
    message = N_("Only a collected payment can be refunded, up to what is left of it.")


class WebhookRejected(PaymentError):
    """A webhook whose signature does not verify (or that is not an event at all): nothing is processed."""

    code = "webhook_rejected"
    status = 400
    message = N_("The event's signature could not be verified.")


#: what a volunteer reads when a payment failed, by the provider's failure code
FAILURE_MESSAGES = {
    "card_declined": N_("Your card was declined, so nothing was charged. Please try another card or ask your "
                        "bank."),
    "authentication_failed": N_("The card's authentication (3-D Secure) did not succeed, so nothing was charged. "
                                "Please try again or use another card."),
    "authentication_required": N_("Your bank asks you to authenticate this payment: please pay it from your "
                                  "space."),
}
FAILURE_DEFAULT = N_("The payment did not go through, so nothing was charged. Please try again or use another "
                     "payment method.")


def failure_message(payment: Payment) -> str | None:
    """The msgid that tells the volunteer why their payment failed (None unless it failed)."""
    if payment.state is not PaymentState.failed:
        return None
    return FAILURE_MESSAGES.get(payment.failure_code or "", FAILURE_DEFAULT)


# --- the port -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntentResult:
    """A PaymentIntent as the provider reports it."""

    id: str | None
    #: the provider's status: succeeded, processing, requires_action, requires_payment_method, canceled...
    status: str
    #: for the browser to finish a 3-D Secure challenge with the provider's script (never stored)
    client_secret: str | None = None
    payment_method: str | None = None
    failure_code: str | None = None


@dataclass(frozen=True)
class MethodResult:
    """A payment method saved at the provider (a card, or a SEPA mandate set up through a SetupIntent)."""

    method_id: str
    kind: MethodKind
    #: the SetupIntent's status (succeeded, processing, requires_action...); None for a card saved by a payment
    status: str | None
    display: str
    country: str | None = None
    setup_id: str | None = None
    mandate_reference: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    #: the PaymentIntent the event is about, as the event carries it
    intent: IntentResult | None = None
    data: dict = field(default_factory=dict)


class PaymentGateway(Protocol):
    """What the funnel needs of a payment provider. A card decline is an answer (an IntentResult with status
    `requires_payment_method` and a failure code), not an exception; an unreachable provider raises
    PaymentUnavailable; a bad webhook signature raises WebhookRejected."""

    def create_customer(self, *, email: str, name: str, reference: str, idempotency_key: str) -> str: ...

    def pay_by_card(self, *, customer_id: str, payment_method_id: str, amount_minor: int, currency: str,
                    save_for_later: bool, metadata: dict, idempotency_key: str) -> IntentResult: ...

    def retrieve_intent(self, intent_id: str) -> IntentResult: ...

    def card_details(self, payment_method_id: str) -> MethodResult: ...

    def setup_sepa_mandate(self, *, customer_id: str, iban: str, holder_name: str, email: str, ip: str | None,
                           user_agent: str | None, idempotency_key: str) -> MethodResult: ...

    def charge_saved_method(self, *, customer_id: str, payment_method_id: str, kind: MethodKind, amount_minor: int,
                            currency: str, metadata: dict, idempotency_key: str) -> IntentResult: ...

    def refund(self, *, intent_id: str, amount_minor: int, idempotency_key: str) -> None: ...

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent: ...


# --- SEPA -----------------------------------------------------------------------------------------------------

_IBAN_CHARS = re.compile(r"[\s-]+")


def sepa_iban(value: str) -> str:
    """The IBAN in compact form if its account may be debited by SEPA direct debit. An account of a country
    outside the SEPA scheme (the US, Canada, Japan, Australia... whether or not its country issues IBANs) is
    refused with SepaNotOffered; a mistyped IBAN with IbanInvalid."""
    compact = _IBAN_CHARS.sub("", value or "").upper()
    country = compact[:2]
    if len(compact) < 5 or not country.isalpha() or not country.isascii():
        raise IbanInvalid()
    try:
        in_sepa = get_iban_spec(country).in_sepa_zone
    except (KeyError, SchwiftyException):
        in_sepa = False  # a country with no IBAN format at all
    if not in_sepa:
        raise SepaNotOffered(country=country)
    try:
        return IBAN(compact).compact
    except SchwiftyException:
        raise IbanInvalid() from None


def sepa_offered(iban: str) -> bool:
    """Whether SEPA direct debit can be offered for this IBAN (the form offers card payment otherwise)."""
    try:
        sepa_iban(iban)
    except PaymentError:
        return False
    return True


# --- the operations -------------------------------------------------------------------------------------------

_STATUS = {
    "succeeded": PaymentState.succeeded,
    "processing": PaymentState.processing,
    "requires_capture": PaymentState.processing,
    "requires_action": PaymentState.requires_action,
    "requires_confirmation": PaymentState.requires_action,
    "requires_payment_method": PaymentState.failed,
    "canceled": PaymentState.failed,
}


def customer_for(session: Session, gateway: PaymentGateway, volunteer: Volunteer) -> str:
    """The volunteer's customer id at the provider: made the first time, reused after."""
    found = session.scalar(select(PaymentCustomer.provider_customer_id)
                           .where(PaymentCustomer.volunteer_id == volunteer.id))
    if found:
        return found
    customer_id = gateway.create_customer(email=volunteer.email, name=volunteer.full_name,
                                          reference=volunteer.public_id,
                                          idempotency_key=f"customer-{volunteer.public_id}")
    try:
        with session.begin_nested():
            session.add(PaymentCustomer(volunteer_id=volunteer.id, provider_customer_id=customer_id))
            session.flush()
    except IntegrityError:  # made meanwhile by a concurrent request (Stripe answered both with one customer)
        pass
    return customer_id


def _existing(session: Session, volunteer: Volunteer, purpose: str, amount_minor: int, currency: str,
              idempotency_key: str) -> Payment | None:
    payment = session.scalar(select(Payment).where(Payment.idempotency_key == idempotency_key))
    if payment is not None and (payment.volunteer_id, payment.purpose, payment.amount_minor, payment.currency) != (
            volunteer.id, purpose, amount_minor, currency):
        raise PaymentMismatch()
    return payment


def _check_amount(amount_minor: int, currency: str) -> None:
    if not isinstance(amount_minor, int) or amount_minor <= 0 or not re.fullmatch(r"[a-z]{3}", currency):
        raise ValueError(f"a payment needs a positive amount in minor units and a currency: {amount_minor} {currency}")


def pay_by_card(session: Session, gateway: PaymentGateway, volunteer: Volunteer, *, purpose: str,
                amount_minor: int, currency: str, payment_method_id: str, idempotency_key: str,
                save_for_later: bool = False) -> tuple[Payment, str | None]:
    """Charge a card the volunteer just entered (a PaymentMethod id from the provider's script). Returns the
    payment and, when the bank asks for 3-D Secure (`requires_action`), the client secret the browser needs to
    finish it (then `refresh_payment` asks the provider how it ended). A declined card is a failed payment, not
    an exception. The same idempotency key again returns the payment it made, without a second charge."""
    _check_amount(amount_minor, currency)
    existing = _existing(session, volunteer, purpose, amount_minor, currency, idempotency_key)
    if existing is not None:
        secret = None
        if existing.state is PaymentState.requires_action and existing.provider_intent_id:
            secret = gateway.retrieve_intent(existing.provider_intent_id).client_secret
        return existing, secret
    customer_id = customer_for(session, gateway, volunteer)
    intent = gateway.pay_by_card(customer_id=customer_id, payment_method_id=payment_method_id,
                                 amount_minor=amount_minor, currency=currency, save_for_later=save_for_later,
                                 metadata={"purpose": purpose, "volunteer": volunteer.public_id},
                                 idempotency_key=idempotency_key)
    payment = _record_payment(session, intent, volunteer=volunteer, purpose=purpose, amount_minor=amount_minor,
                              currency=currency, kind=MethodKind.card, idempotency_key=idempotency_key,
                              provider_method_id=payment_method_id, save_method=save_for_later)
    _after_state(session, gateway, payment)
    return payment, intent.client_secret if payment.state is PaymentState.requires_action else None


def refresh_payment(session: Session, gateway: PaymentGateway, payment: Payment) -> Payment:
    """Ask the provider where the payment stands (after a 3-D Secure challenge, or to repair a payment whose
    webhook never came) and record it."""
    if payment.provider_intent_id and payment.state is not PaymentState.refunded:
        intent = gateway.retrieve_intent(payment.provider_intent_id)
        _apply_intent(session, payment, intent, source="retrieve")
        _after_state(session, gateway, payment)
    return payment


def _apply_intent(session: Session, payment: Payment, intent: IntentResult, *, source: str) -> bool:
    """Move the payment to the state the provider reports. A late or repeated report never undoes a success
    (nor a refund). Returns whether the state changed."""
    new = _STATUS.get(intent.status)
    old = payment.state
    if new is None or new is old or old is PaymentState.refunded:
        return False
    if old is PaymentState.succeeded and new is not PaymentState.succeeded:
        return False
    payment.state = new
    payment.updated_at = utcnow()
    if intent.failure_code:
        payment.failure_code = intent.failure_code
    elif new is PaymentState.failed and not payment.failure_code:
        payment.failure_code = "payment_failed"
    if new is PaymentState.succeeded:
        payment.succeeded_at = utcnow()
    session.flush()
    audit.record(session, "payment.state", subject=payment, old=old.value, new=new.value, source=source)
    return True


def _after_state(session: Session, gateway: PaymentGateway, payment: Payment) -> None:
    """A card paid with "keep it for later months" becomes a saved method once the provider confirmed it."""
    if not (payment.save_method and payment.state is PaymentState.succeeded and payment.method_id is None
            and payment.provider_method_id):
        return
    method = session.scalar(select(SavedPaymentMethod)
                            .where(SavedPaymentMethod.provider_method_id == payment.provider_method_id))
    if method is None:
        details = gateway.card_details(payment.provider_method_id)
        customer_id = customer_for(session, gateway, payment.volunteer)
        method = SavedPaymentMethod(volunteer_id=payment.volunteer_id, kind=MethodKind.card,
                                    state=MethodState.active, provider_customer_id=customer_id,
                                    provider_method_id=payment.provider_method_id, display=details.display,
                                    country=details.country, accepted_at=utcnow())
        session.add(method)
        session.flush()
        audit.record(session, "payment_method.saved", subject=method, kind="card")
    payment.method = method
    session.flush()


def save_sepa_mandate(session: Session, gateway: PaymentGateway, volunteer: Volunteer, *, iban: str,
                      holder_name: str, idempotency_key: str, ip: str | None = None,
                      user_agent: str | None = None) -> SavedPaymentMethod:
    """Collect a SEPA direct-debit mandate on the volunteer's IBAN through a SetupIntent; the mandate reference is
    on the saved method (show it). Refused before the provider is asked for an IBAN outside the SEPA scheme."""
    compact = sepa_iban(iban)
    customer_id = customer_for(session, gateway, volunteer)
    result = gateway.setup_sepa_mandate(customer_id=customer_id, iban=compact, holder_name=holder_name,
                                        email=volunteer.email, ip=ip, user_agent=user_agent,
                                        idempotency_key=idempotency_key)
    method = session.scalar(select(SavedPaymentMethod)
                            .where(SavedPaymentMethod.provider_method_id == result.method_id))
    if method is not None:
        return method
    state = {"succeeded": MethodState.active, "processing": MethodState.pending,
             "requires_action": MethodState.pending}.get(result.status or "", MethodState.failed)
    method = SavedPaymentMethod(volunteer_id=volunteer.id, kind=MethodKind.sepa_debit, state=state,
                                provider_customer_id=customer_id, provider_method_id=result.method_id,
                                provider_setup_id=result.setup_id, mandate_reference=result.mandate_reference,
                                display=result.display, country=result.country,
                                accepted_at=utcnow() if state is MethodState.active else None)
    session.add(method)
    session.flush()
    audit.record(session, "payment_method.saved", subject=method, kind="sepa_debit", state=state.value,
                 mandate_reference=result.mandate_reference, ip=ip)
    return method


def charge_saved_method(session: Session, gateway: PaymentGateway, method: SavedPaymentMethod, *, purpose: str,
                        amount_minor: int, currency: str, idempotency_key: str) -> Payment:
    """Charge a later month on a saved card or SEPA mandate, the volunteer absent (off-session). A SEPA debit is
    `processing` until the provider reports it collected; a card whose bank wants authentication fails with
    `authentication_required` (the volunteer pays it from their space)."""
    _check_amount(amount_minor, currency)
    if method.state is not MethodState.active:
        raise PaymentError(N_("This payment method is not active: please add another one."))
    volunteer = method.volunteer
    existing = _existing(session, volunteer, purpose, amount_minor, currency, idempotency_key)
    if existing is not None:
        return existing
    intent = gateway.charge_saved_method(customer_id=method.provider_customer_id,
                                         payment_method_id=method.provider_method_id, kind=method.kind,
                                         amount_minor=amount_minor, currency=currency,
                                         metadata={"purpose": purpose, "volunteer": volunteer.public_id},
                                         idempotency_key=idempotency_key)
    return _record_payment(session, intent, volunteer=volunteer, purpose=purpose, amount_minor=amount_minor,
                           currency=currency, kind=method.kind, idempotency_key=idempotency_key,
                           provider_method_id=method.provider_method_id, method=method)


def _record_payment(session: Session, intent: IntentResult, **values) -> Payment:
    """The payment as the provider answered its creation."""
    state = _STATUS.get(intent.status, PaymentState.failed)
    payment = Payment(state=state, provider_intent_id=intent.id, failure_code=intent.failure_code,
                      succeeded_at=utcnow() if state is PaymentState.succeeded else None, **values)
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except IntegrityError:
        # a concurrent request with the same key (a double click) recorded it first; Stripe, given the same key,
        # answered both with one PaymentIntent: that payment is the answer
        found = session.scalar(select(Payment).where(Payment.idempotency_key == values["idempotency_key"]))
        if found is None:
            raise
        return found
    audit.record(session, "payment.created", subject=payment, purpose=payment.purpose,
                 amount_minor=payment.amount_minor, currency=payment.currency, kind=payment.kind.value,
                 state=state.value, off_session=payment.method is not None and not payment.save_method)
    return payment


#: the provider the outbox worker's jobs pay and refund through: the app gives it (portal.payments), a test its own
_PROVIDED: list = []


def provide_gateway(factory) -> None:
    """Give the jobs run outside a request (the outbox worker) the provider, as a function that makes it."""
    _PROVIDED[:] = [factory]


def provided_gateway() -> PaymentGateway | None:
    """The provider given with `provide_gateway` (None without one: what needs it then raises PaymentUnavailable,
    and the job is retried later)."""
    return _PROVIDED[0]() if _PROVIDED else None


def refund_payment(session: Session, gateway: PaymentGateway, payment: Payment, *, amount_minor: int | None = None,
                   idempotency_key: str) -> Payment:
    """Refund a collected payment, all of it or `amount_minor` of it (a withdrawal refunds the period not
    covered). A payment collected outside the provider (a cheque) cannot be refunded through it: the amount is
    recorded as owed (`refund_owed_minor`), for finance to pay back by transfer and record (`record_refund_made`)."""
    amount = payment.amount_minor - payment.refunded_minor - payment.refund_owed_minor if amount_minor is None \
        else amount_minor
    if (payment.state not in (PaymentState.succeeded, PaymentState.refunded) or amount <= 0
            or payment.refunded_minor + payment.refund_owed_minor + amount > payment.amount_minor):
        raise RefundRefused()
    if not payment.provider_intent_id:
        payment.refund_owed_minor += amount
        payment.updated_at = utcnow()
        session.flush()
        audit.record(session, "payment.refund_owed", subject=payment, amount_minor=amount, kind=payment.kind.value)
        return payment
    gateway.refund(intent_id=payment.provider_intent_id, amount_minor=amount, idempotency_key=idempotency_key)
    payment.refunded_minor += amount
    old = payment.state
    payment.state = PaymentState.refunded
    payment.updated_at = utcnow()
    session.flush()
    audit.record(session, "payment.refunded", subject=payment, amount_minor=amount, old=old.value)
    return payment


class NoRefundOwed(PaymentError):
    code = "no_refund_owed"
    status = 409
    message = N_("Nothing is owed on this payment: there is no refund to record.")


class RefundReferenceMissing(PaymentError):
    code = "refund_reference_missing"
    field = "reference"
    message = N_("Give the reference of the transfer (or cheque) that paid the refund back.")


def record_refund_made(session: Session, actor, payment: Payment, *, reference: str) -> Payment:
    """Finance paid back by hand what was owed on a payment (a cheque's refund, by transfer): it becomes refunded.
    Refused when nothing is owed (a second submit changes nothing)."""
    reference = (reference or "").strip()
    if not reference or len(reference) > 64:
        raise RefundReferenceMissing()
    amount = payment.refund_owed_minor
    if amount <= 0:
        raise NoRefundOwed()
    payment.refunded_minor += amount
    payment.refund_owed_minor = 0
    old, payment.state, payment.updated_at = payment.state, PaymentState.refunded, utcnow()
    session.flush()
    audit.record(session, "payment.refunded", actor=actor, subject=payment, amount_minor=amount, old=old.value,
                 reference=reference, by_hand=True)
    return payment


def apply_webhook_event(session: Session, gateway: PaymentGateway, event: WebhookEvent) -> bool:
    """Process a verified provider event once: a replay (the same event id) changes nothing and returns False.
    payment_intent.succeeded / payment_failed / processing move the payment they are about."""
    if session.scalar(select(ProcessedWebhookEvent.id).where(ProcessedWebhookEvent.provider_event_id == event.id)):
        return False
    payment = None
    if event.intent is not None and event.intent.id:
        payment = session.scalar(select(Payment).where(Payment.provider_intent_id == event.intent.id))
        if payment is not None and event.type.startswith("payment_intent."):
            _apply_intent(session, payment, event.intent, source=f"webhook:{event.type}")
            _after_state(session, gateway, payment)
    session.add(ProcessedWebhookEvent(provider_event_id=event.id, kind=event.type[:64],
                                      payment_id=payment.id if payment is not None else None))
    session.flush()
    return True

"""The payment port (funnel.payments.PaymentGateway) on Stripe, through the official `stripe` client only.

Configured by STRIPE_SECRET_KEY, STRIPE_API_BASE (empty: Stripe itself; else a fake server such as localstripe)
and STRIPE_WEBHOOK_SECRET. Every call that creates something carries the caller's idempotency key, so a retry
(ours, or the client's own network retries) never charges twice.

Two calls differ on a fake server, which does not know their parameters: a card kept for later months is saved
by `setup_future_usage="off_session"` on Stripe and attached to the customer on the fake server; a SEPA
SetupIntent is confirmed with the mandate's acceptance (`mandate_data`: the volunteer's address and browser) on
Stripe only. The mandate reference comes from the Mandate object on Stripe, from the payment method on the fake.
"""
from __future__ import annotations

import stripe

from funnel.payment_models import MethodKind
from funnel.payments import IntentResult, MethodResult, PaymentUnavailable, WebhookEvent, WebhookRejected


def _get(obj, key: str, default=None):
    """A field of a Stripe object (or a plain dict), None when the answer does not carry it."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(key, default)
    try:
        return obj[key]
    except KeyError:
        return default


def _intent(obj) -> IntentResult:
    error = _get(obj, "last_payment_error")
    method = _get(obj, "payment_method")
    return IntentResult(id=_get(obj, "id"), status=_get(obj, "status") or "requires_payment_method",
                        client_secret=_get(obj, "client_secret"),
                        payment_method=method if isinstance(method, str) else _get(method, "id"),
                        failure_code=_failure_code(error))


def _failure_code(error) -> str | None:
    code = _get(error, "code")
    if code == "payment_intent_authentication_failure":
        return "authentication_failed"
    return code


class StripeGateway:
    def __init__(self, secret_key: str, *, api_base: str = "", webhook_secret: str = "",
                 max_network_retries: int = 2):
        if not secret_key:
            raise ValueError("STRIPE_SECRET_KEY is not set")
        base = {"api": api_base.rstrip("/")} if api_base else None
        self.fake_server = bool(api_base)
        self.webhook_secret = webhook_secret
        self.client = stripe.StripeClient(secret_key, base_addresses=base, max_network_retries=max_network_retries)

    # --- the port ---

    def create_customer(self, *, email: str, name: str, reference: str, idempotency_key: str) -> str:
        customer = self._call(self.client.v1.customers.create,
                              params={"email": email, "name": name, "metadata": {"volunteer": reference}},
                              options={"idempotency_key": idempotency_key})
        return customer.id

    def pay_by_card(self, *, customer_id: str, payment_method_id: str, amount_minor: int, currency: str,
                    save_for_later: bool, metadata: dict, idempotency_key: str) -> IntentResult:
        params = {"amount": amount_minor, "currency": currency, "customer": customer_id,
                  "payment_method": payment_method_id, "payment_method_types": ["card"], "confirm": True,
                  "metadata": metadata}
        if save_for_later:
            if self.fake_server:
                self._call(self.client.v1.payment_methods.attach, payment_method_id,
                           params={"customer": customer_id})
            else:
                params["setup_future_usage"] = "off_session"
        return self._confirm_intent(params, idempotency_key)

    def retrieve_intent(self, intent_id: str) -> IntentResult:
        return _intent(self._call(self.client.v1.payment_intents.retrieve, intent_id))

    def card_details(self, payment_method_id: str) -> MethodResult:
        method = self._call(self.client.v1.payment_methods.retrieve, payment_method_id)
        card = _get(method, "card") or {}
        return MethodResult(method_id=method.id, kind=MethodKind.card, status=None,
                            display=f"{_get(card, 'brand', 'card')} •••• {_get(card, 'last4', '')}",
                            country=_get(card, "country"))

    def setup_sepa_mandate(self, *, customer_id: str, iban: str, holder_name: str, email: str, ip: str | None,
                           user_agent: str | None, idempotency_key: str) -> MethodResult:
        method = self._call(self.client.v1.payment_methods.create,
                            params={"type": "sepa_debit", "sepa_debit": {"iban": iban},
                                    "billing_details": {"name": holder_name, "email": email}},
                            options={"idempotency_key": f"{idempotency_key}-method"})
        setup = self._call(self.client.v1.setup_intents.create,
                           params={"customer": customer_id, "payment_method_types": ["sepa_debit"],
                                   "usage": "off_session"},
                           options={"idempotency_key": f"{idempotency_key}-setup"})
        confirm = {"payment_method": method.id}
        if not self.fake_server:
            confirm["mandate_data"] = {"customer_acceptance": {
                "type": "online", "online": {"ip_address": ip or "", "user_agent": user_agent or ""}}}
        setup = self._call(self.client.v1.setup_intents.confirm, setup.id, params=confirm,
                           options={"idempotency_key": f"{idempotency_key}-confirm"})
        debit = _get(method, "sepa_debit") or {}
        reference = None
        mandate_id = _get(setup, "mandate")
        if isinstance(mandate_id, str):
            mandate = self._call(self.client.v1.mandates.retrieve, mandate_id)
            reference = _get(_get(_get(mandate, "payment_method_details"), "sepa_debit"), "reference")
        reference = reference or _get(debit, "mandate_reference")
        return MethodResult(method_id=method.id, kind=MethodKind.sepa_debit, status=_get(setup, "status"),
                            display=f"{_get(debit, 'country', iban[:2])} •••• {_get(debit, 'last4', iban[-4:])}",
                            country=_get(debit, "country", iban[:2]), setup_id=setup.id,
                            mandate_reference=reference)

    def charge_saved_method(self, *, customer_id: str, payment_method_id: str, kind: MethodKind, amount_minor: int,
                            currency: str, metadata: dict, idempotency_key: str) -> IntentResult:
        params = {"amount": amount_minor, "currency": currency, "customer": customer_id,
                  "payment_method": payment_method_id, "payment_method_types": [kind.value], "confirm": True,
                  "off_session": True, "metadata": metadata}
        return self._confirm_intent(params, idempotency_key)

    def refund(self, *, intent_id: str, amount_minor: int, idempotency_key: str) -> None:
        self._call(self.client.v1.refunds.create, params={"payment_intent": intent_id, "amount": amount_minor},
                   options={"idempotency_key": idempotency_key})

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        if not self.webhook_secret or not signature:
            raise WebhookRejected()
        try:
            event = stripe.Webhook.construct_event(payload, signature, self.webhook_secret)
        except (stripe.SignatureVerificationError, ValueError):
            raise WebhookRejected() from None
        obj = _get(_get(event, "data"), "object")
        intent = _intent(obj) if _get(obj, "object") == "payment_intent" else None
        return WebhookEvent(id=event.id, type=event.type, intent=intent)

    # --- helpers ---

    def _confirm_intent(self, params: dict, idempotency_key: str) -> IntentResult:
        """Create and confirm a PaymentIntent. A decline is an answer: the intent the error carries (Stripe gives
        it; a fake server may not), failed with the card's code."""
        try:
            return _intent(self.client.v1.payment_intents.create(params=params,
                                                                 options={"idempotency_key": idempotency_key}))
        except stripe.CardError as exc:
            intent = _get(exc.error, "payment_intent")
            code = exc.code or "card_declined"
            if code == "payment_intent_authentication_failure":
                code = "authentication_failed"
            return IntentResult(id=_get(intent, "id"), status="requires_payment_method",
                                payment_method=params["payment_method"], failure_code=code)
        except stripe.StripeError as exc:
            raise PaymentUnavailable(detail=str(exc)) from exc

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except stripe.StripeError as exc:
            raise PaymentUnavailable(detail=str(exc)) from exc


"""Payments through the real `stripe` client over HTTP against a real localstripe server: card payments (declined,
3-D Secure passed or abandoned), a SEPA mandate, off-session charges, refunds, a double submit, Stripe's webhook
(signed by localstripe itself, a bad signature, a replay), Stripe unreachable; and the payment page's CSP."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from core.audit import AuditEvent
from funnel.payment_models import (MethodKind, MethodState, Payment, PaymentCustomer, PaymentState,
                                   ProcessedWebhookEvent, SavedPaymentMethod)
from funnel.payments import (FAILURE_MESSAGES, PaymentMismatch, PaymentUnavailable, RefundRefused, SepaNotOffered,
                             charge_saved_method, failure_message, pay_by_card, refresh_payment, refund_payment,
                             save_sepa_mandate)
from funnel.roster import apply_events
from funnel.volunteers import find_volunteer
from portal.payments import allows_stripe_js, payment_page_csp
from portal.payments.stripe_gateway import StripeGateway
from portal.security import headers
from tests.localstripe import LocalStripe, signature_header, wait_for
from tests.smtp import free_port

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WEBHOOK_SECRET = "whsec_test_portal"
VISA = "4242424242424242"
DECLINED = "4000000000000341"
THREE_D_SECURE = "4000002500003155"
FR_IBAN = "FR76 3000 6000 0112 3456 7890 189"


@pytest.fixture(scope="session")
def localstripe():
    server = LocalStripe()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stripe_server(localstripe):
    localstripe.wipe()
    return localstripe


@pytest.fixture
def gateway(stripe_server):
    return StripeGateway("sk_test_localstripe", api_base=stripe_server.url, webhook_secret=WEBHOOK_SECRET,
                         max_network_retries=0)


@pytest.fixture
def stripe_app(app, stripe_server):
    """The test app talking to the localstripe server (its gateway made afresh from this configuration)."""
    saved = {k: app.config[k] for k in ("STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET", "STRIPE_MAX_NETWORK_RETRIES")}
    app.config.update(STRIPE_API_BASE=stripe_server.url, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                      STRIPE_MAX_NETWORK_RETRIES=0)
    app.extensions.pop("payment_gateway", None)
    yield app
    app.config.update(saved)
    app.extensions.pop("payment_gateway", None)


@pytest.fixture
def volunteer(session):
    record = {"event": "affiliation", "event_id": "BF-2026-000123-1", "occurred_at": "2026-11-02T08:00:00Z",
              "file_ref": "BF-2026-000123", "first_name": "Léa", "last_name": "Martin", "email": "lea@example.org",
              "birth_date": "2000-04-02", "programme": "VIE", "mission_country": "US",
              "mission_start": "2026-11-03", "mission_end": "2027-10-31", "language": "fr"}
    assert apply_events(session, [record], now=NOW).results[0].outcome.value == "created"
    session.commit()
    return find_volunteer(session, file_ref="BF-2026-000123")


def card(server: LocalStripe, number: str) -> str:
    """A card PaymentMethod, as Stripe.js makes one in the browser from what the volunteer types."""
    return server.api("POST", "/v1/payment_methods", {"type": "card", "card[number]": number, "card[exp_month]": "12",
                                                      "card[exp_year]": "2030", "card[cvc]": "123"})["id"]


def pay(session, gateway, volunteer, method_id, key="pay-1", amount=4250, **kwargs):
    payment, secret = pay_by_card(session, gateway, volunteer, purpose="subscription:abc:2026-12", amount_minor=amount,
                                  currency="eur", payment_method_id=method_id, idempotency_key=key, **kwargs)
    session.commit()
    return payment, secret


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- cards ----------------------------------------------------------------------------------------------------


def test_a_card_payment_succeeds_and_the_customer_is_made_once(session, gateway, stripe_server, volunteer):
    payment, secret = pay(session, gateway, volunteer, card(stripe_server, VISA))
    assert payment.state is PaymentState.succeeded and payment.is_paid and secret is None
    assert payment.succeeded_at is not None and payment.provider_intent_id.startswith("pi_")
    [intent] = stripe_server.payment_intents()
    assert (intent["id"], intent["amount"], intent["currency"], intent["status"]) == (
        payment.provider_intent_id, 4250, "eur", "succeeded")
    assert intent["metadata"] == {"purpose": "subscription:abc:2026-12", "volunteer": volunteer.public_id}

    second, _ = pay(session, gateway, volunteer, card(stripe_server, VISA), key="pay-2", amount=1000)
    assert second.state is PaymentState.succeeded
    assert count(session, PaymentCustomer) == 1
    customer = session.scalar(select(PaymentCustomer.provider_customer_id))
    assert {i["customer"] for i in stripe_server.payment_intents()} == {customer}
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "payment.created")) == 2


def test_a_declined_card_fails_with_a_clear_message_and_nothing_else(session, gateway, stripe_server, volunteer):
    payment, secret = pay(session, gateway, volunteer, card(stripe_server, DECLINED), save_for_later=True)
    assert payment.state is PaymentState.failed and not payment.is_paid and secret is None
    assert payment.failure_code == "card_declined"
    assert failure_message(payment) == FAILURE_MESSAGES["card_declined"]
    assert "declined" in failure_message(payment) and "nothing was charged" in failure_message(payment)
    assert count(session, SavedPaymentMethod) == 0
    assert [i["status"] for i in stripe_server.payment_intents()] == ["requires_payment_method"]


def test_a_3d_secure_challenge_passed_makes_the_payment_succeed_only_when_stripe_says_so(
        session, gateway, stripe_server, volunteer):
    payment, secret = pay(session, gateway, volunteer, card(stripe_server, THREE_D_SECURE))
    assert payment.state is PaymentState.requires_action and not payment.is_paid
    assert secret and secret.startswith(payment.provider_intent_id)
    # the browser's word is not enough: without Stripe's answer nothing moves
    refresh_payment(session, gateway, payment)
    assert payment.state is PaymentState.requires_action
    # the volunteer passes the challenge (Stripe.js, with the client secret)
    stripe_server.api("POST", f"/v1/payment_intents/{payment.provider_intent_id}/_authenticate",
                      {"client_secret": secret, "success": "true"})
    refresh_payment(session, gateway, payment)
    session.commit()
    assert payment.state is PaymentState.succeeded and payment.is_paid


def test_a_3d_secure_challenge_abandoned_is_never_counted_paid(session, gateway, stripe_server, volunteer):
    payment, secret = pay(session, gateway, volunteer, card(stripe_server, THREE_D_SECURE))
    # the volunteer closes the window: Stripe still waits, and so does the payment
    refresh_payment(session, gateway, payment)
    assert payment.state is PaymentState.requires_action and not payment.is_paid
    assert session.scalar(select(func.count()).select_from(Payment).where(
        Payment.state.in_([PaymentState.succeeded]))) == 0
    # the same form sent again finds this payment and the challenge to finish, without a second charge
    again, again_secret = pay(session, gateway, volunteer, "pm_ignored")
    assert again.id == payment.id and again_secret == secret
    assert len(stripe_server.payment_intents()) == 1
    # a failed challenge: the payment failed, with the reason
    stripe_server.api("POST", f"/v1/payment_intents/{payment.provider_intent_id}/_authenticate",
                      {"client_secret": secret, "success": "false"})
    refresh_payment(session, gateway, payment)
    assert payment.state is PaymentState.failed and payment.failure_code == "authentication_failed"
    assert "3-D Secure" in failure_message(payment)


def test_a_double_submit_with_the_same_key_charges_once(session, gateway, stripe_server, volunteer):
    method = card(stripe_server, VISA)
    first, _ = pay(session, gateway, volunteer, method)
    second, _ = pay(session, gateway, volunteer, method)
    assert first.id == second.id and count(session, Payment) == 1
    assert len(stripe_server.payment_intents()) == 1


def test_a_card_kept_for_later_is_charged_off_session_and_refunded(session, gateway, stripe_server, volunteer):
    payment, _ = pay(session, gateway, volunteer, card(stripe_server, VISA), save_for_later=True)
    method = payment.method
    assert method is not None and method.kind is MethodKind.card and method.state is MethodState.active
    assert method.display == "visa •••• 4242"
    later = charge_saved_method(session, gateway, method, purpose="subscription:abc:2027-01", amount_minor=4250,
                                currency="eur", idempotency_key="month-2027-01")
    session.commit()
    assert later.state is PaymentState.succeeded and later.method_id == method.id
    intents = {i["id"]: i for i in stripe_server.payment_intents()}
    assert intents[later.provider_intent_id]["payment_method"] == method.provider_method_id

    refund_payment(session, gateway, later, amount_minor=1000, idempotency_key="refund-1")
    session.commit()
    assert later.state is PaymentState.refunded and later.refunded_minor == 1000 and later.is_paid
    refunds = stripe_server.api("GET", "/v1/refunds")["data"]
    assert [(r["amount"], r["payment_intent"]) for r in refunds] == [(1000, later.provider_intent_id)]


def test_a_key_reused_for_another_amount_is_refused_and_a_failed_payment_is_not_refunded(
        session, gateway, stripe_server, volunteer):
    declined, _ = pay(session, gateway, volunteer, card(stripe_server, DECLINED))
    with pytest.raises(PaymentMismatch):
        pay(session, gateway, volunteer, card(stripe_server, VISA), amount=9999)
    session.rollback()
    with pytest.raises(RefundRefused):
        refund_payment(session, gateway, declined, idempotency_key="refund-1")
    assert len(stripe_server.payment_intents()) == 1 and stripe_server.api("GET", "/v1/refunds")["data"] == []


def test_a_payment_recorded_meanwhile_under_the_same_key_is_the_answer(session, gateway, stripe_server, volunteer):
    """Two requests of one double click both past the check: Stripe answers both with one PaymentIntent (same
    key), and the second to record finds the first's payment instead of failing."""
    from funnel.payments import IntentResult, _record_payment

    first, _ = pay(session, gateway, volunteer, card(stripe_server, VISA))
    again = _record_payment(session, IntentResult(id=first.provider_intent_id, status="succeeded"),
                            volunteer=volunteer, purpose=first.purpose, amount_minor=first.amount_minor,
                            currency="eur", kind=MethodKind.card, idempotency_key=first.idempotency_key,
                            provider_method_id=first.provider_method_id, save_method=False)
    session.commit()
    assert again.id == first.id and count(session, Payment) == 1 and len(stripe_server.payment_intents()) == 1


# --- SEPA -----------------------------------------------------------------------------------------------------


def test_a_sepa_mandate_is_collected_for_a_french_iban_and_debited(session, gateway, stripe_server, volunteer):
    method = save_sepa_mandate(session, gateway, volunteer, iban=FR_IBAN, holder_name="Léa Martin",
                               idempotency_key="mandate-1", ip="203.0.113.9", user_agent="Firefox")
    session.commit()
    assert method.kind is MethodKind.sepa_debit and method.state is MethodState.active
    assert method.mandate_reference and method.display == "FR •••• 0189" and method.country == "FR"
    assert method.provider_setup_id.startswith("seti_")
    setup = stripe_server.api("GET", f"/v1/setup_intents/{method.provider_setup_id}")
    assert (setup["status"], setup["payment_method"], setup["payment_method_types"]) == (
        "succeeded", method.provider_method_id, ["sepa_debit"])

    debit = charge_saved_method(session, gateway, method, purpose="subscription:abc:2027-01", amount_minor=4250,
                                currency="eur", idempotency_key="debit-1")
    session.commit()
    assert debit.kind is MethodKind.sepa_debit
    assert debit.state in (PaymentState.processing, PaymentState.succeeded)
    wait_for(lambda: refresh_payment(session, gateway, debit).state is PaymentState.succeeded, timeout=5)
    assert debit.state is PaymentState.succeeded


@pytest.mark.parametrize("iban,country", [("US64SVBKUS6S3300958879", "US"), ("CA12 3456 7890 1234 5678", "CA"),
                                          ("JP1234567890123456", "JP"), ("BR1800360305000010009795493C1", "BR")])
def test_an_account_outside_the_sepa_scheme_is_refused_before_stripe_is_asked(
        session, gateway, stripe_server, volunteer, iban, country):
    with pytest.raises(SepaNotOffered) as refused:
        save_sepa_mandate(session, gateway, volunteer, iban=iban, holder_name="Léa Martin", idempotency_key="m")
    assert f"in {country}" in str(refused.value) and "pay by card" in str(refused.value)
    assert refused.value.fields == {"iban": [SepaNotOffered.message]}
    session.rollback()
    assert count(session, SavedPaymentMethod) == 0 and count(session, PaymentCustomer) == 0
    assert stripe_server.api("GET", "/v1/customers")["data"] == []


# --- Stripe unreachable ---------------------------------------------------------------------------------------


def test_stripe_unreachable_is_a_clear_error_and_leaves_nothing_half_done(session, stripe_server, volunteer):
    closed = StripeGateway("sk_test_localstripe", api_base=f"http://127.0.0.1:{free_port()}", max_network_retries=0)
    with pytest.raises(PaymentUnavailable) as refused:
        pay_by_card(session, closed, volunteer, purpose="subscription:abc:2026-12", amount_minor=4250,
                    currency="eur", payment_method_id="pm_card_visa", idempotency_key="pay-1")
    assert refused.value.status == 503 and "cannot be reached" in str(refused.value)
    assert "will not be charged twice" in str(refused.value)
    session.rollback()  # as the edge does with any refusal
    assert count(session, Payment) == 0 and count(session, PaymentCustomer) == 0
    with pytest.raises(PaymentUnavailable):
        save_sepa_mandate(session, closed, volunteer, iban=FR_IBAN, holder_name="Léa Martin", idempotency_key="m")
    session.rollback()
    assert count(session, SavedPaymentMethod) == 0
    # Stripe back: the same form (the same key) pays, once
    live = StripeGateway("sk_test_localstripe", api_base=stripe_server.url, max_network_retries=0)
    payment, _ = pay(session, live, volunteer, card(stripe_server, VISA))
    assert payment.state is PaymentState.succeeded and len(stripe_server.payment_intents()) == 1


# --- the webhook ----------------------------------------------------------------------------------------------

WEBHOOK = "/funnel/stripe/webhook"


def _pending_3ds_payment(session, gateway, server, volunteer):
    """A payment waiting for 3-D Secure, then passed at Stripe: only Stripe's event can tell the portal."""
    payment, secret = pay(session, gateway, volunteer, card(server, THREE_D_SECURE))
    server.api("POST", f"/v1/payment_intents/{payment.provider_intent_id}/_authenticate",
               {"client_secret": secret, "success": "true"})
    return payment


def _event(server, intent_id: str, kind: str) -> bytes:
    events = [e for e in server.api("GET", "/v1/events?limit=100")["data"]
              if e["type"] == kind and e["data"]["object"]["id"] == intent_id]
    assert events, f"localstripe recorded no {kind} for {intent_id}"
    return json.dumps(events[0], indent=2, sort_keys=True).encode()


def _state(session, payment_id) -> PaymentState:
    session.expire_all()
    return session.get(Payment, payment_id).state


def test_a_signed_webhook_moves_the_payment_once_and_a_replay_changes_nothing(
        stripe_app, session, stripe_server, volunteer, client):
    from portal.payments import gateway as app_gateway

    payment = _pending_3ds_payment(session, app_gateway(), stripe_server, volunteer)
    body = _event(stripe_server, payment.provider_intent_id, "payment_intent.succeeded")
    signed = {"Stripe-Signature": signature_header(body, WEBHOOK_SECRET), "Content-Type": "application/json"}

    first = client.post(WEBHOOK, data=body, headers=signed)
    assert first.status_code == 200 and first.get_json() == {"received": True, "processed": True}
    assert _state(session, payment.id) is PaymentState.succeeded
    audit_count = count(session, AuditEvent)

    replay = client.post(WEBHOOK, data=body, headers=signed)
    assert replay.status_code == 200 and replay.get_json()["processed"] is False
    assert count(session, ProcessedWebhookEvent) == 1 and count(session, AuditEvent) == audit_count
    assert _state(session, payment.id) is PaymentState.succeeded


@pytest.mark.parametrize("signature", [None, "t=1,v1=deadbeef", "garbage", "sign-with-another-secret", "old"])
def test_a_webhook_with_a_bad_signature_is_refused_and_writes_nothing(
        stripe_app, session, stripe_server, volunteer, client, signature):
    from portal.payments import gateway as app_gateway

    payment = _pending_3ds_payment(session, app_gateway(), stripe_server, volunteer)
    body = _event(stripe_server, payment.provider_intent_id, "payment_intent.succeeded")
    if signature == "sign-with-another-secret":
        signature = signature_header(body, "whsec_someone_else")
    elif signature == "old":  # a genuine signature of long ago: outside Stripe's tolerance, a replay attack
        signature = signature_header(body, WEBHOOK_SECRET, at=1_600_000_000)
    headers = {"Content-Type": "application/json"} | ({"Stripe-Signature": signature} if signature else {})
    response = client.post(WEBHOOK, data=body, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "webhook_rejected"
    assert _state(session, payment.id) is PaymentState.requires_action
    assert count(session, ProcessedWebhookEvent) == 0
    # a tampered body under a genuine signature is refused too
    tampered = body.replace(b'"succeeded"', b'"succeeded" ', 1)
    response = client.post(WEBHOOK, data=tampered, headers={
        "Stripe-Signature": signature_header(body, WEBHOOK_SECRET), "Content-Type": "application/json"})
    assert response.status_code == 400 and count(session, ProcessedWebhookEvent) == 0


def test_localstripe_delivers_signed_events_the_portal_processes_once(stripe_app, session, stripe_server, volunteer):
    """End to end: localstripe posts its own signed payment_intent.succeeded to the portal over HTTP."""
    from portal.payments import gateway as app_gateway

    stripe_app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, stripe_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        stripe_server.register_webhook(f"http://127.0.0.1:{server.server_port}{WEBHOOK}", WEBHOOK_SECRET)
        payment = _pending_3ds_payment(session, app_gateway(), stripe_server, volunteer)
        assert wait_for(lambda: _state(session, payment.id) is PaymentState.succeeded, timeout=10)
        # (events of earlier tests still in localstripe's queue may arrive too: they are about no payment here)
        assert session.scalars(select(ProcessedWebhookEvent.kind)
                               .where(ProcessedWebhookEvent.payment_id == payment.id)).all() == [
            "payment_intent.succeeded"]
        assert session.get(Payment, payment.id).succeeded_at is not None
    finally:
        server.shutdown()
        thread.join(10)
        stripe_app.config["SERVER_NAME"] = "portal.test"
        stripe_server.register_webhook("http://127.0.0.1:9/nowhere", "whsec_unused")


def test_the_webhook_is_public_and_needs_no_csrf_token(app):
    from portal.security.access import access_for

    assert access_for(app, "payments.stripe_webhook").public


# --- the payment page's Content-Security-Policy ---------------------------------------------------------------


def test_only_a_payment_page_may_load_stripe_js(app, client, stripe_server):
    config = {"STRIPE_JS_URL": f"{stripe_server.url}/js.stripe.com/v3/", "STRIPE_API_BASE": stripe_server.url}
    page = Flask("payment-page")
    page.config.update(config)
    headers.init_app(page)
    page.add_url_rule("/pay", "pay", allows_stripe_js(lambda: "pay"))
    page.add_url_rule("/other", "other", lambda: "other")
    with page.test_client() as c:
        widened = c.get("/pay").headers["Content-Security-Policy"]
        strict = c.get("/other").headers["Content-Security-Policy"]
    assert strict == headers.CSP
    directives = dict(d.split(" ", 1) for d in widened.split("; "))
    assert directives["script-src"] == f"'self' {stripe_server.url}"
    assert directives["frame-src"] == stripe_server.url
    assert directives["connect-src"] == f"'self' {stripe_server.url}"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert widened == payment_page_csp(config)
    # Stripe.js is where the configuration says: localstripe serves it
    assert b"Stripe" in stripe_server.request("GET", "/js.stripe.com/v3/")
    # the portal's own pages keep the strict policy
    for url in ("/login", "/verify"):
        assert client.get(url).headers["Content-Security-Policy"] == headers.CSP, url


def test_real_stripe_js_and_its_frames_are_allowed_on_a_payment_page_in_production():
    csp = payment_page_csp({"STRIPE_JS_URL": "https://js.stripe.com/v3/", "STRIPE_API_BASE": ""})
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert directives["script-src"] == "'self' https://js.stripe.com"
    assert directives["frame-src"] == "https://js.stripe.com https://hooks.stripe.com"
    assert directives["connect-src"] == "'self' https://api.stripe.com https://js.stripe.com"

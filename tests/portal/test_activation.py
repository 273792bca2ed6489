"""Steps 5 and 6 of the volunteer's journey through the web client, against a real localstripe: the first month
paid by card (declined, 3-D Secure passed or abandoned, a double click) or by SEPA mandate (SEPA zone only), the
certificate issued at once (sealed, e-mailed, checked at /verify), the contracts placed by the system, the
broker's commission on the premium collected; and the reconciliation of an adhesion the browser left half done."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from core.contracts import Contract
from core.outbox import OutboxMessage
from core.products import ProductLine
from funnel.models import FunnelEvent, FunnelStage, Subscription, SubscriptionState
from funnel.payment_models import Payment, PaymentState
from ledger.collected_premiums import EVENT_KIND
from ledger.models import JournalEntry
from tests.conftest import csrf_from
from tests.funnel.premium_books import add_rates
from tests.portal import test_payments, test_volunteer_journey
from tests.portal.test_payments import DECLINED, FR_IBAN, THREE_D_SECURE, VISA, card
from tests.portal.test_volunteer_journey import _adhesion_data, _latest_code, _link, _post, _subscription

# the fixtures of the payment and journey tests: a real localstripe, the app talking to it, roster volunteers
localstripe, stripe_server, stripe_app = (test_payments.localstripe, test_payments.stripe_server,
                                          test_payments.stripe_app)
volunteer = test_volunteer_journey.volunteer

INSURER = "VOLUNTEER-TOPUP"


def _signed(client, session, someone) -> Subscription:
    """The volunteer quotes the health top-up (and the prévoyance one), adheres and signs."""
    assert client.get(_link(session, someone)).status_code == 302
    assert _post(client, "/my-cover/quote", {"health": "y", "health_formula": "essential", "prevoyance": "y",
                                             "prevoyance_formula": "standard"}).status_code == 302
    assert _post(client, "/my-cover/adhesion", _adhesion_data()).status_code == 302
    assert _post(client, "/my-cover/sign/code", {}).status_code == 302
    subscription = _subscription(someone)
    response = _post(client, "/my-cover/sign", {"typed_name": "Léa Martin", "code": _latest_code(session),
                                                "document_sha256": subscription.document_sha256})
    assert response.status_code == 302 and response.location.endswith("/my-cover/pay")
    return _subscription(someone)


_rates = add_rates  # the funnel's insurer and its 15 % rates (tests/funnel/premium_books.py)


def _pay_card(client, method_id, token=None):
    token = token or csrf_from(client.get("/my-cover/pay").get_data(as_text=True))
    return client.post("/my-cover/pay/card", data={"csrf_token": token, "payment_method": method_id})


def _challenge(client, stripe_server, someone, success: bool):
    """A 3-D Secure card paid from the page, then the challenge passed or failed at the bank (what Stripe.js does
    with the client secret the page carries). Returns the payment."""
    html = _pay_card(client, card(stripe_server, THREE_D_SECURE)).get_data(as_text=True)
    assert "3-D Secure" in html
    payment = _subscription(someone).first_payment
    secret = next(part for part in html.split('"') if part.startswith(f"{payment.provider_intent_id}_secret"))
    stripe_server.api("POST", f"/v1/payment_intents/{payment.provider_intent_id}/_authenticate",
                      {"client_secret": secret, "success": "true" if success else "false"})
    return payment


def _stages(session, someone) -> list[FunnelStage]:
    session.expire_all()
    return list(session.scalars(select(FunnelEvent.stage).where(FunnelEvent.volunteer_id == someone.id)))


def _commissions(session) -> list[JournalEntry]:
    return list(session.scalars(select(JournalEntry).where(JournalEntry.event_kind == EVENT_KIND)))


def test_a_card_payment_activates_the_cover_and_issues_the_certificate_at_once(
        stripe_app, stripe_server, session, volunteer):
    _rates(session)
    someone = volunteer(language="fr", dependants=False)
    client = stripe_app.test_client()
    subscription = _signed(client, session, someone)
    page = client.get("/my-cover/pay")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Payer mon premier mois" in html and "prélèvement SEPA" in html
    assert stripe_server.url in page.headers["Content-Security-Policy"]
    assert f'src="{stripe_app.config["STRIPE_JS_URL"]}"' in html
    # nothing moves before the provider confirmed a payment
    assert _subscription(someone).state is SubscriptionState.signed

    method, token = card(stripe_server, VISA), csrf_from(html)
    response = _pay_card(client, method, token)
    assert response.status_code == 302 and response.location.endswith("/my-cover/")
    again = _pay_card(client, method, token)  # a double click (or the form resent): never a second charge
    assert again.status_code == 302
    assert len(stripe_server.payment_intents()) == 1
    assert stripe_server.payment_intents()[0]["amount"] == subscription.monthly_total_minor

    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.active
    assert subscription.first_payment.state is PaymentState.succeeded
    assert subscription.payment_method is not None and "4242" in subscription.payment_method.display
    assert subscription.certificate_pdf and subscription.certificate_sha256
    stages = _stages(session, someone)
    assert stages.count(FunnelStage.paid) == 2  # one per cover
    assert {FunnelStage.payment_method_accepted, FunnelStage.certificate_issued} <= set(stages)
    assert stages.count(FunnelStage.certificate_issued) == 1

    home = client.get("/my-cover/").get_data(as_text=True)
    assert "attestation d&#39;assurance" in home.lower() or "attestation d'assurance" in home.lower()
    pdf = client.get("/my-cover/certificate.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data == subscription.certificate_pdf
    mails = session.scalars(select(OutboxMessage).where(OutboxMessage.template == "certificate")).all()
    assert len(mails) == 1 and mails[0].attachment_ref == f"certificate:{subscription.public_id}"
    assert mails[0].locale == "fr"

    # two contracts, one per cover, placed by the system (no user, no partner)
    contracts = session.scalars(select(Contract).order_by(Contract.policy_number)).all()
    assert [c.product_line for c in contracts] == [ProductLine.volunteer_health_topup,
                                                   ProductLine.volunteer_prevoyance_topup]
    assert all(c.placed_by_id is None and c.organisation_id is None for c in contracts)
    # the broker's commission on the premium collected: 15 % of each cover's month, once
    entries = _commissions(session)
    assert sorted(e.details["commission_minor"] for e in entries) == sorted(
        round(Decimal(e.details["premium_minor"]) * Decimal("0.15")) for e in entries)
    assert sum(e.details["premium_minor"] for e in entries) == subscription.monthly_total_minor

    # the certificate is checked at /verify like the adhesion
    checker = stripe_app.test_client()
    token = csrf_from(checker.get("/verify").get_data(as_text=True))
    verdict = checker.post("/verify", data={"csrf_token": token, "file": (io.BytesIO(subscription.certificate_pdf),
                                                                          "certificate.pdf")},
                           content_type="multipart/form-data").get_data(as_text=True)
    assert "Authentic and intact" in verdict or "Authentique et intact" in verdict
    assert f"{subscription.reference}-C" in verdict


def test_a_declined_card_leaves_the_subscription_awaiting_payment_with_a_retry(
        stripe_app, stripe_server, session, volunteer):
    someone = volunteer(language="en", dependants=False)
    client = stripe_app.test_client()
    _signed(client, session, someone)
    response = _pay_card(client, card(stripe_server, DECLINED))
    assert response.status_code == 302 and response.location.endswith("/my-cover/pay")
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.payment_pending and subscription.certificate_pdf is None
    page = client.get("/my-cover/pay").get_data(as_text=True)
    assert "Your card was declined" in page and "try again" in page
    # the retry is a new attempt (a new key), and it pays
    assert _pay_card(client, card(stripe_server, VISA)).status_code == 302
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.active
    assert session.scalar(select(func.count()).select_from(Payment)) == 2
    assert FunnelStage.certificate_issued in _stages(session, someone)


def test_3d_secure_abandoned_then_passed(stripe_app, stripe_server, session, volunteer):
    someone = volunteer(language="en", dependants=False)
    client = stripe_app.test_client()
    _signed(client, session, someone)
    challenge = _pay_card(client, card(stripe_server, THREE_D_SECURE))
    html = challenge.get_data(as_text=True)
    assert challenge.status_code == 200 and "3-D Secure" in html
    payment = _subscription(someone).first_payment
    secret = next(part for part in html.split('"') if part.startswith(f"{payment.provider_intent_id}_secret"))
    # the browser says nothing that counts: back without authenticating, nothing moved
    assert client.get("/my-cover/pay/return").location.endswith("/my-cover/pay")
    assert "(3-D Secure) was not finished" in client.get("/my-cover/pay").get_data(as_text=True)
    assert _subscription(someone).state is SubscriptionState.payment_pending
    # the challenge failed (abandoned): a clear message and a retry
    stripe_server.api("POST", f"/v1/payment_intents/{payment.provider_intent_id}/_authenticate",
                      {"client_secret": secret, "success": "false"})
    assert client.get("/my-cover/pay/return").location.endswith("/my-cover/pay")
    assert "authentication (3-D Secure) did not succeed" in client.get("/my-cover/pay").get_data(as_text=True)
    assert _subscription(someone).state is SubscriptionState.payment_pending
    # a new attempt, authenticated this time
    _challenge(client, stripe_server, someone, success=True)
    assert client.get("/my-cover/pay/return").location.endswith("/my-cover/")
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.active and subscription.certificate_pdf


def test_a_sepa_mandate_in_the_sepa_zone_only(stripe_app, stripe_server, session, volunteer):
    someone = volunteer(language="fr", dependants=False)
    client = stripe_app.test_client()
    _signed(client, session, someone)
    token = csrf_from(client.get("/my-cover/pay").get_data(as_text=True))
    refused = client.post("/my-cover/pay/sepa", data={"csrf_token": token, "holder_name": "Léa Martin",
                                                      "iban": "US12 3456 7890 1234", "accept": "y"})
    assert refused.status_code == 422 and "carte" in refused.get_data(as_text=True)
    assert _subscription(someone).state is SubscriptionState.signed
    response = client.post("/my-cover/pay/sepa", data={"csrf_token": token, "holder_name": "Léa Martin",
                                                       "iban": FR_IBAN, "accept": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.active and subscription.certificate_pdf
    method = subscription.payment_method
    assert method.kind.value == "sepa_debit" and method.mandate_reference
    assert subscription.first_payment is not None and subscription.first_payment.kind.value == "sepa_debit"
    assert method.mandate_reference in client.get("/my-cover/").get_data(as_text=True)


def test_the_reconciliation_repairs_an_adhesion_the_browser_left_half_done(
        stripe_app, stripe_server, session, volunteer):
    _rates(session)
    someone = volunteer(language="it", dependants=False)  # a language with no certificate: English
    client = stripe_app.test_client()
    _signed(client, session, someone)
    # the volunteer passes 3-D Secure at the bank, then the browser closes: the portal never hears back
    _challenge(client, stripe_server, someone, success=True)
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.payment_pending and subscription.certificate_pdf is None

    result = stripe_app.test_cli_runner().invoke(args=["journey", "reconcile"])
    assert result.exit_code == 0, result.output
    assert f"{subscription.reference}: payment_pending -> active" in result.output
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.active and subscription.certificate_pdf
    assert subscription.first_payment.state is PaymentState.succeeded
    mails = session.scalars(select(OutboxMessage).where(OutboxMessage.template == "certificate")).all()
    assert len(mails) == 1 and mails[0].locale == "en"
    assert len(_commissions(session)) == 2
    # again: nothing more to repair, nothing written twice
    again = stripe_app.test_cli_runner().invoke(args=["journey", "reconcile"])
    assert again.exit_code == 0 and "repaired 0" in again.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.template == "certificate")) == 1
    assert len(_commissions(session)) == 2
    assert _stages(session, someone).count(FunnelStage.certificate_issued) == 1


def test_stripe_s_signed_webhook_activates_a_subscription_whose_browser_never_came_back(
        stripe_app, stripe_server, session, volunteer):
    from tests.localstripe import signature_header
    from tests.portal.test_payments import WEBHOOK_SECRET, _event

    someone = volunteer(language="fr", dependants=False)
    client = stripe_app.test_client()
    _signed(client, session, someone)
    payment = _challenge(client, stripe_server, someone, success=True)
    body = _event(stripe_server, payment.provider_intent_id, "payment_intent.succeeded")
    headers = {"Stripe-Signature": signature_header(body, WEBHOOK_SECRET), "Content-Type": "application/json"}
    webhook = stripe_app.test_client()
    assert webhook.post("/funnel/stripe/webhook", data=body, headers=headers).status_code == 200
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.active and subscription.certificate_pdf
    # replayed: nothing twice
    assert webhook.post("/funnel/stripe/webhook", data=body, headers=headers).get_json()["processed"] is False
    assert _stages(session, someone).count(FunnelStage.certificate_issued) == 1
    assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.template == "certificate")) == 1
    # the browser comes back late: it finds the cover active, and nothing more happens
    assert client.get("/my-cover/pay/return").location.endswith("/my-cover/")
    assert _stages(session, someone).count(FunnelStage.paid) == 2  # one per cover, once


def _cheque(client, subscription, token, **changes):
    data = {"csrf_token": token, "amount": f"{subscription.monthly_total_minor / 100:.2f}",
            "cheque_number": "0012345", "bank": "Banque Postale", "received_on": date.today().isoformat()}
    data.update(changes)
    return client.post(f"/subscriptions/{subscription.public_id}/cheque", data=data)


def test_a_cheque_recorded_by_finance_activates_the_cover_as_a_card_would(
        stripe_app, stripe_server, session, volunteer, make_user, login):
    from core.accounts import Role
    from core.audit import AuditEvent

    _rates(session)
    someone = volunteer(language="en", dependants=False)
    _signed(stripe_app.test_client(), session, someone)
    subscription = _subscription(someone)
    # an account manager reads the page but is not offered the cheque, nor may post one
    manager = login(make_user(Role.account_manager))
    assert "Record the cheque" not in manager.get(f"/subscriptions/{subscription.public_id}").get_data(as_text=True)
    finance = login(make_user(Role.finance))
    page = finance.get(f"/subscriptions/{subscription.public_id}").get_data(as_text=True)
    assert "Record the cheque" in page
    token = csrf_from(page)
    assert _cheque(manager, subscription, csrf_from(manager.get("/").get_data(as_text=True))).status_code == 403

    # a cheque for another amount is refused, saying what it must be; a bad number or a future date too
    wrong = _cheque(finance, subscription, token, amount="1.00")
    assert wrong.status_code == 422 and "must pay the first month&#39;s premium" in wrong.get_data(as_text=True)
    assert _cheque(finance, subscription, token, amount="1e999999999").status_code == 422
    assert _cheque(finance, subscription, token, cheque_number="n°12/34").status_code == 422
    assert _cheque(finance, subscription, token, received_on="2999-01-01").status_code == 422
    assert _subscription(someone).first_payment is None

    response = _cheque(finance, subscription, token)
    assert response.status_code == 302
    again = _cheque(finance, subscription, token, cheque_number="001 2345")  # the form resent: the same cheque
    assert again.status_code == 302
    subscription = _subscription(someone)
    payments = session.scalars(select(Payment)).all()
    assert len(payments) == 1 and payments[0].kind.value == "cheque" and payments[0].provider_intent_id is None
    assert (payments[0].cheque_number, payments[0].amount_minor) == ("0012345", subscription.monthly_total_minor)
    assert subscription.first_payment == payments[0] and subscription.state is SubscriptionState.active
    assert subscription.method_accepted_at and subscription.paid_at and subscription.certificate_pdf
    assert len(stripe_server.payment_intents()) == 0
    assert len(_commissions(session)) == 2
    assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.template == "certificate")) == 1
    assert {FunnelStage.payment_method_accepted, FunnelStage.certificate_issued} <= set(_stages(session, someone))
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "payment.cheque_recorded")) == 1
    # a second, different cheque no longer pays the first month: it must name the later months it pays
    other = _cheque(finance, subscription, token, cheque_number="999")
    assert other.status_code == 422 and len(session.scalars(select(Payment)).all()) == 1
    shown = finance.get(f"/subscriptions/{subscription.public_id}").get_data(as_text=True)
    assert "Cheque 0012345" in shown and "Months the cheque pays" in shown
    assert f'value="{subscription.start_on:%Y-%m}"' not in shown  # the first month is paid: not offered

    # a cheque for the next two months: checked against what they are due, recorded with its bank, each booked
    from funnel.cheques import months_open
    from funnel.cover_refunds import month_due_minor
    later = months_open(session, subscription)[:2]
    due = sum(month_due_minor(subscription, m) for m in later)
    assert f'value="{later[0]}"' in shown
    short = _cheque(finance, subscription, token, cheque_number="777", months=later, amount=f"{(due - 1) / 100:.2f}")
    assert short.status_code == 422 and "what is due for the months chosen" in short.get_data(as_text=True)
    no_bank = _cheque(finance, subscription, token, cheque_number="777", months=later, bank="",
                      amount=f"{due / 100:.2f}")
    assert no_bank.status_code == 422 and len(session.scalars(select(Payment)).all()) == 1
    paid = _cheque(finance, subscription, token, cheque_number="777", months=later, bank="Crédit Agricole",
                   amount=f"{due / 100:.2f}")
    assert paid.status_code == 302, paid.get_data(as_text=True)[-3000:]
    assert _cheque(finance, subscription, token, cheque_number="777", months=later, bank="Crédit Agricole",
                   amount=f"{due / 100:.2f}").status_code == 302  # resent: the same payments
    session.expire_all()
    recorded = session.scalars(select(Payment).where(Payment.cheque_number == "777").order_by(Payment.id)).all()
    assert [(p.purpose[-7:], p.cheque_bank) for p in recorded] == [(m, "Crédit Agricole") for m in later]
    assert sorted({e.details["month"] for e in _commissions(session)}) == sorted([f"{subscription.start_on:%Y-%m}",
                                                                                  *later])
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "payment.cheque_recorded")) == 3


def test_money_collected_for_a_subscription_closed_meanwhile_is_refunded_by_the_reconciliation(
        stripe_app, stripe_server, session, volunteer):
    from datetime import UTC, datetime

    from core.audit import AuditEvent
    from funnel.roster import apply_events

    _rates(session)
    someone = volunteer(language="en", dependants=False)
    client = stripe_app.test_client()
    _signed(client, session, someone)
    # 3-D Secure passed at the bank, the browser closed; then the roster says the mission ended: closed, no cover
    payment = _challenge(client, stripe_server, someone, success=True)
    apply_events(session, [{"event": "radiation", "event_id": f"{someone.file_ref}-9",
                            "occurred_at": "2026-11-20T08:00:00Z", "file_ref": someone.file_ref,
                            "end_date": "2026-12-31"}], now=datetime(2026, 12, 1, tzinfo=UTC))
    session.commit()
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.closed

    result = stripe_app.test_cli_runner().invoke(args=["journey", "reconcile"])
    assert result.exit_code == 0, result.output
    assert f"{subscription.reference}: closed, refunded" in result.output
    session.expire_all()
    payment = session.get(Payment, payment.id)
    assert payment.state is PaymentState.refunded and payment.refunded_minor == payment.amount_minor
    refunds = stripe_server.api("GET", "/v1/refunds")["data"]
    assert [(r["amount"], r["payment_intent"]) for r in refunds] == [(payment.amount_minor,
                                                                      payment.provider_intent_id)]
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.closed and subscription.certificate_pdf is None
    assert _commissions(session) == []
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "subscription.payment_refunded")) == 1
    # again: nothing refunded twice
    again = stripe_app.test_cli_runner().invoke(args=["journey", "reconcile"])
    assert again.exit_code == 0 and "refunded 0 payment(s)" in again.output
    assert len(stripe_server.api("GET", "/v1/refunds")["data"]) == 1
    # the mission continues after all: the subscription reopens awaiting payment; the refunded payment pays for
    # nothing, so the volunteer pays again (a new charge, not the refunded one found again)
    apply_events(session, [{"event": "prolongation", "event_id": f"{someone.file_ref}-10",
                            "occurred_at": "2026-11-25T08:00:00Z", "file_ref": someone.file_ref,
                            "mission_end": "2028-01-31"}], now=datetime(2026, 12, 1, tzinfo=UTC))
    session.commit()
    assert _subscription(someone).state is SubscriptionState.payment_pending
    assert "repaired 0" in stripe_app.test_cli_runner().invoke(args=["journey", "reconcile"]).output
    assert _subscription(someone).state is SubscriptionState.payment_pending
    assert _pay_card(client, card(stripe_server, VISA)).status_code == 302
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.active and subscription.first_payment.id != payment.id
    assert len(stripe_server.payment_intents()) == 2


def test_the_pay_page_runs_3d_secure_in_place_and_the_portal_still_decides(stripe_app, stripe_server, session,
                                                                             volunteer):
    """What the pay page's script gets when it sends the card form (one screen for the payment and its 3-D Secure
    challenge): a refusal to show by the card field, or the client secret for the challenge and the page that asks
    the provider how it ended; a card without challenge goes straight to the certificate."""
    someone = volunteer(language="en", dependants=False)
    client = stripe_app.test_client()
    _signed(client, session, someone)
    token = csrf_from(client.get("/my-cover/pay").get_data(as_text=True))
    as_json = {"Accept": "application/json"}
    refused = client.post("/my-cover/pay/card", data={"csrf_token": token, "payment_method": ""}, headers=as_json)
    assert refused.status_code == 422 and refused.is_json and refused.json["error"]
    assert _subscription(someone).first_payment is None

    answer = client.post("/my-cover/pay/card", headers=as_json, data={
        "csrf_token": token, "payment_method": card(stripe_server, THREE_D_SECURE)})
    assert answer.status_code == 200 and answer.json["next"].endswith("/my-cover/pay/return")
    payment = _subscription(someone).first_payment
    assert answer.json["client_secret"].startswith(f"{payment.provider_intent_id}_secret")
    # the browser's word counts for nothing: back before the bank said yes, nothing moved
    assert client.get(answer.json["next"]).location.endswith("/my-cover/pay")
    assert _subscription(someone).state is SubscriptionState.payment_pending
    stripe_server.api("POST", f"/v1/payment_intents/{payment.provider_intent_id}/_authenticate",
                      {"client_secret": answer.json["client_secret"], "success": "true"})
    assert client.get(answer.json["next"]).location.endswith("/my-cover/")
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.active and subscription.certificate_pdf
    assert len(stripe_server.payment_intents()) == 1

    other = volunteer(language="en", dependants=False)
    client = stripe_app.test_client()
    _signed(client, session, other)
    token = csrf_from(client.get("/my-cover/pay").get_data(as_text=True))
    answer = client.post("/my-cover/pay/card", headers=as_json, data={
        "csrf_token": token, "payment_method": card(stripe_server, VISA)})
    assert answer.json["client_secret"] is None and answer.json["next"].endswith("/my-cover/")
    assert _subscription(other).state is SubscriptionState.active
    assert "Thank you: your cover is active." in client.get(answer.json["next"]).get_data(as_text=True)

"""The monthly collection and the recovery of unpaid premiums through the web client and `flask funnel collect run`,
against a real localstripe (the official client over HTTP) and a real SMTP server: a later month charged once on the
saved card under replay and two concurrent runs, its commission posted once; a SEPA debit of the first month
returned after the certificate was issued (Stripe's signed webhook) → past due → a reminder e-mailed with a link →
a new IBAN → paid → active; a month never paid → litigation → suspended → ended, /verify saying so, staff seeing
every step and the amount due; a card that now declines, paid again with a new card from the volunteer's area."""
from __future__ import annotations

import io
import re
import threading
import time
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

from sqlalchemy import func, select

from core.accounts import Role
from core.outbox import OutboxMessage, deliver_due
from core.transports import SmtpTransport
from funnel.collection_models import DunningCase, PremiumCollection
from funnel.dates import add_months
from funnel.models import SubscriptionState
from funnel.payment_models import MethodKind, MethodState, Payment, PaymentCustomer, PaymentState, SavedPaymentMethod
from ledger.collected_premiums import EVENT_KIND
from ledger.models import JournalEntry
from portal.extensions import db
from tests.conftest import csrf_from
from tests.localstripe import signature_header, wait_for
from tests.portal import test_activation, test_payments
from tests.portal.test_activation import _rates, _signed
from tests.portal.test_dependant_addition import _active
from tests.portal.test_payments import DECLINED, VISA, WEBHOOK_SECRET, _event, card
from tests.portal.test_volunteer_journey import _subscription

localstripe, stripe_server, stripe_app = (test_payments.localstripe, test_payments.stripe_server,
                                          test_payments.stripe_app)
volunteer = test_activation.volunteer

FAILING_IBAN = "DE62370400440532013001"
GOOD_IBAN = "FR76 3000 6000 0112 3456 7890 189"
SENDER = "Portal <no-reply@portal.test>"


def at(day: date) -> str:
    return f"{day.isoformat()}T09:00:00"


def collect(app, day: date) -> str:
    result = app.test_cli_runner().invoke(args=["funnel", "collect", "run", "--now", at(day)])
    assert result.exit_code == 0, result.output
    return result.output


def _card_subscription(stripe_app, stripe_server, session, volunteer):
    """An active cover whose first month was paid by card (kept for the later months)."""
    return _active(stripe_app, stripe_server, session, volunteer, dependants=False)


def _intents_for(stripe_server, subscription, month: str) -> list[dict]:
    return [i for i in stripe_server.payment_intents()
            if i["metadata"].get("purpose") == f"subscription:{subscription.public_id}:{month}"]


def _commissions(session, month: str) -> list[JournalEntry]:
    session.expire_all()
    return [e for e in session.scalars(select(JournalEntry).where(JournalEntry.event_kind == EVENT_KIND))
            if e.details["month"] == month]


def _post_event(app, stripe_server, intent_id: str, kind: str):
    body = _event(stripe_server, intent_id, kind)
    headers = {"Stripe-Signature": signature_header(body, WEBHOOK_SECRET), "Content-Type": "application/json"}
    response = app.test_client().post("/funnel/stripe/webhook", data=body, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _verify(app, pdf: bytes) -> str:
    checker = app.test_client()
    token = csrf_from(checker.get("/verify").get_data(as_text=True))
    return checker.post("/verify", data={"csrf_token": token, "file": (io.BytesIO(pdf), "certificate.pdf")},
                        content_type="multipart/form-data").get_data(as_text=True)


def _deliver(app, smtp_server, subject_part: str):
    with app.app_context():
        outcome = deliver_due(db.session, SmtpTransport("127.0.0.1", smtp_server.port, security="none"), SENDER,
                              batch=50)
        db.session.remove()
    assert outcome.failed == 0
    found = [message_from_bytes(m.as_bytes(), policy=policy.default) for _r, m in smtp_server.messages]
    return [m for m in found if subject_part in m["Subject"]]


def test_a_later_month_is_charged_once_under_replay_and_two_concurrent_runs(
        stripe_app, stripe_server, session, volunteer, make_user, login):
    _client, _someone, s = _card_subscription(stripe_app, stripe_server, session, volunteer)
    month_start = add_months(s.start_on, 1)
    month = month_start.strftime("%Y-%m")
    assert "0 months due" in collect(stripe_app, month_start - timedelta(days=1))

    from funnel import collection
    from portal.payments import gateway
    from portal.volunteer.recovery import issuer

    now = datetime.combine(month_start, datetime.min.time(), tzinfo=UTC)
    barrier, outcomes, errors = threading.Barrier(2), [], []

    def worker():  # one scheduled run: decide, then charge; both decided before either charges
        try:
            with stripe_app.app_context():
                items = collection.due(db.session, today=month_start)
                db.session.rollback()
                barrier.wait()
                for item in items:
                    outcomes.append(collection.collect(db.session, gateway(), item, issuer, today=month_start,
                                                       now=now))
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(outcomes) == ["succeeded", "taken"]  # both saw the month due; one charged it
    paid = _intents_for(stripe_server, s, month)
    assert [(i["amount"], i["status"]) for i in paid] == [(s.monthly_total_minor, "succeeded")]
    # replayed (a crash and a restart, a second scheduler): nothing more
    assert "0 months due" in collect(stripe_app, month_start)
    assert "0 months due" in collect(stripe_app, month_start + timedelta(days=3))
    assert len(_intents_for(stripe_server, s, month)) == 1
    session.expire_all()
    [row] = session.scalars(select(PremiumCollection)).all()
    assert (row.month, row.amount_minor, row.attempts, row.payment.state) == (
        month, s.monthly_total_minor, 1, PaymentState.succeeded)
    # the broker's commission on that month, once per cover
    entries = _commissions(session, month)
    assert len(entries) == 2 and sum(e.details["premium_minor"] for e in entries) == s.monthly_total_minor
    # staff see the month collected
    page = login(make_user(Role.finance)).get(f"/subscriptions/{s.public_id}").get_data(as_text=True)
    assert 'id="collection"' in page and "Paid" in page.split('id="collection"')[1].split("</section>")[0]


def _sepa_subscription_returned(stripe_app, stripe_server, session, volunteer):
    """A volunteer pays the first month by SEPA on an account whose debit the bank returns: the cover is active and
    the certificate issued at once; then Stripe's payment_failed arrives, signed."""
    _rates(session)
    someone = volunteer(language="fr", dependants=False)
    client = stripe_app.test_client()
    _signed(client, session, someone)
    token = csrf_from(client.get("/my-cover/pay").get_data(as_text=True))
    response = client.post("/my-cover/pay/sepa", data={"csrf_token": token, "holder_name": "Léa Martin",
                                                       "iban": FAILING_IBAN, "accept": "y"})
    assert response.status_code == 302
    s = _subscription(someone)
    assert s.state is SubscriptionState.active and s.certificate_pdf
    intent = s.first_payment.provider_intent_id
    assert wait_for(lambda: stripe_server.api("GET", f"/v1/payment_intents/{intent}")["status"]
                    == "requires_payment_method", timeout=10)
    time.sleep(0.2)
    assert _post_event(stripe_app, stripe_server, intent, "payment_intent.payment_failed")["processed"]
    return client, someone, _subscription(someone)


def test_a_sepa_debit_returned_after_the_certificate_is_recovered_with_a_new_iban(
        stripe_app, stripe_server, session, volunteer, smtp_server):
    _client, someone, s = _sepa_subscription_returned(stripe_app, stripe_server, session, volunteer)
    assert s.state is SubscriptionState.past_due and s.first_payment.state is PaymentState.failed
    today = datetime.now(UTC).date()
    assert "recovery steps done on 1 open cases" in collect(stripe_app, today)
    # the reminder, in French, through a real SMTP server, with the personal link
    [mail] = _deliver(stripe_app, smtp_server, "n'a pas abouti")
    text = mail.get_body(("plain",)).get_content()
    assert s.reference in mail["Subject"] and mail["To"] == s.holder["email"]
    assert f"{s.monthly_total_minor / 100:.2f}" in text.replace(",", ".")
    link = re.search(r"https?://\S+/v/\S+", text).group(0)
    # the certificate stays valid meanwhile
    assert "Active" in _verify(stripe_app, s.certificate_pdf) or "Actif" in _verify(stripe_app, s.certificate_pdf)

    volunteer_client = stripe_app.test_client()
    landing = volunteer_client.get(re.sub(r"^https?://[^/]+", "", link))
    assert landing.location.endswith("/my-cover/payment-method")
    page = volunteer_client.get("/my-cover/payment-method").get_data(as_text=True)
    assert 'id="amount-due"' in page
    token = csrf_from(page)
    response = volunteer_client.post("/my-cover/payment-method/sepa", data={
        "csrf_token": token, "holder_name": "Léa Martin", "iban": GOOD_IBAN, "accept": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    s = _subscription(someone)
    assert s.payment_method.display.startswith("FR")
    # the debit on the new mandate is confirmed by the bank; the next run (or the webhook) sees it
    retry = session.scalars(select(PremiumCollection)).one().payment
    assert wait_for(lambda: stripe_server.api("GET", f"/v1/payment_intents/{retry.provider_intent_id}")["status"]
                    == "succeeded", timeout=10)
    collect(stripe_app, today + timedelta(days=1))
    s = _subscription(someone)
    assert s.state is SubscriptionState.active
    assert session.scalars(select(DunningCase)).one().state.value == "recovered"
    assert len(_commissions(session, s.start_on.strftime("%Y-%m"))) == 2
    # recovered: no more reminders
    collect(stripe_app, today + timedelta(days=8))
    assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.template == "dunning/reminder")) == 1


def test_an_unrecovered_premium_goes_to_litigation_suspension_and_end_and_verify_says_so(
        stripe_app, stripe_server, session, volunteer, make_user, login):
    _client, someone, s = _sepa_subscription_returned(stripe_app, stripe_server, session, volunteer)
    opened = session.scalars(select(DunningCase)).one().opened_on
    staff = login(make_user(Role.account_manager))
    for day in (0, 5, 8, 12, 15):
        collect(stripe_app, opened + timedelta(days=day))
        if day in (5, 12):  # the retry on the same account is returned again
            session.expire_all()
            retry = session.scalars(select(PremiumCollection)).one().payment
            assert wait_for(lambda p=retry: stripe_server.api(
                "GET", f"/v1/payment_intents/{p.provider_intent_id}")["status"] == "requires_payment_method")
            collect(stripe_app, opened + timedelta(days=day))
    s = _subscription(someone)
    assert s.state is SubscriptionState.litigation
    listing = staff.get("/subscriptions/overdue").get_data(as_text=True)
    assert s.reference in listing and "Litigation" in listing
    assert f"{s.monthly_total_minor / 100:.2f}" in listing.split(s.reference)[1]
    assert "Active" in _verify(stripe_app, s.certificate_pdf)  # still valid in litigation

    collect(stripe_app, opened + timedelta(days=30))
    s = _subscription(someone)
    assert s.state is SubscriptionState.suspended
    verdict = _verify(stripe_app, s.certificate_pdf)
    assert "Authentic and intact" in verdict and 'id="status-since"' in verdict and "suspended" in verdict

    collect(stripe_app, opened + timedelta(days=60))
    s = _subscription(someone)
    assert s.state is SubscriptionState.ended_non_payment and s.ends_on == opened + timedelta(days=60)
    verdict = _verify(stripe_app, s.certificate_pdf)
    assert "Authentic and intact" in verdict and "ended for non-payment on" in verdict
    page = staff.get(f"/subscriptions/{s.public_id}").get_data(as_text=True)
    for step in ("Reminder e-mailed", "Charge retried", "Passed to litigation", "Cover suspended",
                 "Cover ended for non-payment"):
        assert step in page, step
    assert 'id="amount-due"' in page
    # the area says it, and no payment is asked for any more
    area = stripe_app.test_client()
    from funnel import journey

    _link, raw = journey.issue_link(session, s.volunteer)
    session.commit()
    area.get(f"/v/{raw}")
    home = area.get("/my-cover/").get_data(as_text=True)
    assert "non-paiement" in home and "/my-cover/payment-method" not in home
    before = len(stripe_server.payment_intents())
    collect(stripe_app, opened + timedelta(days=120))
    assert len(stripe_server.payment_intents()) == before


def _card_now_declines(stripe_server, session, subscription) -> None:
    """The card on file now declines (blocked by the bank): its PaymentMethod is the saved method."""
    method_id = card(stripe_server, DECLINED)
    customer = session.scalar(select(PaymentCustomer.provider_customer_id)
                              .where(PaymentCustomer.volunteer_id == subscription.volunteer_id))
    stripe_server.api("POST", f"/v1/payment_methods/{method_id}/attach", {"customer": customer})
    method = SavedPaymentMethod(volunteer_id=subscription.volunteer_id, kind=MethodKind.card,
                                state=MethodState.active, provider_customer_id=customer,
                                provider_method_id=method_id, display="visa •••• 0341")
    session.add(method)
    subscription.payment_method = method
    session.commit()


def test_a_declined_card_is_past_due_until_the_volunteer_pays_with_a_new_card(
        stripe_app, stripe_server, session, volunteer):
    client, someone, s = _card_subscription(stripe_app, stripe_server, session, volunteer)
    _card_now_declines(stripe_server, session, s)
    month_start = add_months(s.start_on, 1)
    month = month_start.strftime("%Y-%m")
    assert "1 failed" in collect(stripe_app, month_start)
    s = _subscription(someone)
    assert s.state is SubscriptionState.past_due
    home = client.get("/my-cover/").get_data(as_text=True)
    assert 'id="due"' in home and "/my-cover/payment-method" in home
    page = client.get("/my-cover/payment-method")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Your card was declined" in html
    assert stripe_server.url in page.headers["Content-Security-Policy"]
    token = csrf_from(html)
    # a bad form changes nothing
    assert client.post("/my-cover/payment-method/card", data={"csrf_token": token, "payment_method": "x"}
                       ).status_code == 422
    new_card = card(stripe_server, VISA)
    response = client.post("/my-cover/payment-method/card", data={"csrf_token": token,
                                                                   "payment_method": new_card})
    assert response.status_code == 302 and response.location.endswith("/my-cover/")
    again = client.post("/my-cover/payment-method/card", data={"csrf_token": token, "payment_method": new_card})
    assert again.status_code == 302  # a double submit: nothing is due any more, nothing charged
    s = _subscription(someone)
    assert s.state is SubscriptionState.active and s.payment_method.provider_method_id == new_card
    intents = _intents_for(stripe_server, s, month)
    assert sorted(i["status"] for i in intents) == ["requires_payment_method", "succeeded"]
    assert len(_commissions(session, month)) == 2
    # the next month goes on the new card
    nxt = add_months(s.start_on, 2)
    assert "1 paid" in collect(stripe_app, nxt)
    assert session.scalar(select(func.count()).select_from(Payment).where(
        Payment.state == PaymentState.succeeded)) == 3

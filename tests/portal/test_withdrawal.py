"""Step 7 of the volunteer's journey against a real localstripe: the area shows the cover, the certificate, the
payments and the withdrawal deadline; a withdrawal within 14 days ends the cover, refunds the period not covered
(visible at localstripe) and takes back the commission on it, once however often it is sent; after the period it
is refused and writes nothing."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.contracts import Contract, ContractStatus
from funnel import withdrawal
from funnel.activation import cover_monthly_minor
from funnel.catalogue import Cover
from funnel.models import FunnelStage, SubscriptionState
from ledger import commissions, engine
from ledger.collected_premiums import CLIENT_MONEY
from ledger.money import apply_rate, split
from tests.conftest import csrf_from
from tests.portal import test_activation, test_payments
from tests.portal.test_activation import _pay_card, _rates, _signed, _stages
from tests.portal.test_payments import VISA, card
from tests.portal.test_volunteer_journey import _post, _subscription

localstripe, stripe_server, stripe_app, gateway = (test_payments.localstripe, test_payments.stripe_server,
                                                   test_payments.stripe_app, test_payments.gateway)
volunteer = test_activation.volunteer


def _active(stripe_app, stripe_server, session, volunteer):
    _rates(session)
    someone = volunteer(language="fr", dependants=False)
    client = stripe_app.test_client()
    _signed(client, session, someone)
    assert _pay_card(client, card(stripe_server, VISA)).status_code == 302
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.active
    return client, someone, subscription


def _refunds(stripe_server) -> list[tuple[int, str]]:
    return [(r["amount"], r["payment_intent"]) for r in stripe_server.api("GET", "/v1/refunds")["data"]]


def _income(session, currency) -> int:
    session.expire_all()
    return engine.account(session, commissions.INCOME, currency).normal_balance


def test_the_area_shows_the_cover_and_a_withdrawal_before_the_start_refunds_everything_once(
        stripe_app, stripe_server, session, volunteer, gateway):
    client, someone, subscription = _active(stripe_app, stripe_server, session, volunteer)
    payment, currency = subscription.first_payment, subscription.currency
    assert _income(session, currency) > 0

    home = client.get("/my-cover/").get_data(as_text=True)
    assert 'id="cover"' in home and subscription.reference in home
    assert subscription.start_on.isoformat() in home and subscription.commitment_ends_on.isoformat() in home
    paid = f"{payment.amount_minor // 100},{payment.amount_minor % 100:02d}"
    assert 'id="payments"' in home and paid in home.split('id="payments"')[1] and "Mes paiements" in home
    assert "/my-cover/certificate.pdf" in home and "/my-cover/adhesion.pdf" in home
    assert "/my-cover/withdraw" in home

    page = client.get("/my-cover/withdraw")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="consequences"' in html
    assert "ne commencera pas" in html  # the cover had not started: it will not

    token = csrf_from(html)
    for hostile in ("\x00", "x" * 600):  # refused by the form: nothing withdrawn, nothing refunded
        assert client.post("/my-cover/withdraw", data={"csrf_token": token, "reason": hostile}).status_code < 500
        assert _subscription(someone).state is SubscriptionState.active and _refunds(stripe_server) == []
    response = client.post("/my-cover/withdraw", data={"csrf_token": token, "reason": "changed my mind"})
    assert response.status_code == 302 and response.location.endswith("/my-cover/")
    again = client.post("/my-cover/withdraw", data={"csrf_token": token})  # a double submit
    assert again.status_code == 302

    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.withdrawn and subscription.withdrawn_at is not None
    # before the cover started: everything paid comes back, once, at the provider
    assert _refunds(stripe_server) == [(payment.amount_minor, payment.provider_intent_id)]
    assert subscription.first_payment.refunded_minor == payment.amount_minor
    # the broker's commission on it is taken back; the contracts are cancelled
    assert _income(session, currency) == 0
    assert {c.status for c in session.scalars(select(Contract))} == {ContractStatus.cancelled}
    assert _stages(session, someone).count(FunnelStage.withdrawn) == 2  # one per cover
    # the domain operation again (a retry): nothing more
    assert withdrawal.withdraw(session, gateway, subscription, today=subscription.start_on,
                               now=datetime.now(UTC)).done_now is False
    assert len(_refunds(stripe_server)) == 1

    home = client.get("/my-cover/").get_data(as_text=True)
    assert f"Votre adhésion {subscription.reference} est rétractée" in home
    assert "/my-cover/withdraw" not in home
    # the certificate checked at /verify: authentic, but the cover is withdrawn
    checker = stripe_app.test_client()
    token = csrf_from(checker.get("/verify").get_data(as_text=True))
    verdict = checker.post("/verify", data={"csrf_token": token, "file": (io.BytesIO(subscription.certificate_pdf),
                                                                          "certificate.pdf")},
                           content_type="multipart/form-data").get_data(as_text=True)
    assert "Status of the cover: <strong>Withdrawn</strong>" in verdict


def test_a_withdrawal_ten_days_into_the_cover_refunds_the_days_not_covered(
        stripe_app, stripe_server, session, volunteer, gateway):
    _client, _someone, subscription = _active(stripe_app, stripe_server, session, volunteer)
    payment, currency = subscription.first_payment, subscription.currency
    today = subscription.start_on + timedelta(days=10)
    period = withdrawal.month_period(subscription, subscription.start_on.strftime("%Y-%m"))
    expected = withdrawal.refund_due(payment.amount_minor, period, today)
    assert 0 < expected < payment.amount_minor

    result = withdrawal.withdraw(session, gateway, subscription, today=today, now=datetime.now(UTC))
    session.commit()
    assert result.refunded_minor == expected
    assert _refunds(stripe_server) == [(expected, payment.provider_intent_id)]
    assert subscription.ends_on == today - timedelta(days=1)
    # the books move by exactly the money returned (the refund split between the covers in proportion to their
    # month), and the commission stays on what each cover keeps of its month
    shares = [cover_monthly_minor(subscription, Cover(v)) for v in subscription.choices]
    kept = [share - part for share, part in zip(shares, split(expected, shares), strict=True)]
    rate = test_activation.Decimal("0.15")
    assert _income(session, currency) == sum(apply_rate(k, rate) for k in kept)
    assert engine.account(session, CLIENT_MONEY, currency).normal_balance == payment.amount_minor - expected
    from ledger.integrity import verify
    assert verify(session) == []


def test_a_late_withdrawal_is_refused_with_the_day_it_ended_and_writes_nothing(
        stripe_app, stripe_server, session, volunteer, gateway):
    client, someone, subscription = _active(stripe_app, stripe_server, session, volunteer)
    subscription.terms_message.sent_at = datetime.now(UTC) - timedelta(days=20)
    session.commit()
    last_day = (datetime.now(UTC) - timedelta(days=6)).date()
    audits = session.scalar(select(func.count()).select_from(AuditEvent))

    response = client.get("/my-cover/withdraw")
    assert response.status_code == 302
    assert last_day.isoformat() in client.get("/my-cover/").get_data(as_text=True)
    assert _post(client, "/my-cover/withdraw", {}).status_code == 302
    with pytest.raises(withdrawal.WithdrawalClosed) as refused:
        withdrawal.withdraw(session, gateway, subscription, today=datetime.now(UTC).date(), now=datetime.now(UTC))
    session.rollback()
    assert refused.value.params["day"] == last_day.isoformat()
    assert _refunds(stripe_server) == []
    assert _subscription(someone).state is SubscriptionState.active
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == audits


def test_a_volunteer_who_paid_by_cheque_withdraws_and_finance_pays_the_refund_back_by_transfer(
        stripe_app, stripe_server, session, volunteer, make_user, login):
    from core.accounts import Role
    from tests.portal.test_activation import _cheque

    _rates(session)
    someone = volunteer(language="en", dependants=False)
    client = stripe_app.test_client()
    _signed(client, session, someone)
    subscription = _subscription(someone)
    finance = login(make_user(Role.finance))
    token = csrf_from(finance.get(f"/subscriptions/{subscription.public_id}").get_data(as_text=True))
    assert _cheque(finance, subscription, token).status_code == 302
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.active and _income(session, subscription.currency) > 0

    page = client.get("/my-cover/withdraw").get_data(as_text=True)
    assert "by bank transfer" in page
    response = client.post("/my-cover/withdraw", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert "by bank transfer" in client.get("/my-cover/").get_data(as_text=True)
    subscription = _subscription(someone)
    payment = subscription.first_payment
    # nothing went through Stripe; the whole cheque (the cover had not started) is owed back, the commission reversed
    assert subscription.state is SubscriptionState.withdrawn and _refunds(stripe_server) == []
    assert (payment.refund_owed_minor, payment.refunded_minor) == (payment.amount_minor, 0)
    assert _income(session, subscription.currency) == 0

    url = f"/subscriptions/{subscription.public_id}"
    manager = login(make_user(Role.account_manager))
    shown = manager.get(url).get_data(as_text=True)
    assert f'id="refund-owed-{payment.public_id}"' in shown and "Record the refund as paid back" not in shown
    refund_url = f"{url}/payments/{payment.public_id}/refund-made"
    assert manager.post(refund_url, data={"csrf_token": csrf_from(shown), "reference": "VIR-1"}).status_code == 403
    page = finance.get(url).get_data(as_text=True)
    assert "Record the refund as paid back" in page
    empty = finance.post(refund_url, data={"csrf_token": csrf_from(page), "reference": ""})
    assert empty.status_code == 302 and _subscription(someone).first_payment.refund_owed_minor == payment.amount_minor
    made = finance.post(refund_url, data={"csrf_token": csrf_from(page), "reference": "VIR-2026-0042"})
    assert made.status_code == 302
    payment = _subscription(someone).first_payment
    assert (payment.refund_owed_minor, payment.refunded_minor) == (0, payment.amount_minor)
    again = finance.post(refund_url, data={"csrf_token": csrf_from(page), "reference": "VIR-2026-0042"})
    assert again.status_code == 302 and "Nothing is owed" in finance.get(url).get_data(as_text=True)
    assert _subscription(someone).first_payment.refunded_minor == payment.amount_minor
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "payment.refunded")) == 1
    assert finance.post(f"{url}/payments/{'0' * 32}/refund-made",
                        data={"csrf_token": csrf_from(page), "reference": "x"}).status_code == 404

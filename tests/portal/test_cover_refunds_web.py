"""Radiation refunds through the provider, against a real localstripe: a volunteer pays the first month by card
on the web; the roster radiates them ten days into that month; the outbox worker (`flask outbox work --once`)
refunds the days after the end of cover through Stripe, once, and a replayed radiation refunds nothing more. The
books follow (the refunded part's premium, commission and the insurer's share reversed) and still verify."""
from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from core.outbox import OutboxMessage
from funnel.activation import cover_monthly_minor
from funnel.catalogue import Cover
from funnel.cover_refunds import REFUND_JOB, months_payable
from funnel.payment_models import PaymentState
from funnel.roster import apply_events
from ledger.collected_premiums import CLIENT_MONEY
from ledger.integrity import verify
from ledger.models import Account
from tests.portal import test_activation, test_payments, test_volunteer_journey
from tests.portal.test_payments import VISA, card
from funnel.models import Subscription

localstripe, stripe_server, stripe_app = (test_payments.localstripe, test_payments.stripe_server,
                                          test_payments.stripe_app)
volunteer = test_volunteer_journey.volunteer


def _worker(app) -> None:
    result = app.test_cli_runner().invoke(args=["outbox", "work", "--once"])
    assert result.exit_code == 0, result.output


def _subscription_of(session, someone) -> Subscription:
    session.expire_all()
    volunteer_id = someone if isinstance(someone, int) else someone.id
    return session.scalar(select(Subscription).where(Subscription.volunteer_id == volunteer_id))


def _client_money(session) -> int:
    session.expire_all()
    return session.scalar(select(Account.balance_minor).where(Account.code == CLIENT_MONEY)) or 0


def test_a_radiation_refunds_the_days_after_the_end_through_the_provider_once(
        stripe_app, stripe_server, session, volunteer):
    test_activation._rates(session)
    someone = volunteer(language="en", dependants=False)
    client = stripe_app.test_client()
    test_activation._signed(client, session, someone)
    assert test_activation._pay_card(client, card(stripe_server, VISA)).status_code == 302
    s = _subscription_of(session, someone)
    assert s.first_payment.state is PaymentState.succeeded
    assert _client_money(session) == s.monthly_total_minor
    end = s.start_on + timedelta(days=9)  # ten days covered
    radiation = {"event": "radiation", "event_id": f"{someone.file_ref}-9", "occurred_at": "2026-11-30T08:00:00Z",
                 "file_ref": someone.file_ref, "end_date": end.isoformat()}
    someone = someone.id  # the worker's command ends the session's objects: only values are kept
    _worker(stripe_app)  # the certificate's e-mail and the rest: no refund is due yet
    assert stripe_server.api("GET", "/v1/refunds")["data"] == []

    assert apply_events(session, [radiation]).results[0].outcome.value == "updated"
    session.commit()
    s = _subscription_of(session, someone)
    assert s.ends_on == end and months_payable(s) == [f"{s.start_on:%Y-%m}"]
    days = (s.start_on.replace(month=s.start_on.month % 12 + 1, year=s.start_on.year + s.start_on.month // 12)
            - s.start_on).days
    kept = sum(int((Decimal(cover_monthly_minor(s, Cover(v))) * 10 / days).to_integral_value(ROUND_HALF_UP))
               for v in s.choices)
    total = s.monthly_total_minor
    _worker(stripe_app)
    refunds = stripe_server.api("GET", "/v1/refunds")["data"]
    assert [r["amount"] for r in refunds] == [total - kept]
    session.expire_all()
    assert _subscription_of(session, someone).first_payment.refunded_minor == total - kept

    # the radiation sent again, and the worker run again: nothing more is refunded
    assert apply_events(session, [radiation]).results[0].replayed
    session.commit()
    _worker(stripe_app)
    assert len(stripe_server.api("GET", "/v1/refunds")["data"]) == 1
    assert session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.job_name == REFUND_JOB)) == 1
    assert _client_money(session) == kept
    assert verify(session) == []

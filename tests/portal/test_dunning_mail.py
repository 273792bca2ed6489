"""The recovery reminder e-mail, as the outbox worker renders and sends it: the amount due written as the
volunteer's language writes money ("48,00 €" in French, "€48.00" in English), in the subject and the text, whatever
the worker's own language."""
from __future__ import annotations

from datetime import UTC, datetime, time

from core.accounts import Role
from funnel import collection, dunning
from funnel.dates import add_months
from funnel.models import SubscriptionState
from funnel.payment_models import MethodKind, MethodState, SavedPaymentMethod
from tests.funnel.premium_books import make_issuer, paid_subscription, seal_config
from tests.funnel.test_dunning import ScriptedProvider
from tests.portal.test_campaigns_web import deliver


def test_the_reminder_shows_the_amount_due_as_the_volunteers_language_writes_money(
        app, session, make_user, smtp_server, tmp_path):
    issuer = make_issuer(session, seal_config(tmp_path))
    staff = make_user(Role.finance)
    french = paid_subscription(session, staff, issuer, file_ref="BF-2026-990101")
    english = paid_subscription(session, staff, issuer, file_ref="BF-2026-990102", products=False)
    english.language = "en"
    for s in (french, english):  # the later months on a saved card, which the bank now declines
        s.payment_method = SavedPaymentMethod(
            volunteer_id=s.volunteer_id, kind=MethodKind.card, state=MethodState.active,
            provider_customer_id=f"cus_{s.volunteer_id}", provider_method_id=f"pm_{s.volunteer_id}",
            display="visa •••• 4242")
    session.commit()
    provider = ScriptedProvider("requires_payment_method", "requires_payment_method")
    day = add_months(french.start_on, 1)
    now = datetime.combine(day, time(6), tzinfo=UTC)
    for item in collection.due(session, today=day):
        collection.collect(session, provider, item, lambda _s: issuer, today=day, now=now)
    for case_id in dunning.open_cases(session):
        dunning.advance(session, provider, session.get(dunning.DunningCase, case_id), lambda _s: issuer,
                        today=day, now=now)
    session.commit()
    assert french.state is english.state is SubscriptionState.past_due

    mails = {m["To"]: m for m in deliver(app, smtp_server)}
    euros, cents = divmod(french.monthly_total_minor, 100)
    assert english.monthly_total_minor == french.monthly_total_minor and euros >= 10
    fr, en = mails[french.volunteer.email], mails[english.volunteer.email]
    fr_text, en_text = fr.get_body(("plain",)).get_content(), en.get_body(("plain",)).get_content()
    assert f"{euros},{cents:02d}\u00a0€" in fr["Subject"] and f"{euros},{cents:02d}\u00a0€" in fr_text
    assert f"€{euros}.{cents:02d}" not in fr["Subject"] + fr_text and "EUR" not in fr_text
    assert f"€{euros}.{cents:02d}" in en["Subject"] and f"€{euros}.{cents:02d}" in en_text

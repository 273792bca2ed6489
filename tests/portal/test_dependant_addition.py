"""Adding someone to a cover in force, against a real localstripe: the price shown first (per month, and now pro
rata), then the charge on the saved card, the person covered, the contract's premium, a new certificate (the old
one still authentic at /verify, reported as replaced), the commission on what was collected; a double submit
charges once; what the programme refuses is refused with its reason and writes nothing; a withdrawal afterwards
refunds the dependant's charge too and takes its commission back."""
from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

from pypdf import PdfReader
from sqlalchemy import func, select

from core.accounts import Role
from core.contracts import Contract
from core.i18n import format_day
from core.outbox import OutboxMessage
from funnel import additions, withdrawal
from funnel.addition_models import DependantAddition
from funnel.catalogue import Cover, PersonCategory
from funnel.eligibility import Confirmation, Relationship
from funnel.models import SubscriptionState
from funnel.payment_models import Payment
from ledger import commissions, engine
from ledger.models import JournalEntry
from portal.volunteer.activation import issuer
from tests.conftest import csrf_from
from tests.portal import test_activation, test_payments
from tests.portal.test_activation import _pay_card, _rates, _signed
from tests.portal.test_payments import VISA, card
from tests.portal.test_volunteer_journey import _post, _subscription

localstripe, stripe_server, stripe_app, gateway = (test_payments.localstripe, test_payments.stripe_server,
                                                   test_payments.stripe_app, test_payments.gateway)
volunteer = test_activation.volunteer

#: the sample grid's health top-up, formula "essential", zone 3 (the US)
CHILD_ZONE_3, SPOUSE_ZONE_3 = 2200, 4700
EVERYONE = {"no_salaried_work": "y", "not_national_of_mission_country": "y", "lives_in_mission_country": "y"}
CHILD = {"unmarried": "y", "tax_dependent": "y", **EVERYONE}


def _active(stripe_app, stripe_server, session, volunteer, *, dependants=True):
    """A volunteer (the roster declared a spouse and a child) whose health and prévoyance top-ups, for them
    alone, are paid by card and active."""
    _rates(session)
    someone = volunteer(language="en", dependants=dependants)
    client = stripe_app.test_client()
    _signed(client, session, someone)
    assert _pay_card(client, card(stripe_server, VISA)).status_code == 302
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.active
    return client, someone, subscription


def _new_child(born: date, **changes) -> dict:
    return {"who": "new", "category": "child", "first_name": "Zoé", "last_name": "Martin",
            "birth_date": born.isoformat(), "event_date": born.isoformat(), **CHILD, **changes}


def _intents(stripe_server) -> list[int]:
    return sorted(i["amount"] for i in stripe_server.api("GET", "/v1/payment_intents")["data"])


def _income(session, currency) -> int:
    session.expire_all()
    return engine.account(session, commissions.INCOME, currency).normal_balance


def _verify(app, pdf: bytes) -> str:
    checker = app.test_client()
    token = csrf_from(checker.get("/verify").get_data(as_text=True))
    return checker.post("/verify", data={"csrf_token": token, "file": (io.BytesIO(pdf), "certificate.pdf")},
                        content_type="multipart/form-data").get_data(as_text=True)


def test_a_newborn_is_priced_then_added_charged_once_and_named_on_a_new_certificate(
        stripe_app, stripe_server, session, volunteer, make_user, login):
    client, someone, subscription = _active(stripe_app, stripe_server, session, volunteer)
    before_total, old_certificate = subscription.monthly_total_minor, subscription.certificate_pdf
    paid_before, income_before = _intents(stripe_server), _income(session, subscription.currency)
    assert 'href="/my-cover/add-someone"' in client.get("/my-cover/").get_data(as_text=True)

    born = datetime.now(UTC).date() - timedelta(days=6)
    preview = _post(client, "/my-cover/add-someone", {**_new_child(born), "preview": "1"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="price"' in html
    # born before the cover starts and declared within 30 days: covered from the cover's start, so the whole
    # first month of cover (already paid) is charged for them, and each month's premium grows by theirs
    assert subscription.start_on.isoformat() in html.split('id="price"')[1]
    assert "22.00" in html and "Add them and pay" in html
    assert _intents(stripe_server) == paid_before and _subscription(someone).persons == subscription.persons

    token, quoted = csrf_from(html), re.search(r'name="quoted" type="hidden" value="(\d+)"', html).group(1)
    data = {**_new_child(born), "confirm": "1", "quoted": quoted, "csrf_token": token}
    response = client.post("/my-cover/add-someone", data=data)
    assert response.status_code == 302 and response.location.endswith("/my-cover/")
    assert client.post("/my-cover/add-someone", data=data).status_code in (200, 302)  # a double submit

    subscription = _subscription(someone)
    assert _intents(stripe_server) == sorted([*paid_before, CHILD_ZONE_3])  # charged once, at the provider
    assert [p["category"] for p in subscription.persons] == ["volunteer", "child"]
    assert subscription.monthly_total_minor == before_total + CHILD_ZONE_3
    (addition,) = subscription.additions
    assert (addition.covered_from, addition.charged_minor, addition.monthly_minor) == (
        subscription.start_on, CHILD_ZONE_3, CHILD_ZONE_3)
    assert addition.billed_from == (subscription.start_on.replace(day=28) + timedelta(days=5)).strftime("%Y-%m")
    # the health contract's yearly premium follows; the prévoyance one (the volunteer alone) does not change
    health = session.scalar(select(Contract).where(Contract.policy_number.like("%-H")))
    assert health.premium_minor == 12 * (
        sum(p["monthly"]["minor"] for c in subscription.quote["covers"] if c["cover"] == "health"
            for p in c["persons"]))
    # the broker's commission on the premium collected for the child, under its own key
    assert _income(session, subscription.currency) == income_before + round(CHILD_ZONE_3 * 0.15)

    # a new certificate names the child; the old one is still authentic but reported as replaced
    assert subscription.certificate_pdf != old_certificate
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(subscription.certificate_pdf)).pages)
    assert "Child" in text and subscription.start_on.isoformat() in text
    assert 'id="superseded"' in _verify(stripe_app, old_certificate)
    assert 'id="superseded"' not in _verify(stripe_app, subscription.certificate_pdf)
    mail = session.scalars(select(OutboxMessage).where(OutboxMessage.template == "dependant_added")).one()
    assert mail.attachment_ref == f"certificate:{subscription.public_id}" and "22.00" not in mail.subject

    home = client.get("/my-cover/").get_data(as_text=True)
    assert "Child" in home.split('id="cover"')[1] and "added to your premium" in home
    # staff see who was added, from when, for how much, and the charge's state
    staff = login(make_user(Role.account_manager)).get(f"/subscriptions/{subscription.public_id}")
    section = staff.get_data(as_text=True).split('id="additions"')[1].split("</section>")[0]
    assert "Zoé Martin" in section and format_day(subscription.start_on, "en") in section and "22.00" in section
    assert "Paid" in section


def test_what_the_programme_refuses_is_said_and_nothing_is_written(stripe_app, stripe_server, session, volunteer):
    client, someone, subscription = _active(stripe_app, stripe_server, session, volunteer)
    paid_before, rows_before = _intents(stripe_server), session.scalar(select(func.count(DependantAddition.id)))
    today = datetime.now(UTC).date()
    cases = [
        (_new_child(date(2000, 1, 1), event_date=today.isoformat()), "over the age limit"),
        ({**_new_child(today - timedelta(days=3)), "tax_dependent": ""}, "dependants for tax purposes"),
        (_new_child(today + timedelta(days=3)), "cannot be in the future"),
        ({**_new_child(today), "first_name": "", "category": ""}, "This field is required"),
        # the roster's spouse, but with salaried work and no relationship given
        ({"who": someone.current_dependants[0].public_id, "event_date": today.isoformat(),
          "not_national_of_mission_country": "y", "lives_in_mission_country": "y"}, "salaried work"),
    ]
    for data, reason in cases:
        for button in ("preview", "confirm"):
            response = _post(client, "/my-cover/add-someone", {**data, button: "1", "quoted": "0"})
            assert response.status_code == 422, reason
            assert reason in response.get_data(as_text=True), reason
    assert _intents(stripe_server) == paid_before
    assert session.scalar(select(func.count(DependantAddition.id))) == rows_before
    assert _subscription(someone).persons == subscription.persons


def test_a_price_that_changed_since_it_was_shown_is_shown_again_not_charged(
        stripe_app, stripe_server, session, volunteer):
    client, someone, _subscription_ = _active(stripe_app, stripe_server, session, volunteer)
    paid_before = _intents(stripe_server)
    born = datetime.now(UTC).date() - timedelta(days=2)
    response = _post(client, "/my-cover/add-someone", {**_new_child(born), "confirm": "1", "quoted": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "The price changed" in html and 'id="price"' in html
    assert _intents(stripe_server) == paid_before and not _subscription(someone).additions


def test_a_late_declaration_is_covered_from_next_month_and_charged_pro_rata(
        stripe_app, stripe_server, session, volunteer, gateway):
    """Ten days into the cover, the roster's spouse (married six weeks ago) is added: declared after 30 days, so
    covered from the first of next month, and charged for the days of the current month of cover from then."""
    _client, someone, subscription = _active(stripe_app, stripe_server, session, volunteer)
    today = subscription.start_on + timedelta(days=10)
    spouse = next(d for d in someone.current_dependants if d.category is PersonCategory.spouse)
    declaration = additions.Declaration(
        category=PersonCategory.spouse, birth_date=spouse.birth_date, event_date=today - timedelta(days=45),
        relationship=Relationship.married, dependant=spouse,
        answers={c: True for c in (Confirmation.no_salaried_work, Confirmation.not_national_of_mission_country,
                                   Confirmation.lives_in_mission_country)})
    result = additions.add_dependant(session, gateway, subscription, declaration, issuer_of(stripe_app, subscription),
                                     today=today)
    session.commit()
    addition = result.addition
    first_of_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    period_end = _same_day_next_month(subscription.start_on)
    assert addition.covered_from == first_of_next
    days, period_days = (period_end - first_of_next).days, (period_end - subscription.start_on).days
    expected = (2 * SPOUSE_ZONE_3 * days + period_days) // (2 * period_days)  # half up to the cent
    assert 0 < expected < SPOUSE_ZONE_3 and addition.charged_minor == expected
    assert result.payment.amount_minor == expected and sorted(_intents(stripe_server))[-1] >= expected
    # the spouse's monthly premium is billed from the next month of cover; this month's stays as it was
    month = subscription.start_on.strftime("%Y-%m")
    from funnel.activation import cover_monthly_minor

    assert cover_monthly_minor(subscription, Cover.health, month) + SPOUSE_ZONE_3 == cover_monthly_minor(
        subscription, Cover.health)
    # the same declaration again (a retry) finds the addition and charges nothing more
    intents = _intents(stripe_server)
    again = additions.add_dependant(session, gateway, subscription, declaration, issuer_of(stripe_app, subscription),
                                    today=today)
    assert again.addition.id == addition.id and _intents(stripe_server) == intents


def test_a_withdrawal_after_an_addition_refunds_its_charge_and_takes_its_commission_back(
        stripe_app, stripe_server, session, volunteer, gateway):
    client, someone, subscription = _active(stripe_app, stripe_server, session, volunteer)
    born = datetime.now(UTC).date() - timedelta(days=1)
    html = _post(client, "/my-cover/add-someone", {**_new_child(born), "preview": "1"}).get_data(as_text=True)
    quoted = re.search(r'name="quoted" type="hidden" value="(\d+)"', html).group(1)
    assert _post(client, "/my-cover/add-someone", {**_new_child(born), "confirm": "1",
                                                    "quoted": quoted}).status_code == 302
    subscription = _subscription(someone)
    assert _income(session, subscription.currency) > 0
    # before the cover starts: everything paid, the first month and the child's charge, comes back
    paid = sum(p.amount_minor for p in session.scalars(select(Payment)))
    assert withdrawal.refund_preview(session, subscription, today=subscription.start_on) == paid
    result = withdrawal.withdraw(session, gateway, subscription, today=subscription.start_on, now=datetime.now(UTC))
    session.commit()
    assert result.refunded_minor == paid
    refunded = sorted(r["amount"] for r in stripe_server.api("GET", "/v1/refunds")["data"])
    assert refunded == sorted(p.amount_minor for p in session.scalars(select(Payment)))
    assert _income(session, subscription.currency) == 0
    keys = set(session.scalars(select(JournalEntry.idempotency_key)))
    assert any(k.endswith(":reversed") and ":dependant:" in k for k in keys)


def test_only_an_active_health_top_up_takes_a_family(stripe_app, stripe_server, session, volunteer):
    _rates(session)
    someone = volunteer(language="en", dependants=False)
    client = stripe_app.test_client()
    _signed(client, session, someone)  # signed, not paid yet
    response = client.get("/my-cover/add-someone")
    assert response.status_code == 302 and response.location.endswith("/my-cover/")
    assert "signed and paid first" in client.get("/my-cover/").get_data(as_text=True)
    assert 'href="/my-cover/add-someone"' not in client.get("/my-cover/").get_data(as_text=True)


def issuer_of(app, subscription):
    with app.test_request_context():
        return issuer(subscription)


def _same_day_next_month(day: date) -> date:
    from funnel.dates import add_months

    return add_months(day, 1)

"""A person in a real browser: sign in, switch language, sign out."""
import pytest

from portal.accounts.models import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_sign_in_switch_language_sign_out(page, live_server, make_org, make_user):
    firm = make_org(legal_name="Lumen Expat Health Brokers SAS")
    user = make_user(Role.partner_admin, firm)

    page.goto(live_server + "/")
    assert page.url.startswith(live_server + "/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("heading", name=f"Welcome, {user.full_name}").wait_for()
    nav = page.get_by_role("navigation", name="Main navigation")
    assert nav.get_by_role("link", name="My firm").is_visible()
    assert nav.get_by_role("link", name="Users").count() == 0, "a partner never sees the staff menu"
    assert "Lumen Expat Health Brokers SAS" in page.content()

    # The language menu submits itself (progressive enhancement in portal.js, allowed by the CSP).
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("heading", name=f"Bienvenue, {user.full_name}").wait_for()
    assert page.locator("html").get_attribute("lang") == "fr"

    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("heading", name="Se connecter").wait_for()
    page.goto(live_server + "/")
    assert "/login" in page.url, "after signing out the home page asks to sign in again"


def test_wrong_password_shows_a_message_next_to_the_field(page, live_server, make_user):
    user = make_user(Role.finance)
    page.goto(live_server + "/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    error = page.locator("#password-err")
    error.wait_for()
    assert "incorrect" in error.inner_text()
    assert page.get_by_label("Password", exact=True).get_attribute("aria-invalid") == "true"


def test_partner_reviews_and_signs_an_agreement(page, live_server, app, session, make_org, make_user):
    """The firm's administrator signs in a real browser: typed name, password, confirmation."""
    from datetime import date

    from agreements import operations as ops
    from core.partners import Lifecycle
    from portal.agreements.services import broker_identity

    firm = make_org(legal_name="Azur Expat Courtage SARL", lifecycle=Lifecycle.approved)
    partner = make_user(Role.partner_admin, firm)
    staff = make_user(Role.admin)
    with app.test_request_context():
        agreement = ops.prepare_agreement(session, staff, firm, effective_from=date(2026, 1, 1))
        ops.send_for_signature(session, staff, agreement, broker_identity())
    session.commit()

    page.goto(live_server + "/login")
    page.get_by_label("E-mail address").fill(partner.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Agreements").click()
    page.get_by_role("link", name=agreement.reference).click()
    assert page.get_by_role("link", name="Open the PDF").is_visible()
    page.get_by_role("link", name="Review and sign").click()

    page.get_by_label("Type your full name to sign").fill(partner.full_name.upper())
    page.get_by_label("Your password, to confirm it is you").fill("wrong password")
    page.get_by_label("I have read the agreement and sign it on behalf of my firm").check()
    page.get_by_role("button", name="Sign", exact=True).click()
    page.get_by_text("The password is incorrect.").wait_for()

    page.get_by_label("Your password, to confirm it is you").fill(PASSWORD)
    page.get_by_label("I have read the agreement and sign it on behalf of my firm").check()
    page.get_by_role("button", name="Sign", exact=True).click()
    page.get_by_text("Thank you: the agreement is signed.").wait_for()
    assert page.get_by_text("Signed by the partner").first.is_visible()
    session.expire_all()
    assert [s.typed_name for s in session.get(type(agreement), agreement.id).signatures] == [partner.full_name.upper()]

"""The volunteer's journey through the web client: the personal link, the quote, the adhesion, the e-signature
(sealed, checked by pdfsig and at /verify). Bad input at each step writes nothing; the link and the one-time
code refuse what they must."""
from __future__ import annotations

import io
import re
import subprocess
from datetime import datetime, timedelta, UTC

import pytest
from sqlalchemy import func, select

from core.outbox import OutboxMessage, deliver_due
from funnel import journey
from funnel.models import AdhesionSignature, FunnelEvent, FunnelStage, SignatureCode, Subscription, SubscriptionState
from funnel.roster import apply_events
from funnel.seed import seed_sample_products
from funnel.volunteers import find_volunteer
from portal.extensions import db
from tests.agreements.pdftools import tamper_content_stream
from tests.conftest import csrf_from
from tests.system_tools import system_tool

_n = iter(range(1, 10_000))


@pytest.fixture
def volunteer(session):
    """A volunteer in post in the US (zone 3), with a spouse and a child declared by the roster."""
    seed_sample_products(session)

    def make(language="fr", dependants=True, **overrides):
        n = next(_n)
        record = {"event": "affiliation", "event_id": f"BF-2026-J{n:05d}-1", "occurred_at": "2026-11-02T08:00:00Z",
                  "file_ref": f"BF-2026-J{n:05d}", "first_name": "Léa", "last_name": "Martin",
                  "email": f"lea.{n}@example.org", "birth_date": "2000-04-02", "programme": "VIE",
                  "mission_country": "US", "mission_start": "2026-11-03", "mission_end": "2027-10-31",
                  "language": language}
        if dependants:
            record["dependants"] = [{"category": "spouse", "birth_date": "1999-07-14"},
                                    {"category": "child", "birth_date": "2024-02-01"}]
        record.update(overrides)
        result = apply_events(session, [record], now=datetime(2026, 12, 1, tzinfo=UTC)).results[0]
        assert result.outcome.value == "created", result.reasons
        session.commit()
        return find_volunteer(session, file_ref=record["file_ref"])

    return make


def _link(session, volunteer, **kw) -> str:
    _link_row, raw = journey.issue_link(session, volunteer, **kw)
    session.commit()
    return f"/v/{raw}"


def _rows() -> int:
    db.session.expire_all()
    return sum(db.session.execute(select(func.count()).select_from(t)).scalar_one() for t in db.metadata.sorted_tables)


def _post(client, url, data):
    page = client.get(url)
    token = csrf_from((page if page.status_code == 200 else client.get("/my-cover/")).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def _subscription(volunteer) -> Subscription | None:
    db.session.expire_all()
    return db.session.scalars(select(Subscription).where(Subscription.volunteer_id == volunteer.id)).first()


def _adhesion_data(**changes) -> dict:
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    data = {"first_name": "Léa", "last_name": "Martin", "email": "lea@example.org", "phone": "+1 212 555 0100",
            "address": "12 Main Street, New York", "beneficiaries": "Mon conjoint, à défaut mes enfants",
            "start_date": tomorrow, "accept": "y"}
    data.update(changes)
    return data


def _latest_code(session) -> str:
    session.expire_all()
    body = session.scalars(select(OutboxMessage.body_text).where(OutboxMessage.template == "adhesion_code")
                           .order_by(OutboxMessage.id.desc())).first()
    return re.search(r"\b(\d{6})\b", body).group(1)


class Outbox:
    def __init__(self):
        self.sent = []

    def send(self, message, recipients):
        self.sent.append(message)


def _walk_to_signature(client, session, volunteer):
    assert client.get(_link(session, volunteer)).status_code == 302
    spouse, child = volunteer.current_dependants
    s, c = journey.dependant_field(spouse), journey.dependant_field(child)
    response = _post(client, "/my-cover/quote", {
        "health": "y", "health_formula": "comfort", "prevoyance": "y", "prevoyance_formula": "standard",
        f"{s}covered": "y", f"{s}relationship": "married", f"{s}no_salaried_work": "y",
        f"{s}not_national_of_mission_country": "y", f"{s}lives_in_mission_country": "y",
        f"{c}covered": "y", f"{c}unmarried": "y", f"{c}tax_dependent": "y", f"{c}no_salaried_work": "y",
        f"{c}not_national_of_mission_country": "y", f"{c}lives_in_mission_country": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    response = _post(client, "/my-cover/adhesion", _adhesion_data())
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert response.location.endswith("/my-cover/sign")
    # the code is e-mailed with the adhesion's confirmation: the sign page says so, nothing to ask for
    sign_page = client.get("/my-cover/sign").get_data(as_text=True)
    assert "We e-mailed you a code" in sign_page or "Nous vous avons envoyé un code" in sign_page
    assert _latest_code(session)


@pytest.mark.parametrize("language, texts", [
    ("fr", ("Mon devis", "par mois au total", "couvert à partir du", "Tableau des garanties", "Volontaire")),
    ("en", ("My quote", "a month in total", "covered from", "Guarantee table", "Volunteer")),
])
def test_a_volunteer_walks_from_the_link_to_the_sealed_adhesion(
        language, texts, app, session, client, volunteer, tmp_path):
    someone = volunteer(language=language)
    client.get(_link(session, someone))
    # nothing the roster knows is asked again: the country and the family are already there
    _walk_to_signature(client, session, someone)
    page = client.get("/my-cover/quote").get_data(as_text=True)  # signed or not, the quote page redirects
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.adhesion_started
    assert subscription.quote["zone"] == 3 and len(subscription.quote["covers"]) == 2
    health = next(c for c in subscription.quote["covers"] if c["cover"] == "health")
    assert [p["category"] for p in health["persons"]] == ["volunteer", "spouse", "child"]
    assert health["persons"][0]["monthly"] == {"minor": 6400, "currency": "EUR"}
    assert subscription.monthly_total_minor == 6400 + 7600 + 3500 + 900
    # the quote page, in the volunteer's language, before signing
    session.execute(select(Subscription))
    sign_page = client.get("/my-cover/sign").get_data(as_text=True)
    assert subscription.document_sha256 in sign_page

    code = _latest_code(session)
    response = _post(client, "/my-cover/sign", {"typed_name": "léa  MARTIN", "code": code,
                                                "document_sha256": subscription.document_sha256})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    subscription = _subscription(someone)
    assert subscription.state is SubscriptionState.signed
    signature = subscription.signature
    assert signature.typed_name == "léa MARTIN" and signature.document_sha256 == subscription.document_sha256
    assert signature.ip and signature.user_agent
    stages = set(session.scalars(select(FunnelEvent.stage).where(FunnelEvent.volunteer_id == someone.id)))
    assert {FunnelStage.link_opened, FunnelStage.quoted, FunnelStage.adhesion_started, FunnelStage.signed} <= stages

    home = client.get("/my-cover/").get_data(as_text=True)
    assert subscription.reference in home
    pdf = client.get("/my-cover/adhesion.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data == subscription.sealed_pdf

    # the quote page's texts, in the volunteer's language (seen on a fresh volunteer's quote)
    other = volunteer(language=language)
    fresh = app.test_client()
    fresh.get(_link(session, other))
    _post(fresh, "/my-cover/quote", {"health": "y", "health_formula": "essential"})
    quote_page = fresh.get("/my-cover/quote").get_data(as_text=True)
    for text in texts:
        assert text in quote_page, text
    assert "bénévole" not in quote_page.lower()
    del page

    # the terms and the withdrawal letter go out on a durable medium: the withdrawal period runs from then
    outbox = Outbox()
    deliver_due(session, outbox, "portal@example.test")
    session.commit()
    terms = [m for m in outbox.sent if any(p.get_filename() == f"{subscription.reference}-terms.pdf"
                                           for p in m.iter_attachments())]
    assert len(terms) == 1
    subscription = _subscription(someone)
    delivered = journey.terms_delivered_at(subscription)
    assert delivered is not None
    assert journey.withdrawal_ends_on(subscription) == delivered.date() + timedelta(days=14)


def test_the_sealed_adhesion_passes_pdfsig_and_verify(app, session, client, volunteer, tmp_path):
    someone = volunteer(language="en", dependants=False)
    assert client.get(_link(session, someone)).status_code == 302
    _post(client, "/my-cover/quote", {"health": "y", "health_formula": "essential"})
    _post(client, "/my-cover/adhesion", _adhesion_data(beneficiaries=""))
    _post(client, "/my-cover/sign/code", {})
    subscription = _subscription(someone)
    _post(client, "/my-cover/sign", {"typed_name": "Léa Martin", "code": _latest_code(session),
                                     "document_sha256": subscription.document_sha256})
    sealed = _subscription(someone).sealed_pdf
    assert sealed
    program = system_tool("pdfsig", "poppler-utils", "the independent check of the PDF seal")
    path = tmp_path / "adhesion.pdf"
    path.write_bytes(sealed)
    report = subprocess.run([program, "-nocert", str(path)], capture_output=True, text=True, timeout=60)
    assert "Signature Validation: Signature is Valid." in report.stdout + report.stderr
    assert "- Total document signed" in report.stdout + report.stderr

    checker = app.test_client()
    token = csrf_from(checker.get("/verify").get_data(as_text=True))
    page = checker.post("/verify", data={"csrf_token": token, "file": (io.BytesIO(sealed), "adhesion.pdf")},
                        content_type="multipart/form-data").get_data(as_text=True)
    assert "Authentic and intact" in page and subscription.reference in page
    tampered = tamper_content_stream(sealed)
    assert tampered != sealed
    token = csrf_from(checker.get("/verify").get_data(as_text=True))
    page = checker.post("/verify", data={"csrf_token": token, "file": (io.BytesIO(tampered), "adhesion.pdf")},
                        content_type="multipart/form-data").get_data(as_text=True)
    assert "Authentic and intact" not in page


def test_an_expired_a_forged_or_a_revoked_link_opens_nothing(app, session, volunteer):
    someone = volunteer()
    expired = _link(session, someone, now=datetime.now(UTC) - timedelta(days=31))
    for url in (expired, "/v/forged-token-" + "x" * 30, "/v/" + "y" * 300):
        client = app.test_client()
        assert client.get(url).status_code == 404
        assert client.get("/my-cover/").status_code == 403
        assert client.get("/my-cover/quote").status_code == 403
    link, raw = journey.issue_link(session, someone)
    session.commit()
    client = app.test_client()
    client.get(f"/v/{raw}")
    assert client.get("/my-cover/").status_code == 200
    link.revoked_at = datetime.now(UTC)
    session.commit()
    assert client.get("/my-cover/").status_code == 403


def test_a_volunteer_sees_only_their_own_records(app, session, volunteer):
    lea, other = volunteer(), volunteer(first_name="Hugo")
    client = app.test_client()
    client.get(_link(session, lea))
    _post(client, "/my-cover/quote", {"health": "y", "health_formula": "essential"})
    theirs = app.test_client()
    theirs.get(_link(session, other))
    page = theirs.get("/my-cover/").get_data(as_text=True)
    assert "Hugo" in page and "Léa" not in page
    assert _subscription(other) is None and _subscription(lea) is not None
    assert theirs.get("/my-cover/adhesion").status_code == 302  # no quote of theirs: back to the quote


def test_a_firm_user_is_not_let_into_a_volunteer_area(session, make_user, login):
    from core.accounts import Role

    client = login(make_user(Role.volunteer))
    assert client.get("/my-cover/").status_code == 403


def test_bad_input_at_each_step_is_shown_by_field_and_writes_nothing(app, session, client, volunteer):
    someone = volunteer()
    client.get(_link(session, someone))
    spouse = someone.current_dependants[0]
    s = journey.dependant_field(spouse)
    before = _rows()
    # no cover; a cover without formula; a spouse without the confirmations
    for data, message in (({}, "Choisissez au moins une couverture."),
                          ({"health": "y"}, "Choisissez une formule"),
                          ({"health": "y", "health_formula": "comfort", f"{s}covered": "y",
                            f"{s}relationship": "married"}, "salarié")):
        response = _post(client, "/my-cover/quote", data)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True), message
        assert _rows() == before
    assert _post(client, "/my-cover/quote", {"health": "y", "health_formula": "comfort"}).status_code == 302
    before = _rows()
    after_mission = "2027-11-01"
    for data, message in ((_adhesion_data(start_date=after_mission), "après la fin de la mission"),
                          (_adhesion_data(start_date="2026-01-01"), "au plus tôt"),
                          (_adhesion_data(email="not-an-email"), "e-mail"),
                          (_adhesion_data(accept=""), "Confirmez"),
                          (_adhesion_data(phone="call me"), "+33")):
        response = _post(client, "/my-cover/adhesion", data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), message
        assert _rows() == before


def test_the_code_refuses_a_wrong_an_expired_and_too_many_attempts(app, session, client, volunteer):
    someone = volunteer(language="en", dependants=False)
    client.get(_link(session, someone))
    _post(client, "/my-cover/quote", {"health": "y", "health_formula": "essential"})
    _post(client, "/my-cover/adhesion", _adhesion_data(beneficiaries=""))
    subscription = _subscription(someone)
    sha = subscription.document_sha256

    def sign(code, name="Léa Martin"):
        return _post(client, "/my-cover/sign", {"typed_name": name, "code": code, "document_sha256": sha})

    first = _latest_code(session)  # e-mailed with the adhesion's confirmation
    _post(client, "/my-cover/sign/code", {})  # "e-mail me a new code": the first one stops working
    code = _latest_code(session)
    wrong = "000000" if code != "000000" else "111111"
    response = sign(code, name="Someone Else")
    assert response.status_code == 422 and "Type your full name" in response.get_data(as_text=True)
    for _ in range(journey.CODE_ATTEMPTS):
        response = sign(wrong)
        assert response.status_code == 422 and "not the one we sent" in response.get_data(as_text=True)
    response = sign(code)  # the right code, too late: too many attempts
    assert response.status_code == 422 and "Too many wrong codes" in response.get_data(as_text=True)
    assert _subscription(someone).state is SubscriptionState.adhesion_started

    _post(client, "/my-cover/sign/code", {})
    code = _latest_code(session)
    row = session.scalars(select(SignatureCode).order_by(SignatureCode.id.desc())).first()
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    response = sign(code)
    assert response.status_code == 422 and "expired" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(AdhesionSignature)) == 0

    _post(client, "/my-cover/sign/code", {})
    code = _latest_code(session)
    if first != code:
        response = sign(first)
        assert response.status_code == 422 and "not the one we sent" in response.get_data(as_text=True)
    assert sign(code).status_code == 302
    again = sign(code)  # a double submit
    assert again.status_code == 302 and again.location.endswith("/my-cover/")
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AdhesionSignature)) == 1
    assert session.scalar(select(func.count()).select_from(FunnelEvent).where(
        FunnelEvent.volunteer_id == someone.id, FunnelEvent.stage == FunnelStage.signed)) == 1


def test_staff_issue_a_link_by_hand_with_the_command(app, session, volunteer):
    someone = volunteer()
    result = app.test_cli_runner().invoke(args=["journey", "link", someone.file_ref, "--days", "7"])
    assert result.exit_code == 0, result.output
    url = result.output.splitlines()[0]
    assert "/v/" in url and "valid until" in result.output
    client = app.test_client()
    assert client.get(url[url.index("/v/"):]).status_code == 302
    assert client.get("/my-cover/").status_code == 200
    unknown = app.test_cli_runner().invoke(args=["journey", "link", "NO-SUCH-FILE"])
    assert unknown.exit_code == 1 and "NO-SUCH-FILE" in unknown.output


def test_the_link_opens_the_quote_priced_at_once_and_pricing_another_choice_keeps_nothing(
        app, session, client, volunteer):
    """One screen fewer on a phone: the link lands on the quote, which already shows the price of the choice it
    opens with; "see my price" (what the page's script does as the volunteer changes the form, and the button
    without the script) prices another choice and keeps nothing; going on keeps the quote and opens the adhesion."""
    someone = volunteer(language="en")
    opened = client.get(_link(session, someone))
    assert opened.status_code == 302 and opened.location.endswith("/my-cover/quote")
    page = client.get("/my-cover/quote").get_data(as_text=True)
    price = page[page.index('id="price"'):page.index('id="quote-form"')]
    for text in ("a month in total", "Volunteer", "Minimum commitment: 12 months", "covered from"):
        assert text in price, text
    assert "Guarantee table" in page and "Spouse" not in price
    spouse = someone.current_dependants[0]
    s = journey.dependant_field(spouse)
    choice = {"health": "y", "health_formula": "comfort", f"{s}covered": "y", f"{s}relationship": "married"}
    before = _rows()
    incomplete = _post(client, "/my-cover/quote", {"action": "price", **choice})
    assert incomplete.status_code == 422
    assert "Your price shows here as soon as your choice below is complete." in incomplete.get_data(as_text=True)
    confirmed = {f"{s}no_salaried_work": "y", f"{s}not_national_of_mission_country": "y",
                 f"{s}lives_in_mission_country": "y"}
    priced = _post(client, "/my-cover/quote", {"action": "price", **choice, **confirmed})
    html = priced.get_data(as_text=True)
    price = html[html.index('id="price"'):html.index('id="quote-form"')]
    assert priced.status_code == 200 and "Spouse" in price and "€140.00 a month in total" in price
    assert _rows() == before and _subscription(someone) is None

    kept = _post(client, "/my-cover/quote", {**choice, **confirmed})
    assert kept.status_code == 302 and kept.location.endswith("/my-cover/adhesion")
    assert _subscription(someone).monthly_total_minor == 6400 + 7600
    # with an adhesion under way, the link lands on the area, which says where the volunteer stands
    _post(client, "/my-cover/adhesion", _adhesion_data())
    assert app.test_client().get(_link(session, someone)).location.endswith("/my-cover/")

"""The broker's own disclosure on the web: administrators publish the settings (compliance reads them, nobody else
opens them); the account manager records the demands and needs statement on the case page (the offer waits for
it; partners never read it), produces the disclosure document and e-mails it (the real SMTP test server gets the
PDF attached); the client acknowledges receipt through the link, once; compliance sees it all on its review page."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from compliance.broker_disclosure import BrokerDisclosureSettings
from core.accounts import PartnerStatus, Role
from core.audit import AuditEvent
from core.db import utcnow
from core.outbox import deliver_due
from core.transports import SmtpTransport
from pipeline.broker_disclosure import DisclosureDelivery, DisclosureDocument, hash_token
from pipeline.cases.models import Case, CaseStatus as S
from pipeline.cases.needs import NeedsStatement
from tests.conftest import csrf_from
from tests.pipeline.case_data import check_local_licensing, walk


def today():
    """The day now (read per use: the suite may run across midnight)."""
    return utcnow().date()


def settings_form() -> dict:
    """The settings form's fields, in force from today."""
    return {"effective_from": today().isoformat(), **SETTINGS}


NEEDS_TEXT = "Family cover for a posting in Dubai, with home visits to France."
SETTINGS = {"legal_name": "BIG Insurance Brokers SAS",
            "address": "12 rue de la Paix, 75002 Paris, France", "register": "ORIAS",
            "registration_number": "07000001", "advice_basis": "fair_analysis",
            "insurers": "Allianz Care\nCigna Global", "holdings": "",
            "complaints_procedure": "Write to reclamations@broker.example: we answer within two months.",
            "mediation_procedure": "La Médiation de l'Assurance, TSA 50110, 75441 Paris Cedex 09."}


def html(response) -> str:
    return response.get_data(as_text=True)


def post(client, page: str, url: str, data: dict):
    token = csrf_from(html(client.get(page)))
    return client.post(url, data={"csrf_token": token, **data})


def publish(login, make_user, **changes):
    return post(login(make_user(Role.admin)), "/admin/disclosure-settings", "/admin/disclosure-settings",
                {**settings_form(), **changes})


NEEDS_FORM = {"needs": NEEDS_TEXT, "budget": "9,000.00", "budget_currency": "EUR", "countries": ["AE", "FR"],
              "chosen_cover": "Allianz Care Premier, worldwide excluding the USA.",
              "reasons": "Covers the family in the UAE and in France, within budget."}


@pytest.fixture
def world(session, make_org, make_user, manager, new_case, login):
    firm = make_org(PartnerStatus.specialist_broker, legal_name="Courtage Alpha")
    partner = make_user(Role.partner_admin, firm)
    case = new_case(partner, language="fr")
    walk(session, manager, case, S.needs_analysis, S.quote_requested, S.quote_issued)
    check_local_licensing(session, manager, case)  # the client lives in the UAE: that check is recorded already
    return {"firm": firm, "partner": partner, "case": case, "manager": manager}


# --- the settings --------------------------------------------------------------------------------------------------

def test_an_administrator_publishes_a_version_and_compliance_reads_it(session, login, make_user):
    bad = publish(login, make_user, effective_from=(today() - timedelta(days=1)).isoformat(), complaints_procedure="x")
    assert bad.status_code == 422 and "never in the past" in html(bad)
    assert session.scalar(select(BrokerDisclosureSettings.id)) is None
    assert publish(login, make_user).status_code == 302
    assert publish(login, make_user, effective_from=(today() + timedelta(days=30)).isoformat(),
                   advice_basis="tied", insurers="Allianz Care").status_code == 302
    officer = login(make_user(Role.compliance))
    page = html(officer.get("/admin/disclosure-settings"))
    in_force = page.split('id="in-force"')[1].split("</section>")[0]
    assert "A fair and personal analysis of the market" in in_force and "Allianz Care, Cigna Global" in in_force
    history = page.split('id="history"')[1].split("</section>")[0]
    assert history.count("<tr") == 3 and "scheduled" in history and "in force" in history
    assert 'id="publish"' not in page  # compliance reads; only administrators publish
    refused = officer.post("/admin/disclosure-settings", data={"csrf_token": csrf_from(page), **settings_form()})
    assert refused.status_code == 403
    assert len(session.scalars(select(BrokerDisclosureSettings.id)).all()) == 2
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "disclosure_settings.published"))


@pytest.mark.parametrize("role", [Role.partner_admin, Role.partner_member, Role.account_manager, Role.finance])
def test_the_settings_are_closed_to_everyone_else(session, login, make_user, make_org, role):
    partner_role = role in (Role.partner_admin, Role.partner_member)
    client = login(make_user(role, make_org() if partner_role else None))
    assert client.get("/admin/disclosure-settings").status_code == 403
    token = csrf_from(html(client.get("/")))
    assert client.post("/admin/disclosure-settings", data={"csrf_token": token, **settings_form()}).status_code == 403
    assert session.scalar(select(BrokerDisclosureSettings.id)) is None


# --- the statement and the offer ---------------------------------------------------------------------------------

def test_the_offer_waits_for_the_statement_recorded_on_the_case_page(session, world, login):
    case, manager = world["case"], login(world["manager"])
    page = f"/cases/{case.public_id}"
    assert 'id="needs-missing"' in html(manager.get(page))
    refused = post(manager, page, f"{page}/move", {"stage": "offer"})
    assert refused.status_code == 409 and "demands and needs statement before the offer" in html(refused)
    medical = post(manager, page, f"{page}/needs", {**NEEDS_FORM, "needs": "The client is pregnant and diabetic."})
    assert medical.status_code == 422 and "No medical information here" in html(medical)
    assert session.scalar(select(NeedsStatement.id)) is None
    assert post(manager, page, f"{page}/needs", NEEDS_FORM).status_code == 302
    shown = html(manager.get(page)).split('id="needs-current"')[1].split("</dl>")[0]
    assert NEEDS_TEXT in shown and "€9,000.00" in shown and "United Arab Emirates" in shown
    assert post(manager, page, f"{page}/move", {"stage": "offer"}).status_code == 302
    session.expire_all()
    assert session.get(Case, case.id).status is S.offer
    assert post(manager, page, f"{page}/needs", {**NEEDS_FORM, "budget": "12000"}).status_code == 302
    assert [s.version for s in session.scalars(select(NeedsStatement))] == [1, 2]


def test_partners_never_read_the_statement_nor_the_documents(session, world, login, make_user, make_org):
    case, manager = world["case"], login(world["manager"])
    page = f"/cases/{case.public_id}"
    post(manager, page, f"{page}/needs", NEEDS_FORM)
    partner = login(world["partner"])
    own = html(partner.get(page))
    assert NEEDS_TEXT not in own and 'id="needs"' not in own and 'id="broker-disclosure"' not in own
    token = csrf_from(own)
    assert partner.post(f"{page}/needs", data={"csrf_token": token, **NEEDS_FORM}).status_code == 403
    assert partner.get(f"{page}/disclosure-document/preview.pdf?language=en&remuneration_nature=commission"
                       "&remuneration_payer=insurer").status_code == 403
    outsider = login(make_user(Role.partner_admin, make_org(PartnerStatus.specialist_broker)))
    assert outsider.get(page).status_code == 404


# --- the document, its e-mail and the acknowledgement ------------------------------------------------------------

def _deliver(client, case, **changes):
    page = f"/cases/{case.public_id}"
    data = {"language": "fr", "remuneration_nature": "commission", "remuneration_payer": "insurer",
            "remuneration_details": "", "method": "email", "recipient": case.client_email, "delivered_on": ""}
    data.update(changes)
    return post(client, page, f"{page}/disclosure-document", data)


def test_the_document_is_e_mailed_with_the_pdf_and_acknowledged_once(app, session, world, login, make_user,
                                                                      smtp_server):
    publish(login, make_user)
    case, manager = world["case"], login(world["manager"])
    page = f"/cases/{case.public_id}"
    assert f'action="{page}/disclosure-document"' not in html(manager.get(page)), "no statement yet"
    post(manager, page, f"{page}/needs", NEEDS_FORM)
    preview = manager.get(f"{page}/disclosure-document/preview.pdf?language=fr&remuneration_nature=fee"
                          "&remuneration_payer=client")
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    assert session.scalar(select(DisclosureDocument.id)) is None, "a preview records nothing"
    response = _deliver(manager, case)
    assert response.status_code == 302
    document = session.scalars(select(DisclosureDocument)).one()
    delivery = session.scalars(select(DisclosureDelivery)).one()
    assert (document.language, delivery.recipient, delivery.method.value) == ("fr", case.client_email, "email")

    from portal.extensions import db

    with app.app_context():
        sent = deliver_due(db.session, SmtpTransport("127.0.0.1", smtp_server.port, security="none"),
                           "Portal <no-reply@portal.test>", batch=50)
        db.session.remove()
    assert sent.failed == 0
    (recipients, mail), = [(r, m) for r, m in smtp_server.messages if document.reference in m["Subject"]]
    assert recipients == [case.client_email] and "Informations sur votre courtier" in mail["Subject"]
    attachment = next(part for part in mail.walk() if part.get_content_type() == "application/pdf")
    pdf = attachment.get_payload(decode=True)
    assert pdf == document.pdf and __import__("hashlib").sha256(pdf).hexdigest() == document.sha256
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Informations sur votre courtier" in " ".join(text.split())
    body = next(part for part in mail.walk() if part.get_content_type() == "text/plain").get_payload(decode=True).decode()
    link = re.search(r"https?://\S+/receipt/(\S+)", body)
    assert link, body
    token = link.group(1)
    assert delivery.token_hash == hash_token(token)

    client = app.test_client()
    receipt = client.get(f"/receipt/{token}")
    assert receipt.status_code == 200 and "accuse réception" in html(receipt).lower()
    ack = client.post(f"/receipt/{token}", data={"csrf_token": csrf_from(html(receipt))},
                      headers={"User-Agent": "Firefox/140"})
    assert ack.status_code == 200 and "est enregistré" in html(ack)
    again = client.post(f"/receipt/{token}", data={"csrf_token": csrf_from(html(client.get(f"/receipt/{token}")))})
    assert again.status_code == 200 and "déjà accusé réception" in html(again)
    session.expire_all()
    delivery = session.get(DisclosureDelivery, delivery.id)
    assert delivery.acknowledged_user_agent == "Firefox/140" and delivery.acknowledged_at is not None
    assert client.post(f"/receipt/{token}", data={}).status_code == 400  # no CSRF token, nothing done

    assert client.get(f"/receipt/{token[:-2]}xx").status_code == 404
    delivery.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    assert client.get(f"/receipt/{token}").status_code == 404

    # the case page and compliance's review page show the delivery and its acknowledgement
    deliveries = html(manager.get(page)).split('id="deliveries"')[1].split("</table>")[0]
    assert document.reference in deliveries and case.client_email in deliveries
    pdf_url = f"{page}/disclosure-document/{document.public_id}.pdf"
    assert manager.get(pdf_url).data == document.pdf
    assert login(world["partner"]).get(pdf_url).status_code == 403


def test_compliance_sees_deliveries_and_the_statement_on_the_review_page(session, world, login, make_user):
    from tests.ledger.books import add_agreement, add_insurer
    from pipeline.cases.pipeline import Placement, move
    from core.products import ProductLine

    publish(login, make_user)
    case, manager = world["case"], login(world["manager"])
    page = f"/cases/{case.public_id}"
    post(manager, page, f"{page}/needs", NEEDS_FORM)
    assert _deliver(manager, case, method="handed_over", recipient="Marc Dupont, at our Paris office",
                    delivered_on=today().isoformat(), language="en").status_code == 302
    insurer = add_insurer(session, since=date(2020, 1, 1))
    add_agreement(session, world["firm"], since=date(2020, 1, 1))
    walk(session, world["manager"], session.get(Case, case.id), S.offer, S.client_decision)
    move(session, world["manager"], session.get(Case, case.id), S.contract_issued, placement=Placement(
        insurer=insurer, policy_number="POL-DN-1", product_line=ProductLine.family, premium_minor=123_450,
        currency="EUR", start_date=today()))
    session.commit()
    contract = session.get(Case, case.id).contract
    review = html(login(make_user(Role.compliance)).get(f"/compliance/disclosures/{contract.public_id}"))
    document = review.split('id="broker-document"')[1].split("</section>")[0]
    delivered = session.scalars(select(DisclosureDocument)).one()
    assert delivered.reference in document and "Marc Dupont, at our Paris office" in document
    assert delivered.sha256 in document and "Handed over to the client" in document
    statement = review.split('id="needs-statement"')[1].split("</section>")[0]
    assert NEEDS_TEXT in statement


def test_the_document_needs_settings_in_force(session, world, login):
    case, manager = world["case"], login(world["manager"])
    page = f"/cases/{case.public_id}"
    post(manager, page, f"{page}/needs", NEEDS_FORM)
    refused = _deliver(manager, case)
    assert refused.status_code == 422 and "No broker disclosure settings are in force" in html(refused)
    assert session.scalar(select(DisclosureDelivery.id)) is None

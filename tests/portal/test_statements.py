"""Commission statements in the portal and on the API: who reads which firm's, and what the documents contain."""
import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from babel.dates import format_date
from babel.numbers import format_currency
from flask_babel import force_locale, gettext
from pypdf import PdfReader

from core.accounts import PartnerStatus, Role
from ledger.statements import LineKind, PartnerStatement, StatementLine
from pipeline.cases.services import submit_case
from portal.statements.rendering import statement_pdf
from tests.factories import bearer_headers
from tests.ledger.books import add_agreement, add_insurer, place_and_post
from tests.pipeline.case_data import case_input

DEC = date(2026, 12, 1)


@pytest.fixture
def insurer(session):
    return add_insurer(session)


@pytest.fixture
def firm(session, make_org, make_user, insurer):
    """firm(languages) -> (firm, its partner admin) with a commission of 600.00 on policy POL-<n> for a case of
    the client Marc Dupont (posted in December 2026), the share released on 5 December."""

    def make(languages=("en",), policy="POL-1", status=PartnerStatus.specialist_broker):
        org = make_org(status, languages=list(languages))
        admin = make_user(Role.partner_admin, org)
        add_agreement(session, org)
        case = submit_case(session, admin, case_input("Marc"))[0] if status.is_broker else None
        place_and_post(session, insurer, org, policy=policy, placed_by_id=admin.id, start=DEC,
                       case_id=case.id if case else None, release_on=date(2026, 12, 5),
                       client_initials=case.client_initials if case else None)
        return org, admin

    return make


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# --- the portal ----------------------------------------------------------------------------------------------

def test_a_partner_reads_the_firms_statements_and_downloads_them(firm, make_user, login):
    org, _admin = firm()
    member = login(make_user(Role.partner_member, org))
    index = member.get("/statements/").get_data(as_text=True)
    assert "December 2026" in index and f"/statements/{org.public_id}/2026-12.pdf" in index
    page = member.get(f"/statements/{org.public_id}?period=2026-12")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "POL-1" in html and "M.D." in html and "€600.00" in html
    assert "Dupont" not in html and "Marc" not in html
    assert "Available for payout" in html
    pdf = member.get(f"/statements/{org.public_id}/2026-12.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"] and pdf.headers["Cache-Control"] == "private, no-store"


def test_the_pdf_shows_the_policy_and_initials_but_not_the_clients_name(firm, login):
    org, admin = firm()
    text = pdf_text(login(admin).get(f"/statements/{org.public_id}/2026-12.pdf").data)
    assert "POL-1" in text and "M.D." in text and "€600.00" in text and "December 2026" in text
    assert "Dupont" not in text and "Marc" not in text


@pytest.mark.parametrize("language, month, amount", [("fr", "décembre 2026", "600,00"),
                                                      ("ru", "декабрь 2026", "600,00")])
def test_the_pdf_is_in_the_firms_language_whoever_downloads_it(firm, make_user, login, language, month, amount):
    org, admin = firm(languages=(language, "en"))
    for reader in (admin, make_user(Role.finance)):
        text = pdf_text(login(reader).get(f"/statements/{org.public_id}/2026-12.pdf").data)
        assert month in text and amount in text and "December" not in text


def test_the_csv_has_stable_columns_and_exact_amounts(firm, login):
    org, admin = firm(languages=("fr",))
    response = login(admin).get(f"/statements/{org.public_id}/2026-12.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["date", "currency", "kind", "description", "contract_reference", "policy_number",
                             "client_initials", "term", "payout_reference", "amount", "balance_after"]
    assert [(r["kind"], r["amount"], r["balance_after"]) for r in rows] == [
        ("opening_balance", "", "0.00"), ("commission", "600.00", "600.00"), ("closing_balance", "", "600.00"),
        ("closing_held", "", "0.00"), ("closing_available", "", "600.00")]
    line = rows[1]
    assert (line["date"], line["currency"], line["policy_number"], line["client_initials"], line["term"]) == \
        ("2026-12-01", "EUR", "POL-1", "M.D.", "1")
    assert "Dupont" not in response.get_data(as_text=True)


def test_another_firms_statement_is_not_found_for_a_partner(firm, login):
    org, _admin = firm()
    other_org, other_admin = firm(policy="POL-2")
    c = login(other_admin)
    for path in (f"/statements/{org.public_id}?period=2026-12", f"/statements/{org.public_id}/2026-12.pdf",
                 f"/statements/{org.public_id}/2026-12.csv"):
        assert c.get(path).status_code == 404
    assert c.get(f"/statements/{other_org.public_id}?period=2026-12").status_code == 200
    assert "POL-1" not in c.get("/statements/").get_data(as_text=True)


def test_an_introducer_firm_reads_its_statements_too(firm, login):
    org, admin = firm(status=PartnerStatus.introducer)
    assert login(admin).get(f"/statements/{org.public_id}/2026-12.csv").status_code == 200


def test_finance_chooses_any_firm_and_other_staff_are_refused(firm, make_user, login):
    org, _admin = firm()
    finance = login(make_user(Role.finance))
    index = finance.get(f"/statements/?organisation={org.public_id}").get_data(as_text=True)
    assert org.legal_name in index and f"/statements/{org.public_id}/2026-12.csv" in index
    chosen = finance.get(f"/statements/?organisation={org.public_id}&period=2026-12")
    assert chosen.status_code == 302
    assert chosen.headers["Location"].endswith(f"/statements/{org.public_id}?period=2026-12")
    assert finance.get(f"/statements/?organisation={org.public_id}&period=December").status_code == 422
    assert "POL-1" in finance.get(f"/statements/{org.public_id}?period=2026-12").get_data(as_text=True)
    assert login(make_user(Role.admin)).get(f"/statements/{org.public_id}/2026-12.pdf").status_code == 200
    for role in (Role.account_manager, Role.compliance):
        staff = login(make_user(role))
        assert staff.get("/statements/").status_code == 403
        assert staff.get(f"/statements/{org.public_id}/2026-12.pdf").status_code == 403


def test_an_unknown_firm_or_a_malformed_month_is_not_found(firm, make_user, login):
    org, _admin = firm()
    finance = login(make_user(Role.finance))
    assert finance.get("/statements/nope?period=2026-12").status_code == 404
    assert finance.get("/statements/nope/2026-12.pdf").status_code == 404
    assert finance.get(f"/statements/{org.public_id}?period=2026-13").status_code == 404
    for name in ("2026-13.pdf", "2026-12.xls", "2026-12", "2026-12.pdf.csv"):
        assert finance.get(f"/statements/{org.public_id}/{name}").status_code == 404, name
    # a firm without a month goes to the list of its months
    listing = finance.get(f"/statements/{org.public_id}")
    assert listing.status_code == 302 and listing.headers["Location"].endswith(f"?organisation={org.public_id}")


# --- the API -------------------------------------------------------------------------------------------------

def test_the_api_returns_the_partners_own_statement_in_minor_units(firm, client):
    org, admin = firm()
    r = client.get("/api/v1/statements?period=2026-12", headers=bearer_headers(admin))
    assert r.status_code == 200
    body = r.get_json()
    assert (body["organisation"], body["period"]) == (org.public_id, "2026-12")
    (st,) = body["statements"]
    assert (st["currency"], st["opening_balance_minor"], st["closing_balance_minor"], st["held_minor"],
            st["available_minor"]) == ("EUR", 0, 60_000, 0, 60_000)
    (line,) = st["lines"]
    assert {k: line[k] for k in ("date", "kind", "policy_number", "client_initials", "amount_minor",
                                 "balance_after_minor")} == {
        "date": "2026-12-01", "kind": "commission", "policy_number": "POL-1", "client_initials": "M.D.",
        "amount_minor": 60_000, "balance_after_minor": 60_000}
    assert line["contract_reference"]
    again = client.get(f"/api/v1/statements?period=2026-12&organisation={org.public_id}", headers=bearer_headers(admin))
    assert again.get_json() == body


def test_the_api_hides_other_firms_from_partners(firm, client):
    org, _admin = firm()
    _other, other_admin = firm(policy="POL-2")
    r = client.get(f"/api/v1/statements?period=2026-12&organisation={org.public_id}", headers=bearer_headers(other_admin))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_finance_names_the_firm_on_the_api(firm, make_user, client):
    org, _admin = firm()
    token = bearer_headers(make_user(Role.finance))
    missing = client.get("/api/v1/statements?period=2026-12", headers=token)
    assert missing.status_code == 422 and "organisation" in missing.get_json()["error"]["fields"]
    r = client.get(f"/api/v1/statements?period=2026-12&organisation={org.public_id}", headers=token)
    assert r.status_code == 200 and r.get_json()["statements"][0]["lines"][0]["policy_number"] == "POL-1"
    assert client.get("/api/v1/statements?period=2026-12&organisation=nope", headers=token).status_code == 404
    compliance = bearer_headers(make_user(Role.compliance))
    assert client.get("/api/v1/statements?period=2026-12", headers=compliance).status_code == 403


@pytest.mark.parametrize("query", ["", "period=2026-13", "period=12-2026", "period=2026-12&colour=blue"])
def test_a_bad_query_is_refused_naming_the_field(firm, client, query):
    _org, admin = firm()
    r = client.get(f"/api/v1/statements?{query}", headers=bearer_headers(admin))
    assert r.status_code == 422
    assert set(r.get_json()["error"]["fields"]) == ({"colour"} if "colour" in query else {"period"})


def test_the_openapi_document_lists_the_statements_path(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/statements"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"period", "organisation"}
    assert {"200", "401", "403", "404", "422"} <= set(operation["responses"])


# --- the PDF's layout ----------------------------------------------------------------------------------------

def _busy_statement() -> PartnerStatement:
    """A month with every kind of line, long policy numbers and large amounts."""
    lines, balance = [], 1_234_567_89
    for n, kind in enumerate(LineKind):
        amount = (-1 if kind in (LineKind.clawback, LineKind.payout) else 1) * (98_765_432_10 + n)
        balance += amount
        payout = kind is LineKind.payout
        lines.append(StatementLine(date(2026, 12, 10 + n), kind, f"entry-{n}", None if payout else f"contract-{n}",
                                   None if payout else f"AXA-2026-00{n}98765432-INT", None if payout else "M.-C.D.",
                                   None if payout else 12, "PAY-2026-12-000042" if payout else None, amount,
                                   balance))
    return PartnerStatement("firm", "EUR", date(2026, 12, 1), date(2026, 12, 31), 1_234_567_89, lines, balance,
                            0, balance)


def _normal(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


@pytest.mark.parametrize("language", ["en", "fr", "it", "es", "ru", "uk"])
def test_no_cell_of_the_pdf_breaks_inside_a_word_nor_a_number_across_lines(app, language):
    """Read back from the PDF (no browser): every word of every header and label is whole, and every date, policy
    number and amount sits on one line."""
    statement = _busy_statement()
    with app.test_request_context():
        data = statement_pdf("Courtage Méditerranée SARL", DEC, [statement], language)
        with force_locale(language):
            words = [gettext(t) for t in ("Date", "Description", "Policy or reference", "Client", "Term", "Amount",
                                          "Balance", "Opening balance", "Closing balance")]
            words += [gettext(line.kind.label) for line in statement.lines]
    lines = [_normal(line) for line in pdf_text(data).splitlines()]
    tokens = {token for line in lines for token in line.split()}
    for label in words:
        for word in label.split():
            assert word in tokens, f"{word!r} of {label!r} is broken in the {language} statement"
    whole = [format_date(line.effective_date, "medium", locale=language) for line in statement.lines]
    whole += [format_currency(Decimal(n).scaleb(-2), "EUR", locale=language)
              for line in statement.lines for n in (line.amount_minor, line.balance_after_minor)]
    whole += [line.policy_number or line.payout_reference for line in statement.lines]
    for text in whole:
        assert any(_normal(text) in line for line in lines), f"{text!r} is broken across lines ({language})"

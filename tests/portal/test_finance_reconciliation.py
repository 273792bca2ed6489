"""Finance imports insurer statements, resolves discrepancies, records receipts and reads the ageing, on the web."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.accounts import Role
from core.db import utcnow
from ledger import commissions, engine
from ledger.models import InsurerReceipt, InsurerStatement, ItemKind, JournalEntry, ReconciliationItem, Resolution
from tests.conftest import csrf_from
from tests.ledger.test_reconciliation import csv_bytes, place, setup_books


@pytest.fixture
def books(session, make_org, make_user):
    books = setup_books(session, make_org, make_user)
    today = utcnow().date()
    start = today.replace(day=1)
    for policy in ("P-OK", "P-AMOUNT", "P-MISSING"):
        place(session, books, policy, start=start, today=today)
    books.period = f"{start:%Y-%m}"
    return books


@pytest.fixture
def finance(login, make_user):
    return login(make_user(Role.finance))


def count(session, model) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def upload(client, books, content: bytes, filename="statement.csv", **over):
    token = csrf_from(client.get("/finance/insurer-statements").get_data(as_text=True))
    data = {"csrf_token": token, "insurer": books.insurer.public_id, "period": books.period, "currency": "EUR",
            "file": (io.BytesIO(content), filename)} | over
    return client.post("/finance/insurer-statements", data=data, content_type="multipart/form-data")


def statement_csv(books) -> bytes:
    p = books.period
    return csv_bytes(f"P-OK,{p},10000.00,1500.00", f"P-AMOUNT,{p},10000.00,1400.00", f"P-NOBODY,{p},5000.00,750.00",
                     f"P-OK,{p},10000.00,1500.00")


def test_finance_uploads_a_statement_and_sees_each_discrepancy(finance, books, session):
    r = upload(finance, books, statement_csv(books))
    assert r.status_code == 302
    statement = session.execute(select(InsurerStatement)).scalar_one()
    assert r.location.endswith(f"/finance/insurer-statements/{statement.public_id}")
    page = finance.get(r.location).get_data(as_text=True)
    for label in ("Matched", "Wrong amount", "Policy unknown to us", "Duplicate line",
                  "Policy missing from the statement"):
        assert label in page, label
    assert "€5,150.00" in page  # the insurer's total, in the reader's format
    assert "Unpaid" in page
    # the filter narrows the table to the wrong amounts
    only = finance.get(f"{r.location}?kind=wrong_amount").get_data(as_text=True)
    assert "P-AMOUNT" in only and "P-NOBODY" not in only
    listing = finance.get("/finance/insurer-statements").get_data(as_text=True)
    assert "statement.csv" in listing and "Allianz Care" in listing


def test_a_malformed_file_is_refused_with_its_problems_and_nothing_is_written(finance, books, session):
    bad = csv_bytes(f"P-OK,{books.period},10000.00,15.001", "P-AMOUNT,13/2026,10000.00,1400.00")
    r = upload(finance, books, bad)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Row 1, commission: “15.001” is ambiguous" in page and "Row 2, period: “13/2026” is not a month" in page
    assert count(session, InsurerStatement) == 0 and count(session, ReconciliationItem) == 0
    r = upload(finance, books, b"%PDF", filename="statement.pdf")
    assert r.status_code == 422 and "Only CSV and XLSX files can be imported." in r.get_data(as_text=True)
    assert count(session, InsurerStatement) == 0


def test_the_same_file_twice_is_refused(finance, books, session):
    assert upload(finance, books, statement_csv(books)).status_code == 302
    r = upload(finance, books, statement_csv(books), filename="again.csv")
    assert r.status_code == 422 and "already imported" in r.get_data(as_text=True)
    assert count(session, InsurerStatement) == 1


def _resolve(client, statement, item, action, note=""):
    page = client.get(f"/finance/insurer-statements/{statement.public_id}").get_data(as_text=True)
    return client.post(f"/finance/reconciliation-items/{item.public_id}/resolve",
                       data={"csrf_token": csrf_from(page), "action": action, "note": note})


def test_finance_adjusts_a_wrong_amount_and_the_correction_is_posted(finance, books, session):
    upload(finance, books, statement_csv(books))
    statement = session.execute(select(InsurerStatement)).scalar_one()
    wrong = next(i for i in statement.items if i.kind is ItemKind.wrong_amount)
    r = _resolve(finance, statement, wrong, "adjust", note="the insurer's rate")
    assert r.status_code == 302
    session.expire_all()
    assert wrong.resolution is Resolution.adjusted and wrong.note == "the insurer's rate"
    receivable = engine.account(session, commissions.receivable(books.insurer), "EUR").balance_minor
    assert receivable == 3 * 150_000 - 10_000
    page = finance.get(r.location).get_data(as_text=True)
    assert "Adjusted (correction posted)" in page
    # the line is no longer open: a second click changes nothing
    entries = count(session, JournalEntry)
    again = _resolve(finance, statement, wrong, "adjust")
    assert again.status_code == 422 and "resolved already" in again.get_data(as_text=True)
    assert count(session, JournalEntry) == entries


def test_an_unknown_policy_cannot_be_adjusted_on_the_web(finance, books, session):
    upload(finance, books, statement_csv(books))
    statement = session.execute(select(InsurerStatement)).scalar_one()
    unknown = next(i for i in statement.items if i.kind is ItemKind.unknown_policy)
    r = _resolve(finance, statement, unknown, "adjust")
    assert r.status_code == 422 and "cannot be adjusted" in r.get_data(as_text=True)
    session.expire_all()
    assert unknown.resolution is Resolution.open
    assert _resolve(finance, statement, unknown, "dispute", note="not ours").status_code == 302


def _record(client, books, **over):
    token = csrf_from(client.get("/finance/receipts").get_data(as_text=True))
    data = {"csrf_token": token, "insurer": books.insurer.public_id, "amount": "1 000,00", "currency": "EUR",
            "received_on": utcnow().date().isoformat(), "bank_reference": "BANK-1", "statement": ""} | over
    return client.post("/finance/receipts", data=data)


def test_finance_records_a_partial_receipt_against_a_statement(finance, books, session):
    upload(finance, books, statement_csv(books))
    statement = session.execute(select(InsurerStatement)).scalar_one()
    r = _record(finance, books, statement=statement.public_id)
    assert r.status_code == 302 and statement.public_id in r.location
    page = finance.get(r.location).get_data(as_text=True)
    assert "Partially paid" in page and "BANK-1" in page and "€4,150.00" in page  # 5,150.00 − 1,000.00
    # the same reference again posts nothing; with another amount it is refused
    assert _record(finance, books, statement=statement.public_id).status_code == 302
    conflict = _record(finance, books, amount="999.00")
    assert conflict.status_code == 422 and "already recorded for another amount" in conflict.get_data(as_text=True)
    assert count(session, InsurerReceipt) == 1


def test_a_bad_receipt_re_renders_the_form_and_records_nothing(finance, books, session):
    r = _record(finance, books, amount="12,5x", bank_reference="")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "Enter an amount such as 1234.56" in page
    future = (utcnow().date() + timedelta(days=2)).isoformat()
    r = _record(finance, books, received_on=future)
    assert r.status_code == 422 and "cannot be dated in the future" in r.get_data(as_text=True)
    assert count(session, InsurerReceipt) == 0


def test_the_ageing_shows_each_insurer_and_currency(finance, books):
    page = finance.get("/finance/receivables").get_data(as_text=True)
    assert "Allianz Care" in page and "€4,500.00" in page


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_every_table_downloads_as_csv(finance, books, session):
    upload(finance, books, statement_csv(books))
    statement = session.execute(select(InsurerStatement)).scalar_one()
    _record(finance, books, statement=statement.public_id)
    items = _csv(finance.get(f"/finance/insurer-statements/{statement.public_id}?format=csv&kind=wrong_amount"))
    assert items[0][:8] == ["row", "policy_number", "period", "kind", "premium", "reported", "expected", "difference"]
    assert items[1][1:9] == ["P-AMOUNT", books.period, "wrong_amount", "10000.00", "1400.00", "1500.00", "-100.00",
                             "EUR"] and len(items) == 2
    listing = _csv(finance.get("/finance/insurer-statements?format=csv"))
    assert listing[1][0] == "Allianz Care" and listing[1][7:11] == ["5150.00", "4500.00", "1000.00", "4150.00"]
    receipts = _csv(finance.get("/finance/receipts?format=csv"))
    assert receipts[1][2:5] == ["1000.00", "EUR", "BANK-1"]
    ageing = _csv(finance.get("/finance/receivables?format=csv"))
    assert ageing[1][:4] == ["Allianz Care", "allianz-care", "EUR", "3500.00"] and ageing[1][-1] == "3500.00"


def test_admin_reads_every_page_but_cannot_post(login, make_user, books, session):
    admin = login(make_user(Role.admin))
    for url in ("/finance/insurer-statements", "/finance/receipts", "/finance/receivables"):
        page = admin.get(url)
        assert page.status_code == 200, url
        assert 'method="post" action="/finance' not in page.get_data(as_text=True), url
    token = csrf_from(admin.get("/finance/receipts").get_data(as_text=True))
    assert upload(admin, books, statement_csv(books)).status_code == 403
    assert admin.post("/finance/receipts", data={"csrf_token": token}).status_code == 403
    assert count(session, InsurerStatement) == 0


def test_admin_sees_a_statement_without_resolve_buttons(login, make_user, finance, books, session):
    upload(finance, books, statement_csv(books))
    statement = session.execute(select(InsurerStatement)).scalar_one()
    admin = login(make_user(Role.admin))
    page = admin.get(f"/finance/insurer-statements/{statement.public_id}").get_data(as_text=True)
    assert "Wrong amount" in page and "/resolve" not in page
    item = statement.items[1]
    r = admin.post(f"/finance/reconciliation-items/{item.public_id}/resolve",
                   data={"csrf_token": csrf_from(page), "action": "accept"})
    assert r.status_code == 403


@pytest.mark.parametrize("role", [Role.partner_admin, Role.account_manager, Role.compliance])
def test_partners_and_other_staff_are_refused(login, make_user, make_org, finance, books, session, role):
    upload(finance, books, statement_csv(books))
    statement = session.execute(select(InsurerStatement)).scalar_one()
    user = make_user(role, make_org() if role is Role.partner_admin else None)
    c = login(user)
    for url in ("/finance/insurer-statements", f"/finance/insurer-statements/{statement.public_id}",
                "/finance/receipts", "/finance/receivables", "/finance/receivables?format=csv"):
        assert c.get(url).status_code == 403, url
    body = c.get("/finance/insurer-statements").get_data(as_text=True)
    assert not re.search(r"P-AMOUNT|Allianz Care", body)


"""Insurer statements: parsing, reconciliation against posted commissions, resolution, receipts, ageing."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core import events
from core.accounts import PartnerStatus, Role
from core.contracts import Contract, ContractStatus, Insurer
from ledger import commissions, engine, receipts, reconciliation as rec, statement_files
from ledger.models import InsurerReceipt, InsurerStatement, ItemKind, JournalEntry, ReconciliationItem, Resolution
from tests.ledger import books as ledger_books
from tests.ledger.books import add_agreement, add_insurer

NOV = date(2026, 11, 1)
TODAY = date(2026, 12, 15)
# 15 % of a 10,000.00 premium: the broker commission posted for each contract placed below
COMMISSION = 150_000


@dataclass
class Books:
    insurer: Insurer
    org_id: int
    user_id: int


def setup_books(session, make_org, make_user) -> Books:
    """An insurer paying 15 % on family plans and a partner firm with a 365-day clawback window."""
    insurer = add_insurer(session)
    org = make_org(PartnerStatus.specialist_broker)
    add_agreement(session, org)
    session.commit()
    return Books(insurer, org.id, make_user(Role.account_manager).id)


def place(session, books: Books, policy: str, *, start=NOV, currency="EUR", premium=1_000_000,
          today=None) -> Contract:
    """A contract placed and its commission posted (at `today`, by default its start date)."""
    contract, event = ledger_books.place(session, books.insurer, books.org_id, policy=policy,
                                         placed_by_id=books.user_id, premium=premium, start=start, currency=currency)
    commissions.post_event(session, event, today=today or start)
    session.commit()
    return contract


def csv_bytes(*rows: str, header: str = "Policy Number,Period,Premium,Commission") -> bytes:
    return ("\n".join((header,) + rows) + "\n").encode()


@pytest.fixture
def books(session, make_org, make_user) -> Books:
    return setup_books(session, make_org, make_user)


def import_csv(session, books, *rows, period=NOV, currency="EUR", name="nov.csv", **kw) -> InsurerStatement:
    statement = rec.import_statement(session, insurer=books.insurer, period=period, currency=currency, filename=name,
                                     content=csv_bytes(*rows, **kw), uploaded_by="finance@demo.example")
    session.commit()
    return statement


def by_policy(statement) -> dict[str, list[ReconciliationItem]]:
    out: dict[str, list] = {}
    for item in statement.items:
        out.setdefault(item.policy_number, []).append(item)
    return out


def receivable(session, books, currency="EUR") -> int:
    session.expire_all()
    return engine.account(session, commissions.receivable(books.insurer), currency).balance_minor


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


# --- parsing ---------------------------------------------------------------------------------------------------

def test_csv_amounts_and_periods_in_the_usual_spellings_convert_exactly():
    content = csv_bytes('P-1,2026-11,"10,000.00",1234.56', 'P-2,11/2026,10000,"1,234.56"', "P-3,2026-11,,-12.3",
                        "P-4, 2026/11 ,5,0.07")
    lines = statement_files.parse_statement("nov.csv", content, "EUR")
    assert [(ln.row_number, ln.policy_number, ln.period, ln.premium_minor, ln.commission_minor) for ln in lines] == [
        (1, "P-1", NOV, 1_000_000, 123_456), (2, "P-2", NOV, 1_000_000, 123_456), (3, "P-3", NOV, None, -1_230),
        (4, "P-4", NOV, 500, 7)]


def test_a_semicolon_csv_with_a_byte_order_mark_and_decimal_commas():
    content = "\ufeffpolicy_no;PERIOD;premium;Commission\nP-1;11/2026;10 000,00;1 234,56\n".encode("utf-8")
    [line] = statement_files.parse_statement("export.CSV", content, "EUR")
    assert (line.policy_number, line.period_text, line.premium_minor, line.commission_minor) == (
        "P-1", "11/2026", 1_000_000, 123_456)


def test_an_xlsx_statement_with_numbers_text_and_date_cells():
    book = Workbook()
    sheet = book.active
    sheet.append(["Policy No.", "Period", "Premium", "Commission"])
    sheet.append(["P-1", "2026-11", 10000, 1500])
    sheet.append([12345, datetime(2026, 11, 1), 9999.99, "1 234,56"])
    sheet.append([None, None, None, None])
    sheet.append(["P-3", "11/2026", None, -0.5])
    buf = io.BytesIO()
    book.save(buf)
    lines = statement_files.parse_statement("nov.xlsx", buf.getvalue(), "EUR")
    assert [(ln.row_number, ln.policy_number, ln.period, ln.period_text, ln.premium_minor, ln.commission_minor)
            for ln in lines] == [(1, "P-1", NOV, "2026-11", 1_000_000, 150_000),
                                 (2, "12345", NOV, "2026-11", 999_999, 123_456),
                                 (4, "P-3", NOV, "11/2026", None, -50)]


def test_every_bad_row_and_column_is_named_at_once():
    content = csv_bytes("P-1,2026-11,100,12.3456", ",2026-13,100,1", "P-3,2026-11,1.234,abc", "P-4,2026-11,100,10")
    with pytest.raises(statement_files.StatementInvalid) as caught:
        statement_files.parse_statement("nov.csv", content, "EUR")
    message = str(caught.value)
    assert "Row 1, commission: “12.3456” has more than 2 decimals." in message
    assert "Row 2: the policy number is missing." in message
    assert "Row 2, period: “2026-13” is not a month" in message
    assert "Row 3, premium: “1.234” is ambiguous" in message
    assert "Row 3, commission: “abc” is not an amount" in message
    assert "Row 4" not in message
    assert len(caught.value.problems) == 5


@pytest.mark.parametrize("name,content,expected", [
    ("nov.csv", b"Policy,Period,Premium\nP-1,2026-11,100\n", "No commission column"),
    ("nov.csv", "Policy,Period,Commission\nP-1,2026-11,\u00e9t\u00e9\n".encode("latin-1"), "not UTF-8"),
    ("nov.xlsx", b"Policy,Period,Commission\n", "not a readable XLSX"),
    ("nov.pdf", b"%PDF-1.7", "Only CSV and XLSX"),
    ("nov.csv", b"Policy,Period,Commission\n\n", "no statement lines"),
])
def test_files_that_cannot_be_read_are_refused_with_the_reason(name, content, expected):
    with pytest.raises(statement_files.StatementInvalid, match=expected):
        statement_files.parse_statement(name, content, "EUR")


def test_a_bad_file_saves_nothing(session, books):
    place(session, books, "P-1")
    with pytest.raises(statement_files.StatementInvalid):
        rec.import_statement(session, insurer=books.insurer, period=NOV, currency="EUR", filename="nov.csv",
                             content=csv_bytes("P-1,2026-11,100,oops"), uploaded_by="finance")
    session.rollback()
    assert count(session, InsurerStatement) == 0 and count(session, ReconciliationItem) == 0


# --- reconciliation --------------------------------------------------------------------------------------------

def test_each_discrepancy_kind_is_found(session, books):
    for policy in ("P-OK", "P-AMOUNT", "P-TERM", "P-MISSING"):
        place(session, books, policy)
    statement = import_csv(session, books,
                           "P-OK,2026-11,10000.00,1500.00",
                           "P-AMOUNT,2026-11,10000.00,1400.00",
                           "P-TERM,2025-11,10000.00,1500.00",      # a month no posted term covers
                           "P-NOBODY,2026-11,5000.00,750.00",
                           "P-OK,2026-11,10000.00,1500.00")        # the same line again
    items = by_policy(statement)
    assert [i.kind for i in items["P-OK"]] == [ItemKind.matched, ItemKind.duplicate_line]
    ok, dup = items["P-OK"]
    assert (ok.expected_minor, ok.reported_minor, ok.resolution) == (COMMISSION, COMMISSION, Resolution.accepted)
    assert ok.resolved_by == "finance@demo.example" and dup.resolution is Resolution.open and dup.row_number == 5
    [amount] = items["P-AMOUNT"]
    assert (amount.kind, amount.expected_minor, amount.reported_minor) == (ItemKind.wrong_amount, COMMISSION, 140_000)
    [term] = items["P-TERM"]
    assert (term.kind, term.contract_id is not None, term.expected_minor) == (ItemKind.wrong_term, True, None)
    [unknown] = items["P-NOBODY"]
    assert (unknown.kind, unknown.contract_id, unknown.expected_minor) == (ItemKind.unknown_policy, None, None)
    [missing] = items["P-MISSING"]
    assert (missing.kind, missing.row_number, missing.reported_minor, missing.expected_minor) == (
        ItemKind.missing_from_statement, None, None, COMMISSION)
    assert statement.reported_total_minor == 150_000 + 140_000 + 150_000 + 75_000 + 150_000
    summary = receipts.statement_summary(session, statement)
    assert summary.expected_minor == 3 * COMMISSION  # matched, wrong amount, missing: duplicates count once
    assert summary.open_items == 5 and summary.status is receipts.PaymentStatus.unpaid


def test_a_term_reconciled_on_an_earlier_statement_is_a_duplicate_later_and_never_missing(session, books):
    place(session, books, "P-1")
    place(session, books, "P-2")
    import_csv(session, books, "P-1,2026-11,,1500.00", "P-2,2026-11,,1500.00")
    # December's statement: the same terms still run, but their commission was reported already
    december = import_csv(session, books, "P-1,2026-12,,1500.00", period=date(2026, 12, 1), name="dec.csv")
    assert [(i.policy_number, i.kind) for i in december.items] == [("P-1", ItemKind.duplicate_line)]


def test_a_disputed_amount_reported_again_is_compared_again(session, books):
    place(session, books, "P-1")
    first = import_csv(session, books, "P-1,2026-11,,1400.00")
    rec.resolve(session, first.items[0], action="dispute", by="finance", note="asked for 1500", today=TODAY)
    session.commit()
    corrected = import_csv(session, books, "P-1,2026-11,,1500.00", name="nov-corrected.csv")
    assert [i.kind for i in corrected.items] == [ItemKind.matched]


def test_the_expected_commission_is_net_of_the_terms_clawback(session, books):
    contract = place(session, books, "P-1")
    contract.status, contract.cancelled_on = ContractStatus.cancelled, date(2027, 2, 12)
    event = events.emit(session, events.CONTRACT_CANCELLED, contract.public_id, date(2027, 2, 12), term=1,
                        premium_minor=1_000_000, currency="EUR")
    commissions.post_event(session, event, today=date(2027, 2, 12))
    session.commit()
    # 262 of 365 days not covered: 107,671 of the 150,000 comes back; 42,329 is still due
    statement = import_csv(session, books, "P-1,2026-11,,1500.00")
    [item] = statement.items
    assert (item.kind, item.expected_minor) == (ItemKind.wrong_amount, 42_329)


def test_the_same_file_is_not_imported_twice(session, books):
    place(session, books, "P-1")
    import_csv(session, books, "P-1,2026-11,,1500.00")
    with pytest.raises(rec.StatementAlreadyImported, match="already imported"):
        import_csv(session, books, "P-1,2026-11,,1500.00", name="renamed.csv")
    session.rollback()
    assert count(session, InsurerStatement) == 1 and count(session, ReconciliationItem) == 1


def test_policies_are_matched_per_currency_only(session, books):
    place(session, books, "EUR-1")
    place(session, books, "GBP-1", currency="GBP")
    statement = import_csv(session, books, "EUR-1,2026-11,,1500.00", currency="GBP", name="gbp.csv")
    assert {(i.policy_number, i.kind) for i in statement.items} == {
        ("EUR-1", ItemKind.unknown_policy), ("GBP-1", ItemKind.missing_from_statement)}


# --- resolution ------------------------------------------------------------------------------------------------

def test_accept_and_dispute_record_who_when_and_why(session, books):
    place(session, books, "P-1")
    statement = import_csv(session, books, "P-1,2026-11,,1400.00", "P-X,2026-11,,10.00")
    wrong, unknown = statement.items
    rec.resolve(session, wrong, action="accept", by="anna@broker.example", note="rounding agreed", today=TODAY)
    rec.resolve(session, unknown, action="dispute", by="anna@broker.example", note=" not ours ", today=TODAY)
    session.commit()
    session.expire_all()
    assert (wrong.resolution, wrong.resolved_by, wrong.note) == (Resolution.accepted, "anna@broker.example",
                                                                 "rounding agreed")
    assert (unknown.resolution, unknown.note) == (Resolution.disputed, "not ours")
    assert wrong.resolved_at is not None and wrong.adjustment_entry_id is None
    assert receivable(session, books) == COMMISSION  # nothing posted
    with pytest.raises(rec.ItemNotOpen):
        rec.resolve(session, wrong, action="dispute", by="someone", note=None, today=TODAY)


def test_adjusting_posts_the_difference_so_the_receivable_matches_the_insurer(session, books):
    place(session, books, "P-LOW")
    place(session, books, "P-HIGH")
    statement = import_csv(session, books, "P-LOW,2026-11,,1400.00", "P-HIGH,2026-11,,1512.34")
    low, high = statement.items
    rec.resolve(session, low, action="adjust", by="finance", note="insurer's rate", today=TODAY)
    rec.resolve(session, high, action="adjust", by="finance", note=None, today=TODAY)
    session.commit()
    assert receivable(session, books) == 140_000 + 151_234
    entry = session.get(JournalEntry, low.adjustment_entry_id)
    assert entry.idempotency_key == f"reconciliation.adjusted:{low.public_id}"
    assert {p.account.code: p.amount_minor for p in entry.postings} == {
        "commission_receivable:allianz-care": -10_000, "commission_income": 10_000}
    assert entry.details["policy_number"] == "P-LOW" and entry.details["difference_minor"] == -10_000
    assert entry.details["reported_minor"] == 140_000 and entry.details["expected_minor"] == COMMISSION
    assert low.resolution is Resolution.adjusted and engine.verify(session) == []


def test_an_adjustment_posts_once(session, books):
    place(session, books, "P-1")
    [item] = import_csv(session, books, "P-1,2026-11,,1400.00").items
    rec.resolve(session, item, action="adjust", by="finance", note=None, today=TODAY)
    session.commit()
    entries = count(session, JournalEntry)
    with pytest.raises(rec.ItemNotOpen):
        rec.resolve(session, item, action="adjust", by="finance", note=None, today=TODAY)
    session.rollback()
    # a retry of the same posting (a crash before the item was saved) returns the first entry
    again, created = engine.post(session, key=f"reconciliation.adjusted:{item.public_id}", effective_date=TODAY,
                                 description=session.get(JournalEntry, item.adjustment_entry_id).description,
                                 lines=[engine.debit("commission_receivable:allianz-care", -10_000, "EUR"),
                                        engine.credit("commission_income", -10_000, "EUR")],
                                 event_kind="reconciliation.adjusted", event_ref=item.public_id)
    assert (again.id, created) == (item.adjustment_entry_id, False)
    assert count(session, JournalEntry) == entries and receivable(session, books) == 140_000


@pytest.mark.parametrize("line,why", [
    ("P-X,2026-11,,10.00", "unknown to us cannot be adjusted"),
    ("P-1,2025-11,,1500.00", "needs both"),
    ("P-1,2026-11,,1500.00", "resolved already"),  # matched lines are accepted on import
])
def test_what_cannot_be_adjusted(session, books, line, why):
    place(session, books, "P-1")
    statement = import_csv(session, books, line)
    with pytest.raises(statement_files.ReconciliationError, match=why):
        rec.resolve(session, statement.items[0], action="adjust", by="finance", note=None, today=TODAY)
    session.rollback()
    assert count(session, JournalEntry) == 1


def test_a_missing_policy_needs_both_figures_to_adjust_and_an_action_must_be_known(session, books):
    place(session, books, "P-1")
    place(session, books, "P-2")
    statement = import_csv(session, books, "P-1,2026-11,,1500.00")
    missing = by_policy(statement)["P-2"][0]
    with pytest.raises(statement_files.ReconciliationError, match="needs both"):
        rec.resolve(session, missing, action="adjust", by="finance", note=None, today=TODAY)
    with pytest.raises(statement_files.ReconciliationError, match="Choose accept"):
        rec.resolve(session, missing, action="delete", by="finance", note=None, today=TODAY)


# --- receipts --------------------------------------------------------------------------------------------------

def test_partial_then_over_payment_stays_visible(session, books):
    place(session, books, "P-1")
    place(session, books, "P-2")
    statement = import_csv(session, books, "P-1,2026-11,,1500.00", "P-2,2026-11,,1500.00")

    def pay(amount, ref):
        receipt, created = receipts.record_receipt(session, insurer=books.insurer, amount_minor=amount, currency="EUR",
                                              received_on=date(2026, 12, 10), bank_reference=ref,
                                              recorded_by="finance", today=TODAY, statement=statement)
        session.commit()
        return receipts.statement_summary(session, statement)

    partial = pay(100_000, "BANK-1")
    assert (partial.status, partial.received_minor, partial.outstanding_minor) == (
        receipts.PaymentStatus.partially_paid, 100_000, 200_000)
    assert receivable(session, books) == 200_000
    paid = pay(200_000, "BANK-2")
    assert (paid.status, paid.outstanding_minor) == (receipts.PaymentStatus.paid, 0) and receivable(session, books) == 0
    over = pay(5_000, "BANK-3")
    assert (over.status, over.outstanding_minor) == (receipts.PaymentStatus.overpaid, -5_000)
    assert receivable(session, books) == -5_000
    assert engine.account(session, "bank", "EUR").balance_minor == 305_000
    assert engine.verify(session) == []


def test_the_same_bank_reference_posts_once_and_another_amount_is_a_conflict(session, books):
    place(session, books, "P-1")
    kw = dict(insurer=books.insurer, currency="EUR", received_on=date(2026, 12, 10), bank_reference="BANK-9",
              recorded_by="finance", today=TODAY)
    first, created = receipts.record_receipt(session, amount_minor=150_000, **kw)
    session.commit()
    again, created_again = receipts.record_receipt(session, amount_minor=150_000, **kw)
    assert (created, created_again, again.id) == (True, False, first.id)
    assert first.entry_id is not None and count(session, InsurerReceipt) == 1
    with pytest.raises(receipts.ReceiptConflict) as caught:
        receipts.record_receipt(session, amount_minor=149_999, **kw)
    assert caught.value.status == 409 and "1500.00 EUR" in str(caught.value)
    session.rollback()
    assert receivable(session, books) == 0 and count(session, JournalEntry) == 2


def test_a_receipt_is_positive_and_in_the_statements_currency(session, books):
    place(session, books, "P-1")
    statement = import_csv(session, books, "P-1,2026-11,,1500.00")
    kw = dict(insurer=books.insurer, received_on=date(2026, 12, 10), recorded_by="finance", today=TODAY)
    with pytest.raises(statement_files.ReconciliationError, match="positive"):
        receipts.record_receipt(session, amount_minor=0, currency="EUR", bank_reference="B-1", **kw)
    with pytest.raises(statement_files.ReconciliationError, match="nothing is converted"):
        receipts.record_receipt(session, amount_minor=100, currency="GBP", bank_reference="B-2", statement=statement, **kw)
    with pytest.raises(statement_files.ReconciliationError, match="future"):
        receipts.record_receipt(session, amount_minor=100, currency="EUR", bank_reference="B-3",
                           **{**kw, "received_on": TODAY + timedelta(days=1)})
    session.rollback()
    assert count(session, InsurerReceipt) == 0


# --- ageing ----------------------------------------------------------------------------------------------------

def test_ageing_applies_credits_to_the_oldest_debits_first(session, books):
    today = date(2027, 3, 1)
    # commissions posted 120, 75, 45 and 10 days before `today`
    for policy, days in (("P-120", 120), ("P-75", 75), ("P-45", 45), ("P-10", 10)):
        place(session, books, policy, start=today - timedelta(days=days))
    # a receipt of 2,000.00 settles the oldest 1,500.00 and 500.00 of the next
    receipts.record_receipt(session, insurer=books.insurer, amount_minor=200_000, currency="EUR",
                       received_on=today, bank_reference="B-1", recorded_by="finance", today=today)
    session.commit()
    [row] = receipts.receivables_ageing(session, today)
    assert (row.insurer_name, row.currency, row.balance_minor) == ("Allianz Care", "EUR", 400_000)
    assert row.buckets == (150_000, 150_000, 100_000, 0) and row.unapplied_minor == 0
    # 31 days later each open amount has moved one bucket on
    [later] = receipts.receivables_ageing(session, today + timedelta(days=31))
    assert later.buckets == (0, 150_000, 150_000, 100_000)


def test_an_overpaid_insurer_shows_unapplied_credit_and_currencies_stay_apart(session, books):
    place(session, books, "EUR-1", today=TODAY)
    place(session, books, "GBP-1", currency="GBP", today=TODAY)
    receipts.record_receipt(session, insurer=books.insurer, amount_minor=160_000, currency="EUR",
                       received_on=TODAY, bank_reference="B-EUR", recorded_by="finance", today=TODAY)
    session.commit()
    rows = receipts.receivables_ageing(session, TODAY)
    assert [(r.currency, r.balance_minor, r.buckets, r.unapplied_minor) for r in rows] == [
        ("EUR", -10_000, (0, 0, 0, 0), -10_000), ("GBP", 150_000, (150_000, 0, 0, 0), 0)]
    totals = receipts.ageing_totals(rows)
    assert totals["EUR"].balance_minor == -10_000 and totals["GBP"].balance_minor == 150_000

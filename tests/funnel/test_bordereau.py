"""The monthly bordereau to the insurer, without the web: a month with a subscription started (first month by
cheque), two later months paid by one cheque, a radiation that refunds February in full and January pro rata.
Its totals equal the ledger's postings for the month and, independently, the payments table; the changes list the
start and the radiation; the CSV and XLSX files carry the same figures under headers in the reader's language."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.accounts import Role
from core.db import utcnow
from funnel import cheques
from funnel.bordereau import ChangeKind, UnknownInsurer, bordereau
from funnel.bordereau_files import csv_bytes, xlsx_bytes
from funnel.cover_refunds import refund_beyond_end
from funnel.payment_models import Payment
from funnel.roster import apply_events
from ledger.collected_premiums import CLIENT_MONEY, EVENT_KIND, insurer_payable
from ledger.commissions import INCOME
from ledger.models import Account, JournalEntry, Posting

from .premium_books import INSURER, NOW, TODAY, make_issuer, paid_subscription, radiation, seal_config

FRENCH = {"Premium collected": "Cotisation encaissée", "Net owed to the insurer": "Net dû à l'assureur",
          "Section": "Rubrique", "Total": "Total"}


@pytest.fixture(scope="module")
def seal(tmp_path_factory):
    return seal_config(tmp_path_factory.mktemp("seal"))


@pytest.fixture
def books(session, make_user, seal):
    issuer = make_issuer(session, seal)
    staff = make_user(Role.finance)
    s = paid_subscription(session, staff, issuer)
    cheques.record_cheque_months(session, staff, s, issuer, months=["2027-01", "2027-02"],
                                 amount_minor=2 * s.monthly_total_minor, cheque_number_raw="200002", bank="BNP",
                                 received_on=TODAY, today=TODAY)
    apply_events(session, [radiation(s.volunteer.file_ref, "2027-01-20")], now=NOW)
    refund_beyond_end(session, None, s, today=TODAY)
    session.commit()
    return s


def _postings(session, code: str, month: str) -> int:
    """The sum of the month's postings on the account, straight from the postings table."""
    assert month == "2026-12"
    return session.scalar(select(func.coalesce(func.sum(Posting.amount_minor), 0))
                          .join(Account, Account.id == Posting.account_id)
                          .join(JournalEntry, JournalEntry.id == Posting.entry_id)
                          .where(Account.code == code, JournalEntry.event_kind == EVENT_KIND,
                                 Posting.effective_date >= date(2026, 12, 1),
                                 Posting.effective_date < date(2027, 1, 1)))


def test_the_bordereau_s_totals_are_the_ledger_s_and_the_payments(session, books):
    s = books
    b = bordereau(session, INSURER, "2026-12")
    collected, refunded = b.total("collected_minor"), b.total("refunded_minor")
    commission, owed = b.total("commission_minor"), b.total("owed_minor")
    # the books: the month's postings on the insurer's account and on client money
    assert owed == -_postings(session, insurer_payable(INSURER), "2026-12") > 0
    assert collected - refunded == _postings(session, CLIENT_MONEY, "2026-12")
    assert commission == -_postings(session, INCOME, "2026-12")
    assert collected - refunded - commission == owed
    # the payments table, independently: what was paid, and what was refunded or is owed back
    paid = session.scalars(select(Payment)).all()
    assert collected == sum(p.amount_minor for p in paid) == 3 * s.monthly_total_minor
    assert refunded == sum(p.refunded_minor + p.refund_owed_minor for p in paid) > 0
    # per contract (one per cover) and month of cover: February all refunded, nothing owed on it
    february = [p for p in b.premiums if p.month == "2027-02"]
    assert len(february) == 2 and all(p.collected_minor == p.refunded_minor and p.owed_minor == 0
                                      and p.commission_minor == 0 for p in february)
    assert {p.policy_number for p in b.premiums} == {f"{s.reference}-H", f"{s.reference}-P"}
    # the changes: the subscription started in December; the radiation in the month it was recorded
    assert [(c.kind, c.subscription, c.effective) for c in b.changes if c.kind is ChangeKind.started] == [
        (ChangeKind.started, s.reference, date(2026, 12, 8))]
    moved = bordereau(session, INSURER, f"{utcnow():%Y-%m}").changes
    assert (ChangeKind.radiation, s.reference, date(2027, 1, 20)) in [(c.kind, c.subscription, c.effective)
                                                                     for c in moved]
    # another month has nothing; an unknown insurer is refused
    assert bordereau(session, INSURER, "2027-03").premiums == []
    with pytest.raises(UnknownInsurer):
        bordereau(session, "NOBODY", "2026-12")


def test_the_files_carry_the_same_figures_under_translated_headers(session, books):
    b = bordereau(session, INSURER, "2026-12")
    french = lambda text: FRENCH.get(text, text)  # noqa: E731  (the portal passes the catalogue's gettext)
    table = list(csv.reader(io.StringIO(csv_bytes(b, french).decode("utf-8-sig"))))
    header, total = table[0], table[-1]
    assert header[0] == "Rubrique" and "Cotisation encaissée" in header and "Net dû à l'assureur" in header
    assert total[0] == "Total"
    assert total[header.index("Cotisation encaissée")] == f"{b.total('collected_minor') / 100:.2f}"
    assert total[header.index("Net dû à l'assureur")] == f"{b.total('owed_minor') / 100:.2f}"
    sheet = load_workbook(io.BytesIO(xlsx_bytes(b, french))).active
    values = list(sheet.values)
    assert list(values[0]) == header
    assert float(values[-1][header.index("Net dû à l'assureur")]) == pytest.approx(b.total("owed_minor") / 100)
    assert len(values) == len(table)

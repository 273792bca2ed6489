"""Partner commission statements: lines per entry, balances owed to the partner, reconciled with the ledger."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core import events
from core.contracts import ContractStatus
from ledger import commissions, engine, payouts
from ledger.models import JournalEntry
from ledger.statements import LineKind, parse_period, partner_statement, statement_periods
from tests.ledger.books import place_and_post

DEC, JAN, FEB = date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)


@pytest.fixture
def ledger(session, insurer, partner):
    """Business events posted through the real commission and payout operations."""

    class Book:
        def place(self, policy, *, on=DEC, premium=1_000_000, currency="EUR"):
            return place_and_post(session, insurer, partner, policy=policy, placed_by_id=1, premium=premium,
                                  start=on, currency=currency)

        def release(self, contract, on):
            commissions.release_disclosure(session, contract, today=on, released_by="compliance")
            session.commit()

        def cancel(self, contract, on):
            contract.status, contract.cancelled_on = ContractStatus.cancelled, on
            event = events.emit(session, events.CONTRACT_CANCELLED, contract.public_id, on, term=1,
                                premium_minor=contract.premium_minor, currency=contract.currency)
            entry = commissions.post_event(session, event, today=on)
            session.commit()
            return entry

        def pay(self, period, on, currency="EUR"):
            payee = payouts.Payee(partner=partner.public_id, name=partner.legal_name, iban="DE89370400440532013000",
                                  bic="COBADEFFXXX", minimum_minor=5_000, agreement_in_force=True)
            run = payouts.prepare(session, period=period, currency=currency, payees=[payee], prepared_by="f1",
                                  prepared_by_name="Finance One", execution_date=on + timedelta(days=1))
            payouts.approve(session, run, approved_by="f2", approved_by_name="Finance Two", today=on,
                            debtor=payouts.Debtor(name="Broker", iban="FR1420041010050500013M02606",
                                                  bic="PSSTFRPPPAR"))
            session.commit()
            return run

    return Book()


def owed_now(session, org, currency="EUR"):
    """What the engine says the broker owes the firm: its two payable accounts' stored balances."""
    session.expire_all()
    return sum(engine.account(session, code, currency).normal_balance
               for code in (commissions.held(org.public_id), commissions.available(org.public_id)))


def only(statements, currency="EUR"):
    found = [s for s in statements if s.currency == currency]
    assert len(found) == 1
    return found[0]


def amounts(statement):
    return [(line.kind, line.policy_number, line.amount_minor) for line in statement.lines]


def test_a_month_shows_each_commission_and_splits_the_closing_balance(session, partner, ledger):
    p1 = ledger.place("P-1")
    ledger.release(p1, date(2026, 12, 5))
    ledger.place("P-2", on=date(2026, 12, 10), premium=500_000)
    st = only(partner_statement(session, partner.public_id, date(2026, 12, 17)))
    assert (st.start, st.end) == (DEC, date(2026, 12, 31))
    # the release moved P-1's 600.00 from held to available: no line, but the closing balance is split
    assert amounts(st) == [(LineKind.commission, "P-1", 60_000), (LineKind.commission, "P-2", 30_000)]
    assert [line.balance_after_minor for line in st.lines] == [60_000, 90_000]
    assert (st.opening_minor, st.closing_minor, st.held_minor, st.available_minor) == (0, 90_000, 30_000, 60_000)
    assert st.lines[0].effective_date == DEC and st.lines[0].term == 1 and st.lines[0].contract_reference


def test_payouts_and_a_later_clawback_carry_over_from_month_to_month(session, partner, ledger):
    p1 = ledger.place("P-1")
    ledger.release(p1, date(2026, 12, 5))
    run = ledger.pay(DEC, date(2027, 1, 15))
    ledger.cancel(p1, date(2027, 2, 12))  # 292 of 365 days not covered: 480.00 of the 600.00 comes back
    dec, jan, feb = (only(partner_statement(session, partner.public_id, m)) for m in (DEC, JAN, FEB))
    assert amounts(dec) == [(LineKind.commission, "P-1", 60_000)]
    assert amounts(jan) == [(LineKind.payout, None, -60_000)] and jan.lines[0].payout_reference == run.reference
    # the clawback shows in February; the original commission is carried by the opening balances
    assert amounts(feb) == [(LineKind.clawback, "P-1", -48_000)]
    assert (jan.opening_minor, jan.closing_minor) == (60_000, 0)
    assert (feb.opening_minor, feb.closing_minor, feb.held_minor, feb.available_minor) == (0, -48_000, 0, -48_000)
    assert statement_periods(session, partner.public_id) == [FEB, JAN, DEC]


def test_a_clawback_and_its_original_commission_in_the_same_month_are_both_on_the_statement(session, partner,
                                                                                            ledger):
    contract = ledger.place("P-1")
    clawback = ledger.cancel(contract, date(2026, 12, 2))
    st = only(partner_statement(session, partner.public_id, DEC))
    back = clawback.details["partner_share_back_minor"]
    assert 0 < back < 60_000
    assert amounts(st) == [(LineKind.commission, "P-1", 60_000), (LineKind.clawback, "P-1", -back)]
    assert st.closing_minor == 60_000 - back == st.held_minor and st.available_minor == 0


def test_statements_reconcile_to_the_ledger_to_the_cent(session, partner, ledger):
    p1 = ledger.place("P-1", premium=1_234_567)
    ledger.place("P-2", on=date(2026, 12, 20), premium=777_777)
    ledger.release(p1, date(2026, 12, 21))
    ledger.pay(DEC, date(2027, 1, 10))
    ledger.cancel(p1, date(2027, 1, 31))
    p3 = ledger.place("P-3", on=date(2027, 2, 3), premium=99_999)
    ledger.release(p3, date(2027, 2, 4))
    previous_closing = 0
    for month in reversed(statement_periods(session, partner.public_id)):
        st = only(partner_statement(session, partner.public_id, month))
        assert st.opening_minor == previous_closing
        assert st.opening_minor + sum(line.amount_minor for line in st.lines) == st.closing_minor
        assert st.closing_minor == st.held_minor + st.available_minor
        previous_closing = st.closing_minor
    # the stored account balances (kept apart from the postings' running balances) agree to the minor unit
    assert previous_closing == owed_now(session, partner) and engine.verify(session) == []


def test_two_currencies_are_two_statements_never_summed(session, partner, ledger):
    ledger.place("EUR-1")
    ledger.place("GBP-1", premium=2_000_000, currency="GBP")
    eur, gbp = partner_statement(session, partner.public_id, DEC)
    assert (eur.currency, gbp.currency) == ("EUR", "GBP")
    assert amounts(eur) == [(LineKind.commission, "EUR-1", 60_000)] and eur.closing_minor == owed_now(session, partner)
    assert amounts(gbp) == [(LineKind.commission, "GBP-1", 120_000)]
    assert gbp.closing_minor == owed_now(session, partner, "GBP") == 120_000


def test_a_reversed_commission_is_an_adjustment_described_by_the_original(session, partner, ledger):
    ledger.place("P-1")
    placed = select(JournalEntry).where(JournalEntry.event_kind == events.CONTRACT_PLACED)
    original = session.execute(placed).scalar_one()
    engine.reverse(session, original, key="fix:1", effective_date=date(2026, 12, 3))
    session.commit()
    st = only(partner_statement(session, partner.public_id, DEC))
    assert amounts(st) == [(LineKind.commission, "P-1", 60_000), (LineKind.adjustment, "P-1", -60_000)]
    assert st.closing_minor == 0 == owed_now(session, partner)


def test_a_firm_without_commission_has_no_statement(session, make_org):
    org = make_org()
    assert partner_statement(session, org.public_id, DEC) == []
    assert statement_periods(session, org.public_id) == []


@pytest.mark.parametrize("value", ["2026-13", "2026-1", "26-12", "2026/12", "", "2026-12-01"])
def test_a_period_is_a_month_written_yyyy_mm(value):
    assert parse_period("2026-12") == DEC
    with pytest.raises(ValueError):
        parse_period(value)

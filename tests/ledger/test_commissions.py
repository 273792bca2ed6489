"""Commission postings from placed, renewed and cancelled contracts (DESIGN.md §5), on both databases."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from agreements.models import CommissionRule
from core import events
from core.accounts import Role
from core.contracts import ContractStatus, ContractTerm, Insurer
from core.products import ProductLine
from ledger import commissions, engine
from ledger.models import JournalEntry
from tests.ledger import books

START = date(2026, 12, 1)
TODAY = date(2026, 12, 1)


def place(session, insurer, org, *, premium=1_000_000, policy="P-1", start=START, currency="EUR"):
    contract, event = books.place(session, insurer, org, policy=policy, placed_by_id=1, premium=premium, start=start,
                                  currency=currency)
    session.commit()
    return contract, event


def payable(session, org, which="held", currency="EUR"):
    session.expire_all()
    code = commissions.held(org.public_id) if which == "held" else commissions.available(org.public_id)
    return engine.account(session, code, currency).normal_balance


@pytest.fixture
def manager_id(session, make_user):
    return make_user(Role.account_manager).id


def test_placement_posts_the_broker_commission_and_the_partners_held_share(session, insurer, partner, manager_id):
    contract, event = place(session, insurer, partner)
    entry = commissions.post_event(session, event, today=TODAY)
    session.commit()
    # 15 % of 10,000.00 = 1,500.00 broker commission; 40 % of it = 600.00 to the partner, held
    receivable = engine.account(session, commissions.receivable(insurer), "EUR")
    assert receivable.balance_minor == 150_000
    assert payable(session, partner) == 60_000 and payable(session, partner, "available") == 0
    assert entry.details["insurer_rate"] == "0.1500" and entry.details["partner_rate"] == "0.4000"
    assert entry.details["agreement"] == f"AG-{partner.id}" and entry.event_date == START
    assert engine.verify(session) == []


def test_posting_an_event_twice_changes_nothing(session, insurer, partner, manager_id):
    _contract, event = place(session, insurer, partner)
    first = commissions.post_event(session, event, today=TODAY)
    session.commit()
    again = commissions.post_event(session, event, today=TODAY)
    session.commit()
    assert again.id == first.id and payable(session, partner) == 60_000
    assert commissions.pending_events(session) == []


def test_a_later_rate_change_never_reprices_what_was_posted(session, insurer, partner, manager_id):
    _contract, event = place(session, insurer, partner)
    commissions.post_event(session, event, today=TODAY)
    commissions.set_insurer_rate(session, insurer, ProductLine.family, Decimal("0.2000"), date(2026, 6, 1), "finance")
    session.commit()
    assert payable(session, partner) == 60_000
    second, event2 = place(session, insurer, partner, policy="P-2")
    entry = commissions.post_event(session, event2, today=TODAY)
    session.commit()
    assert entry.details["insurer_rate"] == "0.2000" and payable(session, partner) == 60_000 + 80_000


def test_no_rate_from_the_insurer_refuses_the_posting(session, partner, manager_id):
    insurer = Insurer(code="bupa", name="Bupa Global")
    session.add(insurer)
    session.commit()
    _contract, event = place(session, insurer, partner)
    with pytest.raises(commissions.MissingRate):
        commissions.post_event(session, event, today=TODAY)
    session.rollback()
    assert session.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 0
    assert [e.id for e in commissions.pending_events(session)] == [event.id]


def test_renewal_posts_at_the_renewal_rate(session, insurer, partner, manager_id):
    contract, event = place(session, insurer, partner)
    commissions.post_event(session, event, today=TODAY)
    contract.terms.append(ContractTerm(number=2, start_date=date(2027, 12, 1), end_date=date(2028, 11, 30),
                                       premium_minor=1_100_000))
    renewed = events.emit(session, events.CONTRACT_RENEWED, contract.public_id, date(2027, 12, 1),
                          premium_minor=1_100_000, currency="EUR", term=2)
    session.commit()
    entry = commissions.post_event(session, renewed, today=date(2027, 12, 1))
    session.commit()
    # 15 % of 11,000.00 = 1,650.00; the renewal rate 20 % of it = 330.00
    assert entry.details["partner_share_minor"] == 33_000 and payable(session, partner) == 60_000 + 33_000


def test_disclosure_release_moves_the_share_to_available(session, insurer, partner, manager_id):
    contract, event = place(session, insurer, partner)
    commissions.post_event(session, event, today=TODAY)
    commissions.release_disclosure(session, contract, today=TODAY, released_by="compliance@demo.example")
    commissions.release_disclosure(session, contract, today=TODAY, released_by="compliance@demo.example")
    session.commit()
    assert payable(session, partner) == 0 and payable(session, partner, "available") == 60_000


def cancel(session, contract, on):
    contract.status, contract.cancelled_on = ContractStatus.cancelled, on
    term = contract.terms[-1]
    event = events.emit(session, events.CONTRACT_CANCELLED, contract.public_id, on, term=term.number,
                        premium_minor=term.premium_minor, currency=contract.currency)
    session.commit()
    return event


def test_cancellation_inside_the_window_claws_back_pro_rata(session, insurer, partner, manager_id):
    contract, event = place(session, insurer, partner)
    commissions.post_event(session, event, today=TODAY)
    commissions.release_disclosure(session, contract, today=TODAY, released_by="compliance")
    session.commit()
    # cancelled after 73 of 365 days: 292 days not covered -> 292/365 of each amount comes back
    entry = commissions.post_event(session, cancel(session, contract, date(2027, 2, 12)), today=date(2027, 2, 12))
    session.commit()
    assert entry.details["days_not_covered"] == 292 and entry.details["days_paid"] == 365
    assert entry.details["broker_commission_back_minor"] == 120_000  # 150,000 × 292/365
    assert entry.details["partner_share_back_minor"] == 48_000       # 60,000 × 292/365
    # the share had been released: the clawback comes out of what is available
    assert payable(session, partner, "available") == 12_000
    assert engine.account(session, commissions.receivable(insurer), "EUR").balance_minor == 30_000
    assert engine.verify(session) == []


def test_a_partner_balance_may_go_negative_after_a_clawback(session, insurer, partner, manager_id):
    contract, event = place(session, insurer, partner)
    commissions.post_event(session, event, today=TODAY)
    commissions.release_disclosure(session, contract, today=TODAY, released_by="compliance")
    # the partner was paid its 600.00 (a payout run): available back to zero
    engine.open_account(session, "payouts_in_transit", engine.AccountType.liability, "EUR")
    engine.post(session, key="payout:1", effective_date=TODAY, description="payout",
                lines=[engine.debit(commissions.available(partner.public_id), 60_000, "EUR"),
                       engine.credit("payouts_in_transit", 60_000, "EUR")])
    session.commit()
    commissions.post_event(session, cancel(session, contract, date(2026, 12, 2)), today=date(2026, 12, 2))
    session.commit()
    assert payable(session, partner, "available") < 0


def test_no_clawback_outside_the_window(session, insurer, partner, manager_id):
    session.execute(select(CommissionRule)).scalar_one().clawback_days = 90
    contract, event = place(session, insurer, partner)
    commissions.post_event(session, event, today=TODAY)
    session.commit()
    entries = session.execute(select(func.count()).select_from(JournalEntry)).scalar_one()
    # cancelled on day 105 of the term, after the 90-day window: the commissions stay as posted
    assert commissions.post_event(session, cancel(session, contract, date(2027, 3, 15)),
                                  today=date(2027, 3, 15)) is None
    session.commit()
    assert session.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == entries
    assert payable(session, partner) == 60_000
    # handled: the next `flask ledger post-events` does not list it again
    assert commissions.pending_events(session) == []


def test_amounts_in_two_currencies_never_mix(session, insurer, partner, manager_id):
    _c1, e1 = place(session, insurer, partner, policy="EUR-1")
    _c2, e2 = place(session, insurer, partner, policy="GBP-1", currency="GBP")
    commissions.post_event(session, e1, today=TODAY)
    commissions.post_event(session, e2, today=TODAY)
    session.commit()
    assert payable(session, partner, currency="EUR") == 60_000
    assert payable(session, partner, currency="GBP") == 60_000
    tb = engine.trial_balance(session)
    assert {c: sum(v for _a, v in rows) for c, rows in tb.items()} == {"EUR": 0, "GBP": 0}


def test_the_post_events_command_posts_what_is_pending_and_reports_what_cannot(app, session, insurer, partner,
                                                                              manager_id):
    _contract, event = place(session, insurer, partner)
    uninsured = Insurer(code="nobody", name="No Rate Insurance")
    session.add(uninsured)
    session.commit()
    _c2, stuck = place(session, uninsured, partner, policy="P-STUCK")
    result = app.test_cli_runner().invoke(args=["ledger", "post-events"])
    assert result.exit_code == 1 and "No Rate Insurance" in result.output
    session.expire_all()
    assert payable(session, partner) == 60_000
    assert [e.id for e in commissions.pending_events(session)] == [stuck.id]


def test_a_renewals_share_is_released_on_its_own_after_the_first_terms(session, insurer, partner, manager_id):
    contract, event = place(session, insurer, partner)
    commissions.post_event(session, event, today=TODAY)
    commissions.release_disclosure(session, contract, today=TODAY, released_by="compliance")
    contract.terms.append(ContractTerm(number=2, start_date=date(2027, 12, 1), end_date=date(2028, 11, 30),
                                       premium_minor=1_000_000))
    renewed = events.emit(session, events.CONTRACT_RENEWED, contract.public_id, date(2027, 12, 1),
                          premium_minor=1_000_000, currency="EUR", term=2)
    commissions.post_event(session, renewed, today=date(2027, 12, 1))
    session.commit()
    assert payable(session, partner) == 30_000 and payable(session, partner, "available") == 60_000
    released = commissions.release_disclosure(session, contract, today=date(2027, 12, 2), released_by="compliance")
    session.commit()
    # term 1 was released already (returned as it was), term 2's 300.00 now
    assert len(released) == 2
    assert payable(session, partner) == 0 and payable(session, partner, "available") == 90_000


def test_a_clawback_before_release_comes_from_held_and_the_release_pays_only_the_rest(session, insurer, partner,
                                                                                     manager_id):
    contract, event = place(session, insurer, partner)
    commissions.post_event(session, event, today=TODAY)
    session.commit()
    # cancelled after 73 days: 48,000 of the 60,000 share comes back out of held
    entry = commissions.post_event(session, cancel(session, contract, date(2027, 2, 12)), today=date(2027, 2, 12))
    session.commit()
    assert entry.details["from_held_minor"] == 48_000 and payable(session, partner) == 12_000
    commissions.release_disclosure(session, contract, today=date(2027, 2, 13), released_by="compliance")
    session.commit()
    assert payable(session, partner) == 0 and payable(session, partner, "available") == 12_000
    assert engine.verify(session) == []


def test_a_retried_cancellation_returns_the_first_clawback(session, insurer, partner, manager_id):
    contract, event = place(session, insurer, partner)
    commissions.post_event(session, event, today=TODAY)
    cancelled = cancel(session, contract, date(2027, 2, 12))
    first = commissions.post_event(session, cancelled, today=date(2027, 2, 12))
    session.commit()
    # released in between: recomputing would now take it from available; the retry returns the first entry
    commissions.release_disclosure(session, contract, today=date(2027, 2, 13), released_by="compliance")
    session.commit()
    again = commissions.post_event(session, cancelled, today=date(2027, 2, 14))
    assert again.id == first.id

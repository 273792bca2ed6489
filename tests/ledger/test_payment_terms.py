"""A payout run pays what is due under each agreement's payment terms, counted from the end of the statement's
month or from the insurer's payment of the commission, and lists what is not yet due with the day it will be.

The 40 % partner share of a 15 % broker commission on a premium of 10,000.00 is 600.00 (60,000 minor units).
"""
from __future__ import annotations

from datetime import date

from agreements.models import PaymentTermsBasis
from ledger import payouts, receipts
from ledger.payouts import ExclusionReason
from ledger.reconciliation_models import InsurerStatement, ItemKind, ReconciliationItem
from tests.ledger.test_payouts import (APPROVED, DEBTOR, PERIOD, approve, available, earn, firm, insurer,  # noqa: F401
                                       payees, staff)

NOVEMBER_SHARE = date(2026, 11, 10)
OCTOBER_SHARE = date(2026, 10, 10)


def run_on(session, staff, orgs, execution_date, period=PERIOD):
    preparer = staff[0]
    run = payouts.prepare(session, period=period, currency="EUR", payees=payees(session, orgs, execution_date),
                          prepared_by=preparer.public_id, prepared_by_name=preparer.full_name,
                          execution_date=execution_date)
    session.commit()
    return run


def not_due(run):
    return [(ex.policy_number, ex.term, ex.balance_minor, ex.due_on) for ex in run.exclusions
            if ex.reason is ExclusionReason.not_yet_due]


def test_thirty_days_from_the_statements_month_end_pays_octobers_share_and_holds_novembers(session, staff, firm,
                                                                                           earn):
    org = firm(terms_days=30)
    october = earn(org, on=OCTOBER_SHARE)
    november = earn(org, on=NOVEMBER_SHARE)

    run = run_on(session, staff, [org], date(2026, 12, 3))
    assert [(line.partner, line.amount_minor) for line in run.lines] == [(org.public_id, 60_000)]
    assert not_due(run) == [(november.policy_number, 1, 60_000, date(2026, 12, 30))]
    assert october.policy_number not in {ex.policy_number for ex in run.exclusions}
    approve(session, staff, run)
    assert available(session, org) == 60_000  # November's share waits, exactly

    later = run_on(session, staff, [org], date(2026, 12, 30))
    assert [line.amount_minor for line in later.lines] == [60_000] and not_due(later) == []


def test_a_share_counted_from_the_insurers_payment_waits_for_the_statement_to_be_paid_in_full(session, staff, firm,
                                                                                              earn, insurer):
    org = firm(terms_days=10, basis=PaymentTermsBasis.premium_received)
    contract = earn(org, on=NOVEMBER_SHARE)

    first = run_on(session, staff, [org], date(2026, 12, 3))
    assert first.lines == [] and not_due(first) == [(contract.policy_number, 1, 60_000, None)]
    payouts.cancel(session, first, cancelled_by="finance")

    statement = InsurerStatement(insurer_id=insurer.id, period=date(2026, 11, 1), currency="EUR",
                                 filename="allianz-2026-11.csv", sha256="a" * 64, uploaded_by="finance",
                                 reported_total_minor=150_000)
    statement.items.append(ReconciliationItem(kind=ItemKind.matched, row_number=1, policy_number=contract.policy_number,
                                              line_period="2026-11", premium_minor=1_000_000, reported_minor=150_000,
                                              expected_minor=150_000, contract_id=contract.id, term=1))
    session.add(statement)
    session.flush()

    def receive(amount, on, ref):
        receipts.record_receipt(session, insurer=insurer, amount_minor=amount, currency="EUR", received_on=on,
                                bank_reference=ref, recorded_by="finance", today=date(2026, 12, 2),
                                statement=statement)
        session.commit()

    receive(100_000, date(2026, 11, 20), "BANK-1")  # part of the statement: not yet the commission on the term
    partly = run_on(session, staff, [org], date(2026, 12, 3))
    assert partly.lines == [] and not_due(partly) == [(contract.policy_number, 1, 60_000, None)]
    payouts.cancel(session, partly, cancelled_by="finance")

    receive(50_000, date(2026, 11, 25), "BANK-2")  # paid in full on 25 November: due 10 days later
    early = run_on(session, staff, [org], date(2026, 12, 3))
    assert early.lines == [] and not_due(early) == [(contract.policy_number, 1, 60_000, date(2026, 12, 5))]
    payouts.cancel(session, early, cancelled_by="finance")

    due = run_on(session, staff, [org], date(2026, 12, 5))
    assert [line.amount_minor for line in due.lines] == [60_000] and not_due(due) == []
    approve(session, staff, due, on=APPROVED)
    assert available(session, org) == 0


def test_each_partner_is_paid_on_its_own_agreements_terms(session, staff, firm, earn):
    prompt, slow = firm(terms_days=0), firm(terms_days=45)
    earn(prompt, on=NOVEMBER_SHARE)
    held_back = earn(slow, on=NOVEMBER_SHARE)
    run = run_on(session, staff, [prompt, slow], date(2026, 12, 3))
    assert {line.partner: line.amount_minor for line in run.lines} == {prompt.public_id: 60_000}
    assert not_due(run) == [(held_back.policy_number, 1, 60_000, date(2027, 1, 14))]
    assert run.total_minor == 60_000

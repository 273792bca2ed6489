"""Payout runs (ledger.payouts): preparation with its exclusions, four-eyes approval, the SEPA file, settlement,
and the guarantee that a balance is never paid twice — retried, crashed or approved from two browsers at once.

Balances are made available the way production does it: a contract placed, its commission posted, its
disclosure released (ledger.commissions). The 40 % partner share of a 15 % broker commission on a premium of
10,000.00 is 600.00.
"""
from __future__ import annotations

import hashlib
import itertools
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agreements.models import PaymentTermsBasis
from agreements.queries import agreement_in_force
from core import events
from core.accounts import PartnerStatus, Role
from core.contracts import ContractStatus
from ledger import commissions, engine, payouts, receipts
from ledger.models import ExclusionReason, InsurerStatement, ItemKind, JournalEntry, ReconciliationItem, RunStatus
from tests.ledger.books import add_agreement, place_and_post
from tests.ledger.test_concurrency import in_transaction, run_threads
from tests.system_tools import pain001_errors, xmllint_errors

PERIOD = date(2026, 11, 1)          # the run pays November
EARNED = date(2026, 11, 10)         # commissions made available in November
PREPARED = date(2026, 12, 2)
APPROVED = date(2026, 12, 3)
SETTLED = date(2026, 12, 5)

DE_IBAN = "DE89370400440532013000"   # BIC derivable: COBADEFFXXX
FR_IBAN = "FR1420041010050500013M02606"
GB_IBAN, GB_BIC = "GB29NWBK60161331926819", "NWBKGB2L"
BAD_IBAN = "DE00370400440532013000"  # wrong check digits
DEBTOR = payouts.Debtor(name="BIG Broker SA", iban=FR_IBAN, bic="PSSTFRPP")
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
_policies = itertools.count(1)


# --- set-up: firms with agreements and bank details, commissions made available ----------------------------

@pytest.fixture
def staff(make_user):
    """(preparer, approver, account manager): two distinct finance users for four-eyes."""
    return make_user(Role.finance), make_user(Role.finance), make_user(Role.account_manager)


@pytest.fixture
def firm(session, make_org):
    """firm(iban=…, bic=…, minimum=…, agreement_ends=…, terms_days=…, basis=…): a broker firm with a 40 % / 20 %
    agreement from 2026-01-01 (terminated on `agreement_ends` when given) and its bank details on file. Its
    shares fall due at the end of their statement's month unless `terms_days`/`basis` say otherwise."""
    def make(*, iban=DE_IBAN, bic=None, minimum=5_000, agreement_ends=None, holder=None, terms_days=0,
             basis=PaymentTermsBasis.statement_month_end):
        org = make_org(PartnerStatus.specialist_broker, payout_iban=iban, payout_bic=bic,
                       payout_minimum_minor=minimum, payout_account_holder=holder)
        add_agreement(session, org, until=agreement_ends, payment_terms_days=terms_days, payment_terms_basis=basis)
        session.commit()
        return org

    return make


@pytest.fixture
def earn(session, insurer, staff):
    """earn(org, premium=…, on=…, currency=…, release=True) -> the contract whose partner share was made
    available on `on` (placed, commission posted and disclosure released that day)."""
    manager = staff[2]

    def make(org, *, premium=1_000_000, on=EARNED, currency="EUR", release=True):
        return place_and_post(session, insurer, org, policy=f"P-{next(_policies)}", placed_by_id=manager.id,
                              premium=premium, start=on, currency=currency, release_on=on if release else None)

    return make


def cancel_contract(session, contract, on):
    """The contract cancelled on `on`, inside the 365-day window: the pro-rata clawback posts that day."""
    contract.status, contract.cancelled_on = ContractStatus.cancelled, on
    term = contract.terms[-1]
    event = events.emit(session, events.CONTRACT_CANCELLED, contract.public_id, on, term=term.number,
                        premium_minor=term.premium_minor, currency=contract.currency)
    entry = commissions.post_event(session, event, today=on)
    session.commit()
    return entry


def payees(session, orgs, on):
    """What the portal passes: each firm's bank details, minimum and whether an agreement is in force."""
    return [payouts.Payee(partner=o.public_id, name=o.payout_account_holder or o.legal_name, iban=o.payout_iban,
                          bic=o.payout_bic, minimum_minor=o.payout_minimum_minor,
                          agreement_in_force=agreement_in_force(session, o.id, on) is not None) for o in orgs]


def prepare(session, staff, orgs, *, on=PREPARED, period=PERIOD, currency="EUR"):
    preparer = staff[0]
    run = payouts.prepare(session, period=period, currency=currency, payees=payees(session, orgs, on),
                          prepared_by=preparer.public_id, prepared_by_name=preparer.full_name,
                          execution_date=on + timedelta(days=1))
    session.commit()
    return run


def approve(session, staff, run, *, on=APPROVED, commit=True):
    approver = staff[1]
    result = payouts.approve(session, run, approved_by=approver.public_id, approved_by_name=approver.full_name,
                             debtor=DEBTOR, today=on)
    if commit:
        session.commit()
    return result


def available(session, org, currency="EUR"):
    """The partner's available balance (owed to it: positive); `org` is a firm or its public id."""
    session.expire_all()
    partner = org if isinstance(org, str) else org.public_id
    return engine.account(session, commissions.available(partner), currency).normal_balance


def balance(session, code, currency="EUR"):
    session.expire_all()
    return engine.account(session, code, currency).balance_minor


def entries(session, kind):
    return session.execute(select(func.count()).select_from(JournalEntry)
                           .where(JournalEntry.event_kind == kind)).scalar_one()


def lines_of(run):
    return {line.partner: line.amount_minor for line in run.lines}


def exclusions_of(run):
    return {ex.partner: (ex.reason, ex.balance_minor) for ex in run.exclusions}


def assert_books_consistent(session):
    session.expire_all()
    assert engine.verify(session) == []
    totals = {c: sum(v for _a, v in rows) for c, rows in engine.trial_balance(session).items()}
    assert totals and all(t == 0 for t in totals.values()), totals


# --- preparation ---------------------------------------------------------------------------------------------

def test_a_run_pays_each_partner_at_or_above_its_minimum_and_lists_every_exclusion(session, staff, firm, earn):
    paid_de = firm(iban=DE_IBAN)                                   # BIC derived from the IBAN
    paid_gb = firm(iban=GB_IBAN, bic=GB_BIC, minimum=60_000)       # exactly at its minimum: paid
    no_details = firm(iban=None)
    bad_iban = firm(iban=BAD_IBAN)
    bad_bic = firm(iban=DE_IBAN, bic="NOTABIC")
    ended = firm(agreement_ends=date(2026, 11, 30))                # terminated before the run
    small = firm(minimum=100_000)
    nothing_yet = firm()
    firms = [paid_de, paid_gb, no_details, bad_iban, bad_bic, ended, small, nothing_yet]
    for org in firms[:-1]:
        earn(org)
    earn(nothing_yet, release=False)                               # held only: not available, not listed
    before = session.execute(select(func.count()).select_from(JournalEntry)).scalar_one()

    run = prepare(session, staff, firms)

    assert run.status is RunStatus.prepared and run.currency == "EUR" and run.reference == "PO-202611-EUR-1"
    assert lines_of(run) == {paid_de.public_id: 60_000, paid_gb.public_id: 60_000}
    assert run.total_minor == 120_000
    by_partner = {line.partner: line for line in run.lines}
    assert (by_partner[paid_de.public_id].iban, by_partner[paid_de.public_id].bic) == (DE_IBAN, "COBADEFFXXX")
    assert (by_partner[paid_gb.public_id].iban, by_partner[paid_gb.public_id].bic) == (GB_IBAN, GB_BIC)
    assert exclusions_of(run) == {
        no_details.public_id: (ExclusionReason.no_bank_details, 60_000),
        bad_iban.public_id: (ExclusionReason.invalid_iban, 60_000),
        bad_bic.public_id: (ExclusionReason.invalid_bic, 60_000),
        ended.public_id: (ExclusionReason.no_active_agreement, 60_000),
        small.public_id: (ExclusionReason.below_minimum, 60_000),
    }
    # preparing posts nothing and moves no balance
    assert session.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == before
    assert available(session, paid_de) == 60_000
    assert_books_consistent(session)


def test_checked_bank_details():
    assert payouts.checked_bank_details("DE89 3704 0044 0532 0130 00", None) == (DE_IBAN, "COBADEFFXXX")
    assert payouts.checked_bank_details(GB_IBAN, GB_BIC) == (GB_IBAN, GB_BIC)
    assert payouts.checked_bank_details(None, GB_BIC) is ExclusionReason.no_bank_details
    assert payouts.checked_bank_details(BAD_IBAN, None) is ExclusionReason.invalid_iban
    assert payouts.checked_bank_details(DE_IBAN, "XX") is ExclusionReason.invalid_bic


def test_a_partner_missing_from_the_payees_is_excluded_not_paid(session, staff, firm, earn):
    known, unknown = firm(), firm()
    earn(known)
    earn(unknown)
    run = prepare(session, staff, [known])
    assert lines_of(run) == {known.public_id: 60_000}
    assert exclusions_of(run) == {unknown.public_id: (ExclusionReason.no_bank_details, 60_000)}
    assert_books_consistent(session)


def test_prepare_writes_nothing_when_the_caller_rolls_back(session, staff, firm, earn):
    org = firm()
    earn(org)
    payouts.prepare(session, period=PERIOD, currency="EUR", payees=payees(session, [org], PREPARED),
                    prepared_by=staff[0].public_id, prepared_by_name="x", execution_date=PREPARED)
    session.rollback()
    assert payouts.runs(session) == []
    # and the currency is free for the next attempt
    assert lines_of(prepare(session, staff, [org])) == {org.public_id: 60_000}
    assert_books_consistent(session)


def test_runs_are_per_currency_and_never_mix_amounts(session, staff, firm, earn):
    org = firm(iban=GB_IBAN, bic=GB_BIC)
    earn(org, premium=1_000_000, currency="EUR")   # 600.00 EUR
    earn(org, premium=500_000, currency="GBP")     # 15 % of 5,000.00 = 750.00; 40 % = 300.00 GBP

    eur = prepare(session, staff, [org], currency="EUR")
    gbp = prepare(session, staff, [org], currency="GBP")   # one prepared run per currency: both may wait

    assert (eur.currency, lines_of(eur), eur.total_minor) == ("EUR", {org.public_id: 60_000}, 60_000)
    assert (gbp.currency, lines_of(gbp), gbp.total_minor) == ("GBP", {org.public_id: 30_000}, 30_000)
    approve(session, staff, eur)
    approve(session, staff, gbp)
    assert available(session, org, "EUR") == 0 and available(session, org, "GBP") == 0
    assert balance(session, payouts.APPROVED, "EUR") == -60_000
    assert balance(session, payouts.APPROVED, "GBP") == -30_000
    # each file carries its own currency's amount only
    for run, expected in ((eur, [("EUR", "600.00")]), (gbp, [("GBP", "300.00")])):
        doc = ET.fromstring(run.pain001.encode())
        assert [(a.get("Ccy"), a.text) for a in doc.iterfind(".//p:InstdAmt", NS)] == expected
    assert_books_consistent(session)


def test_a_second_run_in_the_same_currency_waits_for_the_first(session, staff, firm, earn):
    org = firm()
    earn(org)
    first = prepare(session, staff, [org])
    with pytest.raises(payouts.RunRefused):
        prepare(session, staff, [org])
    session.rollback()
    assert [r.public_id for r in payouts.runs(session)] == [first.public_id]
    payouts.cancel(session, first, cancelled_by=staff[0].public_id)
    session.commit()
    second = prepare(session, staff, [org])
    assert second.reference == "PO-202611-EUR-2" and lines_of(second) == {org.public_id: 60_000}
    assert_books_consistent(session)


def test_the_period_cut_off_leaves_later_amounts_for_the_next_run(session, staff, firm, earn):
    org = firm()
    earn(org, premium=1_000_000, on=date(2026, 11, 20))    # 600.00 in November
    earn(org, premium=500_000, on=date(2026, 12, 1))       # 300.00 made available after November
    november = prepare(session, staff, [org], on=date(2026, 12, 2))
    assert lines_of(november) == {org.public_id: 60_000}
    approve(session, staff, november, on=date(2026, 12, 3))
    assert available(session, org) == 30_000
    december = prepare(session, staff, [org], period=date(2026, 12, 1), on=date(2027, 1, 4))
    assert lines_of(december) == {org.public_id: 30_000}
    assert_books_consistent(session)


def test_after_approval_a_new_run_sees_nothing_left_to_pay(session, staff, firm, earn):
    org = firm()
    earn(org)
    run = prepare(session, staff, [org])
    approve(session, staff, run)
    # made available after the period: not November's money
    earn(org, premium=500_000, on=date(2026, 12, 4))
    again = prepare(session, staff, [org], on=date(2026, 12, 5))      # November once more
    assert lines_of(again) == {} and exclusions_of(again) == {} and again.total_minor == 0
    with pytest.raises(payouts.RunRefused):                            # a run paying nothing is not sent
        approve(session, staff, again, on=date(2026, 12, 5))
    session.rollback()
    payouts.cancel(session, again, cancelled_by=staff[0].public_id)
    session.commit()
    december = prepare(session, staff, [org], period=date(2026, 12, 1), on=date(2027, 1, 4))
    assert lines_of(december) == {org.public_id: 30_000}
    assert entries(session, "payout.approved") == 1 and available(session, org) == 30_000
    assert_books_consistent(session)


# --- approval ------------------------------------------------------------------------------------------------

def test_the_preparer_cannot_approve(session, staff, firm, earn):
    org = firm()
    earn(org)
    run = prepare(session, staff, [org])
    preparer = staff[0]
    with pytest.raises(payouts.FourEyes):
        payouts.approve(session, run, approved_by=preparer.public_id, approved_by_name=preparer.full_name,
                        debtor=DEBTOR, today=APPROVED)
    session.rollback()
    assert run.status is RunStatus.prepared and run.pain001 is None
    assert entries(session, "payout.approved") == 0 and available(session, org) == 60_000
    _run, created = approve(session, staff, run)
    assert created and run.approved_by == staff[1].public_id and available(session, org) == 0
    assert_books_consistent(session)


def test_approval_posts_the_payouts_once_however_often_it_is_clicked(session, staff, firm, earn, db_engine):
    a, b = firm(), firm(iban=GB_IBAN, bic=GB_BIC)
    earn(a)
    earn(b, premium=2_000_000)   # 1,200.00
    run = prepare(session, staff, [a, b])
    run, created = approve(session, staff, run)
    assert created and run.status is RunStatus.approved and run.open_currency is None
    assert run.pain001 and run.approval_entry_id
    first_file = run.pain001
    run, again = approve(session, staff, run)
    assert not again
    # a second browser, a fresh session, loading the run again
    with Session(db_engine) as other:
        reloaded = payouts.get_run(other, run.public_id)
        _r, third = payouts.approve(other, reloaded, approved_by=staff[1].public_id, approved_by_name="x",
                                    debtor=DEBTOR, today=APPROVED)
        other.commit()
    assert not third
    session.expire_all()
    assert run.pain001 == first_file
    assert entries(session, "payout.approved") == 1
    assert available(session, a) == 0 and available(session, b) == 0
    assert balance(session, payouts.APPROVED) == -180_000
    entry = payouts.approval_entry(session, run)
    assert sorted(p.amount_minor for p in entry.postings) == [-180_000, 60_000, 120_000]
    assert_books_consistent(session)


def test_a_crash_after_the_postings_leaves_the_run_prepared_and_it_can_be_approved_again(session, staff, firm,
                                                                                         earn, monkeypatch, db_engine):
    org = firm()
    earn(org)
    run = prepare(session, staff, [org])
    real_post = engine.post

    class Crash(RuntimeError):
        pass

    def crashing(*args, **kwargs):
        result = real_post(*args, **kwargs)
        if kwargs["key"].startswith("payout.approved"):
            raise Crash("the process died after posting, before the commit")
        return result

    monkeypatch.setattr(payouts, "post", crashing)  # the post the approval makes
    with pytest.raises(Crash):
        approve(session, staff, run, commit=False)
    session.rollback()
    monkeypatch.undo()

    with Session(db_engine) as fresh:   # what another request sees
        assert payouts.get_run(fresh, run.public_id).status is RunStatus.prepared
    assert run.status is RunStatus.prepared and run.approval_entry_id is None and run.pain001 is None
    assert entries(session, "payout.approved") == 0 and available(session, org) == 60_000
    assert_books_consistent(session)

    _run, created = approve(session, staff, run)
    assert created and entries(session, "payout.approved") == 1 and available(session, org) == 0
    assert_books_consistent(session)


def test_a_clawback_after_preparation_stops_the_approval(session, staff, firm, earn):
    org = firm(minimum=1_000)
    contract = earn(org)
    run = prepare(session, staff, [org])
    # cancelled on 2026-12-02, 343 of the term's 365 days not covered: 563.84 of the 600.00 comes back out of
    # what is available
    cancel_contract(session, contract, date(2026, 12, 2))
    assert available(session, org) == 60_000 - 56_384
    with pytest.raises(payouts.RunRefused):
        approve(session, staff, run, on=date(2026, 12, 3))
    session.rollback()
    assert run.status is RunStatus.prepared and run.pain001 is None
    assert entries(session, "payout.approved") == 0 and available(session, org) == 3_616
    assert_books_consistent(session)
    # the way out: cancel it and prepare again, which pays what is left
    payouts.cancel(session, run, cancelled_by=staff[0].public_id)
    session.commit()
    again = prepare(session, staff, [org], on=date(2026, 12, 3))
    assert lines_of(again) == {org.public_id: 3_616}


def test_a_negative_balance_is_carried_forward_and_netted_on_the_next_payout(session, staff, firm, earn):
    org = firm()
    contract = earn(org)                                        # 600.00 available in November
    november = prepare(session, staff, [org])
    approve(session, staff, november)
    payouts.settle(session, november, settled_by=staff[1].public_id, bank_reference="BANK-1", today=SETTLED)
    session.commit()
    # cancelled after payment: 335/365 of 600.00 = 550.68 comes back; the partner owes it
    clawback = cancel_contract(session, contract, date(2026, 12, 10))
    assert clawback.details["partner_share_back_minor"] == 55_068 and available(session, org) == -55_068

    december = prepare(session, staff, [org], period=date(2026, 12, 1), on=date(2027, 1, 4))
    assert lines_of(december) == {}
    assert exclusions_of(december) == {org.public_id: (ExclusionReason.negative_balance, -55_068)}
    payouts.cancel(session, december, cancelled_by=staff[0].public_id)
    session.commit()

    earn(org, premium=1_500_000, on=date(2027, 1, 10))         # 900.00 more
    january = prepare(session, staff, [org], period=date(2027, 1, 1), on=date(2027, 2, 2))
    assert lines_of(january) == {org.public_id: 90_000 - 55_068}
    approve(session, staff, january, on=date(2027, 2, 3))
    assert available(session, org) == 0
    assert_books_consistent(session)


# --- settlement and cancellation -----------------------------------------------------------------------------

def test_settling_moves_the_approved_payouts_to_the_bank_once(session, staff, firm, earn):
    a, b = firm(), firm(iban=GB_IBAN, bic=GB_BIC)
    earn(a)
    earn(b)
    run = prepare(session, staff, [a, b])
    with pytest.raises(payouts.RunRefused):                 # not approved yet
        payouts.settle(session, run, settled_by="x", bank_reference="B", today=SETTLED)
    session.rollback()
    approve(session, staff, run)
    run, created = payouts.settle(session, run, settled_by=staff[1].public_id, bank_reference="CONF-42",
                                  today=SETTLED)
    session.commit()
    assert created and run.status is RunStatus.settled and run.bank_reference == "CONF-42"
    run, again = payouts.settle(session, run, settled_by=staff[1].public_id, bank_reference="CONF-42",
                                today=SETTLED)
    session.commit()
    assert not again
    assert entries(session, "payout.settled") == 1
    assert balance(session, payouts.APPROVED) == 0 and balance(session, payouts.BANK) == -120_000
    with pytest.raises(payouts.RunRefused):
        payouts.cancel(session, run, cancelled_by=staff[0].public_id)
    session.rollback()
    assert_books_consistent(session)


def test_only_a_prepared_run_can_be_cancelled_and_a_cancelled_one_is_never_paid(session, staff, firm, earn):
    org = firm()
    earn(org)
    run = prepare(session, staff, [org])
    payouts.cancel(session, run, cancelled_by=staff[0].public_id)
    session.commit()
    assert run.status is RunStatus.cancelled and run.open_currency is None and run.cancelled_by
    with pytest.raises(payouts.RunRefused):
        approve(session, staff, run)
    session.rollback()
    assert entries(session, "payout.approved") == 0 and available(session, org) == 60_000

    approved = prepare(session, staff, [org])
    approve(session, staff, approved)
    with pytest.raises(payouts.RunRefused):
        payouts.cancel(session, approved, cancelled_by=staff[0].public_id)
    session.rollback()
    assert approved.status is RunStatus.approved and available(session, org) == 0
    assert_books_consistent(session)


# --- the SEPA file -------------------------------------------------------------------------------------------

def broken_variants(xml: str) -> dict[str, str]:
    ctrl_sum = re.search(r"<CtrlSum>([^<]*)</CtrlSum>", xml).group(1)
    return {
        # a transfer without its end-to-end id is not a valid file
        "no-end-to-end-id": re.sub(r"<EndToEndId>[^<]*</EndToEndId>", "", xml, count=1),
        # nor is an amount written the French way
        "comma-sum": xml.replace(f"<CtrlSum>{ctrl_sum}</CtrlSum>", f"<CtrlSum>{ctrl_sum.replace('.', ',')}</CtrlSum>"),
    }


def test_the_pain001_file_is_valid_and_carries_every_line(session, staff, firm, earn, tmp_path):
    de = firm(iban=DE_IBAN, holder="Müller & Söhne Vermittlung GmbH")
    fr = firm(iban=FR_IBAN)
    gb = firm(iban=GB_IBAN, bic=GB_BIC)
    earn(de, premium=1_234_567)    # 15 % = 1,851.85; 40 % = 740.74
    earn(fr, premium=333_333)      # 15 % = 500.00; 40 % = 200.00
    earn(gb, premium=1_000_001)    # 15 % = 1,500.00; 40 % = 600.00
    run = prepare(session, staff, [de, fr, gb])
    run, _ = approve(session, staff, run)
    assert lines_of(run) == {de.public_id: 74_074, fr.public_id: 20_000, gb.public_id: 60_000}

    assert pain001_errors(run.pain001) == []

    doc = ET.fromstring(run.pain001.encode())
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=NS) == run.reference
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "3"
    ctrl_sum = doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS)
    assert re.fullmatch(r"\d+\.\d{2}", ctrl_sum) and Decimal(ctrl_sum) == Decimal(74_074 + 20_000 + 60_000) / 100
    assert ctrl_sum == "1540.74" and run.total_minor == 154_074
    info = doc.find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert info.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == FR_IBAN
    assert info.findtext("p:ReqdExctnDt", namespaces=NS) == (PREPARED + timedelta(days=1)).isoformat()
    transfers = {tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS):
                 (tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS), tx.findtext("p:Amt/p:InstdAmt", namespaces=NS),
                  tx.findtext("p:Cdtr/p:Nm", namespaces=NS))
                 for tx in info.iterfind("p:CdtTrfTxInf", NS)}
    assert transfers == {line.end_to_end_id: (line.iban, f"{Decimal(line.amount_minor) / 100:.2f}",
                                              transfers[line.end_to_end_id][2]) for line in run.lines}
    assert len({line.end_to_end_id for line in run.lines}) == 3
    assert "Muller & Sohne Vermittlung GmbH" in {name for _i, _a, name in transfers.values()}
    assert run.pain001_sha256 == hashlib.sha256(run.pain001.encode()).hexdigest()

    # the check can fail
    for name, broken in broken_variants(run.pain001).items():
        assert pain001_errors(broken) != [], name
    assert_books_consistent(session)


def test_xmllint_agrees_on_the_pain001_file(session, staff, firm, earn, tmp_path):
    """A second opinion from libxml2's own command-line validator (skipped without it locally, required in CI)."""
    org = firm(iban=DE_IBAN, holder="Müller & Söhne Vermittlung GmbH")
    earn(org, premium=1_234_567)
    run, _ = approve(session, staff, prepare(session, staff, [org]))
    assert xmllint_errors(run.pain001, tmp_path, "run.xml") is None
    for name, broken in broken_variants(run.pain001).items():
        assert xmllint_errors(broken, tmp_path, f"{name}.xml") is not None, name


def test_a_non_euro_file_is_valid_too(session, staff, firm, earn, tmp_path):
    org = firm(iban=GB_IBAN, bic=GB_BIC)
    earn(org, premium=500_000, currency="GBP")
    run = prepare(session, staff, [org], currency="GBP")
    run, _ = approve(session, staff, run)
    assert pain001_errors(run.pain001) == []
    doc = ET.fromstring(run.pain001.encode())
    assert doc.find(".//p:InstdAmt", NS).get("Ccy") == "GBP"
    assert doc.find(".//p:SvcLvl", NS) is None   # SEPA is euro-only: no SEPA service level on a GBP transfer
    assert_books_consistent(session)


# --- concurrency (separate sessions, one per thread) ---------------------------------------------------------

def _hand_over(session):
    """Nothing of the test's own session stays open while the threads run."""
    session.commit()
    session.close()
    return session.get_bind()


def test_approvals_from_several_browsers_at_once_pay_once(session, staff, firm, earn, make_user, backend_name):
    a, b = firm(), firm(iban=GB_IBAN, bic=GB_BIC)
    earn(a)
    earn(b)
    run = prepare(session, staff, [a, b])
    approvers = [make_user(Role.finance).public_id for _ in range(4)]
    run_id, a, b = run.public_id, a.public_id, b.public_id
    eng = _hand_over(session)

    def approver(i):
        def work(s):
            r, created = payouts.approve(s, payouts.get_run(s, run_id), approved_by=approvers[i],
                                         approved_by_name=f"approver {i}", debtor=DEBTOR, today=APPROVED)
            return created, r.approval_entry_id, r.approved_by
        return in_transaction(eng, work)

    results = run_threads(4, approver)
    assert sum(created for created, _e, _b in results) == 1
    winner = next(i for i, (created, _e, _b) in enumerate(results) if created)
    assert len({entry for _c, entry, _b in results}) == 1
    assert {by for _c, _e, by in results} == {approvers[winner]}
    assert entries(session, "payout.approved") == 1
    assert available(session, a) == 0 and available(session, b) == 0
    assert balance(session, payouts.APPROVED) == -120_000
    assert_books_consistent(session)


def test_concurrent_preparations_in_one_currency_make_one_run(session, staff, firm, earn, backend_name):
    org = firm()
    earn(org)
    wanted = payees(session, [org], PREPARED)
    preparer, partner = staff[0].public_id, org.public_id
    eng = _hand_over(session)

    def preparing(i):
        def work(s):
            return payouts.prepare(s, period=PERIOD, currency="EUR", payees=wanted, prepared_by=preparer,
                                   prepared_by_name="p", execution_date=APPROVED).public_id
        try:
            return in_transaction(eng, work)
        except payouts.RunRefused:
            return None

    results = run_threads(4, preparing)
    assert sum(r is not None for r in results) == 1
    [run] = payouts.runs(session)
    assert run.public_id in results and lines_of(run) == {partner: 60_000}
    assert_books_consistent(session)


def test_postings_during_an_approval_are_neither_lost_nor_paid(session, staff, firm, earn, backend_name):
    """Releases keep posting to a partner's available balance while a run paying it is approved."""
    org = firm()
    earn(org)
    earn(org, release=False, premium=10_000_000)   # 6,000.00 held, released below in small steps
    run = prepare(session, staff, [org])
    held, avail = commissions.held(org.public_id), commissions.available(org.public_id)
    run_id, approver, org = run.public_id, staff[1].public_id, org.public_id
    eng = _hand_over(session)

    def worker(i):
        if i == 0:
            return in_transaction(eng, lambda s: payouts.approve(
                s, payouts.get_run(s, run_id), approved_by=approver, approved_by_name="a", debtor=DEBTOR,
                today=APPROVED)[1])
        for j in range(10):
            in_transaction(eng, lambda s, j=j: engine.post(
                s, key=f"release:{i}:{j}", effective_date=APPROVED, description="release",
                lines=[engine.debit(held, 1_000, "EUR"), engine.credit(avail, 1_000, "EUR")]))
        return None

    results = run_threads(4, worker)
    assert results[0] is True
    assert entries(session, "payout.approved") == 1
    assert available(session, org) == 3 * 10 * 1_000        # 600.00 paid, the 300.00 released meanwhile stays
    assert balance(session, payouts.APPROVED) == -60_000
    assert_books_consistent(session)


# --- payment terms: what is due on the run's execution date ----------------------------------------------------
# A payout run pays what is due under each agreement's payment terms, counted from the end of the statement's
# month or from the insurer's payment of the commission, and lists what is not yet due with the day it will be.

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

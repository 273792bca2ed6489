"""A premium collected on behalf of the insurer (the volunteers' top-up covers), on both databases: client money in,
the insurer's share owed, the broker's commission withheld, in one balanced entry per contract and month however
often it is called; no partner share on a direct sale, a partner's share held when one is given; refused amounts and
rates; refunds mirrored with the ledger's reversal, once, in full, in part and in two steps; an entry written
before this shape (the commission alone) still found by its key and reversed."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ledger import commissions, engine
from ledger.collected_premiums import (CLIENT_MONEY, EVENT_KIND, CollectedPremium, entry_key, insurer_payable,
                                      kept_minor, post_collected_premium, reverse_collected_premium)
from ledger.integrity import verify
from ledger.journal import post
from ledger.money import credit, debit
from ledger.errors import LedgerError
from ledger import models as ledger_models
from ledger.models import JournalEntry

TODAY = date(2026, 12, 3)


def premium(**changes) -> CollectedPremium:
    values = dict(contract_ref="ctr_abc", insurer_code="volunteer-topup", month="2026-12", amount_minor=8_300,
                  currency="EUR", collected_on=date(2026, 12, 2), broker_rate=Decimal("0.15"))
    values.update(changes)
    return CollectedPremium(**values)


def balance(session, code: str) -> int:
    session.expire_all()
    return engine.account(session, code, "EUR").normal_balance


PAYABLE = insurer_payable("volunteer-topup")


def books(session) -> tuple[int, int, int]:
    """(client money, owed to the insurer, commission income)."""
    return balance(session, CLIENT_MONEY), balance(session, PAYABLE), balance(session, commissions.INCOME)


def test_a_collected_month_books_the_premium_the_insurer_s_share_and_the_commission_once(session):
    entry = post_collected_premium(session, premium(), today=TODAY)
    session.commit()
    assert entry.event_kind == EVENT_KIND and entry.contract_ref == "ctr_abc"
    assert entry.details["commission_minor"] == 1_245  # 15 % of 83,00 EUR
    assert entry.details["insurer_owed_minor"] == 7_055
    assert sum(p.amount_minor for p in entry.postings) == 0
    assert books(session) == (8_300, 7_055, 1_245)
    # the commission is withheld from the premium: nothing is receivable from the insurer
    assert session.scalar(select(func.count()).select_from(ledger_models.Account)
                          .where(ledger_models.Account.code.like("commission_receivable:%"))) == 0
    # the same month again (a retry, the reconciliation): the entry already written, nothing more
    again = post_collected_premium(session, premium(), today=TODAY)
    session.commit()
    assert again.id == entry.id
    assert books(session) == (8_300, 7_055, 1_245)
    # the next month is its own entry
    post_collected_premium(session, premium(month="2027-01", collected_on=date(2027, 1, 2)), today=TODAY)
    session.commit()
    assert books(session) == (16_600, 14_110, 2_490)
    assert verify(session) == []
    assert session.scalar(select(func.count()).select_from(JournalEntry)
                          .where(JournalEntry.event_kind == EVENT_KIND)) == 2


def test_a_direct_sale_has_no_partner_share_and_a_partner_share_is_held(session):
    post_collected_premium(session, premium(), today=TODAY)
    session.commit()
    assert session.scalar(select(func.count()).select_from(JournalEntry)
                          .where(JournalEntry.partner_ref.is_not(None))) == 0
    entry = post_collected_premium(session, premium(contract_ref="ctr_partner", partner_ref="org_xyz",
                                                    partner_rate=Decimal("0.40")), today=TODAY)
    session.commit()
    assert entry.partner_ref == "org_xyz" and entry.details["partner_share_minor"] == 498
    assert balance(session, commissions.held("org_xyz")) == 498


@pytest.mark.parametrize("changes", [{"amount_minor": 0}, {"amount_minor": -100}, {"broker_rate": Decimal("1.5")},
                                     {"broker_rate": Decimal("0")}, {"partner_rate": Decimal("-0.1")}])
def test_a_collected_premium_is_positive_and_a_rate_a_fraction(session, changes):
    with pytest.raises(LedgerError):
        post_collected_premium(session, premium(**changes), today=TODAY)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(JournalEntry)) == 0


# --- a refunded premium (a withdrawal, a radiation) is mirrored --------------------------------------------------

def test_a_premium_refunded_in_full_reverses_its_entry_once(session):
    post_collected_premium(session, premium(), today=TODAY)
    session.commit()
    written = reverse_collected_premium(session, contract_ref="ctr_abc", month="2026-12", kept_minor=0, today=TODAY)
    session.commit()
    assert len(written) == 1 and written[0].reverses_id is not None
    assert books(session) == (0, 0, 0)  # the money went back to the volunteer: nothing owed, nothing earned
    again = reverse_collected_premium(session, contract_ref="ctr_abc", month="2026-12", kept_minor=0, today=TODAY)
    session.commit()
    assert [e.id for e in again] == [e.id for e in written] and books(session) == (0, 0, 0)
    assert kept_minor(session, entry_key("ctr_abc", "2026-12")) == 0
    assert verify(session) == []


def test_a_premium_refunded_in_part_keeps_the_books_on_what_is_kept(session):
    post_collected_premium(session, premium(contract_ref="ctr_partner", partner_ref="org_xyz",
                                            partner_rate=Decimal("0.40")), today=TODAY)
    session.commit()
    for _ in range(2):  # a double submit: once
        reverse_collected_premium(session, contract_ref="ctr_partner", month="2026-12", kept_minor=2_000,
                                  today=TODAY)
        session.commit()
    assert books(session) == (2_000, 1_700, 300)  # 15 % of the 20,00 EUR kept
    assert balance(session, commissions.held("org_xyz")) == 120  # 40 % of it
    assert session.scalar(select(func.count()).select_from(JournalEntry)
                          .where(JournalEntry.event_kind == EVENT_KIND)) == 3
    # a second, larger refund of the month (the cover's end moved earlier again): the kept entry is reversed in turn
    for _ in range(2):
        reverse_collected_premium(session, contract_ref="ctr_partner", month="2026-12", kept_minor=500, today=TODAY)
        session.commit()
    assert books(session) == (500, 425, 75)
    assert balance(session, commissions.held("org_xyz")) == 30
    assert kept_minor(session, entry_key("ctr_partner", "2026-12")) == 500
    # asked to keep more than stands (a later prolongation): what was refunded is never posted back
    assert len(reverse_collected_premium(session, contract_ref="ctr_partner", month="2026-12", kept_minor=2_000,
                                         today=TODAY)) == 2
    assert books(session) == (500, 425, 75)
    assert verify(session) == []
    with pytest.raises(LedgerError):
        reverse_collected_premium(session, contract_ref="ctr_partner", month="2026-12", kept_minor=9_000,
                                  today=TODAY)
    # nothing posted for a month: nothing to reverse
    assert reverse_collected_premium(session, contract_ref="ctr_none", month="2026-12", kept_minor=0,
                                     today=TODAY) == []


def test_an_entry_of_the_earlier_shape_is_found_by_its_key_and_reversed(session):
    """Entries written before the premium was booked (the commission alone, as receivable from the insurer) keep
    working: a replay returns them, a refund reverses them and books what is kept in the current shape."""
    for code, type_ in (("commission_receivable:volunteer-topup", ledger_models.AccountType.asset),
                        (commissions.INCOME, ledger_models.AccountType.income)):
        engine.open_account(session, code, type_, "EUR")
    old, _created = post(session, key=entry_key("ctr_old", "2026-11"), effective_date=TODAY,
                         description="Commission on premium collected ctr_old 2026-11",
                         lines=[debit("commission_receivable:volunteer-topup", 1_245, "EUR"),
                                credit(commissions.INCOME, 1_245, "EUR")], event_kind=EVENT_KIND,
                         event_ref="ctr_old:2026-11", details={"contract": "ctr_old", "month": "2026-11",
                                                               "premium_minor": 8_300, "rate": "0.15",
                                                               "commission_minor": 1_245})
    session.commit()
    assert post_collected_premium(session, premium(contract_ref="ctr_old", month="2026-11"), today=TODAY).id == old.id
    written = reverse_collected_premium(session, contract_ref="ctr_old", month="2026-11", kept_minor=2_000,
                                        today=TODAY)
    session.commit()
    assert [e.details.get("insurer") for e in written[1:]] == ["volunteer-topup"]
    assert balance(session, "commission_receivable:volunteer-topup") == 0
    assert books(session) == (2_000, 1_700, 300)
    assert verify(session) == []

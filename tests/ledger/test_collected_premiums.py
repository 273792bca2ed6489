"""The broker's commission on premium actually collected (the volunteers' top-up covers), on both databases: one
entry per contract and month however often it is called, no partner share on a direct sale, a partner's share held
when one is given, refused amounts and rates."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ledger import commissions, engine
from ledger.collected_premiums import EVENT_KIND, CollectedPremium, post_collected_premium
from ledger.errors import LedgerError
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


def test_the_commission_on_a_collected_month_posts_once(session):
    entry = post_collected_premium(session, premium(), today=TODAY)
    session.commit()
    assert entry.event_kind == EVENT_KIND and entry.contract_ref == "ctr_abc"
    assert entry.details["commission_minor"] == 1_245  # 15 % of 83,00 EUR
    assert balance(session, "commission_receivable:volunteer-topup") == 1_245
    assert balance(session, commissions.INCOME) == 1_245
    # the same month again (a retry, the reconciliation): the entry already written, nothing more
    again = post_collected_premium(session, premium(), today=TODAY)
    session.commit()
    assert again.id == entry.id
    assert balance(session, commissions.INCOME) == 1_245
    # the next month is its own entry
    post_collected_premium(session, premium(month="2027-01", collected_on=date(2027, 1, 2)), today=TODAY)
    session.commit()
    assert balance(session, commissions.INCOME) == 2_490
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

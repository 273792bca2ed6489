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


# --- a refunded premium (a withdrawal) takes its commission back ---------------------------------------------------

def _balances(session) -> tuple[int, int]:
    return balance(session, "commission_receivable:volunteer-topup"), balance(session, commissions.INCOME)


def test_a_premium_refunded_in_full_reverses_its_commission_once(session):
    from ledger.collected_premiums import reverse_collected_premium
    from ledger.integrity import verify

    post_collected_premium(session, premium(), today=TODAY)
    session.commit()
    written = reverse_collected_premium(session, contract_ref="ctr_abc", month="2026-12", kept_minor=0, today=TODAY)
    session.commit()
    assert len(written) == 1 and written[0].reverses_id is not None
    assert _balances(session) == (0, 0)
    again = reverse_collected_premium(session, contract_ref="ctr_abc", month="2026-12", kept_minor=0, today=TODAY)
    session.commit()
    assert [e.id for e in again] == [e.id for e in written] and _balances(session) == (0, 0)
    assert verify(session) == []


def test_a_premium_refunded_in_part_keeps_the_commission_on_what_is_kept(session):
    from ledger.collected_premiums import reverse_collected_premium
    from ledger.integrity import verify

    post_collected_premium(session, premium(contract_ref="ctr_partner", partner_ref="org_xyz",
                                            partner_rate=Decimal("0.40")), today=TODAY)
    session.commit()
    for _ in range(2):  # a double submit: once
        reverse_collected_premium(session, contract_ref="ctr_partner", month="2026-12", kept_minor=2_000,
                                  today=TODAY)
        session.commit()
    assert _balances(session) == (300, 300)  # 15 % of the 20,00 EUR kept
    assert balance(session, commissions.held("org_xyz")) == 120  # 40 % of it
    assert session.scalar(select(func.count()).select_from(JournalEntry)
                          .where(JournalEntry.event_kind == EVENT_KIND)) == 3
    assert verify(session) == []
    with pytest.raises(LedgerError):
        reverse_collected_premium(session, contract_ref="ctr_partner", month="2026-12", kept_minor=9_000,
                                  today=TODAY)
    # nothing posted for a month: nothing to reverse
    assert reverse_collected_premium(session, contract_ref="ctr_none", month="2026-12", kept_minor=0,
                                     today=TODAY) == []

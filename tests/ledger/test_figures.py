"""The ledger's chart figures, month by month, against sums of the lines posted by hand (the postings a
placement, a release, a payout approval and a clawback write)."""
from datetime import date

from core.events import CONTRACT_CANCELLED, CONTRACT_PLACED
from ledger.chart import open_account
from ledger.commissions import EXPENSE, INCOME, available, held
from ledger.figures import commission_by_month, partner_commission_by_month
from ledger.journal import post
from ledger.models import AccountType
from ledger.money import credit, debit
from ledger.payouts import APPROVED

P, Q = "firm-p", "firm-q"


def _books(session):
    for code, kind, owner in ((EXPENSE, AccountType.expense, None), (INCOME, AccountType.income, None),
                              (APPROVED, AccountType.liability, None), ("bank", AccountType.asset, None),
                              *((held(f), AccountType.liability, f"partner:{f}") for f in (P, Q)),
                              *((available(f), AccountType.liability, f"partner:{f}") for f in (P, Q))):
        open_account(session, code, kind, "EUR", owner=owner)
    n = iter(range(100))

    def entry(day, kind, lines):
        post(session, key=f"k{next(n)}", effective_date=day, description=kind, lines=lines, event_kind=kind)

    def placed(day, firm, share):
        entry(day, CONTRACT_PLACED, [debit(EXPENSE, share, "EUR"), credit(held(firm), share, "EUR")])

    placed(date(2026, 3, 5), P, 40_000)
    placed(date(2026, 3, 20), Q, 7_000)
    placed(date(2026, 4, 2), P, 10_000)
    entry(date(2026, 4, 10), "disclosure.released", [debit(held(P), 30_000, "EUR"), credit(available(P), 30_000, "EUR")])
    entry(date(2026, 5, 31), "payout.approved", [debit(available(P), 25_000, "EUR"), credit(APPROVED, 25_000, "EUR")])
    entry(date(2026, 6, 1), CONTRACT_CANCELLED, [debit(held(P), 4_000, "EUR"), credit(EXPENSE, 4_000, "EUR")])
    session.commit()


def test_commission_by_month_splits_accrued_released_paid_and_clawed_back(session):
    _books(session)
    rows = {r.month: r for r in commission_by_month(session, date(2026, 1, 1), date(2026, 12, 31))}
    assert sorted(rows) == ["2026-03", "2026-04", "2026-05", "2026-06"]
    assert (rows["2026-03"].accrued_minor, rows["2026-03"].released_minor) == (47_000, 0)
    assert (rows["2026-04"].accrued_minor, rows["2026-04"].released_minor) == (10_000, 30_000)
    assert (rows["2026-05"].paid_minor, rows["2026-05"].accrued_minor) == (25_000, 0)
    assert (rows["2026-06"].clawed_back_minor, rows["2026-06"].accrued_minor) == (4_000, 0)
    assert {r.currency for r in rows.values()} == {"EUR"}
    # a window leaves out what was posted before it
    assert [r.month for r in commission_by_month(session, date(2026, 4, 1), date(2026, 5, 31))] == ["2026-04", "2026-05"]


def test_a_partner_sees_its_own_commission_with_what_is_still_held_at_each_month_end(session):
    _books(session)
    rows = {r.month: r for r in partner_commission_by_month(session, P, date(2026, 4, 1), date(2026, 12, 31))}
    # March is before the window but its accrual is still held in April: 40,000 + 10,000 - 30,000 released
    assert sorted(rows) == ["2026-04", "2026-05", "2026-06"]
    assert (rows["2026-04"].accrued_minor, rows["2026-04"].held_minor, rows["2026-04"].paid_minor) == (10_000, 20_000, 0)
    assert (rows["2026-05"].held_minor, rows["2026-05"].paid_minor) == (20_000, 25_000)
    assert (rows["2026-06"].held_minor, rows["2026-06"].accrued_minor) == (16_000, 0)  # the clawback came from held
    other = partner_commission_by_month(session, Q, date(2026, 1, 1), date(2026, 12, 31))
    assert [(r.month, r.accrued_minor, r.held_minor, r.paid_minor) for r in other] == [("2026-03", 7_000, 7_000, 0)]

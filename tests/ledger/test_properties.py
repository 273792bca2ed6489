"""Property tests of the ledger: random sequences of business operations keep the books consistent.

Each Hypothesis example starts from empty ledger tables (the firms, insurer and agreements of the test stay).
"""
from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from core import events
from core.accounts import Organisation, PartnerStatus, Role
from core.contracts import Contract, ContractStatus, ContractTerm, Insurer
from core.events import BusinessEvent
from core.products import ProductLine
from ledger import commissions, engine
from ledger.money import credit, debit
from ledger.models import Account, AccountType, JournalEntry
from tests.dbtools import emptied
from tests.ledger.books import add_agreement, add_insurer

BASE = date(2026, 12, 1)
FAR_START, FAR_END = date(2000, 1, 1), date(2100, 12, 31)
CURRENCIES = ("EUR", "GBP")
LEDGER_TABLES = ("ledger_postings", "ledger_entries", "ledger_periods", "ledger_accounts")
_policies = itertools.count(1)


# --- pure properties -----------------------------------------------------------------------------------------

PURE = settings(max_examples=200, database=None)


@PURE
@given(total=st.integers(-10**12, 10**12),
       weights=st.lists(st.integers(0, 10**6), min_size=1, max_size=12).filter(lambda w: sum(w) > 0))
def test_split_sums_exactly_and_each_part_is_within_one_of_its_share(total, weights):
    parts = engine.split(total, weights)
    assert len(parts) == len(weights) and sum(parts) == total
    whole = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        exact = Decimal(total) * w / whole
        assert abs(Decimal(part) - exact) < 1
        if w == 0:
            assert part == 0


@PURE
@given(total=st.integers(-10**9, 10**9),
       weights=st.lists(st.decimals(0, 1000, places=4, allow_nan=False), min_size=1, max_size=6)
       .filter(lambda w: sum(w) > 0))
def test_split_with_decimal_weights(total, weights):
    parts = engine.split(total, weights)
    assert sum(parts) == total
    for part, w in zip(parts, weights, strict=True):
        assert abs(Decimal(part) - Decimal(total) * w / sum(weights)) < 1


@PURE
@given(amount=st.integers(-10**12, 10**12), rate=st.decimals(0, 1, places=4, allow_nan=False))
def test_apply_rate_rounds_half_up_away_from_zero(amount, rate):
    got = engine.apply_rate(amount, rate)
    exact = Decimal(amount) * rate
    assert abs(Decimal(got) - exact) <= Decimal("0.5")
    if abs(Decimal(got) - exact) == Decimal("0.5"):
        assert abs(got) > abs(exact)  # the half goes away from zero
    assert engine.apply_rate(-amount, rate) == -got  # symmetric
    assert got == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- the books under random operations -----------------------------------------------------------------------

@pytest.fixture
def world(session, make_org, make_user):
    insurer = add_insurer(session, code="prop-insurer", name="Property Insurance")
    orgs = []
    for first_year in ("0.40", "0.3333"):
        org = make_org(PartnerStatus.specialist_broker)
        add_agreement(session, org, first_year=first_year, payment_terms_days=30)
        orgs.append(org)
    session.commit()
    user = make_user(Role.account_manager)
    return {"insurer": insurer.id, "orgs": [o.id for o in orgs], "user": user.id}


def clean_ledger(session):
    session.rollback()
    session.close()
    with session.get_bind().begin() as conn:
        emptied(conn, LEDGER_TABLES)


# premiums from 1 minor unit: tiny ones make commissions and clawbacks that round to nothing
place_op = st.tuples(st.just("place"), st.sampled_from([0, 1, None]), st.integers(1, 10**8),
                     st.sampled_from(CURRENCIES), st.integers(0, 3))
release_op = st.tuples(st.just("release"), st.integers(0, 50), st.integers(0, 3))
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 50), st.integers(-5, 420), st.integers(0, 3))
payout_op = st.tuples(st.just("payout"), st.sampled_from([0, 1]), st.sampled_from(CURRENCIES),
                      st.integers(1, 1000), st.booleans())
receipt_op = st.tuples(st.just("receipt"), st.sampled_from(CURRENCIES), st.integers(1, 1000))
replay_op = st.tuples(st.just("replay"), st.integers(0, 50))
operations = st.lists(st.one_of(place_op, place_op, release_op, cancel_op, payout_op, receipt_op, replay_op),
                      min_size=1, max_size=14)


class Books:
    """Drives the operations and remembers how to replay each one (same key, same request)."""

    def __init__(self, session, world):
        self.s = session
        self.insurer = session.get(Insurer, world["insurer"])
        self.orgs = [session.get(Organisation, i).public_id for i in world["orgs"]]
        self.org_ids = world["orgs"]
        self.user = world["user"]
        self.today = BASE
        self.contracts: list[dict] = []
        self.replays: list = []
        self.n = 0

    def _advance(self, days):
        self.today += timedelta(days=days)

    def balance(self, code, currency):
        acct = self.s.execute(select(Account).where(Account.code == code, Account.currency == currency)
                              ).scalar_one_or_none()
        return None if acct is None else acct.balance_minor

    def place(self, org, premium, currency, step):
        self._advance(step)
        start = self.today
        contract = Contract(organisation_id=self.org_ids[org] if org is not None else None,
                            insurer_id=self.insurer.id, policy_number=f"PROP-{next(_policies)}",
                            product_line=ProductLine.family, premium_minor=premium, currency=currency,
                            start_date=start, status=ContractStatus.in_force, placed_by_id=self.user)
        contract.terms.append(ContractTerm(number=1, start_date=start, end_date=start.replace(year=start.year + 1)
                                           - timedelta(days=1), premium_minor=premium))
        self.s.add(contract)
        self.s.flush()
        event = events.emit(self.s, events.CONTRACT_PLACED, contract.public_id, start, premium_minor=premium,
                            currency=currency, term=1)
        self.s.commit()
        self.contracts.append({"id": contract.id, "cancelled": False, "released": False})
        self._event(event.id, self.today)

    def _event(self, event_id, today):
        def run():
            entry = commissions.post_event(self.s, self.s.get(BusinessEvent, event_id), today=today)
            return entry.id if entry else None
        first = run()
        self.s.commit()
        self.replays.append((run, first))

    def release(self, pick, step):
        # compliance releases a contract once (its key is per contract; retries are the replay operation)
        pending = [c for c in self.contracts if not c["released"]]
        if not pending:
            return
        self._advance(step)
        chosen = pending[pick % len(pending)]
        chosen["released"] = True
        contract_id, today = chosen["id"], self.today

        def run():
            entries = commissions.release_disclosure(self.s, self.s.get(Contract, contract_id), today=today,
                                                     released_by="compliance")
            return [e.id for e in entries]
        first = run()
        self.s.commit()
        self.replays.append((run, first))

    def cancel(self, pick, offset, step):
        open_ = [c for c in self.contracts if not c["cancelled"]]
        if not open_:
            return
        self._advance(step)
        chosen = open_[pick % len(open_)]
        chosen["cancelled"] = True
        contract = self.s.get(Contract, chosen["id"])
        on = contract.start_date + timedelta(days=offset)
        contract.status, contract.cancelled_on = ContractStatus.cancelled, on
        event = events.emit(self.s, events.CONTRACT_CANCELLED, contract.public_id, on, term=1,
                            premium_minor=contract.premium_minor, currency=contract.currency)
        self.s.commit()
        before = snapshot(self.s)
        entry = commissions.post_event(self.s, event, today=self.today)
        self.s.commit()
        if entry is None:
            assert snapshot(self.s) == before
        event_id, today = event.id, self.today

        def run():
            again = commissions.post_event(self.s, self.s.get(BusinessEvent, event_id), today=today)
            return again.id if again else None
        self.replays.append((run, entry.id if entry else None))
        self.replay(len(self.replays) - 1)

    def _manual(self, key, lines):
        today = self.today

        def run():
            entry, _ = engine.post(self.s, key=key, effective_date=today, description=key, lines=lines)
            return entry.id
        first = run()
        self.s.commit()
        self.replays.append((run, first))

    def payout(self, org, currency, permille, allow_negative):
        code = commissions.available(self.orgs[org])
        balance = self.balance(code, currency)
        if balance is None:
            return
        available = -balance
        amount = max(1, available * permille // 1000) if available > 0 else (permille if allow_negative else 0)
        if not amount:
            return
        engine.open_account(self.s, "payouts_in_transit", AccountType.liability, currency)
        self.n += 1
        self._manual(f"payout:{self.n}", [debit(code, amount, currency), credit("payouts_in_transit", amount, currency)])

    def receipt(self, currency, permille):
        code = commissions.receivable(self.insurer)
        balance = self.balance(code, currency)
        if not balance or balance <= 0:
            return
        engine.open_account(self.s, "bank", AccountType.asset, currency)
        self.n += 1
        self._manual(f"receipt:{self.n}", [debit("bank", max(1, balance * permille // 1000), currency),
                                           credit(code, max(1, balance * permille // 1000), currency)])

    def replay(self, pick):
        if not self.replays:
            return
        run, first = self.replays[pick % len(self.replays)]
        before = snapshot(self.s)
        assert run() == first
        self.s.commit()
        assert snapshot(self.s) == before


def snapshot(s):
    s.expire_all()
    balances = sorted((a.code, a.currency, a.balance_minor) for a in s.execute(select(Account)).scalars())
    return balances, s.execute(select(func.count()).select_from(JournalEntry)).scalar_one()


def check_invariants(books: Books):
    s = books.s
    s.expire_all()
    totals = {c: sum(v for _a, v in rows) for c, rows in engine.trial_balance(s).items()}
    assert all(v == 0 for v in totals.values()), totals
    assert engine.verify(s) == []
    for org in books.orgs:
        for currency in CURRENCIES:
            accounts = [s.execute(select(Account).where(Account.code == code, Account.currency == currency))
                        .scalar_one_or_none() for code in (commissions.held(org), commissions.available(org))]
            accounts = [a for a in accounts if a is not None]
            from_lines = 0
            for acct in accounts:
                st_ = engine.statement(s, acct, FAR_START, FAR_END)
                assert st_.opening_minor == 0 and st_.closing_minor == acct.balance_minor
                from_lines += sum(ln.amount_minor for ln in st_.lines)
            assert sum(a.balance_minor for a in accounts) == from_lines


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations)
def test_random_operations_keep_the_books_consistent(session, world, ops):
    clean_ledger(session)
    books = Books(session, world)
    for op in ops:
        getattr(books, op[0])(*op[1:])
        check_invariants(books)


# --- retries and rounding ----------------------------------------------------------------------------------

def test_a_cancellation_retried_returns_the_first_entry(session, world):
    books = Books(session, world)
    books.place(0, 1_000_000, "EUR", 0)
    contract = session.get(Contract, books.contracts[0]["id"])
    contract.status, contract.cancelled_on = ContractStatus.cancelled, BASE + timedelta(days=10)
    event = events.emit(session, events.CONTRACT_CANCELLED, contract.public_id, BASE + timedelta(days=10), term=1,
                        premium_minor=1_000_000, currency="EUR")
    session.commit()
    first = commissions.post_event(session, event, today=books.today)  # clawback out of held
    session.commit()
    again = commissions.post_event(session, event, today=books.today)
    assert again.id == first.id


@pytest.mark.parametrize("premium, cancel_after_days", [(3, None), (4, 183)])
def test_a_tiny_commission_rounding_to_zero_is_skipped_not_refused(session, world, premium, cancel_after_days):
    books = Books(session, world)
    books.place(0, premium, "EUR", 0)   # 4 x 15 % = 0.6 -> 1; 3 x 15 % = 0.45 -> 0
    if cancel_after_days is not None:   # 182/365 of a commission of 1 rounds to 0
        books.cancel(0, cancel_after_days, 0)
    check_invariants(books)
    # handled, with nothing to post: not left pending for the next run of `flask ledger post-events`
    assert commissions.pending_events(session) == []

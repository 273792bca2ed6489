"""Journal entries carry their contract, term and partner firm as typed, indexed columns: both posting paths write
them, the migration back-fills them from the details, `ledger verify` holds them to the details, and the readers
(a contract's term entries, the shares awaiting release, an insurer statement's expected commission) select by
them instead of loading every commission entry."""
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import event, inspect, select, text, update

from core.accounts import PartnerStatus, Role
from core.contracts import Contract, ContractTerm
from core.events import CONTRACT_CANCELLED, BusinessEvent, emit
from ledger import commissions, engine, reconciliation, reports
from ledger.money import credit, debit
from ledger.models import AccountType, ItemKind, JournalEntry
from tests.dbtools import triggers_suspended
from tests.ledger import books

START = date(2026, 12, 1)
CANCELLED_ON = date(2027, 3, 1)
LATER = date(2027, 3, 3)
PREVIOUS_HEAD = "3f8a2c6d9e51"


@dataclass
class World:
    firm_a: object
    firm_b: object
    #: P-1 (firm A, cancelled), P-2 (firm A, released), P-3 (firm A, held), P-4 (firm B, held)
    contracts: list[Contract]


def _place(session, insurer, org, policy, manager_id, premium=1_000_000, today=START) -> Contract:
    contract, placed = books.place(session, insurer, org, policy=policy, placed_by_id=manager_id, premium=premium,
                                   start=START)
    commissions.post_event(session, placed, today=today)
    return contract


def _cancel(session, contract, today=CANCELLED_ON) -> JournalEntry:
    term = session.execute(select(ContractTerm).where(ContractTerm.contract_id == contract.id)).scalar_one()
    cancel = emit(session, CONTRACT_CANCELLED, contract.public_id, CANCELLED_ON, term=term.number)
    return commissions.post_event(session, cancel, today=today)


@pytest.fixture
def world(session, make_org, make_user):
    insurer, firm_a, firm_b = books.add_insurer(session), make_org(), make_org(PartnerStatus.generalist_broker)
    books.add_agreement(session, firm_a)
    books.add_agreement(session, firm_b)
    manager = make_user(Role.account_manager)
    contracts = [_place(session, insurer, org, f"P-{n}", manager.id, premium)
                 for n, (org, premium) in enumerate(((firm_a, 1_000_000), (firm_a, 700_000), (firm_a, 500_000),
                                                     (firm_b, 900_000)), start=1)]
    _cancel(session, contracts[0])
    commissions.release_disclosure(session, contracts[1], today=date(2027, 3, 2), released_by="compliance")
    session.commit()
    return World(firm_a, firm_b, contracts)


def _keys(session) -> dict[tuple[str, str], tuple]:
    """(event kind, policy) -> the entry's (contract, term, partner) columns, for every commission entry."""
    session.expire_all()
    rows = session.execute(select(JournalEntry.event_kind, JournalEntry.details, JournalEntry.contract_ref,
                                  JournalEntry.term, JournalEntry.partner_ref)).all()
    return {(kind, details["policy_number"]): (contract, term, partner)
            for kind, details, contract, term, partner in rows if "policy_number" in details}


def _expected_keys(world: World) -> dict[tuple[str, str], tuple]:
    p1, p2, p3, p4 = world.contracts
    a, b = world.firm_a.public_id, world.firm_b.public_id
    return {("contract.placed", "P-1"): (p1.public_id, 1, a), ("contract.placed", "P-2"): (p2.public_id, 1, a),
            ("contract.placed", "P-3"): (p3.public_id, 1, a), ("contract.placed", "P-4"): (p4.public_id, 1, b),
            ("contract.cancelled", "P-1"): (p1.public_id, 1, a), ("disclosure.released", "P-2"): (p2.public_id, 1, a)}


def test_the_commission_postings_write_the_contract_term_and_partner_columns(session, world):
    """engine.post: the database function on PostgreSQL, a batch of one on SQLite."""
    assert _keys(session) == _expected_keys(world)
    assert engine.verify(session) == []


def test_a_batch_writes_the_columns_and_leaves_them_null_on_entries_about_no_contract(session):
    for code, kind in (("bank", AccountType.asset), ("payable", AccountType.liability)):
        engine.open_account(session, code, kind, "EUR")
    results = engine.post_batch(session, [
        dict(key="k-1", effective_date=START, description="a statement adjustment", event_kind="reconciliation.adjusted",
             lines=[debit("bank", 5, "EUR"), credit("payable", 5, "EUR")],
             details={"contract": "c" * 32, "term": 2, "partner": "p" * 32}),
        dict(key="k-2", effective_date=START, description="a payout", event_kind="payout.settled",
             lines=[debit("payable", 5, "EUR"), credit("bank", 5, "EUR")], details={"run": "PO-1"})])
    session.commit()
    session.expire_all()
    assert [(e.contract_ref, e.term, e.partner_ref) for e, _created in results] == [("c" * 32, 2, "p" * 32),
                                                                                 (None, None, None)]
    assert engine.verify(session) == []


def _ledger_post_arguments(session, backend_name) -> list[int]:
    if backend_name != "postgresql":
        return []
    return list(session.execute(text("SELECT pronargs FROM pg_proc WHERE proname = 'ledger_post'")).scalars())


def test_the_migration_back_fills_the_columns_from_the_details_and_goes_down_cleanly(app, session, world,
                                                                                     backend_name):
    def flask_db(*args):  # `flask db downgrade|upgrade`: the migrations run through Flask-Migrate
        result = app.test_cli_runner().invoke(args=["db", *args])
        assert result.exit_code == 0 and result.exception is None, result.output

    expected, firm_b = _expected_keys(world), world.firm_b.public_id
    p4 = world.contracts[3].public_id
    session.close()
    flask_db("downgrade", PREVIOUS_HEAD)
    columns = {c["name"] for c in inspect(session.connection()).get_columns("ledger_entries")}
    assert not columns & {"contract_ref", "term", "partner_ref"}
    assert _ledger_post_arguments(session, backend_name) == ([14] if backend_name == "postgresql" else [])
    session.close()
    flask_db("upgrade")
    assert _keys(session) == expected
    assert _ledger_post_arguments(session, backend_name) == ([17] if backend_name == "postgresql" else [])
    assert engine.verify(session) == []
    # the replaced function posts with the columns
    contract = session.execute(select(Contract).where(Contract.public_id == p4)).scalar_one()
    assert _cancel(session, contract, today=LATER).partner_ref == firm_b
    session.commit()
    assert engine.verify(session) == []


def _rewrite(session, entry_id: int, **values) -> None:
    conn = session.connection()
    with triggers_suspended(conn, "ledger_entries"):
        conn.execute(update(JournalEntry.__table__).where(JournalEntry.__table__.c.id == entry_id).values(**values))
    session.commit()
    session.expire_all()


def _placement(session, contract) -> JournalEntry:
    placed = select(BusinessEvent.public_id).where(BusinessEvent.subject == contract.public_id)
    return session.execute(select(JournalEntry).where(JournalEntry.event_kind == "contract.placed",
                                                      JournalEntry.event_ref.in_(placed))).scalar_one()


@pytest.mark.parametrize("column", ["contract_ref", "term", "partner_ref"])
def test_verify_reports_a_key_column_that_disagrees_with_the_details(session, world, column):
    entry = _placement(session, world.contracts[2])
    _rewrite(session, entry.id, **{column: None})
    problems = engine.verify(session)
    assert [p.subject for p in problems] == [f"entry {entry.public_id}"]
    assert "its contract, term and partner columns" in problems[0].message


class _Loads:
    """The journal entries the ORM builds from rows while the block runs (nothing cached: the session is emptied)."""

    def __init__(self, session):
        self.session, self.entries = session, []

    def _loaded(self, target, context):
        self.entries.append(target)

    def __enter__(self):
        self.session.expunge_all()
        event.listen(JournalEntry, "load", self._loaded)
        return self

    def __exit__(self, *exc):
        event.remove(JournalEntry, "load", self._loaded)


def test_a_clawback_reads_its_own_contracts_entries_only(session, world, make_user):
    insurer = world.contracts[0].insurer
    manager_id = make_user(Role.account_manager).id
    others = [_place(session, insurer, world.firm_a, f"Q-{n}", manager_id, today=LATER) for n in range(12)]
    session.commit()
    target_id = others[5].id
    with _Loads(session) as loads:
        target = session.get(Contract, target_id)
        clawback = _cancel(session, target, today=LATER)
    session.commit()
    assert clawback.details["original_entry"] == _placement(session, target).public_id
    assert loads.entries and {e.contract_ref for e in loads.entries} == {target.public_id}


def test_the_held_shares_of_one_firm_read_that_firms_entries_only(session, world):
    p1, _p2, p3, p4 = world.contracts
    everyone = reports.held_shares(session)
    assert [(s.contract, s.partner) for s in everyone] == [(p1.public_id, world.firm_a.public_id),
                                                          (p3.public_id, world.firm_a.public_id),
                                                          (p4.public_id, world.firm_b.public_id)]
    with _Loads(session) as loads:
        firm_b = reports.held_shares(session, world.firm_b.public_id)
    assert firm_b == [everyone[2]] and firm_b[0].share_minor == 54_000  # 40 % of 15 % of 9,000.00
    assert {e.partner_ref for e in loads.entries} == {world.firm_b.public_id}


def test_an_insurers_statement_expects_each_contracts_commission_by_its_key(session, world):
    """P-2's placement whose details were rewritten to name P-3 (a tampered row `verify` reports) still counts
    for P-2, the contract its key column names: the statement's lines for both match."""
    _p1, p2, p3, _p4 = world.contracts
    entry = _placement(session, p2)
    _rewrite(session, entry.id, details={**entry.details, "contract": p3.public_id})
    assert f"entry {entry.public_id}" in {p.subject for p in engine.verify(session)}
    statement = reconciliation.import_statement(
        session, insurer=p2.insurer, period=START, currency="EUR", filename="dec.csv", uploaded_by="finance",
        content=b"Policy Number,Period,Premium,Commission\nP-2,2026-12,7000.00,1050.00\nP-3,2026-12,5000.00,750.00\n")
    session.commit()
    items = {i.policy_number: i for i in statement.items if i.policy_number in ("P-2", "P-3")}
    assert {p: (i.kind, i.expected_minor) for p, i in items.items()} == {"P-2": (ItemKind.matched, 105_000),
                                                                        "P-3": (ItemKind.matched, 75_000)}

"""`ledger verify` against someone with database access who rewrites the books consistently (past the
append-only triggers): every running balance, each commission against its source event, and the signed
checkpoint kept outside the database."""
from datetime import date

import pytest
from sqlalchemy import select, text

from core.accounts import PartnerStatus, Role
from core.contracts import ContractTerm
from core.events import CONTRACT_CANCELLED, emit
from ledger import commissions, engine
from ledger.models import Account, JournalEntry, Posting
from tests.dbtools import triggers_suspended
from tests.ledger import books

START = date(2026, 12, 1)
LEDGER = "ledger_postings, ledger_entries, ledger_event_outcomes"


@pytest.fixture
def posted(session, make_org, make_user):
    """Two contracts placed with a partner (15 % commission, 40 % share), one cancelled inside the window, the
    other's share released: every kind of commission entry, all posted."""
    insurer, org = books.add_insurer(session), make_org(PartnerStatus.specialist_broker)
    books.add_agreement(session, org)
    manager = make_user(Role.account_manager)
    contracts = []
    for n, premium in ((1, 1_000_000), (2, 700_000)):
        contract, event = books.place(session, insurer, org, policy=f"P-{n}", placed_by_id=manager.id,
                                      premium=premium, start=START)
        commissions.post_event(session, event, today=START)
        contracts.append(contract)
    term = session.execute(select(ContractTerm).where(ContractTerm.contract_id == contracts[0].id)).scalar_one()
    cancel = emit(session, CONTRACT_CANCELLED, contracts[0].public_id, date(2027, 3, 1), term=term.number)
    commissions.post_event(session, cancel, today=date(2027, 3, 1))
    commissions.release_disclosure(session, contracts[1], today=date(2027, 3, 2), released_by="compliance")
    session.commit()
    assert engine.verify(session) == []
    return session


def _sql(session, *statements, tables=LEDGER):
    conn = session.connection()
    with triggers_suspended(conn, tables):
        for sql, params in statements:
            conn.execute(text(sql), params)
    session.commit()
    session.expire_all()


def _verify_cli(app):
    return app.test_cli_runner().invoke(args=["ledger", "verify"])


def test_an_intermediate_running_balance_changed_is_caught(app, posted):
    held = posted.execute(select(Account).where(Account.code.like("partner_payable:held:%"))).scalar_one()
    first = posted.execute(select(Posting).where(Posting.account_id == held.id).order_by(Posting.id)).scalars().first()
    _sql(posted, ("UPDATE ledger_postings SET balance_after = balance_after - 100 WHERE id = :id", {"id": first.id}))
    problems = engine.verify(posted)
    # that posting no longer follows its predecessor, and its successor no longer follows it
    assert [p.subject for p in problems] == [f"{held.code} (EUR)"] * 2
    assert problems[0].message.startswith(f"posting {first.id} (entry {first.entry.public_id}): running balance")
    result = _verify_cli(app)
    assert result.exit_code == 1 and f"posting {first.id} " in result.output


@pytest.mark.parametrize("kind", ["contract.placed", "contract.cancelled", "disclosure.released"])
def test_an_amount_moved_between_two_postings_of_an_entry_with_balances_fixed_is_caught(app, posted, kind):
    """The entry still balances and every running balance follows: only its source event tells."""
    entry = posted.execute(select(JournalEntry).where(JournalEntry.event_kind == kind)
                           .order_by(JournalEntry.id)).scalars().first()
    a, b = sorted(entry.postings, key=lambda p: p.id)[:2]
    moved = 1_000
    _sql(posted, *[(sql, {"id": p.id, "d": d, "acct": p.account_id}) for p, d in ((a, moved), (b, -moved)) for sql in (
        "UPDATE ledger_postings SET amount_minor = amount_minor + :d WHERE id = :id",
        "UPDATE ledger_postings SET balance_after = balance_after + :d WHERE account_id = :acct AND id >= :id",
        "UPDATE ledger_accounts SET balance_minor = balance_minor + :d WHERE id = :acct")])
    problems = engine.verify(posted)
    assert [p.subject for p in problems] == [f"entry {entry.public_id}"]
    assert f"does not match its {kind} event" in problems[0].message
    result = _verify_cli(app)
    assert result.exit_code == 1 and f"entry {entry.public_id}: does not match" in result.output


def test_an_emptied_ledger_is_caught_by_the_checkpoint(app, posted, backend_name):
    assert _verify_cli(app).exit_code == 0  # the scheduled run: checkpoint written
    # as an owner could: TRUNCATE ... CASCADE with the triggers off (DELETE on SQLite), balances zeroed
    conn = posted.connection()
    if backend_name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("TRUNCATE ledger_entries CASCADE"))
    else:
        with triggers_suspended(conn, LEDGER):
            for table in ("ledger_event_outcomes", "ledger_postings", "ledger_entries"):
                conn.execute(text(f"DELETE FROM {table}"))
    conn.execute(text("UPDATE ledger_accounts SET balance_minor = 0, last_posted_on = NULL"))
    posted.commit()
    assert engine.verify(posted) == [], "an empty ledger is consistent in itself"
    result = _verify_cli(app)
    assert result.exit_code == 1 and "the ledger now holds 0 and 0 (deleted)" in result.output


def test_a_consistent_rewrite_of_checkpointed_entries_is_caught(app, posted):
    """A payout-like entry has no business event to hold it to: the checkpoint's digest does."""
    assert _verify_cli(app).exit_code == 0
    entry = posted.execute(select(JournalEntry).where(JournalEntry.event_kind == "disclosure.released")).scalar_one()
    _sql(posted, ("UPDATE ledger_entries SET description = 'nothing to see' WHERE id = :id", {"id": entry.id}))
    assert engine.verify(posted) == []
    result = _verify_cli(app)
    assert result.exit_code == 1 and "were rewritten since" in result.output
    assert _verify_cli(app).exit_code == 1, "a failed run writes no checkpoint over the evidence"

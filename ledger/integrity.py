"""`ledger verify`: the books checked against themselves and against the business events they were posted for.

- every posting's running balance is the account's previous running balance plus its amount (in the order the
  engine writes and reads them: posting date, then id), and the account's stored balance is its last one;
- every entry has postings and balances in each currency, and a reversal mirrors the entry it reverses;
- every commission entry matches what its source event implies: a placement or renewal is recomputed from the
  event's premium and the rates recorded on the entry, a clawback from the original entry and the term's dates,
  a disclosure release from the share still held; an amount moved between two postings of one entry is caught.
- every entry's key columns (contract, term, partner firm) say what its details say: readers select entries by
  those columns, so an entry hidden from them (or shown to another contract's) by a rewritten column is caught.

The set-based checks are one SQL statement each (window functions); only the recomputation of commission
entries, which needs the engine's Decimal rounding, runs in Python, one row per entry.

What a consistent rewrite of everything (or a truncated ledger) leaves is caught by the signed checkpoint kept
outside the database (`ledger.checkpoint`).
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from . import sources
from .engine import Problem
from .models import Account, JournalEntry, Posting, entry_keys


def verify(session: Session) -> list[Problem]:
    """Every inconsistency found, each naming the account or entry that is off (empty: the books hold)."""
    return (_running_balances(session) + _entries(session) + _reversals(session) + _keys(session)
            + sources.problems(session))


def _account(code: str, currency: str) -> str:
    return f"{code} ({currency})"


def _running_balances(session: Session) -> list[Problem]:
    """The postings whose running balance does not follow the account's previous one (one pass in the order of
    the (account, date, id) index: no sort), and each account's stored balance against its last one."""
    window = dict(partition_by=Posting.account_id, order_by=(Posting.effective_date, Posting.id))
    ranked = select(Posting.id, Posting.entry_id, Posting.account_id, Posting.amount_minor, Posting.balance_after,
                    func.lag(Posting.balance_after, 1, 0).over(**window).label("prev")).subquery()
    rows = session.execute(
        select(ranked.c.id, ranked.c.account_id, ranked.c.amount_minor, ranked.c.balance_after, ranked.c.prev,
               JournalEntry.public_id)
        .join(JournalEntry, JournalEntry.id == ranked.c.entry_id)
        .where(ranked.c.balance_after != ranked.c.prev + ranked.c.amount_minor)
        .order_by(ranked.c.account_id, ranked.c.id)).all()
    accounts = {a.id: a for a in session.execute(select(Account).order_by(Account.id)).scalars()}
    problems = [Problem(_account(accounts[account_id].code, accounts[account_id].currency),
                        f"posting {posting_id} (entry {entry}): running balance {after}, expected {prev} + {amount} "
                        f"= {prev + amount}")
                for posting_id, account_id, amount, after, prev, entry in rows]
    last = (select(Posting.balance_after).where(Posting.account_id == Account.id)
            .order_by(Posting.effective_date.desc(), Posting.id.desc()).limit(1).scalar_subquery())
    for account_id, stored, running in session.execute(select(Account.id, Account.balance_minor, last)
                                                       .order_by(Account.id)):
        if (running or 0) != stored:
            acct = accounts[account_id]
            problems.append(Problem(_account(acct.code, acct.currency),
                                    f"stored balance {stored} but the last running balance is {running or 0}"))
    return problems


def _entries(session: Session) -> list[Problem]:
    empty = session.execute(select(JournalEntry.public_id).where(
        ~select(Posting.id).where(Posting.entry_id == JournalEntry.id).exists())).scalars()
    problems = [Problem(f"entry {ref}", "has no postings") for ref in empty]
    off = (select(Posting.entry_id, Posting.currency, func.sum(Posting.amount_minor).label("total"))
           .group_by(Posting.entry_id, Posting.currency).having(func.sum(Posting.amount_minor) != 0).subquery())
    for ref, currency, total in session.execute(select(JournalEntry.public_id, off.c.currency, off.c.total)
                                                .join(off, off.c.entry_id == JournalEntry.id)):
        problems.append(Problem(f"entry {ref}", f"does not balance in {currency} (off by {total})"))
    return problems


def _reversals(session: Session) -> list[Problem]:
    """A reversal's postings cancel the reversed entry's, account by account."""
    reversal = aliased(JournalEntry)
    rows = session.execute(
        select(reversal.public_id, Posting.account_id)
        .join(Posting, (Posting.entry_id == reversal.id) | (Posting.entry_id == reversal.reverses_id))
        .where(reversal.reverses_id.is_not(None))
        .group_by(reversal.public_id, Posting.account_id).having(func.sum(Posting.amount_minor) != 0)).all()
    return [Problem(f"entry {ref}", "does not mirror the entry it reverses") for ref in sorted({r for r, _a in rows})]


def _keys(session: Session) -> list[Problem]:
    """Each entry's key columns against its details (compared in Python: JSON differs between the databases)."""
    rows = session.execute(select(JournalEntry.public_id, JournalEntry.details, JournalEntry.contract_ref,
                                  JournalEntry.term, JournalEntry.partner_ref).order_by(JournalEntry.id)
                           .execution_options(yield_per=20_000))
    return [Problem(f"entry {ref}", f"its contract, term and partner columns {(contract, term, partner)} are not "
                                    f"those its details name {entry_keys(details)}")
            for ref, details, contract, term, partner in rows if (contract, term, partner) != entry_keys(details)]

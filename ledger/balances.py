"""Reading the books back: an account's balance as of a day, its statement over a period, the trial balance.

Every posting carries the account's running balance after it, so a balance as of any day is one index seek on
(account, date, id). The hot reads run statements built once, at import: building one costs about as much as
running it (0.1-0.3 ms).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.orm import Session

from .models import Account, JournalEntry, Posting


def _balance_at(account_id, day):
    """The running balance at the end of `day` (values or bind parameters)."""
    return (select(Posting.balance_after).where(Posting.account_id == account_id, Posting.effective_date <= day)
            .order_by(Posting.effective_date.desc(), Posting.id.desc()).limit(1))


_BALANCE_AT = _balance_at(bindparam("account_id"), bindparam("day"))


def balance_as_of(session: Session, acct: Account, day: date) -> int:
    """The signed balance at the end of `day`: the running balance of the account's last posting that day or
    before (one index seek on account, date, id)."""
    value = session.execute(_BALANCE_AT, {"account_id": acct.id, "day": day}).scalar_one_or_none()
    return value or 0


@dataclass(frozen=True)
class StatementLine:
    effective_date: date
    entry: str
    description: str
    event_kind: str | None
    event_ref: str | None
    amount_minor: int
    balance_after: int


@dataclass(frozen=True)
class Statement:
    account: str
    currency: str
    start: date
    end: date
    opening_minor: int
    lines: list[StatementLine]
    closing_minor: int
    #: the cursor of the next page, (date, posting id) of this page's last line; None on the last page
    next_after: tuple[date, int] | None = None


def _statement_page(after: bool):
    """The page's rows: from `start` (the first page) or after the (date, posting id) cursor `after_*`, up to
    `end`, in (date, id) order — an index range on (account, date, id), however deep the page."""
    account_id = bindparam("account_id")
    opening = _balance_at(account_id, bindparam("day_before")).scalar_subquery()
    closing = _balance_at(account_id, bindparam("end")).scalar_subquery()
    since = (tuple_(Posting.effective_date, Posting.id) > tuple_(bindparam("after_date"), bindparam("after_id"))
             if after else Posting.effective_date >= bindparam("start"))
    return (select(Posting.effective_date, JournalEntry.public_id, JournalEntry.description, JournalEntry.event_kind,
                   JournalEntry.event_ref, Posting.amount_minor, Posting.balance_after, opening, closing, Posting.id)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(Posting.account_id == account_id, since, Posting.effective_date <= bindparam("end"))
            .order_by(Posting.effective_date, Posting.id))


_STATEMENT_ALL = _statement_page(after=False)
_STATEMENT_FIRST = _STATEMENT_ALL.limit(bindparam("limit"))
_STATEMENT_AFTER = _statement_page(after=True).limit(bindparam("limit"))


def statement(session: Session, acct: Account, start: date, end: date, *, limit: int | None = None,
              after: tuple[date, int] | None = None) -> Statement:
    """Postings of `acct` from `start` to `end` inclusive, with running balances (signed): all of them, or with
    `limit` a page of at most that many, the first one or the one after the cursor `after` (the `next_after` of
    the page before). Paging by key, never by OFFSET: the last page of a busy account costs what the first does.

    One query: the opening and closing balances of the period (two index seeks) ride along with the page's rows;
    only an empty page needs them asked for on their own."""
    day_before = start - timedelta(days=1)
    params = {"account_id": acct.id, "day_before": day_before, "start": start, "end": end, "limit": limit}
    if after is not None and limit is not None and after[0] >= start:
        query = _STATEMENT_AFTER
        params.update(after_date=after[0], after_id=after[1])
    else:
        query = _STATEMENT_ALL if limit is None else _STATEMENT_FIRST
    rows = session.execute(query, params).all()
    if not rows:
        return Statement(acct.code, acct.currency, start, end, balance_as_of(session, acct, day_before), [],
                         balance_as_of(session, acct, end))
    lines = [StatementLine(*row[:7]) for row in rows]
    next_after = (rows[-1][0], rows[-1][9]) if limit is not None and len(rows) == limit else None
    return Statement(acct.code, acct.currency, start, end, rows[0][7] or 0, lines, rows[0][8] or 0, next_after)


def trial_balance(session: Session, as_of: date | None = None) -> dict[str, list[tuple[Account, int]]]:
    """Every account's signed balance per currency (current, or at the end of `as_of`). Each currency's
    balances sum to zero when the books are consistent."""
    out: dict[str, list[tuple[Account, int]]] = {}
    for acct in session.execute(select(Account).order_by(Account.currency, Account.code)).scalars():
        value = acct.balance_minor if as_of is None else balance_as_of(session, acct, as_of)
        out.setdefault(acct.currency, []).append((acct, value))
    return out

"""The chart of accounts and the accounting periods: an account is opened on first use (a code and a
currency), looked up by them, and a calendar month is closed for good once its books are done."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.i18n import N_

from .errors import LedgerError, UnknownAccount
from .models import Account, AccountType, Period


def open_account(session: Session, code: str, type_: AccountType, currency: str, owner: str | None = None) -> Account:
    """The account (code, currency), created if missing. Its type and owner must match an existing one."""
    account = session.execute(select(Account).where(Account.code == code, Account.currency == currency)
                              ).scalar_one_or_none()
    if account is None:
        account = Account(code=code, type=type_, currency=currency, owner=owner, balance_minor=0)
        try:
            with session.begin_nested():
                session.add(account)
        except IntegrityError:  # opened meanwhile by another transaction
            account = session.execute(select(Account).where(Account.code == code, Account.currency == currency)
                                      ).scalar_one()
    if account.type is not type_:
        raise LedgerError(N_("Account %(code)s exists with another type."), code=code)
    return account


# A hot read: the statement is built once (building it costs about as much as running it).
_ACCOUNT = select(Account).where(Account.code == bindparam("code"), Account.currency == bindparam("currency"))


def account(session: Session, code: str, currency: str) -> Account:
    found = session.execute(_ACCOUNT, {"code": code, "currency": currency}).scalar_one_or_none()
    if found is None:
        raise UnknownAccount(accounts=f"{code} ({currency})")
    return found


def month_end(day: date) -> date:
    """The last day of `day`'s month (periods are calendar months)."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def close_period(session: Session, month: date, closed_by: str) -> Period:
    first = month.replace(day=1)
    period = session.execute(select(Period).where(Period.month == first)).scalar_one_or_none()
    if period is None:
        period = Period(month=first, closed_by=closed_by)
        session.add(period)
        session.flush()
    return period

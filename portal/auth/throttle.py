"""Failed sign-ins, counted in the database so that every worker (and every server) sees the same count.

Three rules, each read from the configuration as "N per <period>":

- per account and address (LOGIN_LIMIT_PER_ACCOUNT_ADDRESS, 5 per 10 minutes): a guesser at one address backs
  off, while the account's owner signing in from anywhere else is not affected;
- per address across accounts (LOGIN_LIMIT_PER_ADDRESS, 20 per 10 minutes): one address trying many accounts;
- a ceiling per account across addresses (LOGIN_ACCOUNT_CEILING, 50 per hour): past it the account is under a
  spread-out attack, and each address must wait LOGIN_CEILING_WAIT_SECONDS between its failed attempts on it.
  It never refuses an address that has not failed on the account, so the owner is slowed, never locked out.

A refused attempt answers 429 with `Retry-After`; nothing sleeps inside a request.

Counting and writing an attempt happen in one short transaction that holds a lock per address (an advisory
lock on PostgreSQL; SQLite's database write lock, taken by the pruning DELETE), committed *before* the password
is checked: attempts from one address are counted one after the other, so exactly the limit gets through
however many workers race. A successful sign-in deletes the failures of its account and address.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from limits import parse
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.db import utcnow

from ..accounts.models import LoginFailure


@dataclass(frozen=True)
class Rule:
    limit: int
    window: timedelta

    @classmethod
    def parse(cls, text: str) -> Rule:
        item = parse(text)
        return cls(item.amount, timedelta(seconds=item.get_expiry()))


@dataclass(frozen=True)
class Policy:
    per_account_address: Rule
    per_address: Rule
    account_ceiling: Rule
    ceiling_wait: timedelta

    @classmethod
    def from_config(cls, config) -> Policy:
        return cls(Rule.parse(config["LOGIN_LIMIT_PER_ACCOUNT_ADDRESS"]), Rule.parse(config["LOGIN_LIMIT_PER_ADDRESS"]),
                   Rule.parse(config["LOGIN_ACCOUNT_CEILING"]),
                   timedelta(seconds=config["LOGIN_CEILING_WAIT_SECONDS"]))

    @property
    def retention(self) -> timedelta:
        return max(self.per_account_address.window, self.per_address.window, self.account_ceiling.window,
                   self.ceiling_wait)


def account_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class Reservation:
    #: the attempt, written as a failure until it succeeds; None when refused
    attempt: LoginFailure | None
    #: seconds to wait before trying again (0 when the attempt may go ahead)
    retry_after: int


def reserve(session: Session, email: str, address: str, policy: Policy) -> Reservation:
    """Count the earlier failures and, if the rules allow one more, write this attempt. The caller commits
    at once (that releases the lock) and only then checks the password."""
    now, key, address = utcnow(), account_key(email), address[:45]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext("login:" + address))))
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - policy.retention))
    wait = _wait(session, key, address, now, policy)
    if wait > timedelta(0):
        return Reservation(None, math.ceil(wait.total_seconds()))
    attempt = LoginFailure(account_key=key, address=address, at=now)
    session.add(attempt)
    session.flush()
    return Reservation(attempt, 0)


def _times(session: Session, *conditions) -> list[datetime]:
    return list(session.execute(select(LoginFailure.at).where(*conditions).order_by(LoginFailure.at)).scalars())


def _wait_over_limit(times: list[datetime], rule: Rule, now: datetime) -> timedelta:
    """How long until one more attempt fits in the rule, given the earlier attempts' times."""
    recent = [t for t in times if t > now - rule.window]
    if len(recent) < rule.limit:
        return timedelta(0)
    return recent[len(recent) - rule.limit] + rule.window - now


def _wait(session: Session, key: str, address: str, now: datetime, policy: Policy) -> timedelta:
    same_pair = _times(session, LoginFailure.account_key == key, LoginFailure.address == address)
    same_address = _times(session, LoginFailure.address == address, LoginFailure.at > now - policy.per_address.window)
    waits = [_wait_over_limit(same_pair, policy.per_account_address, now),
             _wait_over_limit(same_address, policy.per_address, now)]
    if same_pair and _over_ceiling(session, key, now, policy.account_ceiling):
        waits.append(same_pair[-1] + policy.ceiling_wait - now)
    return max(waits)


def _over_ceiling(session: Session, key: str, now: datetime, rule: Rule) -> bool:
    count = session.execute(select(func.count(LoginFailure.id)).where(
        LoginFailure.account_key == key, LoginFailure.at > now - rule.window)).scalar_one()
    return count >= rule.limit


def succeeded(session: Session, attempt: LoginFailure) -> None:
    """The right password from this address: its earlier failures on the account are forgiven."""
    session.execute(delete(LoginFailure).where(LoginFailure.account_key == attempt.account_key,
                                               LoginFailure.address == attempt.address))

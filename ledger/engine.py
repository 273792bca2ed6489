"""The ledger's public interface for posting to the books and reading them back (what the portal, the CLI, the
tests and the benchmarks call). Plain Python over a SQLAlchemy session; no Flask.

Each piece lives in the module that explains it:
- `ledger.money`: amounts in minor units, the lines of an entry (`debit`, `credit`), rounding (`apply_rate`,
  `split`);
- `ledger.chart`: accounts (`open_account`, `account`) and accounting periods (`close_period`, `month_end`);
- `ledger.journal_rules`: the rules every entry keeps; `ledger.journal`: `post` and `reverse` one entry (on
  PostgreSQL through the database function `ledger_post`); `ledger.journal_batch`: `post_batch`, many entries in
  one transaction (and, on SQLite, each single one);
- `ledger.balances`: balances as of a day, account statements, the trial balance;
- `ledger.integrity`: `verify`, the books checked against themselves and their business events;
- `ledger.errors`: every refusal of the ledger.

Modules inside the ledger import from those modules, not from this one.
"""
from __future__ import annotations

from .balances import Statement, StatementLine, balance_as_of, statement, trial_balance
from .chart import account, close_period, month_end, open_account
from .errors import KeyReused, LedgerError, PeriodClosed, Unbalanced, UnknownAccount
from .integrity import Problem, verify
from .journal import post, reverse
from .journal_batch import post_batch
from .models import AccountType
from .money import Line, apply_rate, credit, debit, split

__all__ = [
    "AccountType", "KeyReused", "LedgerError", "Line", "PeriodClosed", "Problem", "Statement", "StatementLine",
    "Unbalanced", "UnknownAccount", "account", "apply_rate", "balance_as_of", "close_period", "credit", "debit",
    "month_end", "open_account", "post", "post_batch", "reverse", "split", "statement", "trial_balance", "verify",
]

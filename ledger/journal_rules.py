"""The rules of a journal entry, as both posting paths apply them (`ledger.journal`, `ledger.journal_batch`).

An entry balances per currency, targets known open accounts and an open period, its date does not go back on
any account, and its idempotency key posts it once (a retry returns the first entry; the same key with another
request is refused). Accounts are locked in a fixed order (by id) before anything is read or written, so
concurrent posters neither deadlock nor lose updates.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from core.i18n import N_

from .errors import Unbalanced
from .models import Account
from .money import Line


#: the session.info flag: this transaction has written to the ledger, so it posts its later entries itself
#: (`ledger.group_commit`); cleared when the transaction ends
TOUCHED = "ledger.touched"


def touched(session: Session) -> None:
    """This transaction has written to the ledger: its later entries post in it too."""
    session.info[TOUCHED] = True


def request_hash(effective_date: date, description: str, lines: list[Line], reverses: int | None,
                 event_kind: str | None, event_ref: str | None) -> str:
    """What was asked for under a key, as a digest: the same key with another request is refused."""
    canonical = json.dumps({"date": effective_date.isoformat(), "description": description, "reverses": reverses,
                            "event": [event_kind, event_ref],
                            "lines": sorted([ln.account, ln.currency, ln.amount_minor] for ln in lines)},
                           sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_lines(lines: list[Line]) -> None:
    """At least two non-zero whole postings, balancing in each currency."""
    if len(lines) < 2:
        raise Unbalanced(N_("An entry needs at least two postings."))
    totals: dict[str, int] = {}
    for line in lines:
        if not isinstance(line.amount_minor, int) or isinstance(line.amount_minor, bool) or line.amount_minor == 0:
            raise Unbalanced(N_("Every posting is a non-zero whole number of minor units."))
        totals[line.currency] = totals.get(line.currency, 0) + line.amount_minor
    off = {c: t for c, t in totals.items() if t != 0}
    if off:
        raise Unbalanced(N_("The entry does not balance in %(currencies)s."), currencies=", ".join(sorted(off)))


def loaded_accounts_moved(session: Session, moved: dict[int, tuple[int, date]]) -> None:
    """Accounts this session has loaded take the (balance, last posting date) the database now holds."""
    for account_id, (balance, day) in moved.items():
        acct = session.identity_map.get(identity_key(Account, account_id))
        if acct is not None:
            set_committed_value(acct, "balance_minor", balance)
            set_committed_value(acct, "last_posted_on", day)

"""Every refusal of the ledger. Each is a `core.errors.DomainError`: a machine-readable `code` for the API, an
HTTP `status`, and a message (a msgid the portal translates); one that always says the same thing declares it."""
from __future__ import annotations

from core.errors import DomainError
from core.i18n import N_


class LedgerError(DomainError):
    code = "ledger_refused"


# --- posting (the rules of a journal entry: ledger.journal_rules) --------------------------------------------

class Unbalanced(LedgerError):
    code = "entry_unbalanced"


class UnknownAccount(LedgerError):
    code = "unknown_account"
    message = N_("Unknown account: %(accounts)s.")


class ClosedAccount(UnknownAccount):
    message = N_("Closed account: %(accounts)s.")


class PeriodClosed(LedgerError):
    code = "period_closed"
    message = N_("The period of %(date)s is closed.")


class KeyReused(LedgerError):
    code = "idempotency_key_reused"
    status = 409
    message = N_("This idempotency key was already used for a different entry.")


class DateGoesBack(LedgerError):
    message = N_("Posting dates cannot go back on an account (%(accounts)s): post at today's date.")


class AlreadyReversed(LedgerError):
    message = N_("This entry was already reversed.")


# --- commissions and payouts ---------------------------------------------------------------------------------

class MissingRate(LedgerError):
    code = "missing_rate"
    message = N_("No commission rate from %(insurer)s for this product line on %(date)s.")


class RunRefused(LedgerError):
    code = "payout_run_refused"
    status = 409


class FourEyes(DomainError):
    code = "four_eyes"
    status = 403


# --- insurer statements, their reconciliation, receipts ------------------------------------------------------

class ReconciliationError(DomainError):
    code = "reconciliation_refused"


#: at most this many problems are spelt out when a file is refused (the rest are counted)
MAX_PROBLEMS = 50


class StatementInvalid(ReconciliationError):
    """The file cannot be imported. `problems` lists every problem as (msgid, params) for translation."""

    code = "statement_invalid"

    def __init__(self, problems: list[tuple[str, dict]]):
        self.problems = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            self.problems.append((N_("…and %(count)s more problems."), {"count": len(problems) - MAX_PROBLEMS}))
        text = " ".join(problem_text(p) for p in self.problems)
        super().__init__(N_("The statement cannot be imported: %(problems)s"), problems=text)


def problem_text(problem: tuple[str, dict], translate=lambda msgid: msgid) -> str:
    """A problem of StatementInvalid as text; a (msgid, params) value in its params is translated first."""
    msgid, params = problem
    params = {k: problem_text(v, translate) if isinstance(v, tuple) else v for k, v in params.items()}
    return translate(msgid) % params


class StatementAlreadyImported(ReconciliationError):
    code = "statement_already_imported"
    status = 409


class ItemNotOpen(ReconciliationError):
    code = "reconciliation_item_not_open"
    status = 409
    message = N_("This line is resolved already: only open lines can be accepted, adjusted or disputed.")


class ReceiptConflict(ReconciliationError):
    code = "receipt_reference_reused"
    status = 409

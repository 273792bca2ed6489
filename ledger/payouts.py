"""Payout runs: finance pays partners what is available to them, per currency, through a SEPA credit transfer.

A run is prepared for a period and a currency (one prepared run per currency at a time): each partner whose
available balance, less what was made available after the period's end and less what its agreement's payment
terms do not make due by the execution date (`payment_terms`), reaches its minimum gets a line; the others are
listed as exclusions with their reason (no valid IBAN/BIC, no agreement in force, below the minimum, a negative
balance carried forward), and each share not yet due with the day it falls due. A second finance user approves it: that posts one entry moving
every line from `partner payable:available` to `payouts approved` and stores the pain.001 file sent to the bank
(`ledger.sepa`).
Settling the run (the bank confirmed) posts `payouts approved` against the bank account.

Paying the same balance twice is impossible by construction: approval is a compare-and-set on the run's
status in the caller's transaction, its entry has one idempotency key per run, and each line is checked
against the partner's locked available balance when it posts.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import NotFound
from core.i18n import N_

from . import payment_terms
from .chart import account, month_end, open_account
from .commissions import available
from .errors import FourEyes, RunRefused
from .journal import post
from .models import (Account, AccountType, ExclusionReason, JournalEntry, PayoutExclusion, PayoutLine, PayoutRun,
                     Posting, RunStatus)
from .money import credit, debit
from .sepa import Debtor, checked_bank_details, pain001

APPROVED = "payouts_approved"
BANK = "bank"
AVAILABLE_PREFIX = "partner_payable:available:"


# --- inputs --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Payee:
    """What the portal knows of a partner firm for paying it."""

    partner: str
    name: str
    iban: str | None
    bic: str | None
    minimum_minor: int
    agreement_in_force: bool


# --- the run's life ------------------------------------------------------------------------------------------

def _next_reference(session: Session, period: date, currency: str) -> str:
    prefix = f"PO-{period:%Y%m}-{currency}-"
    taken = session.execute(select(PayoutRun.reference)
                            .where(PayoutRun.reference.startswith(prefix, autoescape=True))).scalars()
    numbers = [int(r.rsplit("-", 1)[1]) for r in taken if r.rsplit("-", 1)[1].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _available_where(currency: str):
    return Account.code.startswith(AVAILABLE_PREFIX, autoescape=True), Account.currency == currency


def _sqlite_write_lock(session: Session, currency: str) -> None:
    """SQLite has no FOR UPDATE: a no-op write takes the database's write lock, so no posting commits while
    the run reads the balances, and it opens the transaction so that a SAVEPOINT after it nests inside it
    (issued first, the sqlite3 driver would let its RELEASE commit on its own; see
    ledger.journal_batch._take_sqlite_write_lock)."""
    session.execute(update(Account).where(*_available_where(currency)).values(balance_minor=Account.balance_minor)
                    .execution_options(synchronize_session=False))


def _partner_accounts(session: Session, currency: str) -> list[Account]:
    """Every partner's available account in `currency`, locked until the run is written: a posting to one of
    them (a release, a clawback, an approval in flight) either committed before or waits until after."""
    stmt = (select(Account).where(*_available_where(currency)).order_by(Account.id)
            .execution_options(populate_existing=True))
    if not _is_sqlite(session):  # on SQLite prepare() holds the write lock already
        stmt = stmt.with_for_update()
    return list(session.execute(stmt).scalars())


def _credited_after(session: Session, accounts: list[Account], end: date) -> dict[int, int]:
    """What each account received after `end` (credits to a payable, as a positive amount): money made
    available after the period is not that period's to pay, even when it arrived before the run."""
    if not accounts:
        return {}
    rows = session.execute(select(Posting.account_id, func.sum(Posting.amount_minor))
                           .where(Posting.account_id.in_([a.id for a in accounts]), Posting.effective_date > end,
                                  Posting.amount_minor < 0).group_by(Posting.account_id))
    return {account_id: -int(total) for account_id, total in rows}


def _payable(payee: Payee | None, amount: int) -> tuple[str, str] | ExclusionReason:
    """(IBAN, BIC) to pay `amount` to, or why the partner is left out of this run."""
    if payee is None:
        return ExclusionReason.no_bank_details
    if amount < max(payee.minimum_minor, 1):
        return ExclusionReason.below_minimum
    if not payee.agreement_in_force:
        return ExclusionReason.no_active_agreement
    return checked_bank_details(payee.iban, payee.bic)


def _claim_currency(session: Session, run: PayoutRun) -> None:
    """Write the run, claiming its currency (unique `open_currency`): a second prepared run is refused, and
    on PostgreSQL a preparation waits here for an approval in flight in the same currency to commit."""
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        raise RunRefused(N_("A %(currency)s payout run is already waiting for approval: approve or cancel it "
                            "first."), currency=run.currency) from None


def _add_partner(run: PayoutRun, partner: str, payee: Payee | None, owed_now: int, amount: int,
                 not_due: list[payment_terms.NotYetDue]) -> None:
    """The partner's line in the run for `amount` (the period's money still available) less what is not yet due
    under its payment terms, or its exclusion; each share not yet due is listed with its due date."""
    name = payee.name if payee else partner
    if amount == 0:
        return
    if amount < 0:
        # owed to us: netted against what the partner earns next (shown as it stands now when negative)
        run.exclusions.append(PayoutExclusion(partner=partner, payee_name=name,
                                              reason=ExclusionReason.negative_balance,
                                              balance_minor=owed_now if owed_now < 0 else amount))
        return
    for share in not_due:
        run.exclusions.append(PayoutExclusion(
            partner=partner, payee_name=name, reason=ExclusionReason.not_yet_due, balance_minor=share.amount_minor,
            policy_number=share.policy_number, term=share.term, payment_terms_days=share.days,
            payment_terms_basis=share.basis, due_on=share.due_on))
    amount -= sum(share.amount_minor for share in not_due)
    if amount <= 0:
        return
    details = _payable(payee, amount)
    if isinstance(details, ExclusionReason):
        run.exclusions.append(PayoutExclusion(partner=partner, payee_name=name, reason=details, balance_minor=amount))
        return
    iban, bic = details
    run.lines.append(PayoutLine(partner=partner, payee_name=name, iban=iban, bic=bic, amount_minor=amount,
                                end_to_end_id=f"{run.reference}-{len(run.lines) + 1}"))


def prepare(session: Session, *, period: date, currency: str, payees: list[Payee], prepared_by: str,
            prepared_by_name: str, execution_date: date) -> PayoutRun:
    """A run paying every partner its available balance in `currency` as of the end of `period`: what is
    available now less what was made available after the period (that waits for the next period's run), less
    the shares its payment terms do not make due by `execution_date` (listed with the day they fall due)."""
    period = period.replace(day=1)
    end = month_end(period)
    by_partner = {p.partner: p for p in payees}
    if _is_sqlite(session):
        _sqlite_write_lock(session, currency)
    run = PayoutRun(reference=_next_reference(session, period, currency), period=period, currency=currency,
                    status=RunStatus.prepared, open_currency=currency, execution_date=execution_date,
                    prepared_by=prepared_by, prepared_by_name=prepared_by_name, total_minor=0)
    _claim_currency(session, run)
    accounts = _partner_accounts(session, currency)
    later = _credited_after(session, accounts, end)
    for acct in accounts:
        partner = acct.code.removeprefix(AVAILABLE_PREFIX)
        amount = acct.normal_balance - later.get(acct.id, 0)
        not_due = (payment_terms.not_yet_due(session, acct, amount, period_end=end, on=execution_date)
                   if amount > 0 else [])
        _add_partner(run, partner, by_partner.get(partner), acct.normal_balance, amount, not_due)
    run.total_minor = sum(line.amount_minor for line in run.lines)
    session.flush()
    return run


def get_run(session: Session, run_public_id: str) -> PayoutRun:
    run = session.execute(select(PayoutRun).where(PayoutRun.public_id == run_public_id)).scalar_one_or_none()
    if run is None:
        raise NotFound(N_("No such payout run."))
    return run


def _move(session: Session, run: PayoutRun, frm: RunStatus, to: RunStatus, **values) -> bool:
    """Compare-and-set of the run's status: True for the one caller that moved it."""
    moved = session.execute(update(PayoutRun).where(PayoutRun.id == run.id, PayoutRun.status == frm)
                            .values(status=to, **values).execution_options(synchronize_session=False)).rowcount
    session.refresh(run)
    return moved == 1


def approve(session: Session, run: PayoutRun, *, approved_by: str, approved_by_name: str, debtor: Debtor,
            today: date) -> tuple[PayoutRun, bool]:
    """Post the run's payouts and write its pain.001 file; (run, False) when it was approved already.
    On a refusal (RunRefused, FourEyes) the caller rolls back: nothing of the approval stays."""
    if approved_by == run.prepared_by:
        raise FourEyes(N_("The person who prepared a payout run cannot approve it: a second finance user must."))
    if run.status in (RunStatus.approved, RunStatus.settled):
        return run, False
    if run.status is not RunStatus.prepared:
        raise RunRefused(N_("This payout run was cancelled."))
    if not run.lines:
        raise RunRefused(N_("This payout run pays nobody: cancel it."))
    document = pain001(run, debtor)  # before anything is written: a file the bank would refuse stops it here
    if not _move(session, run, RunStatus.prepared, RunStatus.approved, approved_by=approved_by,
                 approved_by_name=approved_by_name, approved_at=utcnow(), open_currency=None):
        if run.status in (RunStatus.approved, RunStatus.settled):
            return run, False  # approved meanwhile by someone else: nothing more to pay
        raise RunRefused(N_("This payout run was cancelled."))
    open_account(session, APPROVED, AccountType.liability, run.currency)
    lines = [debit(available(line.partner), line.amount_minor, run.currency) for line in run.lines]
    lines.append(credit(APPROVED, run.total_minor, run.currency))
    entry, _ = post(session, key=f"payout.approved:{run.public_id}", effective_date=today,
                           description=f"Payout run {run.reference}", lines=lines, event_kind="payout.approved",
                           event_ref=run.public_id, details={"run": run.reference, "period": f"{run.period:%Y-%m}"})
    # the accounts are locked now: a balance that shrank since preparation (a clawback) stops the run
    short = [line.payee_name for line in run.lines
             if account(session, available(line.partner), run.currency).normal_balance < 0]
    if short:
        raise RunRefused(N_("The available balance of %(partners)s fell since the run was prepared: cancel it "
                            "and prepare a new one."), partners=", ".join(short))
    run.approval_entry_id = entry.id
    run.pain001 = document
    run.pain001_sha256 = hashlib.sha256(document.encode()).hexdigest()
    session.flush()
    return run, True


def settle(session: Session, run: PayoutRun, *, settled_by: str, bank_reference: str,
           today: date) -> tuple[PayoutRun, bool]:
    """The bank confirmed the transfers: `payouts approved` is paid out of the bank account."""
    if run.status is RunStatus.settled:
        return run, False
    if not _move(session, run, RunStatus.approved, RunStatus.settled, settled_by=settled_by, settled_at=utcnow(),
                 bank_reference=bank_reference[:64]):
        if run.status is RunStatus.settled:
            return run, False
        raise RunRefused(N_("Only an approved payout run can be settled."))
    if run.total_minor:
        open_account(session, BANK, AccountType.asset, run.currency)
        entry, _ = post(session, key=f"payout.settled:{run.public_id}", effective_date=today,
                               description=f"Payout run {run.reference} settled ({bank_reference})"[:500],
                               lines=[debit(APPROVED, run.total_minor, run.currency),
                                      credit(BANK, run.total_minor, run.currency)],
                               event_kind="payout.settled", event_ref=run.public_id,
                               details={"run": run.reference, "bank_reference": bank_reference})
        run.settlement_entry_id = entry.id
    session.flush()
    return run, True


def cancel(session: Session, run: PayoutRun, *, cancelled_by: str) -> PayoutRun:
    """A prepared run dropped (balances changed, a mistake): nothing was posted, nothing is."""
    if run.status is RunStatus.cancelled:
        return run
    if not _move(session, run, RunStatus.prepared, RunStatus.cancelled, cancelled_by=cancelled_by,
                 open_currency=None):
        if run.status is RunStatus.cancelled:
            return run
        raise RunRefused(N_("An approved payout run cannot be cancelled: its transfers went to the bank."))
    return run


def runs(session: Session, *, limit: int = 100, offset: int = 0) -> list[PayoutRun]:
    return list(session.execute(select(PayoutRun).order_by(PayoutRun.id.desc()).limit(limit).offset(offset))
                .scalars())


def approval_entry(session: Session, run: PayoutRun) -> JournalEntry | None:
    return session.get(JournalEntry, run.approval_entry_id) if run.approval_entry_id else None

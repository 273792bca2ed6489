"""What finance does to the ledger, as operations: payout runs, insurer rates, released commissions, insurer
statements and receipts.

Each takes the session, the acting user and values; it checks and writes through the modules that hold the
rules (payouts, commissions, reconciliation, receipts), records the action on the audit chain in the same
transaction, and flushes. It never commits: the caller's unit of work does (a web request, a command), so an
action and its audit record are saved together or not at all.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from core import audit
from core.accounts import User
from core.contracts import Insurer
from core.products import ProductLine

from . import commissions, payouts, receipts, reconciliation
from .models import InsurerReceipt, InsurerStatement, ReconciliationItem

# --- payout runs ---------------------------------------------------------------------------------------------


def prepare_payout_run(session: Session, actor: User, *, period: date, currency: str, payees: list[payouts.Payee],
                       execution_date: date) -> payouts.PayoutRun:
    """A run paying the partners' available balances (see payouts.prepare); a second finance user approves it."""
    run = payouts.prepare(session, period=period, currency=currency, payees=payees, prepared_by=actor.public_id,
                          prepared_by_name=actor.full_name, execution_date=execution_date)
    audit.record(session, "payout_run.prepared", actor=actor, subject=run, total_minor=run.total_minor,
                 currency=run.currency, lines=len(run.lines))
    return run


def approve_payout_run(session: Session, actor: User, run: payouts.PayoutRun, *, debtor: payouts.Debtor,
                       today: date) -> bool:
    """Post the run and write its transfer file; False when it was approved already (nothing is paid twice)."""
    run, approved = payouts.approve(session, run, approved_by=actor.public_id, approved_by_name=actor.full_name,
                                    debtor=debtor, today=today)
    if approved:
        audit.record(session, "payout_run.approved", actor=actor, subject=run, total_minor=run.total_minor,
                     currency=run.currency, pain001_sha256=run.pain001_sha256)
    return approved


def settle_payout_run(session: Session, actor: User, run: payouts.PayoutRun, *, bank_reference: str,
                      today: date) -> bool:
    """The bank confirmed the transfers; False when the run was settled already."""
    run, settled = payouts.settle(session, run, settled_by=actor.public_id, bank_reference=bank_reference.strip(),
                                  today=today)
    if settled:
        audit.record(session, "payout_run.settled", actor=actor, subject=run, bank_reference=run.bank_reference)
    return settled


def cancel_payout_run(session: Session, actor: User, run: payouts.PayoutRun) -> None:
    """Drop a prepared run: nothing was posted, nothing is."""
    payouts.cancel(session, run, cancelled_by=actor.public_id)
    audit.record(session, "payout_run.cancelled", actor=actor, subject=run)


# --- commissions ---------------------------------------------------------------------------------------------


def set_insurer_rate(session: Session, actor: User, insurer: Insurer, product_line: ProductLine, rate: Decimal,
                     effective_from: date) -> commissions.InsurerRate:
    """The insurer's commission rate (a fraction) from a date; what was posted before keeps its rate."""
    row = commissions.set_insurer_rate(session, insurer, product_line, rate, effective_from, actor.email)
    audit.record(session, "insurer_rate.set", actor=actor, subject=insurer, product_line=row.product_line.value,
                 rate=str(row.rate), effective_from=row.effective_from)
    return row


# --- insurer statements and receipts -------------------------------------------------------------------------


def import_insurer_statement(session: Session, actor: User, *, insurer: Insurer, period: date, currency: str,
                             filename: str, content: bytes) -> InsurerStatement:
    """Import the insurer's statement file and reconcile its lines (see reconciliation.import_statement)."""
    statement = reconciliation.import_statement(session, insurer=insurer, period=period, currency=currency,
                                                filename=filename, content=content, uploaded_by=actor.email)
    audit.record(session, "insurer_statement.imported", actor=actor, subject=statement,
                 filename=statement.filename, sha256=statement.sha256, lines=len(statement.items))
    return statement


def resolve_statement_line(session: Session, actor: User, item: ReconciliationItem, *, action: str,
                           note: str | None, today: date) -> ReconciliationItem:
    """Accept, adjust or dispute a line of an insurer's statement."""
    reconciliation.resolve(session, item, action=action, by=actor.email, note=note, today=today)
    audit.record(session, "reconciliation_item.resolved", actor=actor, subject=item, decision=action,
                 kind=item.kind.value, policy_number=item.policy_number)
    return item


def record_insurer_receipt(session: Session, actor: User, *, insurer: Insurer, amount_minor: int, currency: str,
                           received_on: date, bank_reference: str, today: date,
                           statement: InsurerStatement | None = None
                           ) -> tuple[InsurerReceipt, bool]:
    """Money in from the insurer; (the earlier receipt, False) for a bank reference recorded already."""
    receipt, created = receipts.record_receipt(
        session, insurer=insurer, amount_minor=amount_minor, currency=currency, received_on=received_on,
        bank_reference=bank_reference, recorded_by=actor.email, today=today, statement=statement)
    if created:
        audit.record(session, "insurer_receipt.recorded", actor=actor, subject=receipt,
                     amount_minor=receipt.amount_minor, currency=receipt.currency,
                     bank_reference=receipt.bank_reference)
    return receipt, created

"""Commission postings for the business events of DESIGN.md §5.

- contract placed / renewed: Dr commission receivable:<insurer> C / Cr commission income C, and
  Dr partner commission expense S / Cr partner payable:held:<firm> S, where C is the premium × the insurer's
  rate in force on the event date and S the partner's share under the agreement in force on that date
  (first-year rate for term 1, renewal rate after; an introducer's one-off fee on term 1). Rates are resolved
  when the event posts and recorded on the entry: a later rate change never re-prices it.
- disclosure released: Dr partner payable:held S / Cr partner payable:available S.
- contract cancelled inside the clawback window: the pro-rata reversal of both pairs for the current term
  (days not covered / days paid for), taken from the partner's held balance first, then its available
  balance, which may go negative and nets off the next payout. Outside the window nothing is clawed back.

Entries post at the booking date (`today`); the event's own date is recorded as `event_date`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Numeric, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from agreements.operations import agreement_in_force
from core.contracts import Contract, ContractTerm, Insurer
from core.db import Base, append_only, created_at, enum_column, intpk
from core.events import CONTRACT_CANCELLED, CONTRACT_PLACED, CONTRACT_RENEWED, BusinessEvent
from core.i18n import N_
from core.products import ProductLine

from . import engine
from .engine import LedgerError, credit, debit
from .models import AccountType, JournalEntry

INCOME = "commission_income"
EXPENSE = "partner_commission_expense"


@append_only
class InsurerRate(Base):
    """The broker's commission from an insurer on a product line, from a date (a change is a new row)."""

    __tablename__ = "ledger_insurer_rates"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    insurer_id: Mapped[int] = mapped_column(ForeignKey("insurers.id"), index=True)
    product_line: Mapped[ProductLine] = mapped_column(enum_column(ProductLine))
    #: a fraction of the premium: 0.1500 = 15 %
    rate: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    effective_from: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(120))


class MissingRate(LedgerError):
    code = "missing_rate"


def receivable(insurer: Insurer) -> str:
    return f"commission_receivable:{insurer.code}"


def held(org_public_id: str) -> str:
    return f"partner_payable:held:{org_public_id}"


def available(org_public_id: str) -> str:
    return f"partner_payable:available:{org_public_id}"


def set_insurer_rate(session: Session, insurer: Insurer, product_line: ProductLine, rate: Decimal,
                     effective_from: date, recorded_by: str) -> InsurerRate:
    if not Decimal("0") < Decimal(rate) < Decimal("1"):
        raise LedgerError(N_("A commission rate is a fraction between 0 and 1."))
    row = InsurerRate(insurer_id=insurer.id, product_line=product_line, rate=Decimal(rate),
                      effective_from=effective_from, recorded_by=recorded_by)
    session.add(row)
    session.flush()
    return row


def insurer_rate(session: Session, insurer: Insurer, product_line: ProductLine, on: date) -> Decimal:
    rate = session.execute(select(InsurerRate.rate).where(
        InsurerRate.insurer_id == insurer.id, InsurerRate.product_line == product_line,
        InsurerRate.effective_from <= on).order_by(InsurerRate.effective_from.desc(), InsurerRate.id.desc())
        .limit(1)).scalar_one_or_none()
    if rate is None:
        raise MissingRate(N_("No commission rate from %(insurer)s for this product line on %(date)s."),
                          insurer=insurer.name, date=on.isoformat())
    return Decimal(rate)


@dataclass(frozen=True)
class PartnerShare:
    amount_minor: int
    rate: Decimal
    one_off_fee_minor: int
    agreement: str | None
    clawback_days: int


def partner_share(session: Session, contract: Contract, term: int, broker_commission: int, on: date) -> PartnerShare:
    """The partner's share under the agreement in force on `on` (none: no share, recorded as such)."""
    if contract.organisation_id is None:
        return PartnerShare(0, Decimal("0"), 0, None, 0)
    agreement = agreement_in_force(session, contract.organisation_id, on)
    rule = next((r for r in (agreement.rules if agreement else []) if r.product_line is contract.product_line), None)
    if rule is None:
        return PartnerShare(0, Decimal("0"), 0, agreement.reference if agreement else None, 0)
    rate = Decimal(rule.first_year_rate if term == 1 else rule.renewal_rate)
    fee = rule.one_off_fee_minor if term == 1 else 0
    if fee and rule.currency != contract.currency:
        raise LedgerError(N_("The agreement's fee is in %(fee)s but the contract in %(contract)s: nothing is "
                             "converted silently."), fee=rule.currency, contract=contract.currency)
    return PartnerShare(engine.apply_rate(broker_commission, rate) + fee, rate, fee, agreement.reference,
                        rule.clawback_days)


def _accounts(session: Session, contract: Contract, org_public_id: str | None) -> None:
    currency = contract.currency
    engine.open_account(session, receivable(contract.insurer), AccountType.asset, currency,
                        owner=f"insurer:{contract.insurer.code}")
    engine.open_account(session, INCOME, AccountType.income, currency)
    if org_public_id:
        engine.open_account(session, EXPENSE, AccountType.expense, currency)
        for code in (held(org_public_id), available(org_public_id)):
            engine.open_account(session, code, AccountType.liability, currency, owner=f"partner:{org_public_id}")


def _org_public_id(session: Session, contract: Contract) -> str | None:
    from sqlalchemy import text

    if contract.organisation_id is None:
        return None
    return session.execute(text("SELECT public_id FROM organisations WHERE id = :id"),
                           {"id": contract.organisation_id}).scalar_one()


def post_term(session: Session, event: BusinessEvent, *, today: date) -> JournalEntry:
    """A placement (term 1) or a renewal (term n): the broker's commission and the partner's held share."""
    contract = session.execute(select(Contract).where(Contract.public_id == event.subject)).scalar_one()
    term = event.payload["term"]
    premium = event.payload["premium_minor"]
    rate = insurer_rate(session, contract.insurer, contract.product_line, event.effective_on)
    commission = engine.apply_rate(premium, rate)
    share = partner_share(session, contract, term, commission, event.effective_on)
    org = _org_public_id(session, contract)
    _accounts(session, contract, org)
    currency = contract.currency
    lines = [debit(receivable(contract.insurer), commission, currency), credit(INCOME, commission, currency)]
    if share.amount_minor and org:
        lines += [debit(EXPENSE, share.amount_minor, currency), credit(held(org), share.amount_minor, currency)]
    details = {"contract": contract.public_id, "policy_number": contract.policy_number, "term": term,
               "premium_minor": premium, "insurer_rate": str(rate), "broker_commission_minor": commission,
               "partner": org, "agreement": share.agreement, "partner_rate": str(share.rate),
               "one_off_fee_minor": share.one_off_fee_minor, "partner_share_minor": share.amount_minor,
               "clawback_days": share.clawback_days}
    kind = "placement" if event.kind == CONTRACT_PLACED else "renewal"
    entry, _ = engine.post(session, key=f"{event.kind}:{event.public_id}", effective_date=today,
                           description=f"Commission, {kind} of {contract.policy_number} (term {term})",
                           lines=lines, event_kind=event.kind, event_ref=event.public_id,
                           event_date=event.effective_on, details=details)
    return entry


def _term_entry(session: Session, contract: Contract, term: int) -> JournalEntry | None:
    rows = session.execute(select(JournalEntry).where(JournalEntry.event_kind.in_((CONTRACT_PLACED, CONTRACT_RENEWED)),
                                                      JournalEntry.reverses_id.is_(None))
                           .order_by(JournalEntry.id)).scalars()
    return next((e for e in rows if e.details.get("contract") == contract.public_id and e.details.get("term") == term),
                None)


def post_cancellation(session: Session, event: BusinessEvent, *, today: date) -> JournalEntry | None:
    """The pro-rata clawback of the current term when the cancellation falls inside the clawback window."""
    contract = session.execute(select(Contract).where(Contract.public_id == event.subject)).scalar_one()
    term_number = event.payload["term"]
    term = session.execute(select(ContractTerm).where(ContractTerm.contract_id == contract.id,
                                                      ContractTerm.number == term_number)).scalar_one()
    original = _term_entry(session, contract, term_number)
    if original is None:
        raise LedgerError(N_("The commission of this contract was not posted yet; post it before its cancellation."))
    cancelled_on = event.effective_on
    window = original.details.get("clawback_days", 0)
    days_paid = (term.end_date - term.start_date).days + 1
    days_not_covered = max(0, (term.end_date - cancelled_on).days + 1)
    if (cancelled_on - term.start_date).days > window or days_not_covered == 0:
        return None
    commission = original.details["broker_commission_minor"]
    share = original.details["partner_share_minor"]
    back_commission, _ = engine.split(commission, [days_not_covered, days_paid - days_not_covered]) \
        if days_not_covered < days_paid else (commission, 0)
    back_share = engine.split(share, [days_not_covered, days_paid - days_not_covered])[0] \
        if share and days_not_covered < days_paid else share
    currency = contract.currency
    org = original.details.get("partner")
    lines = [debit(INCOME, back_commission, currency), credit(receivable(contract.insurer), back_commission, currency)]
    if back_share and org:
        held_now = -engine.account(session, held(org), currency).balance_minor
        from_held = min(back_share, max(held_now, 0))
        if from_held:
            lines.append(debit(held(org), from_held, currency))
        if back_share - from_held:
            lines.append(debit(available(org), back_share - from_held, currency))
        lines.append(credit(EXPENSE, back_share, currency))
    entry, _ = engine.post(session, key=f"{event.kind}:{event.public_id}", effective_date=today,
                           description=f"Clawback, cancellation of {contract.policy_number} from {cancelled_on}",
                           lines=lines, event_kind=event.kind, event_ref=event.public_id, event_date=cancelled_on,
                           details={"contract": contract.public_id, "policy_number": contract.policy_number,
                                    "term": term_number, "days_not_covered": days_not_covered,
                                    "days_paid": days_paid, "broker_commission_back_minor": back_commission,
                                    "partner_share_back_minor": back_share, "partner": org,
                                    "original_entry": original.public_id})
    return entry


def release_disclosure(session: Session, contract: Contract, *, today: date, released_by: str) -> JournalEntry | None:
    """Compliance approved the contract's disclosures: the partner's held share becomes payable."""
    org = _org_public_id(session, contract)
    if org is None:
        return None
    entries = session.execute(select(JournalEntry).where(JournalEntry.event_kind.in_((CONTRACT_PLACED,
                                                                                      CONTRACT_RENEWED)))
                              .order_by(JournalEntry.id)).scalars()
    amount = sum(e.details.get("partner_share_minor", 0) for e in entries
                 if e.details.get("contract") == contract.public_id)
    if not amount:
        return None
    entry, _ = engine.post(session, key=f"disclosure.released:{contract.public_id}", effective_date=today,
                           description=f"Disclosure approved, {contract.policy_number}: share payable",
                           lines=[debit(held(org), amount, contract.currency),
                                  credit(available(org), amount, contract.currency)],
                           event_kind="disclosure.released", event_ref=contract.public_id,
                           details={"contract": contract.public_id, "released_by": released_by})
    return entry


HANDLERS = {CONTRACT_PLACED: post_term, CONTRACT_RENEWED: post_term, CONTRACT_CANCELLED: post_cancellation}


def pending_events(session: Session) -> list[BusinessEvent]:
    """Business events the ledger has not posted yet, oldest first."""
    posted = select(JournalEntry.event_ref).where(JournalEntry.event_ref.is_not(None))
    return list(session.execute(select(BusinessEvent).where(BusinessEvent.kind.in_(tuple(HANDLERS)),
                                                            BusinessEvent.public_id.not_in(posted))
                                .order_by(BusinessEvent.id)).scalars())


def post_event(session: Session, event: BusinessEvent, *, today: date) -> JournalEntry | None:
    return HANDLERS[event.kind](session, event, today=today)

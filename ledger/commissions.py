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

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agreements.queries import agreement_in_force
from core.accounts import Organisation
from core.contracts import Contract, ContractTerm, Insurer
from core.events import CONTRACT_CANCELLED, CONTRACT_PLACED, CONTRACT_RENEWED, DISCLOSURE_APPROVED, BusinessEvent
from core.i18n import N_
from core.products import ProductLine

from .chart import open_account
from .errors import LedgerError, MissingRate
from .journal import post
from .models import AccountType, EventOutcome, InsurerRate, JournalEntry
from .money import Line, apply_rate, credit, debit, split

INCOME = "commission_income"
EXPENSE = "partner_commission_expense"


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
        raise MissingRate(insurer=insurer.name, date=on.isoformat())
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
    return PartnerShare(apply_rate(broker_commission, rate) + fee, rate, fee, agreement.reference,
                        rule.clawback_days)


def _accounts(session: Session, contract: Contract, org_public_id: str | None) -> None:
    currency = contract.currency
    open_account(session, receivable(contract.insurer), AccountType.asset, currency,
                        owner=f"insurer:{contract.insurer.code}")
    open_account(session, INCOME, AccountType.income, currency)
    if org_public_id:
        open_account(session, EXPENSE, AccountType.expense, currency)
        for code in (held(org_public_id), available(org_public_id)):
            open_account(session, code, AccountType.liability, currency, owner=f"partner:{org_public_id}")


def _org_public_id(session: Session, contract: Contract) -> str | None:
    if contract.organisation_id is None:
        return None
    return session.get(Organisation, contract.organisation_id).public_id


def _nonzero(lines: list[Line]) -> list[Line]:
    """A line that rounds to nothing is left out (the ledger refuses zero postings); no line, no entry."""
    return [ln for ln in lines if ln.amount_minor]


def _by_key(session: Session, key: str) -> JournalEntry | None:
    return session.execute(select(JournalEntry).where(JournalEntry.idempotency_key == key)).scalar_one_or_none()


def _record(session: Session, event: BusinessEvent, entry: JournalEntry | None, outcome: str) -> None:
    if session.execute(select(EventOutcome.id).where(EventOutcome.event_ref == event.public_id)).first():
        return
    try:
        with session.begin_nested():
            session.add(EventOutcome(event_ref=event.public_id, event_kind=event.kind,
                                     entry_id=entry.id if entry else None, outcome=outcome))
    except IntegrityError:
        pass  # recorded meanwhile by a concurrent poster of the same event


def post_term(session: Session, event: BusinessEvent, *, today: date) -> JournalEntry | None:
    """A placement (term 1) or a renewal (term n): the broker's commission and the partner's held share."""
    key = f"{event.kind}:{event.public_id}"
    if (done := _by_key(session, key)) is not None:
        return done
    contract = session.execute(select(Contract).where(Contract.public_id == event.subject)).scalar_one()
    term = event.payload["term"]
    premium = event.payload["premium_minor"]
    rate = insurer_rate(session, contract.insurer, contract.product_line, event.effective_on)
    commission = apply_rate(premium, rate)
    share = partner_share(session, contract, term, commission, event.effective_on)
    org = _org_public_id(session, contract)
    currency = contract.currency
    lines = [debit(receivable(contract.insurer), commission, currency), credit(INCOME, commission, currency)]
    if org:
        lines += [debit(EXPENSE, share.amount_minor, currency), credit(held(org), share.amount_minor, currency)]
    lines = _nonzero(lines)
    if not lines:
        _record(session, event, None, "commission_rounds_to_zero")
        return None
    _accounts(session, contract, org)
    details = {"contract": contract.public_id, "policy_number": contract.policy_number, "term": term,
               # the pipeline that emits the event knows the client; the ledger keeps only these initials
               "client_initials": event.payload.get("client_initials"),
               "premium_minor": premium, "insurer_rate": str(rate), "broker_commission_minor": commission,
               "partner": org, "agreement": share.agreement, "partner_rate": str(share.rate),
               "one_off_fee_minor": share.one_off_fee_minor, "partner_share_minor": share.amount_minor,
               "clawback_days": share.clawback_days}
    kind = "placement" if event.kind == CONTRACT_PLACED else "renewal"
    entry, _ = post(session, key=key, effective_date=today,
                           description=f"Commission, {kind} of {contract.policy_number} (term {term})",
                           lines=lines, event_kind=event.kind, event_ref=event.public_id,
                           event_date=event.effective_on, details=details)
    _record(session, event, entry, "posted")
    if org and (approval := approved(session, contract)) is not None:
        # the disclosures were approved before this term was posted (a renewal): its share is not held back
        release_disclosure(session, contract, today=today, released_by=approval.payload.get("reviewer", ""))
    return entry


def _term_entries(session: Session, contract: Contract, kinds: tuple[str, ...],
                  term: int | None = None) -> list[JournalEntry]:
    """The contract's entries of `kinds` (of one term, if given), oldest first: an index seek on (contract, term)."""
    query = select(JournalEntry).where(JournalEntry.contract_ref == contract.public_id,
                                       JournalEntry.event_kind.in_(kinds), JournalEntry.reverses_id.is_(None))
    if term is not None:
        query = query.where(JournalEntry.term == term)
    return list(session.execute(query.order_by(JournalEntry.id)).scalars())


def _term_entry(session: Session, contract: Contract, term: int) -> JournalEntry | None:
    return next(iter(_term_entries(session, contract, (CONTRACT_PLACED, CONTRACT_RENEWED), term)), None)


def _release_key(contract: Contract, term: int) -> str:
    return f"disclosure.released:{contract.public_id}:{term}"


def post_cancellation(session: Session, event: BusinessEvent, *, today: date) -> JournalEntry | None:
    """The pro-rata clawback of the current term when the cancellation falls inside the clawback window."""
    key = f"{event.kind}:{event.public_id}"
    if (done := _by_key(session, key)) is not None:
        return done
    contract = session.execute(select(Contract).where(Contract.public_id == event.subject)).scalar_one()
    term_number = event.payload["term"]
    term = session.execute(select(ContractTerm).where(ContractTerm.contract_id == contract.id,
                                                      ContractTerm.number == term_number)).scalar_one()
    original = _term_entry(session, contract, term_number)
    if original is None:
        outcome = session.execute(select(EventOutcome).join(BusinessEvent, BusinessEvent.public_id ==
                                                            EventOutcome.event_ref)
                                  .where(BusinessEvent.subject == contract.public_id,
                                         BusinessEvent.kind.in_((CONTRACT_PLACED, CONTRACT_RENEWED)),
                                         EventOutcome.entry_id.is_(None))).first()
        if outcome is not None:  # the term's commission rounded to nothing: nothing to claw back either
            _record(session, event, None, "nothing_was_posted")
            return None
        raise LedgerError(N_("The commission of this contract was not posted yet; post it before its cancellation."))
    cancelled_on = event.effective_on
    window = original.details.get("clawback_days", 0)
    days_paid = (term.end_date - term.start_date).days + 1
    days_not_covered = min(days_paid, max(0, (term.end_date - cancelled_on).days + 1))
    if (cancelled_on - term.start_date).days > window or days_not_covered == 0:
        _record(session, event, None, "outside_clawback_window")
        return None
    commission = original.details["broker_commission_minor"]
    share = original.details["partner_share_minor"]
    weights = [days_not_covered, days_paid - days_not_covered]
    back_commission = split(commission, weights)[0] if commission else 0
    back_share = split(share, weights)[0] if share else 0
    currency = contract.currency
    org = original.details.get("partner")
    released = org is not None and _by_key(session, _release_key(contract, term_number)) is not None
    lines = [debit(INCOME, back_commission, currency), credit(receivable(contract.insurer), back_commission, currency)]
    from_held = 0
    if org:
        # the term's share still held comes back from held; once released, from what is available to the partner
        from_held = 0 if released else back_share
        lines += [debit(held(org), from_held, currency), debit(available(org), back_share - from_held, currency),
                  credit(EXPENSE, back_share, currency)]
    lines = _nonzero(lines)
    if not lines:
        _record(session, event, None, "clawback_rounds_to_zero")
        return None
    entry, _ = post(session, key=key, effective_date=today,
                           description=f"Clawback, cancellation of {contract.policy_number} from {cancelled_on}",
                           lines=lines, event_kind=event.kind, event_ref=event.public_id, event_date=cancelled_on,
                           details={"contract": contract.public_id, "policy_number": contract.policy_number,
                                    "client_initials": original.details.get("client_initials"),
                                    "term": term_number, "days_not_covered": days_not_covered,
                                    "days_paid": days_paid, "broker_commission_back_minor": back_commission,
                                    "partner_share_back_minor": back_share, "from_held_minor": from_held,
                                    "partner": org, "original_entry": original.public_id})
    _record(session, event, entry, "posted")
    return entry


def release_disclosure(session: Session, contract: Contract, *, today: date, released_by: str) -> list[JournalEntry]:
    """Compliance approved the contract's disclosures: each posted term's share still held becomes payable
    (net of what a clawback already took back from it). Once per term, whenever it is called again."""
    org = _org_public_id(session, contract)
    if org is None:
        return []
    clawed = {}
    for e in _term_entries(session, contract, (CONTRACT_CANCELLED,)):
        clawed[e.details.get("term")] = clawed.get(e.details.get("term"), 0) + e.details.get("from_held_minor", 0)
    released = []
    for original in _term_entries(session, contract, (CONTRACT_PLACED, CONTRACT_RENEWED)):
        term = original.details.get("term")
        key = _release_key(contract, term)
        if (done := _by_key(session, key)) is not None:
            released.append(done)
            continue
        amount = original.details.get("partner_share_minor", 0) - clawed.get(term, 0)
        if amount <= 0:
            continue
        entry, _ = post(session, key=key, effective_date=today,
                               description=f"Disclosure approved, {contract.policy_number} term {term}: share payable",
                               lines=[debit(held(org), amount, contract.currency),
                                      credit(available(org), amount, contract.currency)],
                               event_kind="disclosure.released", event_ref=contract.public_id,
                               details={"contract": contract.public_id, "policy_number": contract.policy_number,
                                        "client_initials": original.details.get("client_initials"),
                                        "term": term, "released_by": released_by, "partner": org})
        released.append(entry)
    return released


def approved(session: Session, contract: Contract) -> BusinessEvent | None:
    """Compliance's approval of the contract's disclosures, if given (the first)."""
    return session.scalars(select(BusinessEvent).where(BusinessEvent.kind == DISCLOSURE_APPROVED,
                                                       BusinessEvent.subject == contract.public_id)
                           .order_by(BusinessEvent.id)).first()


def post_disclosure_approval(session: Session, event: BusinessEvent, *, today: date) -> JournalEntry | None:
    """Compliance approved the contract's disclosures: every posted term's share still held is released."""
    contract = session.execute(select(Contract).where(Contract.public_id == event.subject)).scalar_one()
    entries = release_disclosure(session, contract, today=today, released_by=event.payload.get("reviewer", ""))
    _record(session, event, entries[-1] if entries else None, "posted" if entries else "nothing_held")
    return entries[-1] if entries else None


HANDLERS = {CONTRACT_PLACED: post_term, CONTRACT_RENEWED: post_term, CONTRACT_CANCELLED: post_cancellation,
            DISCLOSURE_APPROVED: post_disclosure_approval}


def pending_events(session: Session) -> list[BusinessEvent]:
    """Business events the ledger has not handled yet, oldest first."""
    handled = select(EventOutcome.event_ref)
    return list(session.execute(select(BusinessEvent).where(BusinessEvent.kind.in_(tuple(HANDLERS)),
                                                            BusinessEvent.public_id.not_in(handled))
                                .order_by(BusinessEvent.id)).scalars())


def post_event(session: Session, event: BusinessEvent, *, today: date) -> JournalEntry | None:
    return HANDLERS[event.kind](session, event, today=today)

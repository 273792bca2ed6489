"""A dependant added to a cover in force (a birth, an adoption, a marriage, a partner joining the mission...).

The rules, each kept where the others read it:
- only the health top-up covers a family (the prévoyance top-up insures the volunteer alone), so the
  subscription has it, is active, and its cover has not ended;
- the programme's conditions are confirmed (funnel.eligibility), the declaration holds together
  (funnel.volunteers.declaration_problems: one spouse or partner, dates in order), a child is under the grid's
  age limit;
- covered from the event when declared within 30 days of it, else from the first day of the next month
  (funnel.rules.dependant_covered_from), never before the cover starts, until the cover ends;
- priced on the tariff version and zone the subscription was placed on: a contract keeps its prices;
- pro rata: the month of cover in which the dependant's cover starts is charged for its days left
  (rules.prorated_period), and each later month already paid in full; from the month after (`billed_from`)
  the monthly premium includes the dependant (activation.cover_monthly_minor reads it per month).

`add_dependant` charges that at once on the saved card or SEPA mandate and, once the provider accepted it (or
nothing was due yet), covers the dependant: the subscription's persons and quote, the contract's premium, a new
certificate naming them (the one it replaces stays verifiable, reported as replaced), the broker's commission
on the premium collected (its own ledger key per addition). A declined card covers no one and keeps only the
failed payment; the same form sent again (a double click) finds what the first did, and a new try after a
decline is a new attempt at the provider.
"""
from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.contracts import Contract, ContractTerm
from core.db import utcnow
from core.i18n import N_
from ledger.collected_premiums import CollectedPremium, entry_key, post_collected_premium
from ledger.commissions import insurer_rate
from ledger.errors import MissingRate

from . import payments, rules
from .activation import (Issuer, cover_monthly_minor, funnel_insurer, month_paid_for, payments_of,
                         policy_number, purpose, reissue_certificate)
from .addition_models import DependantAddition
from .catalogue import Cover, PersonCategory
from .dates import add_months
from .eligibility import Confirmation, Relationship, confirmations_for, eligibility_problems
from .errors import DependantNotEligible, FunnelError
from .models import Dependant, Subscription, SubscriptionState
from .money import Money
from .payment_models import MethodState, Payment, PaymentState
from .tariffs import tariff_by_ref
from .volunteers import declaration_problems, declare_dependant


class NotAmendable(FunnelError):
    code = "not_amendable"
    status = 409
    message = N_("Someone can be added to an active cover only: your adhesion must be signed and paid first.")


class NoFamilyCover(NotAmendable):
    message = N_("The death and disability top-up covers you alone: a spouse, partner or child can only be added "
                 "to the health top-up.")


class CoverEnded(NotAmendable):
    message = N_("Your cover ended on %(day)s: no one can be added to it.")


class AdditionRefused(FunnelError):
    code = "addition_refused"


class NoSavedMethod(FunnelError):
    code = "no_saved_method"
    status = 409
    message = N_("Your premiums are not paid by card or direct debit, so the %(amount)s due for this person cannot "
                 "be charged online. Please contact us to add them.")


# --- what the volunteer declares, and what it costs -------------------------------------------------------------

@dataclass(frozen=True)
class Declaration:
    """The person to add: a new dependant, or one already declared (by the roster or earlier) and not covered."""

    category: PersonCategory
    birth_date: date
    #: the birth, adoption, marriage, PACS, move... that makes them a dependant to cover now
    event_date: date
    first_name: str = ""
    last_name: str = ""
    relationship: Relationship | None = None
    answers: Mapping[Confirmation, bool] = field(default_factory=dict)
    #: an already declared dependant (then category and birth date are theirs)
    dependant: Dependant | None = None

    def fingerprint(self, subscription: Subscription) -> str:
        who = self.dependant.public_id if self.dependant is not None else [
            self.category.value, self.birth_date.isoformat(), self.first_name.strip().casefold(),
            self.last_name.strip().casefold()]
        body = json.dumps([subscription.public_id, who, self.event_date.isoformat()], ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class MonthCharge:
    #: the month of cover, as payments name it (YYYY-MM), and the days of it charged ([start, end))
    month: str
    start: date
    end: date
    minor: int


@dataclass(frozen=True)
class CoverLine:
    cover: Cover
    formula: str
    tariff_ref: str
    monthly_minor: int
    months: tuple[MonthCharge, ...]

    @property
    def charged_minor(self) -> int:
        return sum(m.minor for m in self.months)


@dataclass(frozen=True)
class AdditionQuote:
    category: PersonCategory
    covered_from: date
    covered_until: date
    billed_from: str
    currency: str
    lines: tuple[CoverLine, ...]

    @property
    def monthly_minor(self) -> int:
        return sum(line.monthly_minor for line in self.lines)

    @property
    def charged_minor(self) -> int:
        return sum(line.charged_minor for line in self.lines)


def _month_label(subscription: Subscription, n: int) -> str:
    return add_months(subscription.start_on.replace(day=1), n).strftime("%Y-%m")


def _month_index(subscription: Subscription, month: str) -> int:
    year, number = (int(part) for part in month.split("-"))
    return year * 12 + number - (subscription.start_on.year * 12 + subscription.start_on.month)


def months_paid(session: Session, subscription: Subscription) -> set[int]:
    """The months of cover (0 for the first) whose premium was collected or is being collected, and not refunded
    in full."""
    return {_month_index(subscription, month_paid_for(subscription, p)) for p in payments_of(session, subscription)
            if p.purpose == purpose(subscription, month_paid_for(subscription, p))
            and p.state in (PaymentState.succeeded, PaymentState.processing, PaymentState.refunded)
            and p.refunded_minor < p.amount_minor}


def check_amendable(subscription: Subscription, *, today: date) -> None:
    if subscription.state is not SubscriptionState.active:
        raise NotAmendable()
    if Cover.health.value not in subscription.choices:
        raise NoFamilyCover()
    if today > subscription.ends_on:
        raise CoverEnded(day=subscription.ends_on.isoformat())


def _covered_persons(subscription: Subscription) -> list[dict]:
    return subscription.persons[1:]


def _check_declaration(subscription: Subscription, d: Declaration, *, today: date) -> None:
    volunteer = subscription.volunteer
    if d.dependant is not None:
        covered = {p["ref"] for p in _covered_persons(subscription)}
        if d.dependant.volunteer_id != volunteer.id or d.dependant.removed_at is not None:
            raise AdditionRefused(N_("Choose among your declared dependants."), fields={"who": [
                N_("Choose among your declared dependants.")]})
        if d.dependant.public_id in covered:
            message = N_("This person is already covered.")
            raise AdditionRefused(message, fields={"who": [message]})
        problems = {}
        if not d.dependant.birth_date <= d.event_date <= today:
            problems["event_date"] = [N_("The event's date is between the birth date and today.")]
    else:
        problems = declaration_problems(volunteer, d.category, d.birth_date, declared_on=today,
                                        event_date=d.event_date)
        if not d.first_name.strip() or not d.last_name.strip():
            problems["first_name"] = [N_("Give the person's first and last names.")]
    if d.category is PersonCategory.spouse and any(p["category"] == PersonCategory.spouse.value
                                                   for p in _covered_persons(subscription)):
        problems["category"] = [N_("Only one spouse or partner can be covered.")]
    problems.update(eligibility_problems(d.category, d.relationship, d.answers))
    if problems:
        raise DependantNotEligible(N_("This person cannot be added as given."), fields=problems)


def quote_addition(session: Session, subscription: Subscription, declaration: Declaration, *,
                   today: date) -> AdditionQuote:
    """What adding this person costs: per month from `billed_from`, and now for the months of cover begun."""
    check_amendable(subscription, today=today)
    _check_declaration(subscription, declaration, today=today)
    category = declaration.category
    covered_from = rules.dependant_covered_from(declaration.event_date, today, subscription.start_on)
    if covered_from > subscription.ends_on:
        message = N_("Your cover ends on %(day)s, before this person could be covered.")
        raise AdditionRefused(message, fields={"event_date": [message]}, day=subscription.ends_on.isoformat())
    until = subscription.ends_on
    k = rules.cover_month(subscription.start_on, covered_from)
    last = max(months_paid(session, subscription) | {k})
    lines = []
    for block in subscription.quote["covers"]:
        cover = Cover(block["cover"])
        if category not in cover.categories:
            continue
        grid = tariff_by_ref(session, block["tariff"]).grid
        if category is PersonCategory.child:
            if not rules.child_within_age_limit(declaration.birth_date, covered_from, grid.child_age_limit):
                message = N_("A child is covered up to the age of %(limit)s: this child is over the age limit.")
                raise AdditionRefused(message, fields={"birth_date": [message]}, limit=grid.child_age_limit)
            until = min(until, rules.child_covered_until(declaration.birth_date, grid.child_age_limit))
        monthly = grid.formula(block["formula"]).monthly_premium(subscription.zone if cover.zoned else None,
                                                                 category)
        months = []
        for n in range(k, last + 1):
            period = rules.cover_month_period(subscription.start_on, n)
            days = (max(covered_from, period[0]), min(period[1], until + timedelta(days=1)))
            minor = rules.prorated_period(monthly, period, days)
            if minor:
                months.append(MonthCharge(_month_label(subscription, n), days[0], days[1], minor))
        lines.append(CoverLine(cover, block["formula"], block["tariff"], monthly, tuple(months)))
    return AdditionQuote(category=category, covered_from=covered_from, covered_until=until,
                         billed_from=_month_label(subscription, last + 1), currency=subscription.currency,
                         lines=tuple(lines))


# --- adding them ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdditionResult:
    addition: DependantAddition | None
    payment: Payment | None = None
    #: the msgid saying why the charge failed (then no one was added)
    failure: str | None = None
    #: False when this declaration was already added (a double submit: nothing done this time)
    done_now: bool = True


def _charge(session: Session, gateway: payments.PaymentGateway, subscription: Subscription, q: AdditionQuote,
            fingerprint: str) -> Payment | None:
    if q.charged_minor == 0:
        return None
    method = subscription.payment_method
    if method is None or method.state is not MethodState.active:
        raise NoSavedMethod(amount=str(Money(q.currency, q.charged_minor)))
    what = f"{purpose(subscription, q.lines[0].months[0].month)}:dependant:{fingerprint[:16]}"
    failed = session.scalar(select(func.count(Payment.id)).where(Payment.purpose == what,
                                                                 Payment.state == PaymentState.failed))
    return payments.charge_saved_method(session, gateway, method, purpose=what, amount_minor=q.charged_minor,
                                        currency=q.currency.lower(),
                                        idempotency_key=f"dep-{subscription.public_id}-{fingerprint[:16]}-{failed}")


def _person(dependant: Dependant, d: Declaration, q: AdditionQuote) -> dict:
    return {"category": d.category.value, "ref": dependant.public_id,
            "relationship": d.relationship.value if d.relationship else None,
            "confirmations": {k.value: bool(d.answers.get(k)) for k in confirmations_for(d.category, d.relationship)},
            "covered_from": q.covered_from.isoformat(), "billed_from": q.billed_from}


def _cover_them(subscription: Subscription, dependant: Dependant, d: Declaration, q: AdditionQuote) -> None:
    """The subscription's persons and quote now name the dependant (JSON columns: replaced, not changed in place)."""
    subscription.persons = [*subscription.persons, _person(dependant, d, q)]
    quote = copy.deepcopy(subscription.quote)
    by_cover = {line.cover.value: line for line in q.lines}
    for block in quote["covers"]:
        line = by_cover.get(block["cover"])
        if line is None:
            continue
        block["persons"].append({"category": d.category.value, "ref": dependant.public_id,
                                 "birth_date": dependant.birth_date.isoformat(),
                                 "monthly": {"currency": q.currency, "minor": line.monthly_minor},
                                 "covered_until": q.covered_until.isoformat(),
                                 "covered_from": q.covered_from.isoformat(), "billed_from": q.billed_from})
        block["monthly_total"] = {"currency": q.currency, "minor": block["monthly_total"]["minor"] + line.monthly_minor}
    quote["monthly_total"] = {"currency": q.currency, "minor": quote["monthly_total"]["minor"] + q.monthly_minor}
    subscription.quote = quote
    subscription.monthly_total_minor += q.monthly_minor


def _contract(session: Session, subscription: Subscription, cover: Cover) -> Contract | None:
    return session.scalar(select(Contract).where(Contract.policy_number == policy_number(subscription, cover)))


def _amend_contracts(session: Session, subscription: Subscription, q: AdditionQuote, today: date) -> None:
    """Each contract's yearly premium follows its cover's new monthly premium."""
    for line in q.lines:
        contract = _contract(session, subscription, line.cover)
        if contract is None:
            continue
        old, contract.premium_minor = contract.premium_minor, cover_monthly_minor(subscription, line.cover) * 12
        term = session.scalars(select(ContractTerm).where(ContractTerm.contract_id == contract.id)
                               .order_by(ContractTerm.number.desc())).first()
        if term is not None:
            term.premium_minor = contract.premium_minor
        audit.record(session, "contract.amended", subject=contract, reason="dependant added", old_premium=old,
                     premium=contract.premium_minor, effective=q.covered_from.isoformat())


def add_dependant(session: Session, gateway: payments.PaymentGateway, subscription: Subscription,
                  declaration: Declaration, issuer: Issuer, *, today: date, now: datetime | None = None
                  ) -> AdditionResult:
    """Add the person to the cover (see the module): charged pro rata, covered, a new certificate. Once."""
    now = now or utcnow()
    # one request at a time on this subscription (a double submit waits, then finds what the first did)
    session.execute(select(Subscription.id).where(Subscription.id == subscription.id).with_for_update())
    session.refresh(subscription)
    fingerprint = declaration.fingerprint(subscription)
    done = session.scalar(select(DependantAddition).where(DependantAddition.subscription_id == subscription.id,
                                                          DependantAddition.fingerprint == fingerprint))
    if done is not None:
        return AdditionResult(done, done.payment, done_now=False)
    q = quote_addition(session, subscription, declaration, today=today)
    payment = _charge(session, gateway, subscription, q, fingerprint)
    if payment is not None and payment.state not in (PaymentState.succeeded, PaymentState.processing):
        return AdditionResult(None, payment, payments.failure_message(payment) or payments.FAILURE_DEFAULT)
    dependant = declaration.dependant or declare_dependant(
        session, subscription.volunteer, declaration.category, declaration.birth_date, declared_on=today,
        event_date=declaration.event_date, first_name=declaration.first_name.strip(),
        last_name=declaration.last_name.strip())
    addition = DependantAddition(
        subscription=subscription, dependant=dependant, fingerprint=fingerprint, declared_on=today,
        covered_from=q.covered_from, billed_from=q.billed_from, monthly_minor=q.monthly_minor,
        charged_minor=q.charged_minor, currency=q.currency, payment=payment,
        lines=[{"cover": line.cover.value, "formula": line.formula, "tariff": line.tariff_ref,
                "monthly": line.monthly_minor, "charged": line.charged_minor,
                "months": [{"month": m.month, "from": m.start.isoformat(), "to": m.end.isoformat(),
                            "minor": m.minor} for m in line.months]} for line in q.lines])
    session.add(addition)
    _cover_them(subscription, dependant, declaration, q)
    subscription.updated_at = now
    session.flush()
    _amend_contracts(session, subscription, q, today)
    addition.replaced_certificate_sha256 = reissue_certificate(session, subscription, issuer, now=now)
    audit.record(session, "subscription.dependant_added", subject=subscription, addition=addition.public_id,
                 category=q.category.value, covered_from=q.covered_from.isoformat(), billed_from=q.billed_from,
                 monthly_minor=q.monthly_minor, charged_minor=q.charged_minor,
                 payment=payment.public_id if payment is not None else None)
    settle_addition(session, addition, issuer, today=today)
    return AdditionResult(addition, payment)


# --- the commission on what it collected ----------------------------------------------------------------------

def commission_key(contract_ref: str, addition: DependantAddition) -> str:
    return f"{entry_key(contract_ref, addition.lines[0]['months'][0]['month'])}:dependant:{addition.public_id}"


def settle_addition(session: Session, addition: DependantAddition, issuer: Issuer, *, today: date) -> bool:
    """Post the broker's commission on the premium the addition collected, once the provider confirmed it (a
    SEPA debit takes days: the webhook or the reconciliation calls this again). Idempotent; returns whether it
    is settled."""
    if addition.settled_at is not None:
        return True
    payment = addition.payment
    if payment is not None and payment.state is not PaymentState.succeeded:
        return False
    subscription, insurer = addition.subscription, funnel_insurer(session, issuer)
    collected_on = (payment.succeeded_at if payment is not None else utcnow()).date()
    for line in addition.lines if payment is not None else ():
        contract = _contract(session, subscription, Cover(line["cover"]))
        if contract is None or not line["charged"]:
            continue
        try:
            rate = insurer_rate(session, insurer, contract.product_line, collected_on)
        except MissingRate:
            audit.record(session, "commission.rate_missing", subject=contract, product_line=contract.product_line.value)
            return False
        post_collected_premium(session, CollectedPremium(
            contract_ref=contract.public_id, insurer_code=insurer.code, month=line["months"][0]["month"],
            amount_minor=line["charged"], currency=subscription.currency, collected_on=collected_on,
            broker_rate=Decimal(rate)), today=today, key=commission_key(contract.public_id, addition))
    addition.settled_at = utcnow()
    session.flush()
    return True


def unsettled(session: Session) -> list[DependantAddition]:
    """Additions whose charge the provider has not confirmed yet, or whose commission is not posted."""
    return list(session.scalars(select(DependantAddition).where(DependantAddition.settled_at.is_(None))
                                .order_by(DependantAddition.id)))


def addition_of(session: Session, payment: Payment) -> DependantAddition | None:
    return session.scalar(select(DependantAddition).where(DependantAddition.payment_id == payment.id))


def refund_on_withdrawal(addition: DependantAddition, withdrawn_on: date, refund_due) -> dict[Cover, int]:
    """{cover: what is refunded of the addition's charge} when the cover ends the day before `withdrawn_on`: each
    month charged, for its days not covered (`refund_due` is the withdrawal's rule)."""
    return {Cover(line["cover"]): sum(refund_due(m["minor"], (date.fromisoformat(m["from"]),
                                                              date.fromisoformat(m["to"])), withdrawn_on)
                                      for m in line["months"]) for line in addition.lines}


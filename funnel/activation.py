"""The volunteer's journey, steps 5 and 6: the first month's payment (a card, with 3-D Secure when the bank asks,
or a SEPA direct-debit mandate) and the insurance certificate issued as soon as the adhesion is signed and the
payment method accepted.

- `pay_first_month_by_card` / `accept_sepa_mandate`: what the volunteer does on the payment page. The subscription
  waits in `payment_pending`; nothing moves on the browser's word.
- `settle`: what the provider confirmed moves the subscription on, once: the payment method accepted (a card the
  provider charged, an active SEPA mandate), then the certificate (sealed like the adhesion), the contracts placed
  by the system (one per cover), the subscription `active`; the first month paid is booked (`post_commissions`:
  the premium collected for the insurer, the broker's commission withheld, the rest owed to the insurer;
  ledger.collected_premiums). Called on the return from the payment page, by the webhook and by
  the reconciliation: every part is idempotent, so calling it again repairs what a closed browser left half done.
- `half_done`: the subscriptions the reconciliation looks at.

Every operation takes the session and values, flushes, never commits, and records its audit and funnel events.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Select, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from agreements import rendering
from agreements.sealing import SealConfig, seal
from agreements.templates import RenderedTemplate, Section
from agreements.verification import Verdict
from core import audit
from core.contracts import Contract, ContractStatus, ContractTerm, Insurer
from core.db import utcnow
from core.i18n import N_
from core.products import ProductLine
from ledger.collected_premiums import CollectedPremium, post_collected_premium
from ledger.commissions import insurer_rate
from ledger.errors import MissingRate
from ledger.money import split

from . import payments, rules
from .catalogue import FORMULA_LABELS, Cover, PersonCategory
from .errors import FunnelError
from .journey import _guarantee_label, _labels
from .models import DependantAddition, FunnelStage, Subscription, SubscriptionState
from .payment_models import MethodKind, MethodState, Payment, PaymentState, SavedPaymentMethod
from .tracking import record_funnel_event

Translate = Callable[[str], str]

CERTIFICATE_VERSION = "certificate-2026-1"
PAYABLE_STATES = (SubscriptionState.signed, SubscriptionState.payment_pending)
#: the product line a cover is placed under
PRODUCT_LINES = {Cover.health: ProductLine.volunteer_health_topup,
                 Cover.prevoyance: ProductLine.volunteer_prevoyance_topup}


class NotPayable(FunnelError):
    code = "not_payable"
    status = 409
    message = N_("There is nothing to pay now: your adhesion must be signed first.")


class ChequeRefused(FunnelError):
    code = "cheque_refused"


class ChequeNotExpected(ChequeRefused):
    status = 409
    message = N_("No cheque is expected: the adhesion must be signed and its first month not yet paid.")


class ChequeAmountWrong(ChequeRefused):
    field = "amount"
    message = N_("The cheque must pay the first month's premium, %(expected)s: a different amount cannot be "
                 "accepted (return it and ask for a new one).")


class ChequeNumberInvalid(ChequeRefused):
    field = "cheque_number"
    message = N_("Give the cheque's number as printed on it: letters and digits, up to 32.")


class ChequeDateInvalid(ChequeRefused):
    field = "received_on"
    message = N_("The cheque cannot have been received in the future or before the adhesion was subscribed.")


@dataclass(frozen=True)
class Issuer:
    """What issuing a certificate and placing the contracts needs from the caller."""

    translate: Translate
    broker_name: str
    seal_config: SealConfig
    #: the insurer the volunteers' top-up covers are placed with (its code; made if missing)
    insurer_code: str
    insurer_name: str


# --- what is billed ---------------------------------------------------------------------------------------------

def first_month(subscription: Subscription) -> str:
    """The first month billed: the month the cover starts in (YYYY-MM)."""
    return subscription.start_on.strftime("%Y-%m")


def _purpose_prefix(subscription: Subscription) -> str:
    return f"subscription:{subscription.public_id}:"


def purpose(subscription: Subscription, month: str) -> str:
    """What a payment is for: the subscription and the month (YYYY-MM) it pays."""
    return _purpose_prefix(subscription) + month


def month_paid_for(subscription: Subscription, payment: Payment) -> str:
    """The month (YYYY-MM) a payment of this subscription pays for (a dependant's addition names its first)."""
    return payment.purpose.removeprefix(_purpose_prefix(subscription))[:7]


def subscription_payments(subscription: Subscription) -> Select:
    """The payments made (or tried) for this subscription, oldest first, as a statement to narrow."""
    return select(Payment).where(Payment.volunteer_id == subscription.volunteer_id,
                                 Payment.purpose.like(_purpose_prefix(subscription) + "%")).order_by(Payment.id)


def payments_of(session: Session, subscription: Subscription) -> list[Payment]:
    """The monthly premiums paid (or tried) for this subscription, oldest first."""
    return list(session.scalars(subscription_payments(subscription)))


def card_idempotency_key(session: Session, subscription: Subscription) -> str:
    """The key of the next card payment of the first month: per subscription and month, and per attempt after a
    declined, abandoned or refunded one (so a retry can charge, while a double click finds the payment it made)."""
    failed = session.scalar(select(func.count(Payment.id)).where(
        Payment.purpose == purpose(subscription, first_month(subscription)),
        Payment.state.in_((PaymentState.failed, PaymentState.refunded))))
    return f"sub-{subscription.public_id}-{first_month(subscription)}-card-{failed}"


def _require_payable(subscription: Subscription) -> None:
    if subscription.state not in PAYABLE_STATES or _first_month_paid(subscription):
        raise NotPayable()


def _first_month_paid(subscription: Subscription) -> bool:
    payment = subscription.first_payment
    return payment is not None and payment.state in (PaymentState.succeeded, PaymentState.processing)


def _pending(session: Session, subscription: Subscription) -> None:
    if subscription.state is SubscriptionState.signed:
        subscription.state, subscription.updated_at = SubscriptionState.payment_pending, utcnow()
        session.flush()
        audit.record(session, "subscription.payment_pending", subject=subscription)


# --- what the volunteer does ------------------------------------------------------------------------------------

def pay_first_month_by_card(session: Session, gateway: payments.PaymentGateway, subscription: Subscription, *,
                            payment_method_id: str, idempotency_key: str) -> tuple[Payment, str | None]:
    """Charge the first month on the card just entered (kept for the later months once the provider confirmed
    it). Returns the payment and the client secret of a 3-D Secure challenge, if the bank asks for one."""
    _require_payable(subscription)
    payment, secret = payments.pay_by_card(
        session, gateway, subscription.volunteer, purpose=purpose(subscription, first_month(subscription)),
        amount_minor=subscription.monthly_total_minor, currency=subscription.currency.lower(),
        payment_method_id=payment_method_id, idempotency_key=idempotency_key, save_for_later=True)
    _pending(session, subscription)
    subscription.first_payment = payment
    session.flush()
    return payment, secret


def accept_sepa_mandate(session: Session, gateway: payments.PaymentGateway, subscription: Subscription, *,
                        iban: str, holder_name: str, ip: str | None, user_agent: str | None) -> SavedPaymentMethod:
    """Collect a SEPA direct-debit mandate (an IBAN of the SEPA scheme only) and debit the first month on it."""
    _require_payable(subscription)
    month = first_month(subscription)
    method = payments.save_sepa_mandate(session, gateway, subscription.volunteer, iban=iban,
                                        holder_name=holder_name, ip=ip, user_agent=user_agent,
                                        idempotency_key=f"sub-{subscription.public_id}-{month}-sepa")
    _pending(session, subscription)
    subscription.payment_method = method
    if method.state is MethodState.active:
        subscription.first_payment = payments.charge_saved_method(
            session, gateway, method, purpose=purpose(subscription, month),
            amount_minor=subscription.monthly_total_minor, currency=subscription.currency.lower(),
            idempotency_key=f"sub-{subscription.public_id}-{month}-sepa-debit")
    session.flush()
    return method


# --- what staff record ------------------------------------------------------------------------------------------

def normalise_cheque_number(raw: str | None) -> str:
    """A cheque's number as printed (spaces and dashes dropped, upper case), or ChequeNumberInvalid."""
    number = re.sub(r"[\s-]+", "", raw or "").upper()
    if not re.fullmatch(r"[A-Z0-9]{1,32}", number):
        raise ChequeNumberInvalid()
    return number


def recorded_first_cheque(session: Session, subscription: Subscription, cheque_number: str | None) -> Payment | None:
    """The first month's cheque recorded with this number (a resent form finds it), if any."""
    try:
        number = normalise_cheque_number(cheque_number)
    except ChequeNumberInvalid:
        return None
    return session.scalar(select(Payment).where(Payment.idempotency_key == f"cheque-{subscription.public_id}-{number}"))


def record_cheque(session: Session, actor, subscription: Subscription, *, amount_minor: int, cheque_number: str,
                  received_on: date, today: date, bank: str | None = None) -> Payment:
    """A cheque received for the first month (a volunteer whose IBAN is outside the SEPA zone): the payment, of
    kind `cheque` and with no provider, is the accepted payment method and the first payment, so `settle` issues
    the certificate and posts the commission as for a card. The same cheque number again returns the payment it
    recorded (a resent form); the amount must be the first month's premium."""
    number = normalise_cheque_number(cheque_number)
    key = f"cheque-{subscription.public_id}-{number}"
    existing = recorded_first_cheque(session, subscription, number)
    if existing is not None:
        return existing
    _require_payable_by_cheque(subscription)
    if amount_minor != subscription.monthly_total_minor:
        raise ChequeAmountWrong(expected=_money(subscription.monthly_total_minor, subscription.currency))
    if received_on > today or received_on < subscription.subscribed_on:
        raise ChequeDateInvalid()
    now = utcnow()
    payment = Payment(volunteer_id=subscription.volunteer_id, purpose=purpose(subscription, first_month(subscription)),
                      amount_minor=amount_minor, currency=subscription.currency.lower(), kind=MethodKind.cheque,
                      state=PaymentState.succeeded, idempotency_key=key, provider_intent_id=None,
                      succeeded_at=now, cheque_number=number, cheque_bank=(bank or "").strip()[:64] or None,
                      received_on=received_on, recorded_by_id=actor.id)
    session.add(payment)
    session.flush()
    _pending(session, subscription)
    subscription.first_payment = payment
    session.flush()
    audit.record(session, "payment.cheque_recorded", actor=actor, subject=payment,
                 subscription=subscription.public_id, amount_minor=amount_minor, cheque_number=number,
                 received_on=received_on.isoformat())
    return payment


def _require_payable_by_cheque(subscription: Subscription) -> None:
    if subscription.state not in PAYABLE_STATES or _first_month_paid(subscription):
        raise ChequeNotExpected()


# --- what the provider confirmed --------------------------------------------------------------------------------

def _kept(payment: Payment | None) -> bool:
    """The provider collected this payment and it was not refunded in full (money returned pays for nothing)."""
    return payment is not None and payment.is_paid and payment.refunded_minor < payment.amount_minor


def _accepted_method(subscription: Subscription) -> SavedPaymentMethod | None:
    """The payment method the provider confirmed: an active SEPA mandate, or the card it charged."""
    method = subscription.payment_method
    if method is not None and method.state is MethodState.active:
        return method
    payment = subscription.first_payment
    if _kept(payment) and payment.method is not None:
        return payment.method
    return None


def settle(session: Session, gateway: payments.PaymentGateway | None, subscription: Subscription, issuer: Issuer,
           *, today: date, now: datetime | None = None) -> bool:
    """Move the subscription on as far as the provider's confirmations allow (asking it, when `gateway` is given,
    where an unfinished first payment stands). Idempotent. Returns whether the certificate was issued now."""
    if subscription.state not in (*PAYABLE_STATES, SubscriptionState.active):
        return False
    now = now or utcnow()
    payment = subscription.first_payment
    if gateway is not None and payment is not None and payment.state in (PaymentState.requires_action,
                                                                         PaymentState.processing):
        payments.refresh_payment(session, gateway, payment)
    method = _accepted_method(subscription)
    cheque = _kept(payment) and payment.kind is MethodKind.cheque
    issued = False
    if method is not None or cheque:
        if subscription.method_accepted_at is None:
            subscription.payment_method, subscription.method_accepted_at = method, now
            record_funnel_event(session, subscription.volunteer, FunnelStage.payment_method_accepted,
                                zone=subscription.zone, subject=subscription.public_id, at=now)
            audit.record(session, "subscription.payment_method_accepted", subject=subscription,
                         kind=(method.kind if method is not None else MethodKind.cheque).value,
                         mandate_reference=method.mandate_reference if method is not None else None,
                         cheque_number=payment.cheque_number if cheque else None)
        if subscription.certificate_sha256 is None:
            issue_certificate(session, subscription, issuer, now=now)
            issued = True
        _place_contracts(session, subscription, issuer)
        if subscription.state is not SubscriptionState.active:
            subscription.state, subscription.activated_at = SubscriptionState.active, now
            audit.record(session, "subscription.active", subject=subscription)
    if _kept(payment):
        if subscription.paid_at is None:
            subscription.paid_at = now
            for cover in subscription.choices:
                record_funnel_event(session, subscription.volunteer, FunnelStage.paid, cover=Cover(cover),
                                    zone=subscription.zone, subject=payment.public_id, at=now)
        if subscription.state is SubscriptionState.active:
            post_commissions(session, subscription, payment, issuer, today=today)
    subscription.updated_at = now
    session.flush()
    return issued


def half_done(session: Session) -> list[Subscription]:
    """The subscriptions a closed browser or a lost webhook may have left half done: awaiting payment with a
    first payment under way or made, or active without a certificate or without the commission of a paid month."""
    return list(session.scalars(select(Subscription).where(or_(
        Subscription.state == SubscriptionState.payment_pending,
        (Subscription.state == SubscriptionState.active) & (
            Subscription.certificate_sha256.is_(None) | Subscription.paid_at.is_(None))))
        .order_by(Subscription.id)))


# --- money collected without cover -----------------------------------------------------------------------------

#: a payment that may hold (or come to hold) money at the provider
_MONEY_STATES = (PaymentState.requires_action, PaymentState.processing, PaymentState.succeeded,
                 PaymentState.refunded)


def _payments_for():
    """Payments (through the provider) billed to a subscription: their purpose names it."""
    return ((Payment.volunteer_id == Subscription.volunteer_id)
            & Payment.purpose.like(literal("subscription:") + Subscription.public_id + literal(":%"))
            & Payment.provider_intent_id.is_not(None))


def closed_with_money(session: Session) -> list[Subscription]:
    """Closed subscriptions (the mission ended before the cover was active) with a provider payment that was or
    may yet be collected and is not refunded in full: the reconciliation refunds them."""
    return list(session.scalars(select(Subscription).where(
        Subscription.state == SubscriptionState.closed,
        exists().where(_payments_for(), Payment.state.in_(_MONEY_STATES),
                       Payment.refunded_minor < Payment.amount_minor)).order_by(Subscription.id)))


def refund_closed(session: Session, gateway: payments.PaymentGateway, subscription: Subscription) -> list[Payment]:
    """Refund what was collected for a subscription closed meanwhile (no cover, so no money kept): each payment
    the provider confirmed, in full, once (the provider gets an idempotency key per payment). A payment still
    under way is asked about first; one the provider has not collected yet is left for a later run. Returns the
    payments refunded now."""
    if subscription.state is not SubscriptionState.closed:
        return []
    refunded = []
    for payment in session.scalars(subscription_payments(subscription)
                                   .where(Payment.provider_intent_id.is_not(None))):
        if payment.state in (PaymentState.requires_action, PaymentState.processing):
            payments.refresh_payment(session, gateway, payment)
        if not payment.is_paid or payment.refunded_minor >= payment.amount_minor:
            continue
        amount = payment.amount_minor - payment.refunded_minor
        payments.refund_payment(session, gateway, payment, idempotency_key=f"refund-{payment.public_id}-closed")
        audit.record(session, "subscription.payment_refunded", subject=subscription, payment=payment.public_id,
                     amount_minor=amount, reason="closed before the cover was active")
        refunded.append(payment)
    session.flush()
    return refunded


# --- the contracts and the commission ---------------------------------------------------------------------------

def funnel_insurer(session: Session, issuer: Issuer) -> Insurer:
    insurer = session.scalar(select(Insurer).where(Insurer.code == issuer.insurer_code))
    if insurer is None:
        insurer = Insurer(code=issuer.insurer_code, name=issuer.insurer_name)
        session.add(insurer)
        session.flush()
    return insurer


def policy_number(subscription: Subscription, cover: Cover) -> str:
    return f"{subscription.reference}-{'H' if cover is Cover.health else 'P'}"


def cover_monthly_minor(subscription: Subscription, cover: Cover, month: str | None = None) -> int:
    """A cover's monthly premium: for `month` (YYYY-MM), of the persons billed in it (a dependant added later is
    billed from the month its addition says); without, as it stands now."""
    block = next(c for c in subscription.quote["covers"] if c["cover"] == cover.value)
    return sum(p["monthly"]["minor"] for p in block["persons"]
               if month is None or p.get("billed_from") is None or p["billed_from"] <= month)


def cover_billed_minor(subscription: Subscription, cover: Cover, month: str) -> int:
    """What a month of cover (YYYY-MM) bills for `cover`: its monthly premium; a later month in which the cover
    ends, for the days left (rules.prorated_period)."""
    monthly = cover_monthly_minor(subscription, cover, month)
    if month == first_month(subscription):
        return monthly
    year, number = (int(part) for part in month.split("-"))
    n = year * 12 + number - (subscription.start_on.year * 12 + subscription.start_on.month)
    period = rules.cover_month_period(subscription.start_on, n)
    return rules.prorated_period(monthly, period, (period[0], min(period[1], subscription.ends_on + timedelta(days=1))))


def _place_contracts(session: Session, subscription: Subscription, issuer: Issuer) -> list[Contract]:
    """One contract per cover, placed by the system (no user, no partner: a direct sale); once."""
    insurer = funnel_insurer(session, issuer)
    placed = []
    for value in subscription.choices:
        cover = Cover(value)
        number = policy_number(subscription, cover)
        contract = session.scalar(select(Contract).where(Contract.insurer_id == insurer.id,
                                                         Contract.policy_number == number))
        if contract is None:
            yearly = cover_monthly_minor(subscription, cover) * 12
            contract = Contract(insurer_id=insurer.id, policy_number=number, product_line=PRODUCT_LINES[cover],
                                premium_minor=yearly, currency=subscription.currency,
                                start_date=subscription.start_on, status=ContractStatus.in_force,
                                placed_by_id=None, organisation_id=None)
            session.add(contract)
            session.flush()
            session.add(ContractTerm(contract_id=contract.id, number=1, start_date=subscription.start_on,
                                     end_date=subscription.ends_on, premium_minor=yearly))
            session.flush()
            audit.record(session, "contract.placed", subject=contract, policy_number=number,
                         subscription=subscription.public_id, placed_by="system")
        placed.append(contract)
    return placed


def cover_shares(subscription: Subscription, month: str, amount_minor: int) -> dict[Cover, int]:
    """{cover: its part of `amount_minor` paid for `month`}: each cover's monthly premium for that month when the
    payment is the whole month's, else the amount split in proportion to them (the parts sum to the amount)."""
    covers = [Cover(value) for value in subscription.choices]
    full = [cover_monthly_minor(subscription, cover, month) for cover in covers]
    if sum(full) == amount_minor or not any(full):
        return dict(zip(covers, full, strict=True))
    return dict(zip(covers, split(amount_minor, full), strict=True))


def _contract_of(session: Session, insurer: Insurer, subscription: Subscription, cover: Cover) -> Contract | None:
    return session.scalar(select(Contract).where(Contract.insurer_id == insurer.id,
                                                 Contract.policy_number == policy_number(subscription, cover)))


def post_commissions(session: Session, subscription: Subscription, payment: Payment, issuer: Issuer, *,
                     today: date) -> int:
    """The premium this payment collected for its month (`month_paid_for`), in the books cover by cover: client
    money received for the insurer, the broker's commission withheld, the rest owed to the insurer
    (ledger.collected_premiums; idempotent per contract and month). Never anything on the yearly premium. A
    missing insurer rate leaves it unposted (audited): the reconciliation posts it once set. Returns how many
    covers were posted."""
    insurer = funnel_insurer(session, issuer)
    posted = 0
    collected_on = (payment.succeeded_at or utcnow()).date()
    month = month_paid_for(subscription, payment)
    for cover, amount in cover_shares(subscription, month, payment.amount_minor).items():
        contract = _contract_of(session, insurer, subscription, cover)
        if contract is None or not amount:
            continue
        try:
            rate = insurer_rate(session, insurer, contract.product_line, collected_on)
        except MissingRate:
            audit.record(session, "commission.rate_missing", subject=contract, product_line=contract.product_line.value)
            continue
        post_collected_premium(session, CollectedPremium(
            contract_ref=contract.public_id, insurer_code=insurer.code, month=month, amount_minor=amount,
            currency=subscription.currency, collected_on=collected_on, broker_rate=Decimal(rate)), today=today)
        posted += 1
    return posted


# --- the certificate --------------------------------------------------------------------------------------------

def _money(minor: int, currency: str) -> str:
    return f"{minor // 100},{minor % 100:02d} {currency}"


def certificate_document(subscription: Subscription, t: Translate, broker_name: str) -> RenderedTemplate:
    """The insurance certificate (attestation) in the subscription's language."""
    v, q = subscription.volunteer, subscription.quote
    h = subscription.holder or {}
    name = f"{h.get('first_name', v.first_name)} {h.get('last_name', v.last_name)}"
    rows = [[t(N_("Cover")), t(N_("Formula")), t(N_("Person")), t(N_("Covered from"))]]
    for c in q["covers"]:
        for p in c["persons"]:
            rows.append([t(Cover(c["cover"]).label), t(FORMULA_LABELS[c["formula"]]),
                         t(PersonCategory(p["category"]).label),
                         p.get("covered_from") or subscription.start_on.isoformat()])
    statement = t(N_("%(broker)s certifies that %(name)s, volunteer (file %(file_ref)s), is covered by the "
                     "volunteers' top-up cover under adhesion %(reference)s, from %(start)s to %(end)s at the "
                     "latest (the end of the mission), in %(country)s (zone %(zone)s).")) % {
        "broker": broker_name, "name": name, "file_ref": v.file_ref, "reference": subscription.reference,
        "start": subscription.start_on.isoformat(), "end": subscription.ends_on.isoformat(),
        "country": v.mission_country, "zone": q["zone"]}
    blocks = [("p", statement)]
    for c in q["covers"]:
        for w in c["waiting_periods"]:
            blocks.append(("bullet", t(N_("Waiting period: %(guarantee)s covered from %(date)s.")) % {
                "guarantee": _guarantee_label(t, w["guarantee"]), "date": w["covered_from"]}))
    labels = _labels(t) | {"author": broker_name}
    return RenderedTemplate(
        kind="certificate", version=CERTIFICATE_VERSION, language=subscription.language,
        title=t(N_("Insurance certificate")), subtitle=subscription.reference,
        reference=f"{subscription.reference}-C", labels=labels,
        party_rows=[[t(N_("Volunteer")), name], [t(N_("File reference")), v.file_ref],
                    [t(N_("Adhesion")), subscription.reference],
                    [t(N_("Monthly premium")), _money(subscription.monthly_total_minor, subscription.currency)]],
        sections=[Section(t(N_("Certificate")), blocks, schedule=True)], schedule_rows=rows, signatories=[])


def _seal_certificate(session: Session, subscription: Subscription, issuer: Issuer, now: datetime) -> None:
    pdf = rendering.render(certificate_document(subscription, issuer.translate, issuer.broker_name))
    sealed = seal(pdf, issuer.seal_config, reason=f"{subscription.reference} certificate by {issuer.broker_name}")
    subscription.certificate_pdf, subscription.certificate_sha256 = sealed, rendering.sha256(sealed)
    subscription.certificate_issued_at = now
    session.flush()


def reissue_certificate(session: Session, subscription: Subscription, issuer: Issuer, *, now: datetime) -> str:
    """A new certificate for a cover that changed (a dependant added); returns the digest of the one it replaces
    (which /verify then reports as replaced)."""
    replaced = subscription.certificate_sha256
    _seal_certificate(session, subscription, issuer, now)
    audit.record(session, "subscription.certificate_reissued", subject=subscription, replaced=replaced,
                 sha256=subscription.certificate_sha256)
    return replaced


def issue_certificate(session: Session, subscription: Subscription, issuer: Issuer, *,
                      now: datetime | None = None) -> None:
    """Render and seal the certificate (once)."""
    if subscription.certificate_sha256 is not None:
        return
    now = now or utcnow()
    _seal_certificate(session, subscription, issuer, now)
    record_funnel_event(session, subscription.volunteer, FunnelStage.certificate_issued, zone=subscription.zone,
                        subject=subscription.public_id, at=now)
    audit.record(session, "subscription.certificate_issued", subject=subscription,
                 sha256=subscription.certificate_sha256)


def certificate_message_sent(session: Session, subscription: Subscription, message) -> None:
    """The e-mail carrying the certificate was queued (an outbox message)."""
    subscription.certificate_message = message
    session.flush()
    audit.record(session, "subscription.certificate_sent", subject=subscription, message=message.public_id)


def sealed_certificate(session: Session, digest: str, reference: str | None) -> Verdict | None:
    """The verification of an uploaded file against the certificates issued (see agreements.verification)."""
    found = session.scalars(select(Subscription).where(Subscription.certificate_sha256 == digest)).first()
    if found is not None:
        return Verdict(True, True, found.state.value, None, f"{found.reference}-C", kind="certificate")
    replaced = session.scalars(select(DependantAddition).where(
        DependantAddition.replaced_certificate_sha256 == digest)).first()
    if replaced is not None:  # an earlier certificate of a cover that changed since: authentic, but not current
        found = replaced.subscription
        return Verdict(True, True, found.state.value, None, f"{found.reference}-C", kind="certificate",
                       superseded=True)
    if reference and reference.endswith("-C"):
        claimed = session.scalars(select(Subscription).where(Subscription.reference == reference[:-2])).first()
        if claimed is not None and claimed.certificate_sha256:
            return Verdict(True, False, claimed.state.value, None, reference, kind="certificate")
    return None


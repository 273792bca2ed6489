"""The payment layer's records: a volunteer's customer at the payment provider, the payment methods they saved
(a card, a SEPA direct-debit mandate), each payment with its state as the provider last reported it, and the
provider's webhook events already processed (each once).

A payment is about an opaque `purpose` reference (what the journey bills: a subscription's first month, a later
month...): the journey links its own records to these by foreign key."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, created_at, enum_column, intpk, public_id
from core.i18n import N_



class MethodKind(enum.Enum):
    card = "card"
    sepa_debit = "sepa_debit"
    #: a cheque received and recorded by staff (no payment provider: the volunteer's IBAN is outside SEPA)
    cheque = "cheque"

    @property
    def label(self) -> str:
        return METHOD_KIND_LABELS[self]


METHOD_KIND_LABELS = {MethodKind.card: N_("Card"), MethodKind.sepa_debit: N_("SEPA direct debit"),
                      MethodKind.cheque: N_("Cheque")}


class MethodState(enum.Enum):
    #: the provider has not confirmed it yet (a SEPA mandate being set up, a card awaiting 3-D Secure)
    pending = "pending"
    active = "active"
    failed = "failed"
    revoked = "revoked"

    @property
    def label(self) -> str:
        return METHOD_STATE_LABELS[self]


METHOD_STATE_LABELS = {MethodState.pending: N_("Being set up"), MethodState.active: N_("Active"),
                       MethodState.failed: N_("Failed"), MethodState.revoked: N_("Revoked")}


class PaymentState(enum.Enum):
    """As the provider reports it, never as the browser says: `succeeded` only once the provider confirmed it."""

    #: the bank asks the cardholder to authenticate (3-D Secure): not paid until the provider says so
    requires_action = "requires_action"
    #: accepted, the money not yet collected (a SEPA debit takes days)
    processing = "processing"
    succeeded = "succeeded"
    failed = "failed"
    refunded = "refunded"

    @property
    def label(self) -> str:
        return PAYMENT_STATE_LABELS[self]


PAYMENT_STATE_LABELS = {
    PaymentState.requires_action: N_("Awaiting authentication"),
    PaymentState.processing: N_("Processing"),
    PaymentState.succeeded: N_("Paid"),
    PaymentState.failed: N_("Failed"),
    PaymentState.refunded: N_("Refunded"),
}


class PaymentCustomer(Base):
    """The volunteer as a customer of the payment provider: made once, reused for every payment."""

    __tablename__ = "payment_customers"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), unique=True)
    provider_customer_id: Mapped[str] = mapped_column(String(64), unique=True)

    volunteer: Mapped[Volunteer] = relationship()  # noqa: F821  (funnel.models imports this module)


class SavedPaymentMethod(Base):
    """A card or a SEPA direct-debit mandate the volunteer agreed to be charged on for later months."""

    __tablename__ = "saved_payment_methods"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    kind: Mapped[MethodKind] = mapped_column(enum_column(MethodKind, length=16))
    state: Mapped[MethodState] = mapped_column(enum_column(MethodState, length=16))
    provider_customer_id: Mapped[str] = mapped_column(String(64))
    provider_method_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: the SetupIntent that collected a SEPA mandate
    provider_setup_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: the SEPA mandate's reference, shown to the volunteer (and on their bank statements)
    mandate_reference: Mapped[str | None] = mapped_column(String(64))
    #: what the volunteer recognises: "visa •••• 4242", "FR •••• 0189"
    display: Mapped[str] = mapped_column(String(64))
    #: the card's or the bank account's country (ISO 3166-1 alpha-2)
    country: Mapped[str | None] = mapped_column(String(2))
    accepted_at: Mapped[datetime | None]

    volunteer: Mapped[Volunteer] = relationship()  # noqa: F821  (funnel.models imports this module)


class Payment(Base):
    """One attempt to collect an amount from a volunteer, with the provider's PaymentIntent. The idempotency key
    comes from the page that offered to pay: the same key again (a double click, a resent form) finds this payment
    instead of charging a second time."""

    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),
                      CheckConstraint("refunded_minor >= 0 AND refunded_minor <= amount_minor",
                                      name="refund_within_amount"),
                      CheckConstraint("refund_owed_minor >= 0 AND refunded_minor + refund_owed_minor <= amount_minor",
                                      name="refund_owed_within_amount"))

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime | None]
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    #: what is paid for, as the caller names it (e.g. "subscription:<public id>:2027-01")
    purpose: Mapped[str] = mapped_column(String(100), index=True)
    #: in the currency's minor unit (cents)
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[MethodKind] = mapped_column(enum_column(MethodKind, length=16))
    state: Mapped[PaymentState] = mapped_column(enum_column(PaymentState, length=16), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    #: null only when the provider refused before making one (a declined card may leave none)
    provider_intent_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    provider_method_id: Mapped[str | None] = mapped_column(String(64))
    #: charged off-session on this saved method (later months)
    method_id: Mapped[int | None] = mapped_column(ForeignKey("saved_payment_methods.id"))
    #: keep the card for later months once the payment succeeds
    save_method: Mapped[bool] = mapped_column(default=False)
    #: the provider's code for a failure ("card_declined", "authentication_required"...)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    refunded_minor: Mapped[int] = mapped_column(Integer, default=0)
    #: to pay back by hand (a cheque cannot be refunded through the provider): finance records it once made
    refund_owed_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    succeeded_at: Mapped[datetime | None]
    #: a cheque (kind `cheque`, no provider): its number, its bank, the day it was received, who recorded it
    cheque_number: Mapped[str | None] = mapped_column(String(32))
    cheque_bank: Mapped[str | None] = mapped_column(String(64))
    received_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    volunteer: Mapped[Volunteer] = relationship()  # noqa: F821  (funnel.models imports this module)
    method: Mapped[SavedPaymentMethod | None] = relationship()

    @property
    def is_paid(self) -> bool:
        """The provider confirmed the money (a refund since does not undo that it was collected)."""
        return self.state in (PaymentState.succeeded, PaymentState.refunded)


class ProcessedWebhookEvent(Base):
    """A provider event already processed: the same event delivered again changes nothing."""

    __tablename__ = "payment_webhook_events"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    provider_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)

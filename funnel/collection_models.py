"""The records of the monthly collection and of the recovery of unpaid premiums (funnel.collection,
funnel.dunning): one row per subscription and month of cover charged (unique: a month is charged once, whatever
runs), one recovery case per episode of non-payment, and each step of its sequence done (unique per case and
step: exactly once, replays and concurrent runs included)."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, created_at, enum_column, intpk, public_id
from core.i18n import N_
from core.outbox import OutboxMessage

from .payment_models import Payment


class PremiumCollection(Base):
    """A month of cover billed to a subscription: its days, its amount (prorated when the cover ends within it),
    and its latest payment attempt. The first month, paid on the payment page, gets a row only when it failed
    after the certificate was issued (a SEPA debit returned): the recovery then retries it like any month."""

    __tablename__ = "premium_collections"
    __table_args__ = (UniqueConstraint("subscription_id", "month", name="uq_premium_collections_subscription_id_month"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime | None]
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    #: the month of cover as payments name it (YYYY-MM of its first day)
    month: Mapped[str] = mapped_column(String(7))
    #: the days it pays for: [period_start, period_end)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    #: the day it fell due (the collection day of the plan)
    due_on: Mapped[date] = mapped_column(Date)
    #: the charges tried (the first, then each retry or a charge on a new method)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: the latest attempt (null: not charged, the subscription being in recovery when it fell due)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    paid_at: Mapped[datetime | None]

    subscription = relationship("Subscription")
    payment: Mapped[Payment | None] = relationship()


class DunningState(enum.Enum):
    open = "open"
    #: everything due was paid: the subscription is back to active
    recovered = "recovered"
    #: the cover ended for non-payment
    ended = "ended"

    @property
    def label(self) -> str:
        return DUNNING_STATE_LABELS[self]


DUNNING_STATE_LABELS = {DunningState.open: N_("Recovery under way"), DunningState.recovered: N_("Recovered"),
                        DunningState.ended: N_("Ended for non-payment")}


class DunningCase(Base):
    """An episode of non-payment: from the first failure (day 0 of the sequence) until everything due is paid or
    the cover ends for non-payment. One open case per subscription at a time."""

    __tablename__ = "dunning_cases"
    __table_args__ = (Index("uq_dunning_cases_open_subscription", "subscription_id", unique=True,
                            sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    #: the day of the first failure: the sequence's days count from it
    opened_on: Mapped[date] = mapped_column(Date)
    state: Mapped[DunningState] = mapped_column(enum_column(DunningState, length=16))
    closed_at: Mapped[datetime | None]

    subscription = relationship("Subscription")
    actions: Mapped[list[DunningAction]] = relationship(back_populates="case", order_by="DunningAction.id")


class DunningKind(enum.Enum):
    reminder = "reminder"
    retry = "retry"
    litigation = "litigation"
    suspension = "suspension"
    termination = "termination"

    @property
    def label(self) -> str:
        return DUNNING_KIND_LABELS[self]


DUNNING_KIND_LABELS = {DunningKind.reminder: N_("Reminder e-mailed"), DunningKind.retry: N_("Charge retried"),
                       DunningKind.litigation: N_("Passed to litigation"),
                       DunningKind.suspension: N_("Cover suspended"),
                       DunningKind.termination: N_("Cover ended for non-payment")}


class DunningAction(Base):
    """A step of the sequence done for a case, inserted in the same transaction as what it did (the e-mail
    queued, the charge retried, the state changed): unique per case and step, so it is done once."""

    __tablename__ = "dunning_actions"
    __table_args__ = (UniqueConstraint("case_id", "step", name="uq_dunning_actions_case_id_step"),)

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    case_id: Mapped[int] = mapped_column(ForeignKey("dunning_cases.id"))
    #: funnel.collection_plan.DunningStep.code
    step: Mapped[str] = mapped_column(String(32))
    kind: Mapped[DunningKind] = mapped_column(enum_column(DunningKind, length=16))
    done_on: Mapped[date] = mapped_column(Date)
    #: what was due when it was done
    amount_due_minor: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))

    case: Mapped[DunningCase] = relationship(back_populates="actions")
    message: Mapped[OutboxMessage | None] = relationship()

"""Placed contracts and the insurers that issue them.

A contract is what a commission is due on: placed from a partner's case (and later from the volunteer
funnel). Its years of cover are terms — term 1 is the first year, later terms are renewals — because
commission rates differ between the first year and renewals. Flask-free: the ledger reads these.
"""
from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, created_at, enum_column, intpk, public_id
from .i18n import N_
from .products import ProductLine


class Insurer(Base):
    __tablename__ = "insurers"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ContractStatus(enum.Enum):
    in_force = "in_force"
    cancelled = "cancelled"

    @property
    def label(self) -> str:
        return {ContractStatus.in_force: N_("In force"), ContractStatus.cancelled: N_("Cancelled")}[self]


class Contract(Base):
    __tablename__ = "contracts"
    __table_args__ = (UniqueConstraint("insurer_id", "policy_number"),
                      CheckConstraint("premium_minor > 0", name="premium_positive"))

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    #: the case it was placed from (null for the volunteer funnel's direct sales)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    #: the partner firm whose agreement pays the commission (null: no partner)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    insurer_id: Mapped[int] = mapped_column(ForeignKey("insurers.id"))
    policy_number: Mapped[str] = mapped_column(String(64))
    product_line: Mapped[ProductLine] = mapped_column(enum_column(ProductLine))
    #: yearly premium of the current term, in minor units of `currency`
    premium_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    start_date: Mapped[date] = mapped_column(Date)
    status: Mapped[ContractStatus] = mapped_column(enum_column(ContractStatus), default=ContractStatus.in_force)
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    #: the staff member who placed it (null: placed by the system, e.g. a volunteer's online subscription)
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    insurer: Mapped[Insurer] = relationship()
    terms: Mapped[list[ContractTerm]] = relationship(order_by="ContractTerm.number", back_populates="contract")

    @property
    def current_term(self) -> ContractTerm:
        return self.terms[-1]


class ContractTerm(Base):
    """One year of cover: number 1 is the first year (first-year commission), later numbers are renewals."""

    __tablename__ = "contract_terms"
    __table_args__ = (UniqueConstraint("contract_id", "number"),
                      CheckConstraint("premium_minor > 0", name="premium_positive"),
                      CheckConstraint("end_date > start_date", name="dates_ordered"))

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    number: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    #: the last day covered
    end_date: Mapped[date] = mapped_column(Date)
    premium_minor: Mapped[int] = mapped_column(BigInteger)

    contract: Mapped[Contract] = relationship(back_populates="terms")

"""The record of each erasure: who asked, when, the pseudonym that replaced the person, what was done (counts
only: the record holds none of the person's details), and each record kept under a legal duty (restricted), with
the reason and the day the duty ends."""
from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, created_at, intpk, public_id


class ErasureRequest(Base):
    __tablename__ = "erasure_requests"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    #: the administrator or compliance officer who ran it (null: from the command line)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the pseudonymous subject id that replaced the person in the records kept
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    #: {"pseudonymised": n, "restricted": n, "shredded": n, "packages": [...]}
    summary: Mapped[dict] = mapped_column(JSON)

    restrictions: Mapped[list[Restriction]] = relationship(back_populates="erasure", order_by="Restriction.id")


class Restriction(Base):
    """A record kept under a legal duty instead of erased: its processing restricted until `keep_until`."""

    __tablename__ = "erasure_restrictions"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    erasure_id: Mapped[int] = mapped_column(ForeignKey("erasure_requests.id"), index=True)
    #: the record: its kind (case, volunteer, signature, journal_entry...) and public id or reference
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(64), index=True)
    #: why it is kept (a msgid, see compliance.privacy.RETENTION_REASONS)
    reason: Mapped[str] = mapped_column(String(300))
    #: the day the duty ends and the erasure falls due (null: while the agreement is in force)
    keep_until: Mapped[date | None] = mapped_column(Date)

    erasure: Mapped[ErasureRequest] = relationship(back_populates="restrictions")

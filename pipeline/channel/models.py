"""The secure channel's records: the client's personal link, the documents uploaded through it and the answers
to the underwriting questions. Documents and answers are Fernet tokens (pipeline.cases.crypto, the case keys);
what is in the clear is only what staff need to list them (type, size, SHA-256, when)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, created_at, intpk, public_id

from ..cases.models import Case


class HealthLink(Base):
    """A personal, expiring link to the case's secure channel. Only the SHA-256 of its token is kept; the token
    is in the client's e-mail alone."""

    __tablename__ = "health_links"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: what the link is for (single-purpose): "health_channel"
    purpose: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime]
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: the address the link was sent to
    sent_to: Mapped[str] = mapped_column(String(254))
    first_opened_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship()
    issued_by = relationship("User", foreign_keys=[issued_by_id])


class HealthDocument(Base):
    """A file the client uploaded, scanned, then stored encrypted. Purged by the retention schedule: the
    encrypted bytes and the file name go, the row stays (what was received, when, and when it was purged)."""

    __tablename__ = "health_documents"
    __table_args__ = (Index("ix_health_documents_case_id_id", "case_id", "id"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    #: when it was uploaded
    created_at: Mapped[created_at]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    link_id: Mapped[int] = mapped_column(ForeignKey("health_links.id"), index=True)
    #: recognised from the content: application/pdf, image/png, image/jpeg, image/heic
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    #: of the plaintext, so a download can be checked against what was received
    sha256: Mapped[str] = mapped_column(String(64))
    #: the file name the client gave (it may say something of their health: encrypted too)
    filename_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    data_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    purged_at: Mapped[datetime | None] = mapped_column(index=True)

    case: Mapped[Case] = relationship()
    link: Mapped[HealthLink] = relationship()


class HealthAnswers(Base):
    """One submission of the underwriting questions' form (the latest is current), encrypted as JSON."""

    __tablename__ = "health_answers"
    __table_args__ = (Index("ix_health_answers_case_id_id", "case_id", "id"),)

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    link_id: Mapped[int] = mapped_column(ForeignKey("health_links.id"), index=True)
    answers_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    purged_at: Mapped[datetime | None] = mapped_column(index=True)

    case: Mapped[Case] = relationship()

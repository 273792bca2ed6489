"""Sign-in credentials of the portal's users: API tokens, password links, failed sign-ins."""
from __future__ import annotations

import enum
import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.accounts import User
from core.db import Base, created_at, enum_column, intpk, public_id


def hash_token(token: str) -> str:
    """Tokens are long random strings, so a fast hash is enough: nothing to brute-force."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    public_id: Mapped[public_id]
    created_at: Mapped[created_at]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: the first characters, shown so the owner can tell tokens apart
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    #: refused from then on (401 token_expired); chosen at creation within API_TOKEN_MAX_DAYS
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship()

    def state(self, now: datetime) -> str:
        """revoked, expired or active (for the token lists)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


class TokenPurpose(enum.Enum):
    reset = "reset"
    invitation = "invitation"


class PasswordResetToken(Base):
    """A single-use, expiring link to set a password."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[intpk]
    created_at: Mapped[created_at]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(enum_column(TokenPurpose, 16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """A failed (or in-progress) sign-in, kept in the database so every worker counts the same attempts
    (portal.auth.throttle). Rows older than the longest window are pruned as new attempts arrive."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_account_address", "account_key", "address", "at"),
                      Index("ix_login_failures_address", "address", "at"),
                      Index("ix_login_failures_at", "at"))

    id: Mapped[intpk]
    #: SHA-256 of the normalised e-mail address typed (the address itself need not be kept)
    account_key: Mapped[str] = mapped_column(String(64))
    #: the client's IP address as the application sees it
    address: Mapped[str] = mapped_column(String(45))
    at: Mapped[datetime]

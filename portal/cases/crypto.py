"""Encryption at rest for sensitive case text (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

Keys come from configuration (`CASE_ENCRYPTION_KEYS`, comma-separated, newest first, so a key can be rotated:
new text is encrypted with the first, old text still decrypts with the others)."""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


def _cipher() -> MultiFernet:
    keys = [k.strip() for k in current_app.config["CASE_ENCRYPTION_KEYS"].split(",") if k.strip()]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(text: str | None) -> bytes | None:
    if text is None or not text.strip():
        return None
    return _cipher().encrypt(text.strip().encode())


def decrypt(token: bytes | None) -> str | None:
    if token is None:
        return None
    try:
        return _cipher().decrypt(token).decode()
    except InvalidToken as exc:
        raise RuntimeError("case text cannot be decrypted with the configured keys") from exc

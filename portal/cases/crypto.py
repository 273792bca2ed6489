"""Encryption at rest for sensitive case text (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

Keys come from configuration (`CASE_ENCRYPTION_KEYS`, comma-separated, newest first, so a key can be rotated:
new text is encrypted with the first, old text still decrypts with the others)."""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


def _cipher() -> MultiFernet:
    # built once per configured key list: a list page decrypts dozens of texts
    config = current_app.config["CASE_ENCRYPTION_KEYS"]
    cache = current_app.extensions.setdefault("portal.case_cipher", {})
    if config not in cache:
        cache[config] = MultiFernet([Fernet(k.strip()) for k in config.split(",") if k.strip()])
    return cache[config]


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

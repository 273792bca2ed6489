"""Encryption at rest for sensitive case text (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`).

The caller passes the keys as a value: the configured `CASE_ENCRYPTION_KEYS`, comma-separated, newest first, so
a key can be rotated (new text is encrypted with the first, old text still decrypts with the others)."""
from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


@lru_cache(maxsize=8)
def _cipher(keys: str) -> MultiFernet:
    # built once per key list: a list page decrypts dozens of texts
    return MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])


def encrypt(text: str | None, keys: str) -> bytes | None:
    if text is None or not text.strip():
        return None
    return _cipher(keys).encrypt(text.strip().encode())


def decrypt(token: bytes | None, keys: str) -> str | None:
    if token is None:
        return None
    try:
        return _cipher(keys).decrypt(token).decode()
    except InvalidToken as exc:
        raise RuntimeError("case text cannot be decrypted with the configured keys") from exc


def encrypt_bytes(data: bytes, keys: str) -> bytes:
    """A file's bytes, encrypted with the case keys (the same Fernet keys, the same rotation)."""
    return _cipher(keys).encrypt(data)


def decrypt_bytes(token: bytes, keys: str) -> bytes:
    try:
        return _cipher(keys).decrypt(token)
    except InvalidToken as exc:
        raise RuntimeError("case file cannot be decrypted with the configured keys") from exc

"""Password hashing with argon2id, at the cost the app's configuration names.

`PASSWORD_HASH_PROFILE` is one of argon2-cffi's parameter profiles: RFC 9106's low-memory one (the library's
default) unless configured otherwise; the test configuration uses the cheapest. Each app gets its own hasher,
made on first use and kept on the app, so an app never hashes with another app's parameters. A hash carries its
parameters: any app verifies it, and `needs_rehash` says when it was made with parameters other than the app's
(sign-in then stores a new hash).
"""
from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 12
_EXTENSION = "portal.passwords"


class _Hashing:
    def __init__(self, profile: str):
        self.hasher = PasswordHasher.from_parameters(getattr(profiles, profile))
        # Verified when the account does not exist, so a failed sign-in takes the same time either way.
        self.dummy_hash = self.hasher.hash("not-a-real-password")


def _hashing() -> _Hashing:
    app = current_app._get_current_object()
    hashing = app.extensions.get(_EXTENSION)
    if hashing is None:
        hashing = app.extensions[_EXTENSION] = _Hashing(app.config["PASSWORD_HASH_PROFILE"])
    return hashing


def hash_password(password: str) -> str:
    return _hashing().hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    hashing = _hashing()
    try:
        return hashing.hasher.verify(stored_hash or hashing.dummy_hash, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hashing().hasher.check_needs_rehash(stored_hash)

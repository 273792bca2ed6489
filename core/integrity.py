"""Secrets and checkpoints kept outside the database, so that someone who can write to the database alone cannot
rewrite history undetected.

- `Keyring`: HMAC-SHA256 keys with ids, newest first (`AUDIT_HMAC_KEYS="k2:secret,k1:secret"`). New work uses
  the newest key; an older key stays listed as long as anything chained or signed with it must verify.
- Checkpoints: what a clean verification saw (e.g. the audit chain's last sequence number and hash, the ledger's
  entry count and digest), HMAC-signed and written as a file to a directory outside the database. The next
  verification compares the database with it: a deleted tail or a rebuilt chain no longer matches.

Plain Python: the web layer reads the configuration and passes the values in.
"""
from __future__ import annotations

import hmac
import json
import os
import re
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, UTC
from pathlib import Path

#: the key id of audit events chained with plain SHA-256, before keys were introduced
LEGACY_KEY_ID = "sha256-legacy"
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
MIN_SECRET_BYTES = 16


class KeyringError(ValueError):
    pass


class UnknownKey(KeyError):
    pass


@dataclass(frozen=True)
class Keyring:
    #: (key id, secret), newest first
    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """`id:secret` pairs, comma-separated, newest first."""
        keys = []
        for item in (part.strip() for part in (spec or "").split(",")):
            key_id, sep, secret = item.partition(":")
            if not sep or not _KEY_ID.match(key_id) or key_id == LEGACY_KEY_ID:
                raise KeyringError(f"each key is id:secret with an id of letters, digits, . _ - (got {key_id!r})")
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise KeyringError(f"the secret of key {key_id!r} is shorter than {MIN_SECRET_BYTES} bytes")
            keys.append((key_id, secret.encode()))
        if len({k for k, _s in keys}) != len(keys):
            raise KeyringError("a key id is listed twice")
        if not keys:
            raise KeyringError("no key given")
        return cls(tuple(keys))

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    @cached_property
    def _secrets(self) -> dict[str, bytes]:
        return dict(self.keys)

    def knows(self, key_id: str) -> bool:
        return key_id in self._secrets

    def mac(self, key_id: str, message: bytes) -> str:
        secret = self._secrets.get(key_id)
        if secret is None:
            raise UnknownKey(key_id)
        return hmac.digest(secret, message, "sha256").hex()

    def matches(self, key_id: str, message: bytes, mac: str) -> bool:
        return self.knows(key_id) and hmac.compare_digest(self.mac(key_id, message), mac)


def _signed_part(kind: str, written_at: str, body: dict) -> bytes:
    return json.dumps([kind, written_at, body], sort_keys=True, separators=(",", ":")).encode()


def write_checkpoint(directory: str | Path, kind: str, keyring: Keyring, body: dict) -> Path:
    """Replace the `kind` checkpoint with `body`, signed with the newest key (atomically: a crash leaves the
    previous one)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written_at = datetime.now(UTC).isoformat()
    doc = {"kind": kind, "written_at": written_at, "key_id": keyring.current_id, "body": body,
           "mac": keyring.mac(keyring.current_id, _signed_part(kind, written_at, body))}
    path = folder / f"{kind}.json"
    tmp = folder / f".{kind}.json.tmp"
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True))
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class Checkpoint:
    written_at: str
    body: dict


class BadCheckpoint(Exception):
    """The checkpoint file exists but its signature does not verify: it was not written by this system."""


def read_checkpoint(directory: str | Path, kind: str, keyring: Keyring) -> Checkpoint | None:
    """The last `kind` checkpoint, None if none was written yet; BadCheckpoint if it is not authentic."""
    path = Path(directory) / f"{kind}.json"
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
        authentic = doc["kind"] == kind and keyring.matches(
            doc["key_id"], _signed_part(kind, doc["written_at"], doc["body"]), doc["mac"])
    except (ValueError, KeyError, TypeError):
        authentic = False
    if not authentic:
        raise BadCheckpoint(f"{path} is not signed by any configured key")
    return Checkpoint(doc["written_at"], doc["body"])

"""Documents the client uploads through the secure channel.

Each upload is checked in this order, and refused with nothing stored at the first failure: its size (at most
`UploadRules.max_bytes`, never empty), its type recognised from the content (PDF, PNG, JPEG, HEIC; the name
counts for nothing), then the virus-scan hook: a configured command given the path of a temporary copy (mode
0600, deleted straight after), exit 0 clean, 1 infected, anything else (or no answer within the timeout) an
error. Only then is the file encrypted with the case keys and stored with its SHA-256, size and type.

The encrypted bytes live in the database, not in files: they are written and purged in the same transaction as
the row that describes them (no orphan file when a request fails, none left behind by a purge that rolled back),
they are backed up, replicated and access-controlled with the rest of the case, and several web servers need no
shared disk. The size limit (10 MB by default) keeps rows reasonable.
"""
from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.i18n import N_

from ..cases import crypto
from .errors import DocumentPurged, ScanFailed, UploadRefused, VirusFound
from .links import check_reader
from .models import HealthDocument, HealthLink

MB = 1024 * 1024
#: the types accepted, by what the content starts with
PDF, PNG, JPEG, HEIC = "application/pdf", "image/png", "image/jpeg", "image/heic"
TYPE_LABELS = {PDF: "PDF", PNG: "PNG", JPEG: "JPEG", HEIC: "HEIC"}
HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})


@dataclass(frozen=True)
class UploadRules:
    max_bytes: int = 10 * MB
    #: the virus-scan hook: a command (split like a shell would, no shell run) to which the file's path is added
    scan_command: str | None = None
    #: refuse uploads when no scan command is configured (production)
    scan_required: bool = False
    scan_timeout: int = 120


def detect_type(data: bytes) -> str | None:
    """The type of a file from its first bytes (magic numbers), or None when it is none of those accepted."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data[4:8] == b"ftyp" and data[8:12] in HEIC_BRANDS:
        return HEIC
    return None


def check_file(data: bytes, rules: UploadRules) -> str:
    if not data:
        raise UploadRefused(N_("The file is empty."))
    if len(data) > rules.max_bytes:
        raise UploadRefused(N_("The file is too large: at most %(size)s MB."),
                            size=f"{rules.max_bytes / MB:g}")
    content_type = detect_type(data)
    if content_type is None:
        raise UploadRefused(N_("This kind of file is not accepted: send a PDF, or a photo or scan as PNG, JPEG or "
                               "HEIC."))
    return content_type


def scan(data: bytes, rules: UploadRules) -> None:
    """Run the virus-scan hook on a temporary copy of `data`: VirusFound (exit 1), ScanFailed (anything but 0)."""
    if not rules.scan_command:
        if rules.scan_required:
            raise ScanFailed()
        return
    fd, path = tempfile.mkstemp(prefix="upload-", suffix=".bin")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        try:
            done = subprocess.run([*shlex.split(rules.scan_command), path], capture_output=True,
                                  timeout=rules.scan_timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ScanFailed() from exc
    finally:
        os.unlink(path)
    if done.returncode == 1:
        raise VirusFound()
    if done.returncode != 0:
        raise ScanFailed()


def receive_document(session: Session, link: HealthLink, *, filename: str | None, data: bytes, keys: str,
                     rules: UploadRules, ip: str | None = None, now: datetime | None = None) -> HealthDocument:
    """Keep a file the client sent through `link` (already opened: see links.open_link)."""
    content_type = check_file(data, rules)
    scan(data, rules)
    name = os.path.basename((filename or "").replace("\\", "/")).strip()[:200] or None
    document = HealthDocument(case_id=link.case_id, link_id=link.id, content_type=content_type, size=len(data),
                              sha256=hashlib.sha256(data).hexdigest(), created_at=now or utcnow(),
                              filename_encrypted=crypto.encrypt(name, keys),
                              data_encrypted=crypto.encrypt_bytes(data, keys))
    session.add(document)
    session.flush()
    audit.record(session, "health_document.received", subject=link.case, ip=ip, document=document.public_id,
                 content_type=content_type, size=len(data), sha256=document.sha256)
    return document


def record_refusal(session: Session, link: HealthLink, error: UploadRefused, *, ip: str | None = None) -> None:
    """What stays of a refused upload: that it was refused and why (never the file)."""
    audit.record(session, "health_document.refused", subject=link.case, ip=ip, code=error.code)


def documents_of(session: Session, case) -> list[HealthDocument]:
    return list(session.scalars(select(HealthDocument).where(HealthDocument.case_id == case.id)
                                .order_by(HealthDocument.id.desc())))


def filename_of(document: HealthDocument, keys: str) -> str | None:
    return crypto.decrypt(document.filename_encrypted, keys)


def read_document(session: Session, actor, document: HealthDocument, *, keys: str,
                  ip: str | None = None) -> bytes:
    """The document's bytes for one of its readers, decrypted; each read is audited."""
    check_reader(actor)
    if document.data_encrypted is None:
        raise DocumentPurged()
    data = crypto.decrypt_bytes(document.data_encrypted, keys)
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise RuntimeError(f"health document {document.public_id} does not match its SHA-256")
    audit.record(session, "health_document.downloaded", actor=actor, subject=document.case, ip=ip,
                 document=document.public_id, sha256=document.sha256)
    return data

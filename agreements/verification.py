"""Is this file an agreement issued here, and is it intact? Anyone holding a copy may ask."""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Agreement
from .rendering import sha256
from .sealing import check_seal

MAX_UPLOAD = 10 * 1024 * 1024


@dataclass(frozen=True)
class Verdict:
    issued_here: bool
    intact: bool
    status: str | None
    agreement_id: str | None
    reference: str | None = None
    #: what the file is: an agreement, or a document another package registers (e.g. "adhesion")
    kind: str = "agreement"
    #: authentic, but a newer version replaced it (e.g. a certificate reissued when the cover changed)
    superseded: bool = False
    #: one of our agreements before it was sealed (a preview or the copy for signature): not a signed copy
    draft: bool = False
    #: since when the status holds (ISO date), when the finder knows it (e.g. a cover suspended since)
    status_since: str | None = None

    def as_dict(self) -> dict:
        return {"issued_here": self.issued_here, "intact": self.intact, "status": self.status,
                "agreement_id": self.agreement_id}


def _reference_claimed(pdf: bytes) -> str | None:
    """The reference the file claims in its metadata (we write it as the PDF subject)."""
    try:
        from pypdf import PdfReader

        info = PdfReader(io.BytesIO(pdf)).metadata
        subject = (info or {}).get("/Subject")
        return str(subject)[:32] if subject else None
    except Exception:  # not a PDF, or a broken one: it claims nothing
        return None


#: another kind of sealed document: (session, sha256 of the file, reference it claims) -> its verdict, or None
Finder = Callable[[Session, str, str | None], "Verdict | None"]


def verify(session: Session, pdf: bytes, trusted_cert_pem: bytes, finders: Sequence[Finder] = ()) -> Verdict:
    """Agreements first; then the other sealed documents the caller names (`finders`), checked the same way."""
    digest = sha256(pdf)
    agreement = session.execute(select(Agreement).where(Agreement.sealed_sha256 == digest)).scalar_one_or_none()
    check = check_seal(pdf, trusted_cert_pem)
    if agreement is not None:
        return Verdict(True, check.intact and check.ours, agreement.status.value, agreement.public_id,
                       agreement.reference)
    unsealed = session.execute(select(Agreement).where(Agreement.document_sha256 == digest)).scalars().first()
    if unsealed is not None:
        return _draft(unsealed)
    # Not our file byte for byte. If it claims one of our references, it is one of ours: a draft when it carries
    # no seal or the agreement was never sealed, else a modified copy.
    reference = _reference_claimed(pdf)
    if reference:
        claimed = session.execute(select(Agreement).where(Agreement.reference == reference)).scalar_one_or_none()
        if claimed is not None and (not claimed.sealed_sha256 or not check.signed):
            return _draft(claimed)
        if claimed is not None:
            return Verdict(True, False, claimed.status.value, claimed.public_id, claimed.reference)
    for finder in finders:
        verdict = finder(session, digest, reference)
        if verdict is not None:
            # found by its digest: intact only if the seal checks out too
            return verdict if not verdict.intact else Verdict(
                True, check.intact and check.ours, verdict.status, verdict.agreement_id, verdict.reference,
                verdict.kind, verdict.superseded, status_since=verdict.status_since)
    return Verdict(False, False, None, None)


def _draft(agreement: Agreement) -> Verdict:
    return Verdict(True, False, agreement.status.value, agreement.public_id, agreement.reference, draft=True)

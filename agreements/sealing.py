"""PAdES sealing of final agreements with the broker's certificate, and verification of uploaded copies."""
from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
import concurrent.futures
import functools
import hashlib
import io
import os
import threading
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from asn1crypto import tsp
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from core.i18n import N_

from .errors import SealingFailed

FIELD_NAME = "BrokerSeal"


@dataclass(frozen=True)
class SealConfig:
    p12_path: str
    p12_password: bytes
    #: RFC 3161 timestamp authority; when set the seal is PAdES B-T and never silently falls back to B-B
    tsa_url: str | None = None


class _LoadedKeySigner(signers.SimpleSigner):
    """A SimpleSigner that keeps the private key as a loaded `cryptography` object.

    pyHanko's SimpleSigner re-parses (and, for RSA, re-validates) the private key from DER on every raw
    signature, and signing one PDF makes two of them (a dry run to size the signature container, then the
    real one): about 35 ms each for a 2048-bit RSA key. Here the key is parsed and checked once, when the
    PKCS#12 file is loaded. Mechanisms not handled below go through pyHanko's own implementation."""

    def __init__(self, private_key, **kwargs):
        super().__init__(**kwargs)
        self._private_key = private_key
        self._reserved: dict[str, int] = {}
        self._reserved_lock = threading.Lock()

    def reserved_size(self, md_algorithm: str) -> int:
        """Bytes to reserve in the PDF for this signer's CMS container when no timestamp is added.

        pyHanko would otherwise build and sign a dummy CMS object on every seal just to size the
        /Contents placeholder. Without a timestamp token that size depends only on the key and certificates,
        so it is estimated once, the same way and with the same 50% margin pyHanko uses. (With a TSA, pyHanko
        keeps estimating per seal, since the token's size is the TSA's business.)"""
        with self._reserved_lock:
            if md_algorithm not in self._reserved:
                dummy_digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm)).finalize()
                dummy = asyncio.run(self.async_sign(
                    dummy_digest, md_algorithm, use_pades=True, dry_run=True,
                    signed_attr_settings=PdfCMSSignedAttributes(signing_time=datetime.now(UTC))))
                length = len(dummy.dump()) * 2  # hex-encoded in the PDF
                self._reserved[md_algorithm] = length + 2 * (length // 4)
            return self._reserved[md_algorithm]

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            name = mechanism.signature_algo
        except ValueError:
            name = mechanism["algorithm"].native
        key = self._private_key
        if name == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if name == "rsassa_pss" and isinstance(key, RSAPrivateKey):
            padding, hash_algo = process_pss_params(mechanism["parameters"])
            return key.sign(data, padding, hash_algo)
        if name == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
            return key.sign(data, signature_algorithm=ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)


def _load_signer(data: bytes, password: bytes) -> _LoadedKeySigner:
    key, cert, extra = pkcs12.load_key_and_certificates(data, password)
    if key is None or cert is None:
        raise ValueError("the PKCS#12 file holds no key or no certificate")
    key_info = asn1_keys.PrivateKeyInfo.load(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    registry = SimpleCertificateStore()
    registry.register_multiple(asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
                               for c in extra)
    return _LoadedKeySigner(key, signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
                            signing_key=key_info, cert_registry=registry)


#: (absolute path, sha256 of the password, inode, size, mtime) -> signer. Decrypting the PKCS#12 file (its
#: key derivation) costs ~50 ms, so it is done once per file version, not on every seal. A replaced or
#: rewritten file has another inode/size/mtime and is loaded again; the stale entry is dropped.
_SIGNERS: dict[tuple, _LoadedKeySigner] = {}
_SIGNERS_LOCK = threading.Lock()


def _signer(config: SealConfig) -> signers.SimpleSigner:
    path = os.path.abspath(config.p12_path)
    try:
        st = os.stat(path)
        key = (path, hashlib.sha256(config.p12_password or b"").digest(), st.st_ino, st.st_size, st.st_mtime_ns)
        with _SIGNERS_LOCK:
            cached = _SIGNERS.get(key)
        if cached is not None:
            return cached
        with open(path, "rb") as fh:
            data = fh.read()
        signer = _load_signer(data, config.p12_password)
    except Exception as exc:
        raise SealingFailed(N_("The signing certificate could not be loaded.")) from exc
    with _SIGNERS_LOCK:
        for old in [k for k in _SIGNERS if k[:2] == key[:2]]:
            del _SIGNERS[old]
        _SIGNERS[key] = signer
    return signer


def clear_signer_cache() -> None:
    """Forget loaded seal keys (e.g. after rotating the certificate in place within the same mtime tick)."""
    with _SIGNERS_LOCK:
        _SIGNERS.clear()


def _outside_event_loop(fn):
    """pyHanko's synchronous API calls asyncio.run(), which fails in a thread that already runs an event loop
    (an async server, a browser driver…). There, do the work in a short-lived thread of its own."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return fn(*args, **kwargs)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(fn, *args, **kwargs).result()

    return wrapper


class UrllibTimeStamper(timestamps.HTTPTimeStamper):
    """RFC 3161 over HTTP with the standard library, in a worker thread.

    pyHanko's default client closes its aiohttp connector asynchronously while asyncio.run() is already
    ending, which leaks the socket; this does the same exchange and closes the connection before returning."""

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return await asyncio.to_thread(self._post, req.dump())

    def _post(self, body: bytes) -> tsp.TimeStampResp:
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={**self.request_headers(),
                                                  "Content-Type": "application/timestamp-query"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                content_type = response.headers.get("Content-Type")
                data = response.read()
        except (OSError, urllib.error.URLError) as exc:
            raise TimestampRequestError("Error while contacting timestamp service") from exc
        if content_type != "application/timestamp-reply":
            raise TimestampRequestError(f"Timestamp server answered {content_type!r}, not a timestamp reply")
        return tsp.TimeStampResp.load(data)


@_outside_event_loop
def seal(pdf: bytes, config: SealConfig, *, reason: str = "Agreement sealed by the broker") -> bytes:
    """Return `pdf` with a PAdES signature covering the whole document."""
    signer = _signer(config)
    timestamper = UrllibTimeStamper(config.tsa_url, timeout=10) if config.tsa_url else None
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, subfilter=fields.SigSeedSubFilter.PADES,
                                        md_algorithm="sha256", reason=reason)
    out = io.BytesIO()
    try:
        reserved = None
        if timestamper is None and isinstance(signer, _LoadedKeySigner):
            reserved = signer.reserved_size(meta.md_algorithm)
        signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer, timestamper=timestamper,
                         output=out, new_field_spec=fields.SigFieldSpec(FIELD_NAME), bytes_reserved=reserved)
    except Exception as exc:  # a TSA or signing failure must surface, never give an unsealed "final" file
        raise SealingFailed(N_("Sealing failed: %(error)s"), error=f"{type(exc).__name__}: {exc}") from exc
    return out.getvalue()


@dataclass(frozen=True)
class SealCheck:
    #: a signature is present, cryptographically intact and covers the whole file
    intact: bool
    #: the signer is our seal certificate
    ours: bool
    timestamped: bool
    detail: str
    #: the file carries a signature at all (an unsealed draft carries none)
    signed: bool = True


@_outside_event_loop
def check_seal(pdf: bytes, trusted_cert_pem: bytes) -> SealCheck:
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        sigs = reader.embedded_signatures
    except Exception as exc:  # not a PDF, or a broken one
        return SealCheck(False, False, False, f"unreadable PDF: {type(exc).__name__}", signed=False)
    if not sigs:
        return SealCheck(False, False, False, "no signature", signed=False)
    sig = sigs[-1]
    trusted = asn1_x509.Certificate.load(_pem_to_der(trusted_cert_pem))
    try:
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=[trusted], allow_fetching=False))
    except Exception as exc:
        return SealCheck(False, False, False, f"validation error: {type(exc).__name__}")
    ours = status.signing_cert is not None and status.signing_cert.dump() == trusted.dump()
    whole = status.coverage is not None and status.coverage.name in ("ENTIRE_FILE", "ENTIRE_REVISION") \
        and status.coverage.name == "ENTIRE_FILE"
    intact = bool(status.intact and status.valid and whole)
    return SealCheck(intact=intact, ours=ours, timestamped=status.timestamp_validity is not None,
                     detail=status.summary())


def _pem_to_der(pem: bytes) -> bytes:
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import serialization

    return cx509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def read_pem(path: str | Path) -> bytes:
    return Path(path).read_bytes()

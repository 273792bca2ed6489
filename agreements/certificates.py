"""The broker's signing certificate. In production it is configured (PKCS#12 path and password); for
development `ensure_dev_certificate` makes a self-signed one with the key usages pyHanko expects."""
from __future__ import annotations

from datetime import datetime, timedelta, UTC
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


def make_self_signed(common_name: str = "Partner portal development seal", years: int = 5):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Partner portal (development)"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
    ])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def ensure_dev_certificate(path: str | Path, password: bytes) -> Path:
    """Write a PKCS#12 file with a self-signed seal certificate unless one exists. Returns its path."""
    path = Path(path)
    if path.exists():
        return path
    key, cert = make_self_signed()
    data = pkcs12.serialize_key_and_certificates(
        b"portal-seal", key, cert, None, serialization.BestAvailableEncryption(password))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def certificate_pem(p12_path: str | Path, password: bytes) -> bytes:
    _key, cert, _extra = pkcs12.load_key_and_certificates(Path(p12_path).read_bytes(), password)
    return cert.public_bytes(serialization.Encoding.PEM)

"""Sealing runs in the outbox worker: with a timestamp authority the seal is PAdES B-T; when the authority
fails, the agreement stays unsealed, the failure is shown, and the worker retries — never an untimestamped
seal passed off as final."""
import threading
from datetime import date, datetime, timedelta, UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import keys as asn1_keys, tsp, x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from sqlalchemy import select

from agreements import operations as ops
from agreements.models import Agreement, AgreementStatus, SignerParty
from agreements.sealing import check_seal
from core.accounts import Role
from core.db import utcnow
from core.outbox import OutboxMessage, OutboxState, backoff, deliver_due
from core.partners import Lifecycle
from core.transports import FileTransport
from portal.agreements.services import broker_identity, seal_certificate_pem
from portal.extensions import db
from tests.smtp import free_port


def _tsa_identity():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test timestamp authority")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(key, hashes.SHA256()))
    der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return (asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
            asn1_keys.PrivateKeyInfo.load(der_key))


@pytest.fixture
def tsa_server():
    """A real RFC 3161 timestamp authority over HTTP on loopback."""
    cert, key = _tsa_identity()
    stamper = DummyTimeStamper(tsa_cert=cert, tsa_key=key)
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(body)
            response = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", requests
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture
def countersigned(app, session, make_org, make_user):
    org = make_org(lifecycle=Lifecycle.approved)
    partner, staff = make_user(Role.partner_admin, org), make_user(Role.admin)
    with app.test_request_context():
        agreement = ops.prepare_agreement(session, staff, org, effective_from=date(2026, 1, 1))
        ops.send_for_signature(session, staff, agreement, broker_identity())
        for user, party in ((partner, SignerParty.partner), (staff, SignerParty.broker)):
            ops.sign(session, agreement, user, party=party, typed_name=user.full_name,
                     shown_sha256=agreement.document_sha256, ip="203.0.113.1", user_agent="test")
    session.commit()
    return agreement


def _work(app, tmp_path, now=None):
    with app.app_context():
        result = deliver_due(db.session, FileTransport(tmp_path), "Portal <p@portal.test>", batch=20, now=now)
        db.session.remove()
    return result


def test_with_a_timestamp_authority_the_seal_is_timestamped(app, session, countersigned, tsa_server, tmp_path):
    url, requests = tsa_server
    app.config["SEAL_TSA_URL"] = url
    try:
        _work(app, tmp_path)
    finally:
        app.config["SEAL_TSA_URL"] = None
    session.expire_all()
    agreement = session.get(Agreement, countersigned.id)
    assert agreement.status is AgreementStatus.active and agreement.sealed_with_timestamp
    assert requests, "the timestamp authority was asked"
    with app.app_context():
        check = check_seal(agreement.sealed_pdf, seal_certificate_pem())
    assert check.intact and check.ours and check.timestamped


def test_a_failing_authority_leaves_the_agreement_unsealed_shown_and_retried(app, session, countersigned,
                                                                             tsa_server, tmp_path, login):
    app.config["SEAL_TSA_URL"] = f"http://127.0.0.1:{free_port()}/"  # nobody listens there
    try:
        result = _work(app, tmp_path)
    finally:
        app.config["SEAL_TSA_URL"] = None
    assert result.failed == 1
    session.expire_all()
    agreement = session.get(Agreement, countersigned.id)
    assert agreement.status is AgreementStatus.countersigned
    assert agreement.sealed_pdf is None and "Sealing failed" in agreement.seal_error
    job = session.execute(select(OutboxMessage).where(OutboxMessage.job_name == ops.SEAL_JOB)).scalar_one()
    assert job.state is OutboxState.pending and job.attempts == 1 and job.next_attempt_at > utcnow()
    page = login(agreement.signatures[1].user).get(f"/agreements/{agreement.public_id}").get_data(as_text=True)
    assert "Sealing failed and will be retried automatically" in page

    # The authority is back: the next attempt seals with a timestamp and activates the agreement.
    url, _requests = tsa_server
    app.config["SEAL_TSA_URL"] = url
    try:
        _work(app, tmp_path, now=utcnow() + backoff(1) + timedelta(seconds=1))
    finally:
        app.config["SEAL_TSA_URL"] = None
    session.expire_all()
    agreement = session.get(Agreement, countersigned.id)
    assert agreement.status is AgreementStatus.active and agreement.sealed_with_timestamp
    assert agreement.seal_error is None
    assert len(list(tmp_path.glob("*.eml"))) == 2, "each signer is sent the sealed copy once"


def test_a_crash_before_sealing_loses_nothing(app, session, countersigned, tmp_path):
    """The countersignature and the sealing job are committed together; a worker started later seals it."""
    session.expire_all()
    job = session.execute(select(OutboxMessage).where(OutboxMessage.job_name == ops.SEAL_JOB)).scalar_one()
    assert job.state is OutboxState.pending
    assert _work(app, tmp_path).failed == 0
    session.expire_all()
    assert session.get(Agreement, countersigned.id).status is AgreementStatus.active

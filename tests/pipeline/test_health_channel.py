"""The client's secure channel for health information: the personal link (expiring, revocable, only its hash
kept), uploads checked by size, content type and the virus-scan hook before they are encrypted with the case keys,
the underwriting answers, who may read them, and the retention purge."""
from __future__ import annotations

import hashlib
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from core.accounts import PartnerStatus, Role
from core.audit import AuditEvent
from core.db import utcnow
from pipeline.cases.models import CaseStatus
from pipeline.channel import links, questions, retention, uploads
from pipeline.channel.errors import (ChannelRefused, DocumentPurged, LinkInvalid, NotAllowed, ScanFailed,
                                     UploadRefused, VirusFound)
from pipeline.channel.models import HealthDocument, HealthLink
from tests.pipeline.case_data import walk

KEYS = Fernet.generate_key().decode()
SECRET = b"DIAGNOSIS-type-2-diabetes-insulin-4-units"
PDF = b"%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\n% " + SECRET + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 32
NO_SCAN = uploads.UploadRules()

SCANNER = """\
import sys
from pathlib import Path
seen, path = Path(sys.argv[1]), Path(sys.argv[2])  # the hook adds the file's path last
seen.write_text(str(path))  # where the file was, to check it is gone afterwards
data = path.read_bytes()
if b"EICAR-STANDIN" in data:
    print(f"{path}: Eicar-Test-Signature FOUND")
    sys.exit(1)
if b"CRASH" in data:
    raise SystemExit(2)
print(f"{path}: OK")
"""


@pytest.fixture
def scanner(tmp_path) -> tuple[uploads.UploadRules, Path]:
    """A stand-in for clamscan (no signature database can be downloaded here): exit 0 clean, 1 infected, 2 error."""
    script = tmp_path / "scanner.py"
    script.write_text(SCANNER)
    seen = tmp_path / "seen"
    return uploads.UploadRules(scan_command=f"{sys.executable} {script} {seen}", max_bytes=1024 * 1024), seen


@pytest.fixture
def case(session, broker, new_case, manager):
    case = new_case(broker)
    walk(session, manager, case, CaseStatus.needs_analysis)
    return case


@pytest.fixture
def link(session, case, manager):
    link, raw = links.issue_link(session, manager, case)
    session.commit()
    link.raw = raw
    return link


def _receive(session, link, data=PDF, rules=NO_SCAN, filename="bloods.pdf"):
    document = uploads.receive_document(session, link, filename=filename, data=data, keys=KEYS, rules=rules)
    session.commit()
    return document


def _documents(session) -> list[HealthDocument]:
    return list(session.scalars(select(HealthDocument)))


# --- the link -----------------------------------------------------------------------------------------------------

def test_only_its_hash_is_kept_and_it_opens_the_case_channel(session, case, link):
    assert link.token_hash == hashlib.sha256(link.raw.encode()).hexdigest()
    assert link.raw not in {link.token_hash, link.public_id}
    opened = links.open_link(session, link.raw)
    assert opened.case_id == case.id and opened.first_opened_at is not None
    assert link.sent_to == case.client_email


@pytest.mark.parametrize("role", [Role.compliance, Role.finance])
def test_only_account_managers_and_admins_send_a_link(session, case, make_user, role):
    with pytest.raises(NotAllowed):
        links.issue_link(session, make_user(role), case)
    links.issue_link(session, make_user(Role.admin), case)


@pytest.mark.parametrize("status", [PartnerStatus.specialist_broker, PartnerStatus.introducer])
def test_a_partner_user_never_sends_a_link_even_of_its_own_case(session, case, broker, make_broker, status):
    for user in (broker, make_broker(status=status, role=Role.partner_member)):
        with pytest.raises(NotAllowed):
            links.issue_link(session, user, case)
    assert session.scalars(select(HealthLink)).all() == []


def test_the_link_expires(session, case, manager):
    link, raw = links.issue_link(session, manager, case, days=3)
    session.commit()
    links.open_link(session, raw, now=utcnow() + timedelta(days=2, hours=23))
    with pytest.raises(LinkInvalid):
        links.open_link(session, raw, now=utcnow() + timedelta(days=3, minutes=1))
    with pytest.raises(ChannelRefused):
        links.issue_link(session, manager, case, days=31)


def test_a_revoked_or_replaced_link_no_longer_opens(session, case, manager, link):
    second, raw2 = links.issue_link(session, manager, case)
    session.commit()
    with pytest.raises(LinkInvalid):
        links.open_link(session, link.raw)  # replaced: one link at a time
    links.revoke_link(session, manager, second)
    session.commit()
    with pytest.raises(LinkInvalid):
        links.open_link(session, raw2)
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("health_link.revoked") == 2 and actions.count("health_link.issued") == 2


def test_a_tampered_or_foreign_token_opens_nothing(session, link):
    for raw in (link.raw[:-1] + ("A" if link.raw[-1] != "A" else "B"), link.token_hash, link.public_id, "",
                "x" * 500):
        with pytest.raises(LinkInvalid):
            links.open_link(session, raw)


def test_a_closed_case_closes_its_channel(session, case, manager, link):
    walk(session, manager, case, CaseStatus.not_pursued)
    with pytest.raises(LinkInvalid):
        links.open_link(session, link.raw)
    with pytest.raises(ChannelRefused):
        links.issue_link(session, manager, case)


def test_no_link_without_the_clients_email(session, broker, new_case, manager):
    case = new_case(broker, client_email=None)
    with pytest.raises(ChannelRefused, match="no e-mail"):
        links.issue_link(session, manager, case)


# --- uploads ------------------------------------------------------------------------------------------------------

def test_a_document_is_encrypted_at_rest_with_the_case_keys(session, link, backend_name, backend):
    document = _receive(session, link)
    assert (document.content_type, document.size, document.sha256) == (
        "application/pdf", len(PDF), hashlib.sha256(PDF).hexdigest())
    stored = session.execute(text("SELECT data_encrypted, filename_encrypted FROM health_documents")).one()
    assert SECRET not in bytes(stored[0]) and b"bloods" not in bytes(stored[1])
    assert Fernet(KEYS.encode()).decrypt(bytes(stored[0])) == PDF
    if backend_name == "sqlite":  # nothing of the plaintext anywhere in the database file
        path = backend[1].removeprefix("sqlite:///")
        assert SECRET not in Path(path).read_bytes()


@pytest.mark.parametrize("data,content_type", [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"),
                                               (HEIC, "image/heic")])
def test_types_are_recognised_by_content_not_by_name(session, link, data, content_type):
    assert _receive(session, link, data, filename="photo.exe").content_type == content_type


@pytest.mark.parametrize("data", [b"MZ\x90\x00 a windows program", b"<html><script>", b"PK\x03\x04 zip or docx",
                                  b"GIF89a", b"plain text named .pdf"])
def test_other_types_are_refused_whatever_the_name(session, link, data):
    with pytest.raises(UploadRefused, match="not accepted"):
        uploads.receive_document(session, link, filename="scan.pdf", data=data, keys=KEYS, rules=NO_SCAN)
    session.rollback()
    assert _documents(session) == []


def test_size_limits(session, link):
    rules = uploads.UploadRules(max_bytes=1024)
    with pytest.raises(UploadRefused, match="too large: at most 0.0009765625 MB|too large"):
        uploads.receive_document(session, link, filename="a.pdf", data=PDF + b"0" * 1024, keys=KEYS, rules=rules)
    with pytest.raises(UploadRefused, match="empty"):
        uploads.receive_document(session, link, filename="a.pdf", data=b"", keys=KEYS, rules=rules)
    session.rollback()
    assert _documents(session) == []
    assert _receive(session, link, PDF + b"0" * (1024 - len(PDF)), rules=rules).size == 1024


def test_the_scan_hook_lets_a_clean_file_through_and_removes_its_copy(session, link, scanner):
    rules, seen = scanner
    _receive(session, link, rules=rules)
    assert len(_documents(session)) == 1
    assert not Path(seen.read_text()).exists()  # the temporary copy the scanner read is gone


@pytest.mark.parametrize("marker,error", [(b"EICAR-STANDIN", VirusFound), (b"CRASH", ScanFailed)])
def test_an_infected_file_or_a_scanner_error_is_refused_and_nothing_kept(session, link, scanner, marker, error):
    rules, seen = scanner
    with pytest.raises(error) as refused:
        uploads.receive_document(session, link, filename="x.pdf", data=PDF + marker, keys=KEYS, rules=rules)
    session.rollback()
    assert _documents(session) == [] and not Path(seen.read_text()).exists()
    assert refused.value.field == "document"


def test_a_missing_scanner_or_a_hung_one_is_an_error(session, link, tmp_path):
    for rules in (uploads.UploadRules(scan_command=str(tmp_path / "no-such-scanner")),
                  uploads.UploadRules(scan_command=f"{sys.executable} -c 'import time; time.sleep(5)'",
                                      scan_timeout=1),
                  uploads.UploadRules(scan_required=True)):
        with pytest.raises(ScanFailed):
            uploads.receive_document(session, link, filename="x.pdf", data=PDF, keys=KEYS, rules=rules)
    session.rollback()
    assert _documents(session) == []


# --- reading ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.account_manager, Role.admin, Role.compliance])
def test_readers_download_and_each_download_is_audited(session, link, make_user, role):
    document = _receive(session, link)
    reader = make_user(role)
    assert uploads.read_document(session, reader, document, keys=KEYS, ip="10.0.0.9") == PDF
    session.commit()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "health_document.downloaded")).one()
    assert event.actor_id == reader.id and event.details()["document"] == document.public_id


def test_nobody_else_reads(session, link, make_user, broker, make_introducer):
    document = _receive(session, link)
    row = questions.save_answers(session, link, answers=ANSWERS, details={"treatment": "insulin"}, other=None,
                                 keys=KEYS)
    for user in (make_user(Role.finance), broker, make_introducer()):
        with pytest.raises(NotAllowed):
            uploads.read_document(session, user, document, keys=KEYS)
        with pytest.raises(NotAllowed):
            questions.read_answers(user, row, KEYS)


# --- answers ------------------------------------------------------------------------------------------------------

ANSWERS = {"treatment": True, "hospital": False, "chronic": False, "pregnancy": False, "smoker": False}


def test_answers_are_checked_and_stored_encrypted(session, link, manager):
    with pytest.raises(ChannelRefused) as refused:
        questions.save_answers(session, link, answers={**ANSWERS, "smoker": None}, details={}, other=None, keys=KEYS)
    assert set(refused.value.fields) == {"smoker", "treatment_details"}
    row = questions.save_answers(session, link, answers=ANSWERS, details={"treatment": "Marc: insulin daily"},
                                 other="Asthma as a child", keys=KEYS)
    session.commit()
    assert b"insulin" not in bytes(session.execute(text("SELECT answers_encrypted FROM health_answers")).scalar_one())
    read = questions.read_answers(manager, row, KEYS)
    assert read["treatment"] == {"answer": True, "details": "Marc: insulin daily"}
    assert read["other"] == "Asthma as a child" and read["smoker"] == {"answer": False, "details": None}


# --- retention ----------------------------------------------------------------------------------------------------

def test_purge_removes_the_bytes_of_closed_cases_and_old_uploads_and_is_audited(session, link, manager, broker,
                                                                                 new_case, backend_name, backend):
    old = _receive(session, link)
    questions.save_answers(session, link, answers=ANSWERS, details={"treatment": "insulin"}, other=None, keys=KEYS)
    other_case = new_case(broker, "Lina")
    other_link, _raw = links.issue_link(session, manager, other_case)
    recent = _receive(session, other_link)
    session.commit()
    ciphertext = bytes(old.data_encrypted)

    assert retention.purge(session, after_close_days=30, after_upload_days=365) == retention.Purged(0, 0, 0)
    walk(session, manager, link.case, CaseStatus.withdrawn)
    assert retention.purge(session, after_close_days=30, after_upload_days=365).documents == 0  # closed today
    purged = retention.purge(session, after_close_days=30, after_upload_days=365, now=utcnow() + timedelta(days=31))
    session.commit()
    assert purged == retention.Purged(documents=1, answers=1, cases=1)
    rows = session.execute(text("SELECT public_id, data_encrypted, filename_encrypted, purged_at "
                                "FROM health_documents ORDER BY id")).all()
    assert [(r[0], r[1] is None, r[2] is None, r[3] is not None) for r in rows] == [
        (old.public_id, True, True, True), (recent.public_id, False, False, False)]
    assert session.execute(text("SELECT answers_encrypted FROM health_answers")).scalar_one() is None
    if backend_name == "sqlite":  # freed pages are overwritten (secure_delete), not left with the old bytes
        assert ciphertext[:200] not in Path(backend[1].removeprefix("sqlite:///")).read_bytes()
    with pytest.raises(DocumentPurged):
        uploads.read_document(session, manager, session.get(HealthDocument, old.id), keys=KEYS)

    # an open case: N days after upload
    assert retention.purge(session, after_close_days=30, after_upload_days=365,
                           now=utcnow() + timedelta(days=366)).documents == 1
    session.commit()
    counts = [e.details() for e in session.scalars(select(AuditEvent).where(
        AuditEvent.action == "health_channel.purged").order_by(AuditEvent.id))]
    assert [(c["documents"], c["answers"], c["cases"]) for c in counts] == [(0, 0, 0), (0, 0, 0), (1, 1, 1),
                                                                            (1, 0, 1)]

"""Coordinated rewrites of the audit log by someone with database access (but not the keys kept outside it) are
caught: a TRUNCATE is refused, a recomputed chain does not verify, a deleted tail is caught by the checkpoint."""
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core import audit
from core.integrity import LEGACY_KEY_ID, Keyring
from tests.dbtools import audit_triggers_suspended, rechain_audit, triggers_suspended

KEYS = Keyring.parse("test-1:test-audit-chain-key-0123456789")


def _record(session, user, n=5):
    for i in range(n):
        audit.record(session, "user.role_changed", actor=user, subject=user, ip="10.0.0.1", step=i)
    session.commit()


def _verify_cli(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def _edit_event_2(session):
    conn = session.connection()
    with audit_triggers_suspended(conn):
        conn.execute(text("UPDATE audit_events SET ip = '192.0.2.66' WHERE seq = 2"))
    session.commit()


def test_emptying_the_audit_log_or_the_ledger_is_refused(session, make_user, backend_name):
    """PostgreSQL's TRUNCATE fires no row trigger: a statement trigger refuses it. SQLite has no TRUNCATE; its
    DELETE is refused by the row triggers."""
    _record(session, make_user(), 2)
    statements = ([f"TRUNCATE {t}" for t in ("audit_events", "audit_head", "ledger_postings")]
                  + ["TRUNCATE ledger_entries CASCADE", "TRUNCATE ledger_accounts CASCADE",
                     "TRUNCATE audit_events, audit_head"]
                  if backend_name == "postgresql" else ["DELETE FROM audit_events"])
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(sql))
        session.rollback()
    assert audit.verify(session) == []


@pytest.mark.parametrize("key_id,keyring", [
    (LEGACY_KEY_ID, None),                                                    # plain SHA-256, as before keys
    ("test-1", Keyring.parse("test-1:a-key-guessed-by-the-intruder-xx")),     # HMAC under a wrong key
], ids=["sha256", "wrong-key"])
def test_an_edited_event_with_every_later_hash_recomputed_is_caught(app, session, make_user, key_id, keyring):
    _record(session, make_user())
    _edit_event_2(session)
    rechain_audit(session, 2, keyring, key_id)
    problems = audit.verify(session)
    assert [p.seq for p in problems] == [2, 3, 4, 5]
    result = _verify_cli(app)
    assert result.exit_code == 1 and "event 2:" in result.output


def test_a_deleted_tail_with_the_head_reset_is_caught_by_the_checkpoint(app, session, make_user):
    _record(session, make_user())
    assert _verify_cli(app).exit_code == 0  # the scheduled run: checkpoint at event 5
    conn = session.connection()
    with audit_triggers_suspended(conn):
        conn.execute(text("DELETE FROM audit_events WHERE seq > 3"))
        conn.execute(text("UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_events WHERE seq = 3)"))
    session.commit()
    assert audit.verify(session) == [], "without the checkpoint the shortened chain is consistent"
    result = _verify_cli(app)
    assert result.exit_code == 1 and "events 4..5 were seen by the checkpoint and are gone" in result.output


def test_a_truncated_and_rebuilt_chain_is_caught_by_the_checkpoint(app, session, make_user, backend_name):
    user = make_user()
    _record(session, user, 3)
    assert _verify_cli(app).exit_code == 0
    conn = session.connection()
    with triggers_suspended(conn, "audit_events, audit_head"):
        conn.execute(text("DELETE FROM audit_events"))
        conn.execute(text("DELETE FROM audit_head"))
    session.commit()
    _record(session, user, 4)  # the same number of events and more, chained afresh with the real key
    result = _verify_cli(app)
    assert result.exit_code == 1 and "event 3: differs from the checkpoint" in result.output


def test_a_forged_checkpoint_is_refused(app, session, make_user, tmp_path):
    _record(session, make_user())
    assert _verify_cli(app).exit_code == 0
    path = tmp_path / "checkpoints" / "audit.json"
    doc = json.loads(path.read_text())
    doc["body"]["seq"] = 2
    path.write_text(json.dumps(doc))
    result = _verify_cli(app)
    assert result.exit_code == 1 and "not signed by any configured key" in result.output


def test_keys_rotate_and_every_key_still_in_use_must_stay_listed(app, session, make_user):
    user = make_user()
    _record(session, user, 2)
    rotated = Keyring.parse("test-2:the-next-audit-chain-key-9876543210," + "test-1:test-audit-chain-key-0123456789")
    audit.record(session, "auth.login", actor=user, keyring=rotated)
    session.commit()
    assert [e.key_id for e in session.query(audit.AuditEvent).order_by(audit.AuditEvent.seq)] == [
        "test-1", "test-1", "test-2"]
    assert audit.verify(session, rotated) == []
    dropped = Keyring.parse("test-2:the-next-audit-chain-key-9876543210")
    assert [p.seq for p in audit.verify(session, dropped)] == [1, 2]


def test_legacy_events_verify_as_the_start_of_the_chain_and_stay_anchored(app, session, make_user):
    """Events from before the keys (plain SHA-256) are accepted as the chain's start; the first keyed event
    chains on their last hash, so editing one of them is still caught."""
    user = make_user()
    _record(session, user, 2)
    rechain_audit(session, 1, None, LEGACY_KEY_ID)  # as the migration leaves a database's existing events
    _record(session, user, 2)
    assert audit.verify(session) == []
    assert _verify_cli(app).exit_code == 0  # checkpoint: legacy events end at 2
    _edit_event_2(session)
    rechain_audit(session, 2, None, LEGACY_KEY_ID, through=2)  # the legacy part recomputed: keyed event 3 breaks
    assert [p.seq for p in audit.verify(session)] == [3]
    rechain_audit(session, 2, None, LEGACY_KEY_ID)  # everything passed off as legacy: the checkpoint says no
    assert audit.verify(session) == []
    result = _verify_cli(app)
    assert result.exit_code == 1 and "event 3: claims to predate the chain keys" in result.output

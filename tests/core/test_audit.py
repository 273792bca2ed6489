"""The audit log is append-only and hash-chained; `flask audit verify` finds any modified or deleted event."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core import audit
from core.audit import AuditEvent
from tests.dbtools import audit_triggers_suspended


def _record_three(session, user):
    for action in ("auth.login", "user.role_changed", "api_token.created"):
        audit.record(session, action, actor=user, subject=user, ip="10.0.0.1", note=action)
    session.commit()


@pytest.fixture
def tamper(session):
    """Run raw SQL as someone with owner access to the database would, past the append-only triggers."""

    def run(sql: str):
        conn = session.connection()
        with audit_triggers_suspended(conn):
            conn.execute(text(sql))
        session.commit()

    return run


def _verify_cli(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_intact_chain_verifies(app, session, make_user):
    _record_three(session, make_user())
    assert audit.verify(session) == []
    result = _verify_cli(app)
    assert result.exit_code == 0 and "intact" in result.output


def test_modified_event_is_detected(app, session, make_user, tamper):
    _record_three(session, make_user())
    tamper("UPDATE audit_events SET ip = '192.0.2.66' WHERE seq = 2")
    problems = audit.verify(session)
    assert [p.seq for p in problems] == [2]
    result = _verify_cli(app)
    assert result.exit_code == 1 and "event 2" in result.output


def test_deleted_event_in_the_middle_is_detected(app, session, make_user, tamper):
    _record_three(session, make_user())
    tamper("DELETE FROM audit_events WHERE seq = 2")
    assert any("missing" in p.problem for p in audit.verify(session))
    assert _verify_cli(app).exit_code == 1


def test_deleted_last_event_is_detected(app, session, make_user, tamper):
    _record_three(session, make_user())
    tamper("DELETE FROM audit_events WHERE seq = 3")
    assert audit.verify(session), "removing the newest event must not go unnoticed"
    assert _verify_cli(app).exit_code == 1


def test_orm_refuses_to_edit_or_delete(session, make_user):
    _record_three(session, make_user())
    ev = session.query(AuditEvent).first()
    ev.ip = "203.0.113.9"
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
    session.rollback()
    session.delete(session.query(AuditEvent).first())
    with pytest.raises(RuntimeError, match="append-only"):
        session.flush()
    session.rollback()


def test_database_refuses_updates_and_deletes_from_any_client(session, make_user):
    _record_three(session, make_user())
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("UPDATE audit_events SET ip = 'x'"))
    session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text("DELETE FROM audit_events"))
    session.rollback()


def test_the_first_events_of_an_empty_log_recorded_at_once_all_land(session, db_engine):
    """On a new database the head row does not exist yet: concurrent first events must not collide on it."""
    from tests.ledger.test_concurrency import in_transaction, run_threads

    assert session.execute(text("SELECT count(*) FROM audit_head")).scalar_one() == 0
    session.close()
    run_threads(6, lambda i: in_transaction(db_engine, lambda s: audit.record(s, "test.first", n=i)))
    seqs = sorted(s for (s,) in session.execute(text("SELECT seq FROM audit_events")))
    assert seqs == [1, 2, 3, 4, 5, 6]
    assert audit.verify(session) == []

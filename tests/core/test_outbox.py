"""The outbox delivers through a real SMTP server, loses nothing during an outage, and never sends twice."""
import threading
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.outbox import MAX_ATTEMPTS, OutboxMessage, OutboxState, backoff, deliver_due, enqueue
from core.transports import FileTransport, SmtpTransport

SENDER = "Portal <no-reply@portal.test>"


def _queue(session, n=1, **kw):
    msgs = [enqueue(session, to=[f"client{i}@example.test"], subject=f"Hello {i}", body_text=f"Body {i}",
                    template="test", locale="en", **kw) for i in range(n)]
    session.commit()
    return msgs


def _smtp(server):
    return SmtpTransport("127.0.0.1", server.port, security="none", timeout=5)


def test_delivers_over_smtp_with_cc_and_marks_sent(session, smtp_server):
    _queue(session, cc=["partner@example.test"])
    result = deliver_due(session, _smtp(smtp_server), SENDER)
    assert result.sent == 1
    rcpts, msg = smtp_server.messages[0]
    assert sorted(rcpts) == ["client0@example.test", "partner@example.test"]
    assert msg["Subject"] == "Hello 0" and msg["Cc"] == "partner@example.test"
    row = session.execute(select(OutboxMessage)).scalar_one()
    assert row.state is OutboxState.sent and row.sent_at is not None and row.attempts == 1


def test_a_sent_message_is_never_sent_again(session, smtp_server):
    _queue(session, 3)
    deliver_due(session, _smtp(smtp_server), SENDER)
    again = deliver_due(session, _smtp(smtp_server), SENDER, now=utcnow() + timedelta(days=2))
    assert again.handled == 0
    assert len(smtp_server.messages) == 3


def test_smtp_outage_loses_nothing(session, smtp_server):
    _queue(session, 2)
    smtp_server.stop()
    down = deliver_due(session, _smtp(smtp_server), SENDER)
    assert down.failed == 2 and down.sent == 0
    rows = session.execute(select(OutboxMessage)).scalars().all()
    assert all(r.state is OutboxState.pending and r.attempts == 1 and r.last_error for r in rows)
    assert all(r.next_attempt_at > utcnow() for r in rows), "a failed message waits before its next try"
    # Not due yet: the worker leaves them alone.
    smtp_server.start()
    assert deliver_due(session, _smtp(smtp_server), SENDER).handled == 0
    # Once due, they go out, exactly once each.
    later = utcnow() + backoff(1) + timedelta(seconds=1)
    assert deliver_due(session, _smtp(smtp_server), SENDER, now=later).sent == 2
    assert sorted(m["Subject"] for _, m in smtp_server.messages) == ["Hello 0", "Hello 1"]
    rows = session.execute(select(OutboxMessage)).scalars().all()
    assert all(r.state is OutboxState.sent and r.attempts == 2 and r.last_error is None for r in rows)


def test_backoff_grows_and_gives_up_after_max_attempts(session, smtp_server):
    assert backoff(1) < backoff(2) < backoff(3)
    assert backoff(40) == backoff(41), "the delay is capped"
    (msg,) = _queue(session)
    smtp_server.stop()
    now = utcnow()
    for _ in range(MAX_ATTEMPTS):
        now += timedelta(days=1)
        deliver_due(session, _smtp(smtp_server), SENDER, now=now)
    session.refresh(msg)
    assert msg.state is OutboxState.failed and msg.attempts == MAX_ATTEMPTS


def test_file_transport_writes_eml(session, tmp_path):
    _queue(session)
    deliver_due(session, FileTransport(tmp_path), SENDER)
    (eml,) = tmp_path.glob("*.eml")
    assert b"Subject: Hello 0" in eml.read_bytes()


def test_concurrent_workers_send_each_message_once(session, smtp_server, db_engine):
    """Several workers on one queue (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises writers)."""
    _queue(session, 30)
    errors = []

    def worker():
        with Session(db_engine) as worker_session:
            try:
                while deliver_due(worker_session, _smtp(smtp_server), SENDER, batch=5).handled:
                    pass
            except Exception as exc:  # surfaced below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    subjects = [m["Subject"] for _, m in smtp_server.messages]
    assert len(subjects) == 30 and len(set(subjects)) == 30

"""Password links under concurrency: one e-mailed link sets the password once, however many requests race."""
import re
import threading

from sqlalchemy import select

from core.accounts import User
from core.audit import AuditEvent
from core.outbox import OutboxMessage
from portal.security.passwords import verify_password
from tests.conftest import csrf_from

ALREADY_USED = "invalid, has expired or was already used"


def _reset_path(client, session, email):
    token = csrf_from(client.get("/password/forgot").get_data(as_text=True))
    client.post("/password/forgot", data={"email": email, "csrf_token": token})
    session.expire_all()
    msg = session.execute(select(OutboxMessage).where(OutboxMessage.to == email)).scalars().one()
    return re.search(r"http://portal\.test(/password/reset/\S+)", msg.body_text).group(1)


def race(n, prepare, fire):
    """Run `prepare(i)` in n threads, then `fire(i, prepared)` in all of them at once."""
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def run(i):
        try:
            prepared = prepare(i)
            barrier.wait(timeout=60)
            results[i] = fire(i, prepared)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


def test_one_link_sent_by_ten_concurrent_requests_sets_the_password_once(app, session, make_user):
    user = make_user()
    path = _reset_path(app.test_client(), session, user.email)

    def prepare(i):
        client = app.test_client()  # its own cookie jar, request and database session
        return client, csrf_from(client.get(path).get_data(as_text=True))

    def fire(i, prepared):
        client, token = prepared
        password = f"new passphrase number {i}"
        r = client.post(path, data={"password": password, "confirm": password, "csrf_token": token})
        return r.status_code, r.get_data(as_text=True)

    results = race(10, prepare, fire)
    winners = [i for i, (status, _body) in enumerate(results) if status == 302]
    assert len(winners) == 1, [status for status, _ in results]
    for i, (status, body) in enumerate(results):
        if i not in winners:
            assert status == 400 and ALREADY_USED in body
    session.expire_all()
    assert verify_password(session.get(User, user.id).password_hash, f"new passphrase number {winners[0]}")
    sets = session.execute(select(AuditEvent).where(AuditEvent.action == "user.password_set")).scalars().all()
    assert len(sets) == 1

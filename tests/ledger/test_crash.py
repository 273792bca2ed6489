"""A posting process killed with SIGKILL in the middle of its batches loses no acknowledged entry and doubles
none; posting the same requests again gives the same entries back. On every backend (PostgreSQL when
TEST_POSTGRES_URL is set: there it runs, it is never skipped)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger import engine
from ledger.models import Account, JournalEntry
from tests.ledger.crash_writer import HOT
from tests.ledger.test_group_commit import books  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]
ENTRIES, THREADS = 600, 8


@pytest.fixture
def url(request, backend):
    """The database's URL, for the posting process, the books opened (the hot account and income)."""
    request.getfixturevalue("books")
    return backend[1]


def writer(url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.ledger.crash_writer", url, "1", str(ENTRIES), str(THREADS)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def acknowledged(lines: list[str]) -> dict[str, tuple[str, bool]]:
    acks = [line.split() for line in lines if line.startswith("ACK ")]
    return {key: (public_id, created == "1") for _ack, key, public_id, created in acks}


def books_state(session) -> tuple[dict[str, str], int, list]:
    session.expire_all()
    keys = dict(session.execute(select(JournalEntry.idempotency_key, JournalEntry.public_id)).all())
    hot = session.execute(select(Account).where(Account.code == HOT)).scalar_one()
    return keys, hot.balance_minor, engine.verify(session)


def test_a_writer_killed_mid_batch_loses_no_acknowledged_entry_and_doubles_none(url, session):
    proc = writer(url)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:  # let it post a while, under load: 8 threads sharing the posting writer
        lines.append(line)
        if len(lines) >= ENTRIES // 4:
            proc.send_signal(signal.SIGKILL)
            break
    lines += proc.stdout.read().splitlines()  # what it printed before it died
    proc.stdout.close()
    assert proc.wait(timeout=60) == -signal.SIGKILL and not any(line.startswith("DONE") for line in lines)

    before = acknowledged(lines)
    keys, balance, problems = books_state(session)
    assert problems == []
    # every acknowledged entry is there, as acknowledged; nothing is there twice (one row per key)
    assert {key: keys.get(key) for key in before} == {key: public_id for key, (public_id, _c) in before.items()}
    assert len(keys) < ENTRIES  # it died before posting everything
    assert balance == sum(100 + int(key.split(":")[1]) for key in keys)

    # the same requests again, to the end: the entries already posted come back, the others post once
    rerun = writer(url)
    out, _err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0 and out.splitlines()[-1].startswith("DONE ")
    after = acknowledged(out.splitlines())
    assert len(after) == ENTRIES
    commits = int(out.splitlines()[-1].split()[1])
    assert commits < ENTRIES - len(keys)  # the posting writer committed them in batches
    assert {key: after[key] for key in keys} == {key: (public_id, False) for key, public_id in keys.items()}
    assert all(created for key, (_p, created) in after.items() if key not in keys)
    final_keys, final_balance, problems = books_state(session)
    assert problems == [] and final_keys == {key: public_id for key, (public_id, _c) in after.items()}
    assert session.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == ENTRIES
    assert final_balance == sum(100 + n for n in range(1, ENTRIES + 1))

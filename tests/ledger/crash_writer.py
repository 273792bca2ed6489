"""A posting process for tests/ledger/test_crash.py: `python -m tests.ledger.crash_writer URL FIRST LAST THREADS`.

THREADS threads post the entries numbered FIRST to LAST (each a receipt on the hot account, idempotency key
`crash:<n>`) with `engine.post` and a commit each, in sessions of their own, so the group-commit writer batches
them. Each entry is acknowledged on standard output once `post` and the commit returned:
`ACK <key> <entry public id> <created>`; at the end `DONE <commits made>`. The test kills the process with SIGKILL while it posts."""
from __future__ import annotations

import sys
import threading
from datetime import date

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from ledger import engine, group_commit
from ledger.money import credit, debit

HOT = "commission_receivable:hot-insurer"
DAY = date(2026, 12, 1)
_print = threading.Lock()


def request(n: int) -> dict:
    return dict(key=f"crash:{n}", effective_date=DAY, description=f"receipt {n}",
                lines=[debit(HOT, 100 + n, "EUR"), credit("commission_income", 100 + n, "EUR")])


def main(url: str, first: int, last: int, threads: int) -> None:
    eng = create_engine(url, pool_size=threads + 2)

    def post_every(start: int) -> None:
        with Session(eng) as s:
            for n in range(first + start, last + 1, threads):
                entry, created = engine.post(s, **request(n))
                public_id = entry.public_id
                s.commit()
                with _print:
                    sys.stdout.write(f"ACK crash:{n} {public_id} {int(created)}\n")
                    sys.stdout.flush()

    workers = [threading.Thread(target=post_every, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    # the commits the posting writer made for them (fewer than the entries: it batched them)
    sys.stdout.write(f"DONE {group_commit.writer_for(eng).batches}\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))

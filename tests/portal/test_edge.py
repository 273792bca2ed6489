"""One commit at the edge (portal/edge.py): domain operations flush and never commit; a view, an API handler or
a command commits once, through the edge, or rolls back and says why. A commit anywhere else is a second
transaction policy, so this test names the few places allowed one and why."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMIT = re.compile(r"\.commit\(\)")

#: where a commit is the policy itself, not a view's or an operation's shortcut
ALLOWED = {
    "portal/edge.py": "the edge: views, API handlers and commands commit here",
    "portal/api/auth.py": "a token's last use is saved when the bearer is authenticated, before any handler runs",
    "core/outbox.py": "the outbox worker is a loop: each delivered message is its own transaction",
    "ledger/group_commit.py": "the posting writer commits each batch of entries in a transaction of its own",
}


def committing_modules(package: str) -> set[str]:
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / package).rglob("*.py")
            if COMMIT.search(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("package", ["portal", "core", "ledger", "pipeline", "agreements", "compliance"])
def test_only_the_edge_commits(package):
    assert committing_modules(package) <= set(ALLOWED)

"""Words, not codes: every role of the demo reads its pages (home, every page linked from it, and the first
detail pages those lists link to) in English and in another language, and no page shows a code — a
snake_case value, a dotted audit action or a ledger account code — where a person expects a word."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.accounts import User
from portal.demo import DEMO_LOGINS
from tests.portal.code_sweep import codes_in, internal_links, visible_text

#: how many records a list page's walk opens (its first detail pages)
DETAILS_PER_LIST = 2
MAX_PAGES = 200
RECORD_ID = re.compile(r"/[0-9a-f]{32}(?:/|$)|/[0-9a-f-]{36}(?:/|$)")


def _is_detail(path: str) -> bool:
    return bool(RECORD_ID.search(path))


def walk(client, start: str = "/") -> dict[str, str]:
    """path -> visible text: the home page, every page without a record id reachable from it (query strings only
    from the home page), and the first records each of those pages lists (with their own sub-pages)."""
    seen: dict[str, str] = {}
    queue = [start]
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        r = client.get(path)
        seen[path] = ""
        if r.status_code != 200 or r.mimetype != "text/html":
            continue
        seen[path], links = visible_text(r.get_data(as_text=True))
        details = 0
        for link in dict.fromkeys(internal_links(links)):
            if link in seen or link in queue or ("?" in link and path != start):
                continue
            if not _is_detail(link):
                queue.append(link)
            elif not _is_detail(path) and details < DETAILS_PER_LIST:
                details += 1
                queue.append(link)
            elif _is_detail(path) and link.startswith(path.split("?")[0] + "/"):
                queue.append(link)
    return seen


def leaks(pages: dict[str, str]) -> dict[str, list[str]]:
    return {path: sorted(found) for path, text in pages.items() if (found := codes_in(text))}


@pytest.fixture
def demo(app, session):
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    return session


@pytest.mark.parametrize("email", [email for email, role in DEMO_LOGINS if role != "programme_operator"])
def test_no_page_shows_a_code_in_place_of_a_word(email, demo, login):
    user = demo.execute(select(User).where(User.email == email)).scalar_one()
    other = user.locale if user.locale != "en" else "ru"
    found = {}
    for lang in ("en", other):
        user.locale = lang
        demo.commit()
        client = login(user, "demo-password")
        pages = walk(client)
        assert len(pages) > 3, f"{email}: the walk found only {list(pages)}"
        found |= {f"{lang} {path}": codes for path, codes in leaks(pages).items()}
    assert found == {}, f"{email} reads codes: {found}"

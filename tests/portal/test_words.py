"""Words, not codes: every role of the demo reads its pages (home, every page linked from it, and the first
detail pages those lists link to) in English and in another language, and no page shows a code — a
snake_case value, a dotted audit action or a ledger account code — where a person expects a word."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.accounts import LANGUAGES, User
from portal.demo import DEMO_LOGINS
from tests.portal.code_sweep import codes_in, dates_in, internal_links, visible_text
from tests.portal.test_i18n import read_catalog

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
    return {path: sorted(found) for path, text in pages.items() if (found := codes_in(text) | dates_in(text))}


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


# --- plurals ---------------------------------------------------------------------------------------------------------

def test_no_message_counts_with_a_bracketed_plural():
    """"2 adult(s)" reads as a form, not a sentence: counts go through ngettext."""
    bracketed = re.compile(r"\w\((?:s|es|ren)\)")
    found = sorted(m.id for m in read_catalog("en") if m.id and bracketed.search(m.id if isinstance(m.id, str)
                                                                               else m.id[0]))
    assert found == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_plural_has_all_its_forms(lang):
    catalog = read_catalog(lang)
    plurals = [m for m in catalog if m.id and isinstance(m.id, tuple)]
    assert len(plurals) >= 15
    incomplete = [m.id[0] for m in plurals
                  if len(m.string) != catalog.num_plurals or not all(m.string) or "fuzzy" in m.flags]
    assert incomplete == [], f"{lang} ({catalog.num_plurals} forms): {incomplete}"


def test_a_household_reads_with_the_plural_forms_of_the_reader_s_language(demo, login):
    from pipeline.cases.models import Case

    user = demo.execute(select(User).where(User.email == "manager@demo.example")).scalar_one()
    case = demo.execute(select(Case).where(Case.client_last_name == "Haddad")).scalar_one()
    expected = {"en": "1 adult, 0 children; ages 36", "fr": "1 adulte, 0 enfant ; âges : 36",
                "ru": "1 взрослый, 0 детей; возраст: 36", "uk": "1 дорослий, 0 дітей; вік: 36"}
    for lang, household in expected.items():
        user.locale = lang
        demo.commit()
        text, _links = visible_text(login(user, "demo-password").get(f"/cases/{case.public_id}").get_data(as_text=True))
        assert household in text, lang


# --- dates -----------------------------------------------------------------------------------------------------------

def test_one_unambiguous_date_style_per_language():
    from datetime import date

    from core.i18n import format_day

    day = date(2026, 12, 7)
    assert {lang: format_day(day, lang) for lang in LANGUAGES} == {
        "en": "Dec 7, 2026", "fr": "7 déc. 2026", "it": "7 dic 2026", "es": "7 dic 2026", "ru": "7 дек. 2026\u202fг.",
        "uk": "7 груд. 2026\u202fр."}
    # the month is a word wherever day and month could be confused (3 July vs 7 March)
    assert all(not re.search(r"\d+[/.-]\d+", format_day(date(2026, 3, 7), lang)) for lang in LANGUAGES)


def test_the_trial_balance_names_firms_and_its_csv_keeps_the_codes(demo, login):
    from core.accounts import Organisation

    user = demo.execute(select(User).where(User.email == "finance@demo.example")).scalar_one()
    user.locale = "en"
    demo.commit()
    client = login(user, "demo-password")
    page, _links = visible_text(client.get("/finance/trial-balance").get_data(as_text=True))
    firm = demo.execute(select(Organisation.legal_name).where(Organisation.legal_name.like("Lumen%"))).scalar_one()
    assert f"{firm} — payable" in page and "Commission income" in page and "Liability" in page
    assert not codes_in(page)
    csv = client.get("/finance/trial-balance?format=csv").get_data(as_text=True)
    assert csv.splitlines()[0] == "currency,account,type,debit,credit"
    assert "partner_payable:" in csv and "commission_income" in csv  # files keep the codes


def test_the_date_filter_hint_matches_the_picker(demo, login):
    """A type=date input shows the browser's own format: the label does not promise YYYY-MM-DD."""
    user = demo.execute(select(User).where(User.email == "finance@demo.example")).scalar_one()
    page = login(user, "demo-password").get("/finance/trial-balance").get_data(as_text=True)
    assert 'type="date"' in page and "YYYY-MM-DD" not in page

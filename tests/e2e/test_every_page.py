"""Every role's pages in a real browser, on the demo data: axe-core (the accessibility engine, run in the page)
finds no serious or critical violation on any page a role reaches from its home and its menu; and at phone width
(375 px) each role's home and one of its lists fit the screen: the menu folds behind a button, wide tables scroll
inside the page with a cue instead of widening it."""
from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe

#: what is checked here is the HTML and CSS a browser gets, the same on either database: run on SQLite only
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

PASSWORD = "demo-password"
#: one sign-in per role (partner firms of each status; their members reach a subset of their admin's pages; the
#: programme's read-only view of aggregates)
ROLES = ["admin@demo.example", "compliance@demo.example", "finance@demo.example", "manager@demo.example",
         "specialist@demo.example", "generalist.member@demo.example", "introducer@demo.example",
         "volunteer@demo.example", "programme@demo.example"]
#: pages reached per role: its home, its menu, then the links those pages hold, in order
MOST = 30
DOWNLOAD = re.compile(r"(^|&)format=(pdf|csv|xlsx)(&|$)")
SKIP = re.compile(r"\.(pdf|csv|json|xlsx|xml|zip)$|/static/|/logout|/language|/api/|/download|/export")
#: a URL with an opaque id, by its shape: one page of each shape is enough
OPAQUE = re.compile(r"/[A-Za-z0-9_-]{16,}")
#: a role whose one page shows a month at a time (the programme's view of aggregates, also its home): no link leads
#: to another month, its form's month list does; the crawl also shows the oldest month offered, chosen in the form
MONTH_FORM = {"programme@demo.example": "#p-month"}


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output


def sign_in(page, live_server: str, email: str) -> None:
    page.goto(live_server + "/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda url: "/login" not in url)


def links(page, live_server: str) -> list[str]:
    found = []
    for href in page.eval_on_selector_all("nav a[href], main a[href]", "els => els.map(e => e.getAttribute('href'))"):
        url = urljoin(page.url, href.split("#")[0])
        parts = urlsplit(url)
        # a file to download (a report or bordereau as CSV, XLSX or PDF) is no page to check
        if url.startswith(live_server) and not SKIP.search(parts.path) and not DOWNLOAD.search(parts.query):
            found.append(url)
    return found


def serious(results) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("email", ROLES)
def test_no_page_of_a_role_has_a_serious_accessibility_violation(browser, live_server, demo, email):
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    axe = Axe()
    try:
        sign_in(page, live_server, email)
        # on a desktop the menu is there, no button to open it
        assert page.locator("#mainnav").is_visible() and not page.locator(".menu-toggle").is_visible()
        queue, seen, shapes, problems = [page.url], set(), set(), {}
        while queue and len(seen) < MOST:
            url = queue.pop(0)
            shape = OPAQUE.sub("/<id>", urlsplit(url).path)
            if url in seen or shape in shapes:
                continue
            seen.add(url)
            shapes.add(shape)
            response = page.goto(url)
            assert response.status < 400, f"{url} answered {response.status} to {email}"
            if found := serious(axe.run(page)):
                problems[url] = found
            queue += links(page, live_server)
        if email in MONTH_FORM:
            page.goto(live_server + "/")
            months = page.locator(f"{MONTH_FORM[email]} option")
            page.select_option(MONTH_FORM[email], index=months.count() - 1)
            with page.expect_navigation():
                page.locator(f"form:has({MONTH_FORM[email]}) button[type=submit]").click()
            assert "month=" in page.url and page.url not in seen
            seen.add(page.url)
            if found := serious(axe.run(page)):
                problems[page.url] = found
        assert len(seen) >= 3, f"{email} reached only {seen}"
        assert not problems, "\n".join(f"{url}: {p}" for url, found in problems.items() for p in found)
    finally:
        context.close()


#: a role, and one of its lists with a wide table
PHONE = [("admin@demo.example", "/admin/organisations"), ("compliance@demo.example", "/audit/"),
         ("finance@demo.example", "/finance/"), ("manager@demo.example", "/cases/"),
         ("specialist@demo.example", "/cases/"), ("introducer@demo.example", "/leads/"),
         ("programme@demo.example", "/programme/")]


@pytest.mark.parametrize("email, listing", PHONE)
def test_at_phone_width_the_menu_folds_and_nothing_widens_the_page(browser, live_server, demo, email, listing):
    context = browser.new_context(locale="en-GB", viewport={"width": 375, "height": 812}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server, email)
        for url in ("/", listing):
            page.goto(live_server + url)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"{url} is {width} px wide at 375 px for {email}"
            toggle, nav = page.locator(".menu-toggle"), page.locator("#mainnav")
            assert toggle.is_visible() and not nav.is_visible(), "the menu folds behind its button"
            toggle.click()
            assert nav.is_visible() and toggle.get_attribute("aria-expanded") == "true"
            assert nav.locator("a").first.is_visible()
            box = nav.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        # a table wider than the screen scrolls inside its own box
        for table in page.locator("table.table").all():
            inner, shown = table.evaluate("t => [t.scrollWidth, t.clientWidth]")
            assert shown <= 375 and (inner <= shown or table.evaluate("t => getComputedStyle(t).overflowX") == "auto")
    finally:
        context.close()

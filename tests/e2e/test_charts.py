"""Each role's home shows its charts in a real browser: an SVG the browser names (role=img, named by its title and
described by its desc), and the figures behind it in a table that opens under "Show the figures"."""
from __future__ import annotations

from contextlib import contextmanager

import pytest

from tests.e2e.test_every_page import demo, sign_in  # noqa: F401  (the demo data fixture)

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

CHARTS = {
    "admin@demo.example": ["chart-health-refusals", "chart-agreements"],
    "compliance@demo.example": ["chart-health-refusals", "chart-agreements"],
    "finance@demo.example": ["chart-commission-eur", "chart-receivables-eur"],
    "manager@demo.example": ["chart-ageing", "chart-funnel"],
    "specialist@demo.example": ["chart-pipeline", "chart-commission-eur"],
    "introducer@demo.example": ["chart-pipeline"],
}


@contextmanager
def home(browser, live_server, email: str, width: int, height: int):
    """`email`'s home page in a browser window of that size (a phone's when narrow)."""
    context = browser.new_context(locale="en-GB", viewport={"width": width, "height": height}, is_mobile=width < 600)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server, email)
        page.goto(live_server + "/")
        yield page
    finally:
        context.close()


@pytest.mark.parametrize("email", list(CHARTS))
def test_each_role_home_shows_named_charts_with_their_figures(browser, live_server, demo, email):  # noqa: F811
    with home(browser, live_server, email, 1280, 900) as page:
        for chart_id in CHARTS[email]:
            figure = page.locator(f"figure#{chart_id}")
            assert figure.count() == 1, f"{email}: no chart {chart_id}"
            title = figure.locator("figcaption").inner_text().strip()
            # the browser's accessibility tree names the image by its title
            image = figure.get_by_role("img", name=title, exact=True)
            assert image.count() == 1 and image.is_visible(), f"{email}: {chart_id} has no image named {title!r}"
            described = image.evaluate("el => document.getElementById(el.getAttribute('aria-describedby')).textContent")
            assert len(described.strip()) > 20
            assert image.locator("rect").count() >= 1
            table = figure.locator("details table")
            assert not table.is_visible()
            figure.locator("details summary").click()
            assert table.is_visible() and table.locator("tbody tr").count() >= 1


@pytest.mark.parametrize("email", ["specialist@demo.example", "manager@demo.example", "finance@demo.example"])
def test_at_phone_width_the_charts_text_stays_legible_and_apart(browser, live_server, demo, email):  # noqa: F811
    """At 375 px the narrow drawing is the one shown (and named): every text of it at 10.5 px or more on screen,
    and no two of its texts overlapping."""
    with home(browser, live_server, email, 375, 812) as page:
        for chart_id in CHARTS[email]:
            figure = page.locator(f"figure#{chart_id}")
            title = figure.locator("figcaption").inner_text().strip()
            image = figure.get_by_role("img", name=title, exact=True)
            assert image.count() == 1 and "chart-narrow" in image.get_attribute("class"), chart_id
            assert not figure.locator("svg.chart-wide").is_visible()
            texts = image.evaluate("""svg => [...svg.querySelectorAll(':scope > text')].map(t => {
                const r = t.getBoundingClientRect();
                return {size: parseFloat(getComputedStyle(t).fontSize) * svg.getBoundingClientRect().width
                              / svg.viewBox.baseVal.width, box: [r.left, r.top, r.right, r.bottom], text: t.textContent};
            })""")
            assert texts and min(t["size"] for t in texts) >= 10.5, (chart_id, texts)
            for i, a in enumerate(texts):
                for b in texts[i + 1:]:
                    (l1, t1, r1, b1), (l2, t2, r2, b2) = a["box"], b["box"]
                    overlap = min(r1, r2) - max(l1, l2) > 1 and min(b1, b2) - max(t1, t2) > 1
                    assert not overlap, (chart_id, a["text"], b["text"])

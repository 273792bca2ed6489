"""A real headless Chromium (Debian's package) driving the portal served on 127.0.0.1 from a thread.

Without Chromium the browser tests are skipped with the reason printed; with REQUIRE_BROWSER=1 (CI) they fail.
"""
import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def _browser_missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return "Chromium is not installed (apt-get install -y chromium); browser tests skipped"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed; browser tests skipped"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _browser_missing()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason.replace("skipped", "required by REQUIRE_BROWSER=1"))
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
    app.config["SERVER_NAME"] = "portal.test"


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()

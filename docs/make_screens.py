"""Screenshots of the portal as each role sees it, at desktop and phone width, in docs/screens/: `make screens`.

A throwaway instance (SQLite under a temporary folder, the real migrations, the demo data of `make run`) is served
from a thread and photographed in headless Chromium (Debian's package, as the browser tests use it). The files
are JPEGs named <who>-<page>-<width>.jpg; docs/screens/README.md lists them with what each shows.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import dispose, make_app, migrate  # noqa: E402
from bench.funnel_walk import LiveServer  # noqa: E402

OUT = ROOT / "docs" / "screens"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}
PASSWORD = "demo-password"
#: the demo volunteer (no password: the personal link that `flask demo-data` prints signs them in)
VOLUNTEER = "the demo volunteer (personal link)"

#: (who signs in, file stem, path, what the page shows)
PAGES = [
    ("admin@demo.example", "admin-home", "/", "The administrator's home: firms, what needs attention, the outbox"),
    ("admin@demo.example", "admin-firms", "/admin/organisations", "Partner firms, with their status and lifecycle"),
    ("compliance@demo.example", "compliance-home", "/", "The compliance officer's home"),
    ("compliance@demo.example", "compliance-queue", "/compliance/queue/", "The review queue"),
    ("compliance@demo.example", "compliance-dashboard", "/compliance/dashboard", "The compliance dashboard"),
    ("compliance@demo.example", "compliance-audit", "/audit/", "The audit log"),
    ("finance@demo.example", "finance-home", "/finance/", "Finance: accrued, paid, payout runs"),
    ("finance@demo.example", "finance-subscriptions", "/subscriptions/", "Volunteer subscriptions (finance's view)"),
    ("finance@demo.example", "finance-overdue", "/subscriptions/overdue", "Volunteer subscriptions overdue for payment"),
    ("programme@demo.example", "programme-home", "/", "The programme viewer's page: the volunteer programme's figures"),
    ("manager@demo.example", "manager-home", "/", "The account manager's home"),
    ("manager@demo.example", "manager-cases", "/cases/", "The cases list"),
    ("specialist@demo.example", "partner-home", "/", "A specialist broker's home (partner administrator)"),
    ("specialist@demo.example", "partner-agreements", "/agreements/", "The firm's agreements"),
    ("specialist@demo.example", "partner-statements", "/statements/", "The firm's commission statements"),
    ("generalist.member@demo.example", "member-home", "/", "A member of a generalist broker firm"),
    ("introducer@demo.example", "introducer-home", "/", "A non-broker introducer's home"),
    ("introducer@demo.example", "introducer-new-lead", "/leads/new", "Referring a lead (consent-minimal)"),
    (VOLUNTEER, "volunteer-home", "/my-cover/", "A volunteer's cover (entered through the personal link)"),
    (VOLUNTEER, "volunteer-quote", "/my-cover/quote", "A volunteer's quote: the cover, who it covers, the price"),
    (None, "apply", "/apply", "Applying to become a partner (countries picker)"),
    (None, "verify", "/verify", "Checking that an agreement is authentic"),
]


def sign_in(page, url: str, email: str) -> None:
    page.goto(url + "/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda now: "/login" not in now)


def volunteer_path(output: str) -> str:
    """The path of the demo volunteer's personal link, as `flask demo-data` prints it."""
    from urllib.parse import urlsplit

    for line in output.splitlines():
        if "Walk the volunteer's journey" in line:
            return urlsplit(line.rsplit(" ", 1)[-1]).path
    raise SystemExit("demo-data printed no volunteer link")


def main() -> int:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        app = make_app(instance, f"sqlite:///{instance / 'screens.db'}")
        migrate(app)
        result = app.test_cli_runner().invoke(args=["demo-data"])
        if result.exit_code != 0:
            print(result.output, file=sys.stderr)
            return 1
        link = volunteer_path(result.output)
        written = []
        with LiveServer(app) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            for width, viewport in WIDTHS.items():
                contexts: dict = {}
                for who, stem, path, _what in PAGES:
                    if who not in contexts:
                        contexts[who] = browser.new_context(locale="en-GB", viewport=viewport,
                                                            is_mobile=width == "phone", device_scale_factor=1)
                        if who == VOLUNTEER:
                            contexts[who].new_page().goto(server.url + link)
                        elif who:
                            sign_in(contexts[who].new_page(), server.url, who)
                    page = contexts[who].new_page()
                    page.goto(server.url + path)
                    target = OUT / f"{stem}-{width}.jpg"
                    # the whole page, down to 2,400 px (a long list says enough in its first screens)
                    height = min(page.evaluate("document.documentElement.scrollHeight"), 2400)
                    page.screenshot(path=str(target), full_page=True, type="jpeg", quality=70,
                                    clip={"x": 0, "y": 0, "width": viewport["width"], "height": height})
                    written.append(target)
                    page.close()
                for context in contexts.values():
                    context.close()
            browser.close()
        dispose(app)
    lines = ["# Screens", "", "Made by `make screens` (docs/make_screens.py) from the demo data; regenerate them after a",
             "change to what a page shows.", "", "| page | who | desktop | phone |", "|---|---|---|---|"]
    for who, stem, _path, what in PAGES:
        lines.append(f"| {what} | {who or 'anyone'} | [{stem}-desktop.jpg]({stem}-desktop.jpg) | "
                     f"[{stem}-phone.jpg]({stem}-phone.jpg) |")
    (OUT / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(written)} screenshots in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

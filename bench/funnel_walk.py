"""The volunteer's walk from the personal link to the insurance certificate in a real browser at phone width
(issue 13): how many screens it takes (target at most 5) and how long (target under 90 s).

    .venv/bin/python -m bench.funnel_walk [--rounds 3] [--json PATH] [--quick]

One throwaway instance, started as the browser tests start theirs (tests/e2e/conftest.py): the portal in its test
configuration on a SQLite file with the real migrations and the sample tariffs, served by werkzeug from a thread
on 127.0.0.1, talking to a localstripe server started in a subprocess (`portal.payments.localstripe_server`),
whose Stripe.js the payment page loads. Then, `--rounds` times, a new volunteer in post in the US (zone 3, with
a spouse declared by the roster, French) gets a personal link and a new headless Chromium context at 390 x 844
(a phone: `is_mobile`, touch, `fr-FR`) walks it as the e2e test does:

1. the link (it redirects to the quote, already priced): the health top-up's comfort formula, the prévoyance
   top-up, the spouse covered with the programme's confirmations; the price updates in place; "continue";
2. the adhesion: phone, address, beneficiaries, start date, the pre-contract information accepted;
3. the signature: the typed name and the one-time code (read from the outbox, as the e-mail carries it);
4. the payment: a 3-D Secure card (4000 0025 0000 3155), the challenge passed in localstripe's Stripe.js dialog
   on the same screen;
5. the area with the certificate, which is then downloaded (a PDF).

localstripe's Stripe.js draws a card field but its `createPaymentMethod` does nothing, so the card's
PaymentMethod is made with the test secret key (standing in for Stripe.js) and put in the form, as in the e2e test.

A screen is a page the browser loads in its main frame (`framenavigated`): a redirect the browser follows by
itself is not one, the price updated in place and the 3-D Secure dialog are not either. The time runs from the
link to the certificate link on screen; the browser is scripted, so it is the application's and the browser's
time (page loads, the quote priced at each change, the signature sealed, the payment and its challenge at the
fake provider), not a person's reading and typing.

A benchmark, not a test: it exits 0 whatever the figures (1 when something went wrong: a page that did not come,
a subscription not active at the end). Needs Chromium (`apt-get install -y chromium`) and Playwright.
"""
from __future__ import annotations

import argparse
import logging
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench.common import (BenchError, apply_quick, dispose, machine, make_app, migrate, print_figures, quick_option,
                          run, verdict, write_json)

TARGETS = {"screens": 5, "seconds": 90.0}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "locale": "fr-FR"}
THREE_D_SECURE = "4000002500003155"
SECRET_KEY = "sk_test_localstripe"
#: what the volunteer sees at the end of each screen (French)
CERTIFICATE_LINK = "Mon attestation d'assurance (PDF)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalStripe:
    """localstripe in a subprocess on a free loopback port (as the tests start it)."""

    def __init__(self, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "portal.payments.localstripe_server",
                                             str(self.port)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"localstripe exited at start: {self.log_path.read_text(errors='replace')[-800:]}")
            try:
                self.request("GET", "/js.stripe.com/v3/")
                return
            except OSError:
                time.sleep(0.1)
        raise BenchError(f"localstripe did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def request(self, method: str, path: str, data: bytes | None = None, headers: dict | None = None) -> bytes:
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.read()

    def card(self, number: str) -> str:
        """A card PaymentMethod, as Stripe.js makes one in the browser from what the volunteer types."""
        import json

        body = urlencode({"type": "card", "card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2030",
                          "card[cvc]": "123"}).encode()
        return json.loads(self.request("POST", "/v1/payment_methods", body, {
            "Authorization": f"Bearer {SECRET_KEY}", "Content-Type": "application/x-www-form-urlencoded"}))["id"]


class LiveServer:
    """The app served by werkzeug from a thread on 127.0.0.1 (as tests/e2e/conftest.py serves it)."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(10)


def setup(app) -> None:
    from funnel.seed import seed_sample_products
    from portal.extensions import db

    migrate(app)
    with app.app_context():
        seed_sample_products(db.session)
        db.session.commit()


def new_volunteer(app, n: int) -> tuple[str, str, int]:
    """A French volunteer in post in the US with a spouse, from the roster: (personal link token, dependant field
    prefix of the spouse, volunteer id)."""
    from core.db import utcnow
    from funnel import journey
    from funnel.roster import apply_events
    from funnel.volunteers import find_volunteer
    from portal.extensions import db

    today = utcnow().date()
    ref = f"BF-WALK-{n:04d}-{int(time.time())}"
    record = {"event": "affiliation", "event_id": f"{ref}-1", "occurred_at": f"{today - timedelta(days=1)}T08:00:00Z",
              "file_ref": ref, "first_name": "Léa", "last_name": "Martin", "email": f"lea.walk{n}@example.org",
              "birth_date": "2000-04-02", "programme": "VIE", "mission_country": "US",
              "mission_start": (today - timedelta(days=40)).isoformat(),
              "mission_end": (today + timedelta(days=330)).isoformat(), "language": "fr",
              "dependants": [{"category": "spouse", "birth_date": "1999-07-14"}]}
    with app.app_context():
        result = apply_events(db.session, [record]).results[0]
        if result.outcome.value != "created":
            raise BenchError(f"the roster refused the volunteer: {result.reasons}")
        volunteer = find_volunteer(db.session, file_ref=ref)
        _link, raw = journey.issue_link(db.session, volunteer)
        prefix, volunteer_id = journey.dependant_field(volunteer.current_dependants[0]), volunteer.id
        db.session.commit()
    return raw, prefix, volunteer_id


def latest_code(app, after_id: int) -> str:
    """The one-time code e-mailed to the volunteer (as the e-mail in the outbox carries it)."""
    from sqlalchemy import select

    from core.outbox import OutboxMessage
    from portal.extensions import db

    with app.app_context():
        body = db.session.scalars(select(OutboxMessage.body_text).where(
            OutboxMessage.template == "adhesion_code", OutboxMessage.id > after_id)
            .order_by(OutboxMessage.id.desc())).first()
        db.session.remove()
    match = body and re.search(r"\b(\d{6})\b", body)
    if not match:
        raise BenchError("no signature code was e-mailed with the adhesion's confirmation")
    return match.group(1)


def last_outbox_id(app) -> int:
    from sqlalchemy import func, select

    from core.outbox import OutboxMessage
    from portal.extensions import db

    with app.app_context():
        found = db.session.scalar(select(func.max(OutboxMessage.id))) or 0
        db.session.remove()
    return found


def check_active(app, volunteer_id: int) -> None:
    from sqlalchemy import select

    from funnel.models import Subscription, SubscriptionState
    from portal.extensions import db

    with app.app_context():
        subscription = db.session.scalars(select(Subscription).where(Subscription.volunteer_id == volunteer_id)).one()
        ok = subscription.state is SubscriptionState.active and subscription.certificate_pdf
        db.session.remove()
    if not ok:
        raise BenchError(f"the subscription ended {subscription.state.value}, not active with its certificate")


def walk(browser, app, server: LiveServer, stripe: LocalStripe, n: int) -> dict:
    """One volunteer from the link to the certificate: the screens (paths loaded) and the seconds."""
    raw, prefix, volunteer_id = new_volunteer(app, n)
    method = stripe.card(THREE_D_SECURE)  # what Stripe.js would make of the card typed (see the module's notes)
    before = last_outbox_id(app)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(30_000)
    screens: list[str] = []
    page.on("framenavigated", lambda frame: frame == page.main_frame and screens.append(urlsplit(frame.url).path))
    try:
        t0 = time.perf_counter()
        # 1. the quote, priced at once; the choice changed, priced again in place
        page.goto(f"{server.url}/v/{raw}")
        page.get_by_text("par mois au total").wait_for()
        page.locator("input[name=health_formula][value=comfort]").check()
        page.locator("input[name=prevoyance]").check()
        page.locator("input[name=prevoyance_formula][value=standard]").check()
        page.locator(f"input[name={prefix}covered]").check()
        page.locator(f"input[name={prefix}relationship][value=married]").check()
        for question in ("no_salaried_work", "not_national_of_mission_country", "lives_in_mission_country"):
            page.locator(f"input[name={prefix}{question}]").check()
        page.locator("#price").get_by_role("cell", name="Conjoint").first.wait_for()
        page.get_by_role("button", name="Continuer vers l'adhésion").click()
        # 2. the adhesion
        page.locator("input[name=phone]").fill("+1 212 555 0100")
        page.locator("textarea[name=address]").fill("12 Main Street, New York")
        page.locator("textarea[name=beneficiaries]").fill("Mon conjoint, à défaut mes héritiers")
        page.locator("input[name=start_date]").fill((date.today() + timedelta(days=3)).isoformat())
        page.locator("input[name=accept]").check()
        page.get_by_role("button", name="Confirmer et passer à la signature").click()
        # 3. the signature, with the code e-mailed meanwhile
        page.get_by_text("Nous vous avons envoyé un code par e-mail.").wait_for()
        page.locator("input[name=typed_name]").fill("Léa Martin")
        page.locator("input[name=code]").fill(latest_code(app, before))
        page.get_by_role("button", name="Signer", exact=True).click()
        # 4. the payment and its 3-D Secure challenge
        page.get_by_role("heading", name="Payer mon premier mois").wait_for()
        page.locator("#card-element input").first.wait_for()  # localstripe's Stripe.js drew its card field
        page.locator("#payment-method").evaluate("(input, id) => { input.value = id; }", method)
        page.locator("#card-pay").click()
        page.get_by_role("button", name="Complete authentication").click()  # localstripe's 3-D Secure dialog
        # 5. the certificate
        page.get_by_role("link", name=CERTIFICATE_LINK).wait_for()
        seconds = time.perf_counter() - t0
        pdf = page.request.get(server.url + page.get_by_role("link", name=CERTIFICATE_LINK).get_attribute("href"))
        if pdf.status != 200 or not pdf.body().startswith(b"%PDF"):
            raise BenchError(f"the certificate link answered {pdf.status}, not a PDF")
    except Exception as exc:
        if "Timeout" in type(exc).__name__:
            raise BenchError(f"round {n}: a page did not come ({exc}); screens so far: {screens}") from exc
        raise
    finally:
        context.close()
    check_active(app, volunteer_id)
    return {"screens": len(screens), "paths": screens, "seconds": seconds}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="walks, each a new volunteer and browser context (default 3)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    quick_option(p, rounds=1)
    args = apply_quick(p, p.parse_args(argv))
    if args.rounds < 1:
        p.error("--rounds must be positive")
    return args


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BenchError("Playwright is not installed (make install)") from exc
    if not Path(CHROMIUM).exists():
        raise BenchError("Chromium is not installed (apt-get install -y chromium)")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request of the walk
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-walk-"))
    stripe = LocalStripe(tmp / "localstripe.log")
    app = None
    try:
        info = machine()
        print(f"Volunteer walk benchmark — Python {info['python']}, {info['cpus']} CPUs (load average "
              f"{info['load_average']}), sqlite, headless Chromium at 390 x 844, {args.rounds} round(s)", flush=True)
        stripe.start()
        app = make_app(tmp, f"sqlite:///{tmp / 'bench.db'}", SERVER_NAME=None, STRIPE_API_BASE=stripe.url,
                       STRIPE_JS_URL=f"{stripe.url}/js.stripe.com/v3/", STRIPE_SECRET_KEY=SECRET_KEY,
                       STRIPE_PUBLISHABLE_KEY="pk_test_localstripe", STRIPE_MAX_NETWORK_RETRIES=0)
        setup(app)
        rounds = []
        with LiveServer(app) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                for n in range(1, args.rounds + 1):
                    result = walk(browser, app, server, stripe, n)
                    rounds.append(result)
                    print(f"round {n}: {result['screens']} screens in {result['seconds']:.2f} s: "
                          f"{' → '.join(result['paths'])}", flush=True)
            finally:
                browser.close()
        screens = [r["screens"] for r in rounds]
        seconds = [r["seconds"] for r in rounds]
        rows = [
            (f"screens from the link to the certificate (min / median / max of {len(rounds)})",
             spread(screens, "{:.0f}"), f"≤ {TARGETS['screens']}", verdict(max(screens) <= TARGETS["screens"])),
            (f"seconds from the link to the certificate (min / median / max of {len(rounds)})",
             spread(seconds, "{:.2f}"), f"< {TARGETS['seconds']:.0f} s", verdict(max(seconds) < TARGETS["seconds"])),
        ]
        print()
        print_figures(rows)
        if args.json:
            write_json(args.json, {"backend": "sqlite", "machine": info, "rounds": rounds, "targets": TARGETS})
        return 0
    finally:
        if app is not None:
            dispose(app)
        stripe.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run(main, "bench.funnel_walk")

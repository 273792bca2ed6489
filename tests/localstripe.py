"""A real localstripe server (a fake, stateful Stripe) on a free loopback port, for the payment tests: started
once per run in a subprocess (portal.payments.localstripe_server), its state wiped before each test.

It is a development dependency of the project, so it is always there after `make install`: when it cannot start
the tests fail (they never skip), with what it printed."""
from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from urllib.parse import urlencode

import pytest

from tests.smtp import free_port


class LocalStripe:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = None

    def start(self, timeout: float = 20.0) -> None:
        # its output goes to a file (a pipe nobody reads would stall it once full), shown if it fails to start
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen([sys.executable, "-m", "portal.payments.localstripe_server", str(self.port)],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                output = self.log.read().decode(errors="replace")
                pytest.fail(f"localstripe exited at start (status {self.process.returncode}):\n{output}",
                            pytrace=False)
            try:
                self.request("GET", "/js.stripe.com/v3/")
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"localstripe did not answer on {self.url} within {timeout:.0f} s", pytrace=False)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def request(self, method: str, path: str, data: bytes | None = None, headers: dict | None = None) -> bytes:
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.read()

    def wipe(self) -> None:
        self.request("DELETE", "/_config/data")

    def api(self, method: str, path: str, form: dict | None = None) -> dict:
        """A call of Stripe's API on the fake server, with the test secret key (what a test inspects)."""
        body = urlencode(form).encode() if form else None
        headers = {"Authorization": "Bearer sk_test_localstripe"}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return json.loads(self.request(method, path, body, headers))

    def payment_intents(self) -> list[dict]:
        return self.api("GET", "/v1/payment_intents?limit=100")["data"]

    def register_webhook(self, url: str, secret: str) -> None:
        self.request("POST", "/_config/webhooks/portal", urlencode({"url": url, "secret": secret}).encode(),
                     {"Content-Type": "application/x-www-form-urlencoded"})


def signature_header(payload: bytes, secret: str, at: int | None = None) -> str:
    """A Stripe-Signature header as Stripe (and localstripe) write it: t=<time>,v1=<HMAC-SHA256>."""
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def wait_for(condition, timeout: float = 10.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


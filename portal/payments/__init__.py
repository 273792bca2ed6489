"""Payments on the web: the Stripe adapter of the funnel's payment port (`stripe_gateway`), the app's gateway
(`gateway()`), Stripe's webhook (`views`), and the Content-Security-Policy a payment page needs for Stripe.js
(`allows_stripe_js`): only the pages that opt in load a script from Stripe's origin.

`localstripe_server` runs the fake Stripe server of the tests and of `make run`."""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import current_app, make_response

from funnel import payments as payments_port

from ..security.headers import CSP_DIRECTIVES, csp_header
from .stripe_gateway import StripeGateway


#: what moves on when the provider reports on a PaymentIntent (a subscription's first month): called with its id
#: by the webhook, registered by the areas that bill (`settles_payments`), so this package depends on none of them
_SETTLERS: list = []


def settles_payments(settler):
    _SETTLERS.append(settler)
    return settler


def settle(intent_id: str) -> None:
    for settler in _SETTLERS:
        settler(intent_id)


def gateway() -> StripeGateway:
    """The app's payment gateway, made once from its configuration."""
    app = current_app._get_current_object()
    found = app.extensions.get("payment_gateway")
    if found is None:
        cfg = app.config
        found = StripeGateway(cfg["STRIPE_SECRET_KEY"] or "", api_base=cfg["STRIPE_API_BASE"],
                              webhook_secret=cfg["STRIPE_WEBHOOK_SECRET"] or "",
                              max_network_retries=cfg["STRIPE_MAX_NETWORK_RETRIES"])
        app.extensions["payment_gateway"] = found
    return found


# the outbox worker's jobs (a refund when the cover ended earlier) reach the provider through the app's gateway
payments_port.provide_gateway(gateway)


def _origin(url: str) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def payment_page_csp(config) -> str:
    """The portal's policy, widened for Stripe.js: its script, the frames it draws card fields and 3-D Secure
    in, and the API it talks to (Stripe's, or the fake server's)."""
    js = _origin(config["STRIPE_JS_URL"])
    api = _origin(config["STRIPE_API_BASE"]) or "https://api.stripe.com"
    frames = [js] if config["STRIPE_API_BASE"] else [js, "https://hooks.stripe.com"]
    directives = dict(CSP_DIRECTIVES)
    directives["script-src"] = " ".join(dict.fromkeys(["'self'", js]))
    directives["frame-src"] = " ".join(dict.fromkeys(f for f in frames if f))
    directives["connect-src"] = " ".join(dict.fromkeys(["'self'", api, js]))
    return csp_header(directives)


def allows_stripe_js(view):
    """For a payment page only: its responses may load Stripe.js (every other page keeps the strict policy)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Content-Security-Policy"] = payment_page_csp(current_app.config)
        return response

    return wrapped

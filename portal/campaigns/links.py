"""The links a campaign e-mail carries, public and without sign-in, each authorised by its signed token alone:

- `/c/o/<token>`: the tracking pixel (a 1×1 GIF), counting an open;
- `/c/l/<token>`: a tracked link, counting a click, then redirecting to a target named in the token and built
  from our own routes (the volunteer's personal link): never to a URL taken from the request, so no open redirect;
- `/c/u/<token>`: unsubscribe. GET shows the choices (a link checker's visit changes nothing); POST unsubscribes
  in one click (RFC 8058: the mail client posts `List-Unsubscribe=One-Click`, with no CSRF token) or, with
  `choice=tracking`, keeps the e-mails without measuring them.

Nothing is counted for a volunteer who refused tracking or unsubscribed (funnel.campaigns)."""
from __future__ import annotations

import base64

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from core.db import utcnow
from funnel import campaigns

from ..edge import unit_of_work
from ..extensions import csrf, db, limiter
from ..mail import _recipient_locale
from ..security.access import public
from .mail import TARGETS, unsign

bp = Blueprint("campaign_links", __name__, url_prefix="/c")
csrf.exempt(bp)  # the signed token in the URL is the authority; a mail client's one-click POST carries no CSRF

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


def _send(purpose: str, token: str):
    payload = unsign(purpose, token)
    send = campaigns.find_send(db.session, payload.get("s", "")) if payload else None
    return payload, send


@bp.route("/o/<token>")
@public
def pixel(token: str):
    _payload, send = _send("open", token)
    if send is not None:
        with unit_of_work(show=lambda _exc: None):
            campaigns.record_open(db.session, send, now=utcnow())
    return Response(GIF, mimetype="image/gif", headers=NO_STORE)


@bp.route("/l/<token>")
@public
def click(token: str):
    payload, send = _send("click", token)
    if send is None or payload.get("k") not in TARGETS or not payload.get("t"):
        abort(404)
    with unit_of_work(show=lambda _exc: None):
        campaigns.record_click(db.session, send, now=utcnow())
    return _redirect(url_for("volunteer.open_link", token=payload["t"]))


def _redirect(url: str):
    response = redirect(url)
    response.headers.update(NO_STORE)
    return response


@bp.route("/u/<token>", methods=["GET", "POST"])
@public
@limiter.limit("30 per hour", methods=["POST"])
def unsubscribe(token: str):
    _payload, send = _send("unsubscribe", token)
    if send is None:
        abort(404)
    volunteer, done_what = send.volunteer, None
    if request.method == "POST":
        choice = request.form.get("choice", "unsubscribe")
        with unit_of_work(show=lambda _exc: None):
            if choice == "tracking":
                campaigns.refuse_tracking(db.session, volunteer, now=utcnow(), ip=request.remote_addr)
            else:
                campaigns.unsubscribe(db.session, volunteer, now=utcnow(), ip=request.remote_addr)
        done_what = "tracking" if choice == "tracking" else "unsubscribed"
    pref = campaigns.preference_of(db.session, volunteer)
    with _recipient_locale(send.language):
        html = render_template("campaigns/unsubscribe.html", done_what=done_what, preference=pref,
                               action=url_for("campaign_links.unsubscribe", token=token))
    return Response(html, headers=NO_STORE)

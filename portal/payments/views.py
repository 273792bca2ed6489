"""Stripe's webhook: `POST /funnel/stripe/webhook`. Public (Stripe signs it; no session, so no CSRF token): a
body whose signature does not verify answers 400 and writes nothing; an event already processed answers 200 and
changes nothing; payment_intent.succeeded / payment_failed move the payment they are about."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from funnel.payments import apply_webhook_event

from ..edge import api_unit_of_work
from ..extensions import csrf, db
from ..security.access import public
from . import gateway, settle

bp = Blueprint("payments", __name__)
csrf.exempt(bp)


@bp.route("/funnel/stripe/webhook", methods=["POST"])
@public
@api_unit_of_work
def stripe_webhook():
    payments = gateway()
    event = payments.parse_webhook(request.get_data(cache=False), request.headers.get("Stripe-Signature"))
    processed = apply_webhook_event(db.session, payments, event)
    if processed and event.intent is not None and event.intent.id:
        settle(event.intent.id)
    return jsonify({"received": True, "processed": processed})


"""Later months and unpaid premiums on the web side (funnel.collection, funnel.dunning): the scheduled run behind
`flask funnel collect run`, what the webhook moves on, the reminder e-mail as it leaves, and the volunteer's page
to pay what is due with a new card or SEPA mandate."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import click
from datetime import datetime

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from core.db import utcnow
from core.errors import DomainError
from funnel import collection, dunning, journey, payments
from funnel.collection_plan import PLAN, ended_on, suspended_from
from funnel.models import Subscription, SubscriptionState
from funnel.payment_models import Payment, PaymentState

from ..edge import command_unit_of_work, done, unit_of_work
from ..extensions import db, limiter
from ..mail import FOLDER_RENDERERS, render
from ..payments import allows_stripe_js, gateway, settles_payments
from ..security.access import volunteer_only
from .activation import issuer
from .forms import CardPaymentForm, SepaForm
from .views import bp


# --- the scheduled run ----------------------------------------------------------------------------------------

def _each(ids, work: Callable[[int], str | None], counts: Counter) -> None:
    """Run `work` for each id as its own unit of work: one the provider could not take (unreachable) is rolled
    back and left for the next run, the others go on."""
    for item in ids:
        try:
            with command_unit_of_work():
                outcome = work(item)
        except click.ClickException as exc:
            outcome = "unavailable" if isinstance(exc.__cause__, payments.PaymentUnavailable) else "refused"
        counts[outcome] += 1


def run_collection(now: datetime, progress: Callable[[str], None] = lambda _line: None) -> str:
    """Debits still processing asked about, months due charged, recovery steps done (see the command)."""
    gw, today = gateway(), now.date()
    checked = [p.id for p in collection.processing(db.session)]
    db.session.rollback()
    refreshed = Counter()

    def refresh(payment_id: int) -> str:
        payment = payments.refresh_payment(db.session, gw, db.session.get(Payment, payment_id))
        collection.payment_reported(db.session, payment, issuer, today=today, now=now)
        return payment.state.value

    _each(checked, refresh, refreshed)
    items = collection.due(db.session, today=today)
    db.session.rollback()
    months = Counter()
    for start in range(0, len(items), 50):
        _each(items[start:start + 50], lambda item: collection.collect(db.session, gw, item, issuer, today=today,
                                                                       now=now), months)
        progress(f"{min(start + 50, len(items))}/{len(items)} months due")
    cases = dunning.open_cases(db.session)
    db.session.rollback()
    steps = Counter()

    def advance(case_id: int) -> str:
        case = db.session.get(dunning.DunningCase, case_id)
        done_now = dunning.advance(db.session, gw, case, issuer, today=today, now=now)
        steps["steps"] += len(done_now)
        return "advanced" if done_now else "waiting"

    _each(cases, advance, steps)
    return (f"{len(items)} months due: {months['succeeded']} paid, {months['processing']} processing, "
            f"{months['failed']} failed, {months['deferred']} recorded as due (in recovery), "
            f"{months['taken']} already done by another run, {months['unavailable']} left for the next run "
            f"(payment service unreachable); {len(checked)} debits checked ({refreshed['succeeded']} paid, "
            f"{refreshed['failed']} failed); {steps['steps']} recovery steps done on {len(cases)} open cases")


@settles_payments
def settle_collected(intent_id: str) -> None:
    """The webhook reported on a PaymentIntent: a month collected, or a first month returned after the cover
    started, moves on."""
    payment = db.session.scalar(select(Payment).where(Payment.provider_intent_id == intent_id))
    if payment is not None:
        now = utcnow()
        collection.payment_reported(db.session, payment, issuer, today=now.date(), now=now)


# --- the reminder, as it leaves ---------------------------------------------------------------------------------

def render_reminder(session, template: str, locale: str, context: dict):
    subscription = session.scalar(select(Subscription).where(Subscription.public_id == context["subscription"]))
    values = {"subscription": subscription, "volunteer": subscription.volunteer,
              # the amount is formatted by the template, in the recipient's language (not the worker's)
              "amount_due_minor": context["amount_due_minor"], "currency": context["currency"],
              "url": url_for("volunteer.open_link", token=context["link_token"], _external=True),
              "suspended_from": datetime.fromisoformat(context["suspended_from"]).date(),
              "ended_on": datetime.fromisoformat(context["ended_on"]).date(),
              "last_notice": context.get("last_notice", False)}
    return render(template, locale, values)


FOLDER_RENDERERS["dunning"] = render_reminder


# --- the volunteer pays what is due -------------------------------------------------------------------------------

def _in_recovery():
    subscription = journey.signed_subscription(db.session, g.volunteer)
    if subscription is None or subscription.state not in dunning.UPDATABLE:
        return None
    return subscription


def due_facts(subscription) -> dict:
    """What the area and the payment page say about what is due."""
    case = collection.open_case_of(db.session, subscription)
    return {"amount_due": collection.amount_due(db.session, subscription), "unpaid": collection.unpaid(
        db.session, subscription), "case": case,
        "suspended_from": suspended_from(case.opened_on, PLAN) if case else None,
        "ended_on": ended_on(case.opened_on, PLAN) if case else None}


def _page(subscription, card_form=None, sepa_form=None, status=200):
    holder = subscription.holder or {}
    sepa_form = sepa_form or SepaForm(formdata=None, data={
        "holder_name": f"{holder.get('first_name', '')} {holder.get('last_name', '')}".strip()})
    rows = collection.months_of(db.session, subscription)
    failure = next((payments.failure_message(r.payment) for r in reversed(rows) if r.payment is not None
                    and r.payment.state is PaymentState.failed), None)
    return render_template("volunteer/payment_method.html", subscription=subscription, rows=rows,
                           card_form=card_form or CardPaymentForm(), sepa_form=sepa_form,
                           failure=_(failure) if failure else None, stripe_js=current_app.config["STRIPE_JS_URL"],
                           publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"],
                           **due_facts(subscription)), status


def _back_to_area(subscription):
    if subscription.state is SubscriptionState.active:
        return done(_("Thank you: everything due is paid and your cover is active again."),
                    url_for("volunteer.home"))
    if collection.amount_due(db.session, subscription) == 0:
        return done(_("Thank you: your payment is being processed by your bank. Your cover will be active again "
                      "as soon as it is confirmed."), url_for("volunteer.home"), "info")
    return redirect(url_for("volunteer.payment_method"))


@bp.route("/my-cover/payment-method")
@volunteer_only
@allows_stripe_js
def payment_method():
    subscription = _in_recovery()
    if subscription is None:
        return redirect(url_for("volunteer.home"))
    return _page(subscription)


@bp.route("/my-cover/payment-method/card", methods=["POST"])
@volunteer_only
@allows_stripe_js
@limiter.limit("30 per hour")
def payment_method_card():
    subscription = _in_recovery()
    if subscription is None:
        return redirect(url_for("volunteer.home"))
    form = CardPaymentForm()
    if not form.validate_on_submit():
        return _page(subscription, card_form=form, status=422)
    secret = None
    now = utcnow()
    with unit_of_work(form) as work:
        _payment, secret = dunning.pay_due_by_card(db.session, gateway(), subscription, issuer,
                                                   payment_method_id=form.payment_method.data, today=now.date(),
                                                   now=now)
    if not work.ok:
        return _page(subscription, card_form=form, status=503 if work.error.status >= 500 else 422)
    if secret:
        return render_template("volunteer/authenticate.html", client_secret=secret,
                               return_url=url_for("volunteer.payment_method_return"),
                               stripe_js=current_app.config["STRIPE_JS_URL"],
                               publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"])
    return _back_to_area(subscription)


@bp.route("/my-cover/payment-method/return")
@volunteer_only
def payment_method_return():
    """Back from the bank's challenge: the provider says how it ended (never the browser)."""
    subscription = _in_recovery()
    if subscription is None:
        return redirect(url_for("volunteer.home"))
    row = dunning.card_in_progress(db.session, subscription)
    if row is not None:
        now = utcnow()
        with unit_of_work():
            dunning.finish_card(db.session, gateway(), subscription, row, issuer, today=now.date(), now=now)
    return _back_to_area(subscription)


@bp.route("/my-cover/payment-method/sepa", methods=["POST"])
@volunteer_only
@allows_stripe_js
@limiter.limit("30 per hour")
def payment_method_sepa():
    subscription = _in_recovery()
    if subscription is None:
        return redirect(url_for("volunteer.home"))
    form = SepaForm()
    if form.validate_on_submit():
        now = utcnow()
        with unit_of_work(form) as work:
            dunning.pay_due_by_sepa(db.session, gateway(), subscription, issuer, iban=form.iban.data,
                                    holder_name=form.holder_name.data.strip(), ip=request.remote_addr,
                                    user_agent=request.user_agent.string, today=now.date(), now=now)
        if work.ok:
            return _back_to_area(subscription)
        if isinstance(work.error, DomainError) and work.error.status >= 500:
            return _page(subscription, sepa_form=form, status=503)
    return _page(subscription, sepa_form=form, status=422)

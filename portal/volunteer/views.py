"""The volunteer's area: the personal link signs them in; then the quote, the adhesion and the e-signature.

Every page is `@volunteer_only` and reads the volunteer from the link session (`g.volunteer`): there is no id of
anyone in these URLs, so a volunteer can only ever reach their own records.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import (Blueprint, Response, current_app, flash, g, jsonify, redirect, render_template, request, session,
                   url_for)
from flask_babel import get_locale
from flask_babel import gettext as _

from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from core.accounts import LANGUAGES
from core.i18n import N_
from core.outbox import attachment_provider
from funnel import activation, additions, collection, dunning, journey, withdrawal
from funnel.catalogue import FORMULA_LABELS, Cover, Guarantee, PersonCategory
from funnel.errors import FunnelError, NoVersionInForce
from funnel.models import Subscription, SubscriptionState
from funnel.payment_models import PaymentState
from funnel.payments import failure_message
from funnel.rules import start_window
from funnel.tariffs import tariff_in_force

from ..agreements.services import seal_config
from ..edge import done, unit_of_work
from ..extensions import db, limiter
from ..i18n import money, tr
from ..mail import queue_mail
from ..payments import allows_stripe_js, gateway
from ..security.access import public, volunteer_only
from . import session as link_session
from . import activation as web_activation
from .forms import (AdhesionForm, CardPaymentForm, CodeForm, SepaForm, SignForm, WithdrawForm, dependant_answers,
                    quote_form)

bp = Blueprint("volunteer", __name__)

SIGNED_STATES = (SubscriptionState.signed, SubscriptionState.payment_pending, SubscriptionState.active,
                 *dunning.OVERDUE_STATES)


def _today() -> date:
    from core.db import utcnow

    return utcnow().date()


def _broker() -> str:
    return current_app.config["BROKER_NAME"]


def _language() -> str:
    return str(get_locale())


@bp.route("/v/<token>")
@public
@limiter.limit("30 per hour")
def open_link(token: str):
    """The personal link: signs the volunteer in to their own area, in their language."""
    with unit_of_work(show=lambda _exc: None) as work:
        link = journey.open_link(db.session, token)
        language, link_id = link.volunteer.language, link.public_id
    if not work.ok:
        return render_template("error.html", status=404, message=tr(journey.LinkInvalid.message)), 404
    link_session.sign_in(link_id)
    if language in LANGUAGES:
        session["locale"] = language
    return redirect(url_for(_landing()))


def _landing() -> str:
    """Where the personal link lands: the quote while nothing is under way (one screen fewer on a phone), else
    the area, which says where the volunteer stands (adhesion to sign, cover, certificate, withdrawal)."""
    volunteer = link_session.current_volunteer()
    if volunteer is None:
        return "volunteer.home"
    started = journey.signed_subscription(db.session, volunteer) or withdrawal.withdrawn_subscription(
        db.session, volunteer)
    open_one = journey.open_subscription(db.session, volunteer)
    if started is not None and started.state in dunning.UPDATABLE:
        return "volunteer.payment_method"  # a reminder's link: straight to paying what is due
    if started is not None or (open_one is not None and open_one.state is not SubscriptionState.quoted):
        return "volunteer.home"
    return "volunteer.quote"


@bp.route("/my-cover/sign-out", methods=["POST"])
@volunteer_only
def sign_out():
    link_session.sign_out()
    return redirect(url_for("home.index"))


def _subscription():
    return journey.signed_subscription(db.session, g.volunteer) or journey.open_subscription(db.session, g.volunteer)


@bp.route("/my-cover/")
@volunteer_only
def home():
    subscription = _subscription() or withdrawal.withdrawn_subscription(db.session, g.volunteer)
    signed = subscription is not None and subscription.state in SIGNED_STATES
    last_day = journey.withdrawal_ends_on(subscription) if signed else None
    return render_template("volunteer/home.html", volunteer=g.volunteer, subscription=subscription, signed=signed,
                           withdrawal_ends_on=last_day, formula_labels=FORMULA_LABELS, cover_of=Cover,
                           person_of=PersonCategory,
                           may_withdraw=signed and subscription.state in withdrawal.WITHDRAWABLE
                           and (last_day is None or _today() <= last_day),
                           amount_due=collection.amount_due(db.session, subscription)
                           if signed and subscription.state in dunning.OVERDUE_STATES else 0,
                           may_pay_due=signed and subscription.state in dunning.UPDATABLE,
                           status_since=dunning.status_since(db.session, subscription) if signed else None,
                           may_add=signed and _may_add(subscription),
                           payments=activation.payments_of(db.session, subscription) if subscription else [])


def _may_add(subscription) -> bool:
    try:
        additions.check_amendable(subscription, today=_today())
    except FunnelError:
        return False
    return True


# --- the quote ----------------------------------------------------------------------------------------------------

def _offer(start: date):
    """{cover: tariff in force} for every cover on sale on `start`."""
    offer = {}
    for cover in Cover:
        try:
            offer[cover] = tariff_in_force(db.session, cover, start)
        except NoVersionInForce:
            continue
    return offer


@bp.route("/my-cover/quote", methods=["GET", "POST"])
@volunteer_only
def quote():
    volunteer = g.volunteer
    if journey.signed_subscription(db.session, volunteer) is not None:
        return redirect(url_for("volunteer.home"))
    try:
        earliest, _latest = start_window(_today(), volunteer.mission_start, volunteer.mission_end)
    except FunnelError as exc:
        return render_template("error.html", status=422, message=tr(exc.message, **exc.params)), 422
    offer = _offer(earliest)
    formulas = {cover: [SelectChoice(f.code, tr(f.label)) for f in tariff.grid.formulas] for cover, tariff in offer.items()}
    dependants = volunteer.current_dependants
    subscription = journey.open_subscription(db.session, volunteer)
    form = quote_form(dependants, formulas, **_quote_defaults(subscription, formulas))
    shown, status = None, 200
    if request.method == "GET":
        shown = subscription.quote if subscription is not None else _default_price(volunteer, form)
    elif form.validate_on_submit():
        chosen = []
        for dependant in dependants:
            covered, relationship, answers = dependant_answers(form, dependant)
            if covered:
                chosen.append(journey.DependantChoice(dependant, relationship, answers))
        if request.form.get("action") == "price":  # "update my price" (or the page's script): priced, not kept
            with unit_of_work(form) as work:
                shown = journey.price(db.session, volunteer, form.choices_chosen(), chosen,
                                      today=_today()).as_record()
        else:
            with unit_of_work(form) as work:
                journey.save_quote(db.session, volunteer, form.choices_chosen(), chosen, today=_today(),
                                   language=_language())
            if work.ok:
                return redirect(url_for("volunteer.adhesion"))
        status = 200 if work.ok else 422
    else:
        status = 422
    return render_template("volunteer/quote.html", form=form, volunteer=volunteer, offer=offer,
                           dependants=dependants, shown=shown, earliest=earliest,
                           field_of=journey.dependant_field, cover_enum=Cover, category_enum=PersonCategory,
                           guarantee_enum=Guarantee, formula_label=lambda code: tr(FORMULA_LABELS[code])), status


def _default_price(volunteer, form) -> dict | None:
    """The price of the choice the page opens with (the volunteer alone, the formula offered by default), so
    that the first screen already shows what the cover costs. Nothing is kept until the volunteer goes on."""
    try:
        return journey.price(db.session, volunteer, form.choices_chosen(), [], today=_today()).as_record()
    except FunnelError:
        return None


def _quote_defaults(subscription, formulas) -> dict:
    """The form as the volunteer left it (or the health top-up's middle formula, offered by default)."""
    if request.method == "POST":
        return {}
    if subscription is None:
        health = formulas.get(Cover.health, [])
        return {"health": bool(health), "health_formula": health[len(health) // 2].value if health else None}
    values = {}
    for cover, formula in subscription.choices.items():
        values[cover] = True
        values[f"{cover}_formula"] = formula
    for person in subscription.persons[1:]:
        prefix = f"d_{person['ref']}_"
        values[f"{prefix}covered"] = True
        values[f"{prefix}relationship"] = person["relationship"]
        values.update({f"{prefix}{k}": v for k, v in person["confirmations"].items()})
    return values


# --- the adhesion -------------------------------------------------------------------------------------------------

def _open_or_back():
    subscription = journey.open_subscription(db.session, g.volunteer)
    if subscription is None:
        signed = journey.signed_subscription(db.session, g.volunteer)
        return None, redirect(url_for("volunteer.home" if signed else "volunteer.quote"))
    return subscription, None


@bp.route("/my-cover/adhesion", methods=["GET", "POST"])
@volunteer_only
def adhesion():
    subscription, away = _open_or_back()
    if away:
        return away
    volunteer = g.volunteer
    holder = subscription.holder or {}
    form = AdhesionForm(data=None if request.method == "POST" else {
        "first_name": holder.get("first_name", volunteer.first_name),
        "last_name": holder.get("last_name", volunteer.last_name),
        "email": holder.get("email", volunteer.email), "phone": holder.get("phone", ""),
        "address": holder.get("address", ""), "beneficiaries": subscription.beneficiaries or "",
        "start_date": subscription.start_on if subscription.start_on > _today() else _today() + timedelta(days=1)})
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            journey.start_adhesion(
                db.session, subscription,
                holder=journey.Holder(form.first_name.data.strip(), form.last_name.data.strip(),
                                      form.email.data.strip(), form.phone.data.strip(), form.address.data.strip()),
                beneficiaries=form.beneficiaries.data, start_on=form.start_date.data, accepted=form.accept.data,
                today=_today(), translate=link_session.translator(subscription.language), broker_name=_broker())
            message = queue_mail("adhesion_terms", to=subscription.holder["email"], locale=subscription.language,
                                 volunteer=volunteer, subscription=subscription,
                                 attachment_ref=f"adhesion-terms:{subscription.public_id}",
                                 link=url_for("volunteer.home", _external=True))
            journey.terms_sent(db.session, subscription, message)
            _email_code(subscription)  # the code arrives with the sign page: no "send me a code" step
        if work.ok:
            flash(_("Your adhesion is ready to sign. We e-mailed you the contract terms and a model withdrawal "
                    "letter."), "success")
            return done(_code_sent(), url_for("volunteer.sign"))
    status = 422 if request.method == "POST" else 200
    return render_template("volunteer/adhesion.html", form=form, subscription=subscription,
                           prevoyance=Cover.prevoyance.value in subscription.choices), status


@attachment_provider("adhesion-terms")
def terms_attachment(db_session, public_id: str) -> tuple[str, str, bytes]:
    """The e-mail's attachment (rendered when the worker sends it): the terms in the subscription's language."""
    subscription = db_session.scalars(select(Subscription).where(Subscription.public_id == public_id)).one()
    pdf = journey.render_terms(subscription, link_session.translator(subscription.language), _broker())
    return f"{subscription.reference}-terms.pdf", "application/pdf", pdf


@bp.route("/my-cover/terms.pdf")
@volunteer_only
def terms_pdf():
    subscription = _subscription()
    if subscription is None:
        return redirect(url_for("volunteer.quote"))
    pdf = journey.render_terms(subscription, link_session.translator(subscription.language), _broker())
    return _pdf(pdf, f"{subscription.reference}-terms.pdf")


@bp.route("/my-cover/adhesion.pdf")
@volunteer_only
def adhesion_pdf():
    subscription = _subscription()
    pdf = subscription and (subscription.sealed_pdf or subscription.document_pdf)
    if not pdf:
        return redirect(url_for("volunteer.home"))
    return _pdf(pdf, f"{subscription.reference}.pdf")


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


# --- the e-signature ----------------------------------------------------------------------------------------------

def _signable():
    subscription, away = _open_or_back()
    if away:
        return None, away
    if subscription.state is not SubscriptionState.adhesion_started:
        return None, redirect(url_for("volunteer.adhesion"))
    return subscription, None


@bp.route("/my-cover/sign/code", methods=["POST"])
@volunteer_only
@limiter.limit("10 per hour")
def send_code():
    subscription, away = _signable()
    if away:
        return away
    if CodeForm().validate_on_submit():
        with unit_of_work(success=_code_sent()):
            _email_code(subscription)
    return redirect(url_for("volunteer.sign"))


def _code_sent() -> str:
    return _("We e-mailed you a code. It is valid for %(minutes)s minutes.", minutes=journey.CODE_MINUTES)


def _email_code(subscription) -> None:
    """A new one-time code (the earlier ones stop working), e-mailed to the address on the adhesion."""
    code = journey.send_signature_code(db.session, subscription)
    queue_mail("adhesion_code", to=subscription.holder["email"], locale=subscription.language,
               subscription=subscription, code=code, minutes=journey.CODE_MINUTES)


@bp.route("/my-cover/sign", methods=["GET", "POST"])
@volunteer_only
def sign():
    subscription, away = _signable()
    if away:
        signed = journey.signed_subscription(db.session, g.volunteer)
        if signed is not None and request.method == "POST":
            flash(tr(journey.AlreadySigned.message), "info")
        return away
    form = SignForm()
    if request.method == "GET":
        form.document_sha256.data = subscription.document_sha256
    elif form.validate_on_submit():
        subscription_id = subscription.id

        def count_attempt(exc):
            if isinstance(exc, journey.CodeRefused):
                journey.count_failed_attempt(db.session, db.session.get(type(subscription), subscription_id))

        with unit_of_work(form, keep=count_attempt) as work:
            journey.sign_adhesion(
                db.session, subscription,
                journey.Evidence(typed_name=form.typed_name.data, code=form.code.data,
                                 shown_sha256=form.document_sha256.data, ip=request.remote_addr or "",
                                 user_agent=request.user_agent.string),
                translate=link_session.translator(subscription.language), broker_name=_broker(),
                seal_config=seal_config())
        if work.ok:
            return done(_("Thank you: your adhesion is signed. Your signed copy is in your area."),
                        url_for("volunteer.pay"))
        if isinstance(work.error, journey.AlreadySigned):
            return redirect(url_for("volunteer.home"))
    status = 422 if request.method == "POST" else 200
    return render_template("volunteer/sign.html", form=form, code_form=CodeForm(), subscription=subscription), \
        status


# --- the payment and the certificate ------------------------------------------------------------------------------

def _payable():
    """The signed subscription awaiting its payment, or where to go instead."""
    subscription = journey.signed_subscription(db.session, g.volunteer)
    if subscription is None:
        return None, redirect(url_for("volunteer.quote"))
    if subscription.state not in activation.PAYABLE_STATES:
        return None, redirect(url_for("volunteer.home"))
    return subscription, None


UNFINISHED_CHALLENGE = N_("Your bank's confirmation (3-D Secure) was not finished, so nothing was charged yet. Pay "
                          "again to finish it.")


def _pay_page(subscription, card_form=None, sepa_form=None, status=200):
    payment = subscription.first_payment
    failure = failure_message(payment) if payment is not None else None
    if payment is not None and payment.state is PaymentState.requires_action:
        failure = UNFINISHED_CHALLENGE
    holder = subscription.holder or {}
    sepa_form = sepa_form or SepaForm(formdata=None, data={
        "holder_name": f"{holder.get('first_name', '')} {holder.get('last_name', '')}".strip()})
    return render_template("volunteer/pay.html", subscription=subscription, card_form=card_form or CardPaymentForm(),
                           sepa_form=sepa_form, failure=tr(failure) if failure else None,
                           stripe_js=current_app.config["STRIPE_JS_URL"],
                           publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"]), status


@bp.route("/my-cover/pay")
@volunteer_only
@allows_stripe_js
def pay():
    subscription, away = _payable()
    if away:
        return away
    return _pay_page(subscription)


@bp.route("/my-cover/pay/card", methods=["POST"])
@volunteer_only
@allows_stripe_js
@limiter.limit("30 per hour")
def pay_by_card():
    subscription, away = _payable()
    if away:
        return away
    form = CardPaymentForm()
    in_page = _wants_json()
    if not form.validate_on_submit():
        if in_page:
            return _refusal(form, 422)
        return _pay_page(subscription, card_form=form, status=422)
    secret = None
    with unit_of_work(form) as work:
        # one key per subscription, month and attempt: a double click finds the payment the first click made
        payment, secret = activation.pay_first_month_by_card(
            db.session, gateway(), subscription, payment_method_id=form.payment_method.data,
            idempotency_key=activation.card_idempotency_key(db.session, subscription))
        web_activation.settle_and_notify(subscription)
        state = payment.state
    if not work.ok:
        status = 422 if work.error.status < 500 else 503
        return _refusal(form, status) if in_page else _pay_page(subscription, card_form=form, status=status)
    if in_page:
        # the pay page's script runs the bank's challenge (3-D Secure) in place with the client secret, then goes
        # where this says: the portal asks the provider how it ended (pay_return), never the browser
        if secret:
            return jsonify(client_secret=secret, next=url_for("volunteer.pay_return"))
        return jsonify(client_secret=None, next=_next_after_payment(subscription, state))
    if secret:  # without the page's script: a page of its own runs the challenge
        return render_template("volunteer/authenticate.html", client_secret=secret,
                               stripe_js=current_app.config["STRIPE_JS_URL"],
                               publishable_key=current_app.config["STRIPE_PUBLISHABLE_KEY"])
    return _after_payment(subscription, state)


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _refusal(form, status: int):
    """The pay page's script shows this next to the card field."""
    messages = dict.fromkeys(str(message) for errors in form.errors.values() for message in errors)
    return jsonify(error=" ".join(messages)), status


def _after_payment(subscription, state):
    return redirect(_next_after_payment(subscription, state))


def _next_after_payment(subscription, state) -> str:
    """Where the volunteer goes once the payment is made or refused (with what the next page says)."""
    if subscription.state is SubscriptionState.active:
        flash(_("Thank you: your cover is active. Your insurance certificate is below, and we e-mailed it to you."),
              "success")
        return url_for("volunteer.home")
    if state in (PaymentState.failed, PaymentState.requires_action):
        return url_for("volunteer.pay")  # the page says why, and offers to try again
    flash(_("Your payment is being processed: this page will show your certificate as soon as it is confirmed."),
          "info")
    return url_for("volunteer.home")


@bp.route("/my-cover/pay/return")
@volunteer_only
def pay_return():
    """Back from the bank's 3-D Secure challenge: the portal asks the provider how it ended (never the browser)."""
    subscription = journey.signed_subscription(db.session, g.volunteer)
    if subscription is None:
        return redirect(url_for("volunteer.quote"))
    state = None
    with unit_of_work() as work:
        web_activation.settle_and_notify(subscription, gateway())
        state = subscription.first_payment.state if subscription.first_payment else None
    if not work.ok:
        return redirect(url_for("volunteer.pay"))
    return _after_payment(subscription, state)


@bp.route("/my-cover/pay/sepa", methods=["POST"])
@volunteer_only
@allows_stripe_js
@limiter.limit("30 per hour")
def pay_by_sepa():
    subscription, away = _payable()
    if away:
        return away
    form = SepaForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            method = activation.accept_sepa_mandate(
                db.session, gateway(), subscription, iban=form.iban.data, holder_name=form.holder_name.data.strip(),
                ip=request.remote_addr, user_agent=request.user_agent.string)
            web_activation.settle_and_notify(subscription)
            reference = method.mandate_reference or ""
        if work.ok:
            if subscription.state is SubscriptionState.active:
                return done(_("Thank you: your SEPA mandate %(reference)s is accepted and your cover is active. Your "
                              "insurance certificate is below, and we e-mailed it to you.", reference=reference),
                            url_for("volunteer.home"))
            return done(_("Your SEPA mandate is being confirmed by your bank."), url_for("volunteer.home"), "info")
    return _pay_page(subscription, sepa_form=form, status=422)


@bp.route("/my-cover/certificate.pdf")
@volunteer_only
def certificate_pdf():
    subscription = journey.signed_subscription(db.session, g.volunteer)
    if subscription is None or not subscription.certificate_pdf:
        return redirect(url_for("volunteer.home"))
    return _pdf(subscription.certificate_pdf, f"{subscription.reference}-certificate.pdf")


# --- the withdrawal within 14 days --------------------------------------------------------------------------------

@bp.route("/my-cover/withdraw", methods=["GET", "POST"])
@volunteer_only
@limiter.limit("30 per hour", methods=["POST"])
def withdraw():
    """The confirmation page spelling out what a withdrawal does, then the withdrawal itself."""
    subscription = journey.signed_subscription(db.session, g.volunteer)
    if subscription is None:
        return redirect(url_for("volunteer.home"))  # nothing signed, or already withdrawn (a double submit)
    today, form = _today(), WithdrawForm()
    try:
        withdrawal.check_open(subscription, today=today)
    except FunnelError as exc:
        flash(tr(exc.message, **exc.params), "error")
        return redirect(url_for("volunteer.home"))
    if form.validate_on_submit():
        from core.db import utcnow

        with unit_of_work(form) as work:
            result = withdrawal.withdraw(db.session, gateway(), subscription, today=today, now=utcnow(),
                                         reason=(form.reason.data or "").strip() or None)
            refunded = result.refunded_minor
        if work.ok:
            message = _("Your adhesion is withdrawn and your cover has ended.")
            if refunded and _by_transfer(subscription):
                message += " " + _("We will refund %(amount)s by bank transfer: our team will contact you for your "
                                   "bank details.", amount=money(refunded, subscription.currency))
            elif refunded:
                message += " " + _("We are refunding %(amount)s to the card or account you paid with.",
                                   amount=money(refunded, subscription.currency))
            return done(message, url_for("volunteer.home"))
    return render_template("volunteer/withdraw.html", form=form, subscription=subscription,
                           withdrawal_ends_on=journey.withdrawal_ends_on(subscription),
                           refund=withdrawal.refund_preview(db.session, subscription, today=today),
                           last_covered=today - timedelta(days=1), started=today > subscription.start_on,
                           by_transfer=_by_transfer(subscription)), \
        422 if request.method == "POST" else 200


def _by_transfer(subscription) -> bool:
    """Paid by cheque: a refund is paid back by transfer, by hand (funnel.payments.refund_payment)."""
    payment = subscription.first_payment
    return payment is not None and payment.provider_intent_id is None and payment.is_paid

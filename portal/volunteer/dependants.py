"""Adding someone to the volunteer's health top-up once it is in force (funnel.additions): the form, the price
(per month, and now pro rata), then the charge on the saved card or mandate and the new certificate."""
from __future__ import annotations

from datetime import timedelta

from flask import g, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from core.db import utcnow
from core.errors import DomainError
from funnel import additions, journey
from funnel.addition_models import DependantAddition
from funnel.catalogue import PersonCategory
from funnel.eligibility import Confirmation, Relationship
from funnel.payment_models import Payment

from ..edge import done, unit_of_work
from ..extensions import db, limiter
from ..forms import apply_domain_errors
from ..i18n import format_day, money, tr
from ..mail import queue_mail
from ..payments import gateway, settles_payments
from ..security.access import volunteer_only
from . import activation as web_activation
from .forms import NEW_PERSON, add_dependant_form
from .views import bp

CHILD = (Confirmation.unmarried, Confirmation.tax_dependent)
COHABITING = (Confirmation.lived_together_3_months, Confirmation.fully_dependent, Confirmation.proof_of_cohabitation)
EVERYONE = (Confirmation.no_salaried_work, Confirmation.not_national_of_mission_country,
            Confirmation.lives_in_mission_country)


def _not_covered(subscription) -> list:
    covered = {p["ref"] for p in subscription.persons}
    return [d for d in subscription.volunteer.current_dependants if d.public_id not in covered]


def _describe(dependant) -> SelectChoice:
    name = " ".join(filter(None, (dependant.first_name, dependant.last_name)))
    label = _("%(who)s, born on %(day)s", who=name or tr(dependant.category.label), day=format_day(dependant.birth_date))
    return SelectChoice(dependant.public_id, label)


def _declaration(form, declared: dict) -> additions.Declaration:
    dependant = declared.get(form.who.data)
    category = dependant.category if dependant is not None else PersonCategory(form.category.data)
    relationship = form.relationship.data if category is PersonCategory.spouse else None
    return additions.Declaration(
        category=category, birth_date=dependant.birth_date if dependant is not None else form.birth_date.data,
        event_date=form.event_date.data, first_name=(form.first_name.data or "").strip(),
        last_name=(form.last_name.data or "").strip(),
        relationship=Relationship(relationship) if relationship in Relationship._value2member_map_ else None,
        answers={c: bool(form[c.value].data) for c in Confirmation}, dependant=dependant)


@bp.route("/my-cover/add-someone", methods=["GET", "POST"])
@volunteer_only
@limiter.limit("30 per hour", methods=["POST"])
def add_dependant():
    """Step 1 shows the price of adding this person (nothing is written); step 2 ("add and pay") charges it and
    covers them. The price the volunteer saw is sent back: if it changed meanwhile, it is shown again."""
    subscription = journey.signed_subscription(db.session, g.volunteer)
    today = utcnow().date()
    try:
        if subscription is None:
            raise additions.NotAmendable()
        additions.check_amendable(subscription, today=today)
    except DomainError as exc:
        return done(tr(exc.message, **exc.params), url_for("volunteer.home"), "error")
    candidates = _not_covered(subscription)
    declared = {d.public_id: d for d in candidates}
    form = add_dependant_form([_describe(d) for d in candidates],
                              data=None if request.method == "POST" else {"who": NEW_PERSON})
    quote = None
    if form.validate_on_submit():
        declaration = _declaration(form, declared)
        try:
            quote = additions.quote_addition(db.session, subscription, declaration, today=today)
        except DomainError as exc:
            db.session.rollback()
            apply_domain_errors(form, exc)
        if quote is not None and "confirm" in request.form and form.quoted.data == str(quote.charged_minor):
            result = None
            with unit_of_work(form) as work:
                result = additions.add_dependant(db.session, gateway(), subscription, declaration,
                                                 web_activation.issuer(subscription), today=today)
                if result.addition is not None and result.done_now:
                    _send_certificate(subscription, result.addition)
            if work.ok and result.addition is not None:
                return done(_("%(amount)s a month is added to your premium from now on, and your new insurance "
                              "certificate names them. We e-mailed it to you.",
                              amount=money(result.addition.monthly_minor, subscription.currency)),
                            url_for("volunteer.home"))
            if work.ok:
                form.form_errors.append(tr(result.failure))
        elif quote is not None and "confirm" in request.form:
            form.form_errors.append(_("The price changed since you saw it: check it, then confirm again."))
        if quote is not None:
            form.quoted.data = str(quote.charged_minor)
    status = 422 if request.method == "POST" and (form.errors or form.form_errors) else 200
    return render_template("volunteer/add_dependant.html", form=form, subscription=subscription, quote=quote,
                           child=CHILD, cohabiting=COHABITING, everyone=EVERYONE, one_day=timedelta(days=1)), status


def _send_certificate(subscription, addition: DependantAddition) -> None:
    language = web_activation.certificate_language(subscription)
    addition.message = queue_mail("dependant_added", to=(subscription.holder or {}).get("email",
                                                                                          subscription.volunteer.email),
                                  locale=language, volunteer=subscription.volunteer, subscription=subscription,
                                  addition=addition, attachment_ref=f"certificate:{subscription.public_id}")
    db.session.flush()


@settles_payments
def settle_addition_payment(intent_id: str) -> None:
    """The webhook reported on a dependant's charge (a SEPA debit collected days later): its commission is posted."""
    addition = db.session.scalar(select(DependantAddition).join(Payment, DependantAddition.payment_id == Payment.id)
                                 .where(Payment.provider_intent_id == intent_id))
    if addition is not None:
        additions.settle_addition(db.session, addition, web_activation.issuer(addition.subscription),
                                  today=utcnow().date())


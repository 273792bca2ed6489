"""The case page's part of the broker's own disclosure: the demands and needs statement (recorded by the account
manager before the offer) and the disclosure document's production and delivery. The routes are in
portal.cases.views; the settings, the PDFs and the client's acknowledgement in portal.broker_disclosure."""
from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.accounts import LANGUAGES, Role
from pipeline import broker_disclosure as documents
from pipeline.broker_disclosure import DeliveryMethod, RemunerationNature, RemunerationPayer
from pipeline.cases import needs
from pipeline.cases.models import Case

from ..extensions import db
from ..forms import EnumSelectField, country_choices, language_choices
from ..mail import queue_mail
from .forms import to_minor_units

STAFF_WORKING = (Role.account_manager, Role.admin)
#: who reads the statement and the documents of a case (never a partner firm)
READERS = (Role.account_manager, Role.admin, Role.compliance)


class NeedsForm(FlaskForm):
    needs = TextAreaField(_l("The client's demands and needs"), validators=[DataRequired(), Length(max=4000)])
    budget = StringField(_l("Yearly budget"), validators=[DataRequired(), Length(max=20)])
    budget_currency = StringField(_l("Currency"), default="EUR", validators=[DataRequired(), Length(min=3, max=3)])
    countries = SelectMultipleField(_l("Countries where the cover must work"), validators=[DataRequired()])
    chosen_cover = TextAreaField(_l("The cover chosen"), validators=[DataRequired(), Length(max=4000)])
    reasons = TextAreaField(_l("Why it meets the demands and needs"), validators=[DataRequired(), Length(max=4000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.countries.choices = country_choices()

    def validate_budget(self, field) -> None:
        try:
            to_minor_units(field.data, (self.budget_currency.data or "EUR").upper())
        except ValueError:
            raise ValidationError(_l("Give an amount such as 6000 or 6,000.00.")) from None

    @property
    def budget_minor(self) -> int | None:
        try:
            return to_minor_units(self.budget.data, (self.budget_currency.data or "EUR").upper())
        except ValueError:
            return None


class DeliveryForm(FlaskForm):
    language = SelectField(_l("Language of the document"), validators=[DataRequired()])
    remuneration_nature = EnumSelectField(_l("Nature of the broker's remuneration"), enum=RemunerationNature,
                                          validators=[DataRequired()])
    remuneration_payer = EnumSelectField(_l("Who pays it"), enum=RemunerationPayer, validators=[DataRequired()])
    remuneration_details = StringField(_l("Details (optional, e.g. the fee's amount)"),
                                       validators=[Optional(), Length(max=500)])
    method = EnumSelectField(_l("How it is delivered"), enum=DeliveryMethod, validators=[DataRequired()])
    recipient = StringField(_l("To whom (the e-mail address, or the person or address it was given to)"),
                            validators=[DataRequired(), Length(max=300)])
    delivered_on = DateField(_l("Given on (by hand or post)"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = [c for c in language_choices() if c[0] in LANGUAGES]



def case_context(case: Case, user, *, needs_form: NeedsForm | None = None,
                 delivery_form: DeliveryForm | None = None) -> dict:
    """What the staff case page shows of the statement and the disclosure document (nothing to partners)."""
    if user.role not in READERS:
        return {"needs_shown": False}
    statements = needs.history(db.session, case)
    may_work = user.role in STAFF_WORKING
    if may_work and needs_form is None:
        needs_form = NeedsForm(formdata=None)
        if statements:
            last = statements[0]
            needs_form.needs.data, needs_form.chosen_cover.data = last.needs, last.chosen_cover
            needs_form.reasons.data, needs_form.countries.data = last.reasons, list(last.countries)
            needs_form.budget_currency.data = last.budget_currency
            needs_form.budget.data = str(last.budget_minor // 100) if last.budget_minor % 100 == 0 else \
                f"{last.budget_minor / 100:.2f}"
        else:
            needs_form.countries.data = [case.country_of_residence, *case.travel_countries]
    if may_work and delivery_form is None:
        delivery_form = DeliveryForm(formdata=None)
        delivery_form.language.data = documents.language_for(case.consent.language) \
            if case.consent.language not in dict(delivery_form.language.choices) else case.consent.language
        delivery_form.recipient.data = case.client_email or ""
    return {"needs_shown": True, "statements": statements, "needs_form": needs_form if may_work else None,
            "delivery_form": delivery_form if may_work and statements else None,
            "documents": documents.documents_of(db.session, case),
            "deliveries": documents.deliveries_of(db.session, case)}


def remuneration(form: DeliveryForm) -> documents.Remuneration:
    return documents.Remuneration(form.remuneration_nature.data, form.remuneration_payer.data,
                                  form.remuneration_details.data)


def record_needs(case: Case, user, form: NeedsForm, ip: str | None) -> None:
    needs.record(db.session, user, case, needs.NeedsInput(
        needs=form.needs.data, budget_minor=form.budget_minor, budget_currency=(form.budget_currency.data or "").upper(),
        countries=list(form.countries.data or []), chosen_cover=form.chosen_cover.data, reasons=form.reasons.data),
        ip=ip)


def deliver(case: Case, user, form: DeliveryForm, ip: str | None) -> documents.DisclosureDelivery:
    """Produce the document and record its delivery; by e-mail, queue it with the PDF and the receipt link."""
    document = documents.produce(db.session, user, case, remuneration(form), language=form.language.data, ip=ip)
    delivery, token = documents.deliver(db.session, user, document, form.method.data, form.recipient.data,
                                        delivered_on=form.delivered_on.data, ip=ip)
    if token is not None:
        message = queue_mail("broker_disclosure", to=delivery.recipient, locale=form.language.data,
                             attachment_ref=f"broker-disclosure:{delivery.public_id}",
                             client=f"{case.client_first_name} {case.client_last_name}",
                             broker=document.settings.legal_name, reference=document.reference,
                             link=url_for("broker_disclosure.receipt", token=token, _external=True),
                             expires=delivery.expires_at.date())
        documents.mail_queued(db.session, delivery, message)
    return delivery

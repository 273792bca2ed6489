"""Case forms: the broker's case (guided for generalists), the account manager's conversion and moves."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from core.accounts import CommunicationModel
from core.products import NOT_A_PARTNER_LINE, PARTNER_LINES, ProductLine
from pipeline.cases.models import BudgetBand

from ..forms import EnumSelectField, country_choices, language_choices


def parse_ages(text: str) -> list[int]:
    """'42, 40, 9' -> [42, 40, 9]; raises ValueError on anything else."""
    parts = [p for p in re.split(r"[\s,;]+", text or "") if p]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError
    return [int(p) for p in parts]


def to_minor_units(text: str, currency: str) -> int:
    """'1 234,50' or '1234.50' in `currency` -> 123450; refuses more decimals than the currency has."""
    cleaned = re.sub(r"[\s\u00a0\u202f']", "", text or "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    cleaned = cleaned.replace(",", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError from None
    precision = get_currency_precision(currency)
    scaled = amount.scaleb(precision)
    if not amount.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError
    return int(scaled)


CASE_LINE_REFUSED = _l(NOT_A_PARTNER_LINE)


class _HouseholdFields(FlaskForm):
    client_first_name = StringField(_l("Client's first name"), validators=[DataRequired(), Length(max=100)])
    client_last_name = StringField(_l("Client's last name"), validators=[DataRequired(), Length(max=100)])
    client_email = EmailField(_l("Client's e-mail"), validators=[Optional(), Email(), Length(max=254)])
    client_phone = StringField(_l("Client's phone"), validators=[Optional(), Length(max=32)])
    adults = IntegerField(_l("Adults to insure"), default=1, validators=[DataRequired(), NumberRange(1, 10)])
    children = IntegerField(_l("Children to insure"), default=0, validators=[Optional(), NumberRange(0, 10)])
    ages = StringField(_l("Ages, adults first"), validators=[DataRequired(), Length(max=100)])
    nationality = SelectField(_l("Nationality"), validators=[DataRequired()])
    country_of_residence = SelectField(_l("Country of residence"), validators=[DataRequired()])
    travel_countries = SelectMultipleField(_l("Countries of regular travel"), validators=[Optional()])
    start_date = DateField(_l("Cover wanted from"), validators=[DataRequired()])
    product_line = EnumSelectField(_l("Product line"), enum=ProductLine, blank=_l("— choose —"),
                                   members=PARTNER_LINES, refused=CASE_LINE_REFUSED, validators=[DataRequired()])
    budget_band = EnumSelectField(_l("Budget"), enum=BudgetBand, blank=_l("— choose —"), validators=[DataRequired()])
    current_cover = StringField(_l("Current cover (insurer and plan), if any"), validators=[Optional(), Length(max=255)])
    renewal_date = DateField(_l("Renewal date of the current cover"), validators=[Optional()])
    communication_model = EnumSelectField(_l("Who talks to the client"), enum=CommunicationModel,
                                          validators=[DataRequired()])
    language = SelectField(_l("Client's preferred language"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        countries = country_choices()
        self.nationality.choices = [("", _l("— choose —"))] + countries
        self.country_of_residence.choices = [("", _l("— choose —"))] + countries
        self.travel_countries.choices = countries
        self.language.choices = language_choices()

    def validate_ages(self, field):
        try:
            ages = parse_ages(field.data)
        except ValueError:
            raise ValidationError(_l("Give the ages as numbers separated by commas, adults first.")) from None
        if len(ages) != (self.adults.data or 0) + (self.children.data or 0):
            raise ValidationError(_l("Give one age for each person to insure."))

    def household(self) -> dict:
        return dict(client_first_name=self.client_first_name.data, client_last_name=self.client_last_name.data,
                    client_email=self.client_email.data or None, client_phone=self.client_phone.data or None,
                    adults=self.adults.data, children=self.children.data or 0, ages=parse_ages(self.ages.data),
                    nationality=self.nationality.data, country_of_residence=self.country_of_residence.data,
                    travel_countries=list(self.travel_countries.data or []), start_date=self.start_date.data,
                    product_line=self.product_line.data, budget_band=self.budget_band.data,
                    current_cover=self.current_cover.data or None, renewal_date=self.renewal_date.data,
                    communication_model=self.communication_model.data, language=self.language.data)


class CaseForm(_HouseholdFields):
    """A partner broker's case. Specialist brokers also send a summary and underwriting sensitivities;
    generalist brokers confirm they stayed on the introduce-and-frame side (the view drops what does not apply)."""

    case_summary = TextAreaField(_l("Case summary"), validators=[Optional(), Length(max=4000)])
    underwriting_sensitivities = TextAreaField(_l("High-level underwriting sensitivities"),
                                               validators=[Optional(), Length(max=4000)])
    framed_only = BooleanField(
        _l("I introduced the client and framed their expectations; I did not advise on international health "
           "insurance products, which the broker leads."),
        validators=[DataRequired(message=_l("Confirm this, or let the broker lead: generalist brokers introduce "
                                            "and frame, the broker advises."))])
    share_with_broker = BooleanField(_l("The client agreed that these details are shared with the broker"),
                                     validators=[DataRequired(message=_l("No consent, no case."))])
    cc_on_milestones = BooleanField(_l("The client agreed that we are copied on the key steps of the file"))
    consent_given_on = DateField(_l("Date the client gave consent"), default=date.today, validators=[DataRequired()])


class ConversionForm(_HouseholdFields):
    """The account manager completes an introducer's lead with the client and opens the case."""


class MoveForm(FlaskForm):
    stage = SelectField(_l("Move to"), validators=[DataRequired()])
    partner_note = TextAreaField(_l("Note the partner may read"), validators=[Optional(), Length(max=2000)])
    internal_note = TextAreaField(_l("Internal note (broker staff only)"), validators=[Optional(), Length(max=2000)])
    insurer = SelectField(_l("Insurer"), validators=[Optional()])
    policy_number = StringField(_l("Policy number"), validators=[Optional(), Length(max=64)])
    product_line = EnumSelectField(_l("Product line"), enum=ProductLine, blank=_l("— choose —"),
                                   members=PARTNER_LINES, refused=CASE_LINE_REFUSED, validators=[Optional()])
    premium = StringField(_l("Yearly premium"), validators=[Optional(), Length(max=20)])
    currency = StringField(_l("Currency"), default="EUR", validators=[Optional(), Length(min=3, max=3)])
    start_date = DateField(_l("Contract start date"), validators=[Optional()])
    cancelled_on = DateField(_l("Cancellation takes effect on"), validators=[Optional()])

    def premium_minor(self) -> int | None:
        """The premium in minor units, or None with a field error."""
        if not (self.premium.data or "").strip():
            return None
        try:
            return to_minor_units(self.premium.data, (self.currency.data or "EUR").upper())
        except (ValueError, KeyError):
            self.premium.errors = list(self.premium.errors) + [
                _l("Enter an amount such as 1234.50, with no more decimals than the currency has.")]
            return None

"""The broker's disclosure settings, the demands and needs statement, and the disclosure document's delivery."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from compliance.broker_disclosure import AdviceBasis
from core.accounts import LANGUAGES
from pipeline.broker_disclosure import DeliveryMethod, RemunerationNature, RemunerationPayer

from ..cases.forms import to_minor_units
from ..forms import EnumSelectField, country_choices, language_choices


def lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class SettingsForm(FlaskForm):
    effective_from = DateField(_l("In force from"), validators=[DataRequired()])
    legal_name = StringField(_l("Distributor's name"), validators=[DataRequired(), Length(max=255)])
    address = TextAreaField(_l("Address"), validators=[DataRequired(), Length(max=1000)])
    register = StringField(_l("Register (e.g. ORIAS)"), validators=[DataRequired(), Length(max=100)])
    registration_number = StringField(_l("Registration number"), validators=[DataRequired(), Length(max=64)])
    advice_basis = EnumSelectField(_l("Basis of advice"), enum=AdviceBasis, validators=[DataRequired()])
    insurers = TextAreaField(_l("Insurers worked with (one a line)"), validators=[Optional(), Length(max=16000)])
    holdings = TextAreaField(_l("Holdings of 10% or more between the broker and an insurer (one a line; empty if "
                                "none)"), validators=[Optional(), Length(max=16000)])
    complaints_procedure = TextAreaField(_l("Complaints procedure"), validators=[DataRequired(), Length(max=4000)])
    mediation_procedure = TextAreaField(_l("Mediation procedure"), validators=[DataRequired(), Length(max=4000)])


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


class ReceiptForm(FlaskForm):
    """The client's acknowledgement of receipt: one button (and the CSRF token)."""

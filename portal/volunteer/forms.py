"""The volunteer's forms. The quote form is built for the volunteer: a field group per declared dependant."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from funnel.catalogue import Cover, PersonCategory
from funnel.eligibility import Confirmation, Relationship, confirmations_for
from funnel.journey import dependant_field

from ..i18n import tr


class QuoteForm(FlaskForm):
    health = BooleanField(_l("Health top-up (surcomplémentaire santé)"))
    health_formula = RadioField(_l("Health formula"), validators=[Optional()], validate_choice=True)
    prevoyance = BooleanField(_l("Death and disability top-up (renfort prévoyance)"))
    prevoyance_formula = RadioField(_l("Death and disability formula"), validators=[Optional()],
                                    validate_choice=True)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for cover in Cover:
            formula = getattr(self, f"{cover.value}_formula")
            if getattr(self, cover.value).data and not formula.data:
                formula.errors = [*formula.errors, _l("Choose a formula for this cover.")]
                ok = False
        if not any(getattr(self, cover.value).data for cover in Cover):
            self.health.errors = [*self.health.errors, _l("Choose at least one cover.")]
            ok = False
        return ok

    def choices_chosen(self) -> dict[Cover, str]:
        return {cover: getattr(self, f"{cover.value}_formula").data for cover in Cover
                if getattr(self, cover.value).data}


def quote_form(dependants, formulas: dict[Cover, list[tuple[str, str]]], **kwargs) -> QuoteForm:
    """A quote form with the formulas on offer and, for each declared dependant, whether to cover them and
    the programme's yes/no confirmations (funnel.eligibility)."""

    class Form(QuoteForm):
        pass

    for dependant in dependants:
        prefix = dependant_field(dependant)
        setattr(Form, f"{prefix}covered", BooleanField(_l("Cover this person")))
        if dependant.category is PersonCategory.spouse:
            setattr(Form, f"{prefix}relationship", RadioField(
                _l("How is your partner related to you?"), validators=[Optional()], validate_choice=False,
                choices=[SelectChoice(r.value, tr(r.label)) for r in Relationship]))
            questions = confirmations_for(dependant.category, Relationship.cohabiting)
        else:
            questions = confirmations_for(dependant.category)
        for confirmation in questions:
            setattr(Form, f"{prefix}{confirmation.value}", BooleanField(tr(confirmation.question)))
    form = Form(**kwargs)
    for cover, options in formulas.items():
        getattr(form, f"{cover.value}_formula").choices = options
    return form


def dependant_answers(form, dependant) -> tuple[bool, Relationship | None, dict[Confirmation, bool]]:
    prefix = dependant_field(dependant)
    covered = bool(getattr(form, f"{prefix}covered").data)
    relationship = None
    if dependant.category is PersonCategory.spouse:
        value = getattr(form, f"{prefix}relationship").data
        relationship = Relationship(value) if value in Relationship._value2member_map_ else None
    answers = {c: bool(getattr(form, f"{prefix}{c.value}").data) for c in Confirmation
               if hasattr(form, f"{prefix}{c.value}")}
    return covered, relationship, answers


class AdhesionForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])
    email = StringField(_l("E-mail"), validators=[DataRequired(), Length(max=254), Email()])
    phone = StringField(_l("Phone"), validators=[DataRequired(), Length(max=32),
                                                 Regexp(r"^\+?[0-9 ().-]{6,32}$",
                                                        message=_l("Give a phone number, e.g. +33 6 12 34 56 78."))])
    address = TextAreaField(_l("Address in the mission country"), validators=[DataRequired(), Length(max=500)])
    beneficiaries = TextAreaField(_l("Beneficiaries of the death and disability top-up"),
                                  validators=[Optional(), Length(max=1000)])
    start_date = DateField(_l("Start of the cover"), validators=[DataRequired()])
    accept = BooleanField(_l("I received and read the information notice and the pre-contract information."))


class CodeForm(FlaskForm):
    """Send (again) the one-time code."""


class SignForm(FlaskForm):
    typed_name = StringField(_l("Type your full name"), validators=[DataRequired(), Length(max=200)])
    code = StringField(_l("Code received by e-mail"), validators=[DataRequired(), Length(max=12)])
    document_sha256 = HiddenField(validators=[DataRequired(), Length(max=64)])


class CardPaymentForm(FlaskForm):
    """The card the volunteer entered, as Stripe.js made it into a PaymentMethod (its id only: no card number
    ever reaches the portal)."""

    payment_method = HiddenField(validators=[DataRequired(), Length(max=64),
                                             Regexp(r"^pm_[A-Za-z0-9_]+$", message=_l("Enter your card again."))])


class SepaForm(FlaskForm):
    holder_name = StringField(_l("Account holder"), validators=[DataRequired(), Length(max=140)])
    iban = StringField(_l("IBAN"), validators=[DataRequired(), Length(max=42)])
    accept = BooleanField(_l("I authorise the broker to send instructions to my bank to debit my account, and my "
                             "bank to debit it, for the monthly premiums of my cover (SEPA direct-debit mandate)."),
                          validators=[DataRequired()])


class WithdrawForm(FlaskForm):
    """Withdraw the adhesion within 14 days (the confirmation page spells out what it does)."""

    reason = TextAreaField(_l("Your reason, if you wish to give one (optional)"),
                           validators=[Optional(), Length(max=500)])


NEW_PERSON = "new"


class AddDependantForm(FlaskForm):
    """Someone to add to the health top-up in force: a person already declared and not covered, or a new one;
    the event that makes them a dependant now; the programme's yes/no conditions (those that apply are checked)."""

    who = RadioField(_l("Who do you want to add?"), validators=[DataRequired()], validate_choice=True)
    category = RadioField(_l("This person is your"), validators=[Optional()], validate_choice=False,
                          choices=[SelectChoice(PersonCategory.spouse.value, _l("Spouse or partner")),
                                   SelectChoice(PersonCategory.child.value, _l("Child"))])
    first_name = StringField(_l("First name"), validators=[Optional(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=100)])
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    event_date = DateField(_l("Date of the event"), validators=[DataRequired()],
                           description=_l("The birth, adoption, marriage or PACS, or the day your partner came to "
                                          "depend on you or joined you abroad. Declared within 30 days, the person "
                                          "is covered from that day; later, from the first day of next month."))
    relationship = RadioField(_l("How is your partner related to you?"), validators=[Optional()],
                              validate_choice=False)
    #: the price shown when the volunteer confirmed (in minor units): a price that changed meanwhile is shown again
    quoted = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.who.data == NEW_PERSON:
            for f in (self.category, self.first_name, self.last_name, self.birth_date):
                if not f.data:
                    f.errors = [*f.errors, _l("This field is required.")]
                    ok = False
        return ok


def add_dependant_form(declared: list[SelectChoice], **kwargs) -> AddDependantForm:
    """The form with the volunteer's declared, not yet covered, dependants to choose from, and every condition
    the programme may ask (the page groups them: a child's, a partner's, everyone's)."""

    class Form(AddDependantForm):
        pass

    for confirmation in Confirmation:
        setattr(Form, confirmation.value, BooleanField(tr(confirmation.question)))
    form = Form(**kwargs)
    form.who.choices = [*declared, SelectChoice(NEW_PERSON, tr(_l("Someone not listed yet")))]
    form.relationship.choices = [SelectChoice(r.value, tr(r.label)) for r in Relationship]
    return form

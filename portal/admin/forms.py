from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from core.accounts import CommunicationModel, PartnerStatus, Register, Role

from ..forms import CheckboxesField, EnumSelectField, check_model_for_status, language_choices, set_firm_choices


class OrganisationForm(FlaskForm):
    legal_name = StringField(_l("Legal name"), validators=[DataRequired(), Length(max=255)])
    status = EnumSelectField(_l("Status"), enum=PartnerStatus, validators=[DataRequired()])
    register = EnumSelectField(_l("Register"), enum=Register, blank=_l("— none —"), validators=[Optional()])
    registration_number = StringField(_l("Registration number"), validators=[Optional(), Length(max=64)])
    country = SelectField(_l("Country of establishment"), validators=[DataRequired()])
    zones = CheckboxesField(_l("Zones of activity"), validators=[DataRequired()])
    communication_model = EnumSelectField(_l("Communication model"), enum=CommunicationModel,
                                          validators=[DataRequired()])
    languages = CheckboxesField(_l("Languages"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        set_firm_choices(self)

    def validate_registration_number(self, field):
        if field.data and self.register.data is None:
            raise ValidationError(_l("Choose the register this number belongs to."))

    def validate_register(self, field):
        if field.data is not None and not (self.registration_number.data or "").strip():
            raise ValidationError(_l("Enter the registration number in this register."))

    validate_communication_model = check_model_for_status

    def values(self) -> dict:
        return {
            "legal_name": self.legal_name.data.strip(), "status": self.status.data,
            "register": self.register.data, "registration_number": (self.registration_number.data or "").strip()
            or None, "country": self.country.data, "zones": sorted(self.zones.data),
            "communication_model": self.communication_model.data, "languages": list(self.languages.data),
        }


class UserForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=255)])
    role = EnumSelectField(_l("Role"), enum=Role, validators=[DataRequired()])
    organisation = SelectField(_l("Partner firm"), validators=[Optional()])
    locale = SelectField(_l("Language"), validators=[DataRequired()])
    active = BooleanField(_l("Active (may sign in)"), default=True)

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation.choices = [("", _l("— none (broker staff or system) —"))] + [
            (o.public_id, o.legal_name) for o in organisations]
        self.locale.choices = language_choices()


class InsurerForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(min=2, max=32),
                                               Regexp(r"^[A-Za-z0-9-]+$", message=_l("Letters, digits and hyphens."))])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])

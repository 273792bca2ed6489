from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from core.accounts import CommunicationModel, PartnerStatus, Register

from ..forms import CheckboxesField, EnumSelectField, check_model_for_status, set_firm_choices


class ApplicationForm(FlaskForm):
    legal_name = StringField(_l("Legal name of the firm"), validators=[DataRequired(), Length(max=255)])
    company_number = StringField(_l("Company registration number"), validators=[Optional(), Length(max=64)])
    country = SelectField(_l("Country of establishment"), validators=[DataRequired()])
    status = EnumSelectField(_l("Your firm is a…"), enum=PartnerStatus, validators=[DataRequired()])
    register = EnumSelectField(_l("Intermediary register"), enum=Register, blank=_l("— none —"),
                               validators=[Optional()])
    registration_number = StringField(_l("Number in that register"), validators=[Optional(), Length(max=64)])
    zones = CheckboxesField(_l("Zones of activity"), validators=[DataRequired()])
    communication_model = EnumSelectField(_l("Who leads the communication with your clients?"),
                                          enum=CommunicationModel, validators=[DataRequired()])
    cc_key_communications = BooleanField(_l("Copy us on key client communications (only where the client agrees)"))
    languages = CheckboxesField(_l("Languages you work in"), validators=[DataRequired()])
    contact_name = StringField(_l("Operational contact: name"), validators=[DataRequired(), Length(max=255)])
    contact_email = EmailField(_l("Operational contact: e-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    contact_phone = StringField(_l("Operational contact: phone"), validators=[Optional(), Length(max=32)])
    data_sharing_approach = TextAreaField(_l("How do you share client data with us?"),
                                          validators=[DataRequired(), Length(min=20, max=4000)])
    disclosure_approach = TextAreaField(_l("How do you disclose your remuneration and conflicts of interest to clients?"),
                                        validators=[DataRequired(), Length(min=20, max=4000)])
    admin_name = StringField(_l("Your full name"), validators=[DataRequired(), Length(max=255)])
    admin_email = EmailField(_l("Your e-mail address (you will administer the firm's account)"),
                             validators=[DataRequired(), Email(), Length(max=254)])
    accurate = BooleanField(_l("I confirm that this information is accurate and that I may act for the firm"),
                            validators=[DataRequired(message=_l("Please confirm to send the application."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        set_firm_choices(self)

    validate_communication_model = check_model_for_status

    def values(self) -> dict:
        return {
            "legal_name": self.legal_name.data.strip(), "company_number": self.company_number.data,
            "country": self.country.data, "status": self.status.data, "register": self.register.data,
            "registration_number": self.registration_number.data, "zones": sorted(self.zones.data),
            "communication_model": self.communication_model.data,
            "cc_key_communications": bool(self.cc_key_communications.data), "languages": list(self.languages.data),
            "contact_name": self.contact_name.data.strip(), "contact_email": self.contact_email.data.strip().lower(),
            "contact_phone": (self.contact_phone.data or "").strip() or None,
            "data_sharing_approach": self.data_sharing_approach.data.strip(),
            "disclosure_approach": self.disclosure_approach.data.strip(),
        }


class DecisionForm(FlaskForm):
    reason = TextAreaField(_l("Reason (recorded and shown to the firm)"),
                           validators=[DataRequired(), Length(min=10, max=4000)])

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from pipeline.leads.models import CHOOSABLE_NEED_CATEGORIES, NEED_SUMMARY_MAX
from pipeline.leads.services import URGENCIES, URGENCY_LABELS

from ..forms import country_choices, language_choices


class LeadForm(FlaskForm):
    first_name = StringField(_l("Client's first name"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Client's last name"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("Client's e-mail"), validators=[Optional(), Email(), Length(max=254)])
    phone = StringField(_l("Client's phone"), validators=[Optional(), Length(max=32)])
    country_of_residence = SelectField(_l("Country of residence"), validators=[DataRequired()])
    urgency = SelectField(_l("Timeline"), validators=[Optional()])
    target_date = DateField(_l("…or a target start date"), validators=[Optional()])
    need_category = SelectField(_l("Kind of need"), validators=[DataRequired(message=_l("Choose the kind of need."))])
    need_summary = TextAreaField(_l("A short note (optional)"), validators=[Optional(), Length(max=NEED_SUMMARY_MAX)])
    language = SelectField(_l("Client's preferred language"), validators=[DataRequired()])
    share_with_broker = BooleanField(_l("The client agreed that these details are shared with the broker"),
                                     validators=[DataRequired(message=_l("No consent, no lead."))])
    cc_on_milestones = BooleanField(_l("The client agreed that we are copied on the key steps of the file"))
    consent_given_on = DateField(_l("Date the client gave consent"), default=date.today,
                                 validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country_of_residence.choices = [("", _l("— choose —"))] + country_choices()
        self.urgency.choices = [("", _l("— choose —"))] + [(u, _l(URGENCY_LABELS[u])) for u in URGENCIES]
        self.language.choices = language_choices()
        self.need_category.choices = [("", _l("— choose —"))] + [(c.value, _l(c.label))
                                                                 for c in CHOOSABLE_NEED_CATEGORIES]

    def timeline(self) -> str:
        return self.target_date.data.isoformat() if self.target_date.data else (self.urgency.data or "")

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from compliance.country_lists import EEA_MEMBERS
from compliance.crossborder import NotificationBasis

from ..forms import EnumSelectField, country_choices


class NotificationForm(FlaskForm):
    """The rules (an EU/EEA state other than home, one in force at a time) are compliance.crossborder's."""

    country = SelectField(_l("Host state"), validators=[DataRequired(_l("Choose the host state."))])
    basis = EnumSelectField(_l("Basis"), enum=NotificationBasis,
                            validators=[DataRequired(_l("Choose the basis of the notification."))])
    notified_on = DateField(_l("Notified on"), validators=[DataRequired(_l("Enter the day of notification."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = [("", _l("— choose —"))] + [(c, n) for c, n in country_choices() if c in EEA_MEMBERS]


class EndNotificationForm(FlaskForm):
    ended_on = DateField(_l("No longer in force from"), validators=[DataRequired(_l("Enter the day it ends."))])


class ReleaseForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the release"), validators=[Optional()])


class HostStateCheckForm(FlaskForm):
    note = TextAreaField(_l("What was checked (host state's general-good rules)"), validators=[Optional()])


class LocalLicensingForm(FlaskForm):
    consideration = StringField(_l("Local licensing consideration checked"), validators=[Optional()])

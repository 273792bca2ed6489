from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Optional

from compliance.training import THEMES, TrainingFormat

from ..forms import CheckboxesField, enum_choices
from ..i18n import tr


class TrainingForm(FlaskForm):
    """The rules (required fields, limits, the evidence file's kind and size) are checked by
    compliance.training.record_training; the form only parses."""

    person = SelectField(_l("Person trained"), validators=[DataRequired(_l("Choose the person trained."))])
    provider = StringField(_l("Training provider"), validators=[Optional()])
    completed_on = DateField(_l("Completed on"), validators=[Optional()])
    duration_minutes = IntegerField(_l("Duration (minutes)"), validators=[Optional()])
    format = SelectField(_l("Format"), validators=[Optional()])
    themes = CheckboxesField(_l("Themes"), validators=[Optional()])
    evidence = FileField(_l("Evidence (certificate, attendance sheet): PDF, PNG or JPEG, 5 MB at most"))

    def __init__(self, people, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.person.choices = [("", _l("— choose —"))] + people
        self.format.choices = [("", _l("— choose —"))] + enum_choices(TrainingFormat)
        self.themes.choices = [(code, tr(label)) for code, label in THEMES.items()]

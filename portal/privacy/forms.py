from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length


class LookupForm(FlaskForm):
    query = StringField(_l("E-mail address or name"), validators=[DataRequired(), Length(min=2, max=254)])


class EraseForm(FlaskForm):
    query = HiddenField(validators=[DataRequired(), Length(min=2, max=254)])
    confirm = BooleanField(_l("I confirm the erasure of this person: it cannot be undone"),
                           validators=[DataRequired(_l("Confirm the erasure first."))])

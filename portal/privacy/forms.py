from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class LookupForm(FlaskForm):
    query = StringField(_l("E-mail address or name"), validators=[DataRequired(), Length(min=2, max=254)])

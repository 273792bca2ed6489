from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from core.accounts import Role

from ..forms import language_choices
from ..i18n import tr


class MemberForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=255)])
    role = SelectField(_l("Role in the portal"), validators=[DataRequired()])
    locale = SelectField(_l("Language"), validators=[DataRequired()])
    active = BooleanField(_l("Active (may sign in)"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [(r.value, tr(r.label)) for r in (Role.partner_member, Role.partner_admin)]
        self.locale.choices = language_choices()

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from compliance.complaint_models import ComplainantKind, ComplaintCategory, ComplaintChannel
from core.products import ProductLine

from ..forms import EnumSelectField


class LodgeForm(FlaskForm):
    """The public form: a client, a partner's user or a volunteer lodges a complaint."""
    complainant_kind = EnumSelectField(_l("You are…"), enum=ComplainantKind, validators=[DataRequired()])
    complainant_name = StringField(_l("Your full name"), validators=[DataRequired(), Length(max=200)])
    complainant_email = EmailField(_l("Your e-mail address (we answer there)"),
                                   validators=[DataRequired(), Email(), Length(max=254)])
    category = EnumSelectField(_l("What is it about?"), enum=ComplaintCategory, validators=[DataRequired()])
    product_line = EnumSelectField(_l("The insurance concerned"), enum=ProductLine, blank=_l("— I do not know —"),
                                   validators=[Optional()])
    concerns_label = StringField(_l("Policy number, case or other reference (if you have one)"),
                                 validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("Your complaint"), validators=[DataRequired(), Length(min=10, max=8000)])


class RecordForm(FlaskForm):
    """Staff transcribe a complaint received by e-mail, telephone or letter."""
    channel = EnumSelectField(_l("Received by"), enum=ComplaintChannel,
                              members=(ComplaintChannel.email, ComplaintChannel.phone, ComplaintChannel.letter),
                              validators=[DataRequired()])
    received_on = DateField(_l("Day received"), validators=[DataRequired()])
    complainant_kind = EnumSelectField(_l("Complainant"), enum=ComplainantKind, validators=[DataRequired()])
    complainant_name = StringField(_l("Complainant's name"), validators=[DataRequired(), Length(max=200)])
    complainant_email = EmailField(_l("Complainant's e-mail address"),
                                   validators=[Optional(), Email(), Length(max=254)])
    locale = SelectField(_l("Complainant's language"), validators=[DataRequired()])
    category = EnumSelectField(_l("Category"), enum=ComplaintCategory, validators=[DataRequired()])
    product_line = EnumSelectField(_l("Product line"), enum=ProductLine, blank=_l("— not known —"),
                                   validators=[Optional()])
    organisation = SelectField(_l("Partner firm concerned"), validators=[Optional()])
    policy_number = StringField(_l("Policy number of the contract concerned"), validators=[Optional(), Length(max=64)])
    case_id = StringField(_l("Case concerned (its identifier, from the case's address)"),
                          validators=[Optional(), Length(max=64)])
    description = TextAreaField(_l("The complaint"), validators=[DataRequired(), Length(min=10, max=8000)])
    owner = SelectField(_l("Owner"), validators=[Optional()])


class AssignForm(FlaskForm):
    owner = SelectField(_l("Owner"), validators=[DataRequired()])


class AcknowledgeForm(FlaskForm):
    on = DateField(_l("Acknowledged on"), validators=[DataRequired()])


class AnswerForm(FlaskForm):
    on = DateField(_l("Answered on"), validators=[DataRequired()])
    answer = TextAreaField(_l("The answer given"), validators=[DataRequired(), Length(min=10, max=8000)])
    mediation_info = TextAreaField(_l("Mediation information given"),
                                   validators=[DataRequired(), Length(min=10, max=2000)])


class CloseForm(FlaskForm):
    pass

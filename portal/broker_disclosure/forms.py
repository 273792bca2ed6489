"""The broker's disclosure settings, and the client's acknowledgement of receipt."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from compliance.broker_disclosure import AdviceBasis

from ..forms import EnumSelectField


def lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class SettingsForm(FlaskForm):
    effective_from = DateField(_l("In force from"), validators=[DataRequired()])
    legal_name = StringField(_l("Distributor's name"), validators=[DataRequired(), Length(max=255)])
    address = TextAreaField(_l("Address"), validators=[DataRequired(), Length(max=1000)])
    register = StringField(_l("Register (e.g. ORIAS)"), validators=[DataRequired(), Length(max=100)])
    registration_number = StringField(_l("Registration number"), validators=[DataRequired(), Length(max=64)])
    advice_basis = EnumSelectField(_l("Basis of advice"), enum=AdviceBasis, validators=[DataRequired()])
    insurers = TextAreaField(_l("Insurers worked with (one a line)"), validators=[Optional(), Length(max=16000)])
    holdings = TextAreaField(_l("Holdings of 10 per cent or more between the broker and an insurer (one a line; empty if "
                                "none)"), validators=[Optional(), Length(max=16000)])
    complaints_procedure = TextAreaField(_l("Complaints procedure"), validators=[DataRequired(), Length(max=4000)])
    mediation_procedure = TextAreaField(_l("Mediation procedure"), validators=[DataRequired(), Length(max=4000)])


class ReceiptForm(FlaskForm):
    """The client's acknowledgement of receipt: one button (and the CSRF token)."""

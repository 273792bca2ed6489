"""Forms of the insurer statements and receipts pages (finance)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ledger.reconciliation import ACTIONS
from ledger.statement_files import parse_amount
from ledger.statements import parse_period


class StatementUploadForm(FlaskForm):
    insurer = SelectField(_l("Insurer"), validators=[DataRequired()])
    period = StringField(_l("Period (YYYY-MM)"), validators=[DataRequired(), Length(max=7)])
    currency = SelectField(_l("Currency"), validators=[DataRequired()])
    file = FileField(_l("Statement file (CSV or XLSX)"), validators=[
        FileRequired(_l("Choose the insurer's statement file.")),
        FileAllowed(["csv", "xlsx"], _l("Only CSV and XLSX files can be imported."))])

    def validate_period(self, field):
        try:
            parse_period((field.data or "").strip())
        except ValueError:
            raise ValidationError(_l("Enter a month as YYYY-MM, for example 2026-11.")) from None


class ResolveForm(FlaskForm):
    #: sent by the button pressed: accept, adjust or dispute
    action = SelectField(_l("Action"), choices=list(ACTIONS), validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])


class ReceiptForm(FlaskForm):
    insurer = SelectField(_l("Insurer"), validators=[DataRequired()])
    amount = StringField(_l("Amount received"), validators=[DataRequired(), Length(max=32)])
    currency = SelectField(_l("Currency"), validators=[DataRequired()])
    received_on = DateField(_l("Received on"), validators=[DataRequired()])
    bank_reference = StringField(_l("Bank reference"), validators=[DataRequired(), Length(max=64)])
    statement = SelectField(_l("Statement it settles (optional)"), validators=[Optional()])

    def validate_amount(self, field):
        try:
            self.amount_minor = parse_amount(field.data, self.currency.data or "EUR")
        except ValueError:
            raise ValidationError(_l("Enter an amount such as 1234.56 or 1 234,56.")) from None
        if self.amount_minor <= 0:
            raise ValidationError(_l("Enter an amount above zero.")) from None

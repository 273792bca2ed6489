"""The staff's forms on a volunteer's subscription."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ..cases.forms import to_minor_units


class ChequeForm(FlaskForm):
    """A cheque received for the first month (recorded by admins or finance)."""

    amount = StringField(_l("Amount (euros)"), validators=[DataRequired(), Length(max=20)])
    cheque_number = StringField(_l("Cheque number"), validators=[DataRequired(), Length(max=40)])
    received_on = DateField(_l("Received on"), validators=[DataRequired()])

    def validate_amount(self, field):
        try:
            self.amount_minor = to_minor_units(field.data, "EUR")
        except (ValueError, ArithmeticError):
            raise ValidationError(_l("Enter an amount in euros such as 42.50.")) from None
        if self.amount_minor <= 0:
            raise ValidationError(_l("Enter an amount in euros such as 42.50."))


class RefundMadeForm(FlaskForm):
    """A refund owed on a cheque, paid back by hand: the transfer's (or cheque's) reference."""

    reference = StringField(_l("Transfer reference"), validators=[DataRequired(), Length(max=64)])

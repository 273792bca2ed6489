"""The staff's forms on a volunteer's subscription."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..cases.forms import to_minor_units
from ..forms import CheckboxesField


class ChequeForm(FlaskForm):
    """A cheque received (recorded by admins or finance): for the first month, or for later months of a running
    cover (the months it pays are chosen then; the view offers those still open)."""

    amount = StringField(_l("Amount (euros)"), validators=[DataRequired(), Length(max=20)])
    cheque_number = StringField(_l("Cheque number"), validators=[DataRequired(), Length(max=40)])
    bank = StringField(_l("Bank"), validators=[DataRequired(), Length(max=64)])
    received_on = DateField(_l("Received on"), validators=[DataRequired()])
    #: the domain checks the months (a resent form names months paid since, which it recognises)
    months = CheckboxesField(_l("Months the cheque pays"), choices=[], validators=[Optional()], validate_choice=False)

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

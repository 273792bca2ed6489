from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from core import bank_details
from core.products import ProductLine
from ledger.statements import parse_period

from ..cases.forms import to_minor_units
from ..forms import EnumSelectField
from ..i18n import tr


def parse_month(text: str | None) -> date | None:
    """'2026-11' -> date(2026, 11, 1); None when it is not a month the ledger can hold."""
    try:
        return parse_period((text or "").strip())
    except ValueError:
        return None


class PayoutRunForm(FlaskForm):
    period = StringField(_l("Period (YYYY-MM)"), validators=[DataRequired(), Length(max=7)])
    currency = SelectField(_l("Currency"), validators=[DataRequired()])
    execution_date = DateField(_l("Execution date"), validators=[DataRequired()])

    def validate_period(self, field):
        if parse_month(field.data) is None:
            raise ValidationError(_l("Enter a month as YYYY-MM, for example 2026-11.")) from None

    def validate_execution_date(self, field):
        if field.data and field.data < date.today():
            raise ValidationError(_l("The execution date cannot be in the past.")) from None


class SettleForm(FlaskForm):
    bank_reference = StringField(_l("Bank confirmation reference"), validators=[DataRequired(), Length(max=64)])


class BankDetailsForm(FlaskForm):
    account_holder = StringField(_l("Account holder"), validators=[DataRequired(), Length(max=70)])
    iban = StringField(_l("IBAN"), validators=[DataRequired(), Length(max=42)])
    bic = StringField(_l("BIC"), validators=[Length(max=11)])
    minimum = StringField(_l("Minimum payout (EUR, or the run's currency)"), validators=[DataRequired()])

    def validate_minimum(self, field):
        try:
            self.minimum_minor = to_minor_units(field.data, "EUR")
        except ValueError:
            raise ValidationError(_l("Enter an amount such as 50 or 50.00.")) from None

    def validate(self, extra_validators=None) -> bool:
        """The fields, then the bank's rules (core.bank_details), so every problem shows at once."""
        valid = super().validate(extra_validators)
        found = bank_details.problems(self.iban.data, self.bic.data, getattr(self, "minimum_minor", None))
        for name, message in found.items():
            if name == "iban" and not (self.iban.data or "").strip():
                continue  # "this field is required" says it
            getattr(self, name).errors.append(tr(message))
            valid = False
        return valid

    def values(self) -> bank_details.BankDetails:
        return bank_details.BankDetails(account_holder=self.account_holder.data, iban=self.iban.data,
                                        bic=self.bic.data or None, minimum_minor=self.minimum_minor)


class InsurerRateForm(FlaskForm):
    insurer = SelectField(_l("Insurer"), validators=[DataRequired()])
    product_line = EnumSelectField(_l("Product line"), enum=ProductLine, validators=[DataRequired()])
    rate = StringField(_l("Commission rate, in percent of the premium"), validators=[DataRequired(), Length(max=10)])
    effective_from = DateField(_l("In force from"), validators=[DataRequired()])

    def validate_rate(self, field):
        try:
            percent = Decimal((field.data or "").strip().replace(",", ".").rstrip("%").strip())
        except InvalidOperation:
            raise ValidationError(_l("Enter a percentage such as 15 or 12.5.")) from None
        if not percent.is_finite() or not Decimal("0") < percent < Decimal("100") \
                or percent != percent.quantize(Decimal("0.01")):
            raise ValidationError(_l("Enter a percentage above 0 and below 100, with at most two decimals.")) from None
        self.fraction = percent / 100

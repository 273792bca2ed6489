from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, FieldList, FormField, HiddenField, IntegerField, \
    PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from agreements.models import PaymentTermsBasis
from agreements.operations import RuleValues
from core.products import PARTNER_LINES, ProductLine

CURRENCIES = ("EUR", "GBP", "USD", "CHF")


class RuleForm(FlaskForm):
    class Meta:
        csrf = False  # part of ScheduleForm, which carries the token

    product_line = HiddenField()
    included = BooleanField(_l("In the schedule"))
    first_year_percent = DecimalField(_l("First-year rate (%)"), places=2, default=Decimal("0"),
                                      validators=[InputRequired(), NumberRange(0, 100)])
    renewal_percent = DecimalField(_l("Renewal rate (%)"), places=2, default=Decimal("0"),
                                   validators=[InputRequired(), NumberRange(0, 100)])
    one_off_fee = DecimalField(_l("One-off fee per contract"), places=2, default=Decimal("0"),
                               validators=[InputRequired(), NumberRange(0, 1_000_000)])
    currency = SelectField(_l("Currency"), choices=list(CURRENCIES))
    clawback_days = IntegerField(_l("Clawback window (days)"), default=365, validators=[InputRequired(),
                                                                                        NumberRange(0, 1095)])
    payment_terms_days = IntegerField(_l("Payment terms (days)"), default=30, validators=[InputRequired(),
                                                                                          NumberRange(0, 180)])
    payment_terms_basis = SelectField(
        _l("Payment terms count from"), default=PaymentTermsBasis.statement_month_end.value,
        choices=[SelectChoice(PaymentTermsBasis.statement_month_end.value, _l("the statement's month end")),
                 SelectChoice(PaymentTermsBasis.premium_received.value, _l("the insurer's payment of the commission"))])

    def validate_one_off_fee(self, field):
        digits = get_currency_precision(self.currency.data or "EUR")
        if field.data is not None and field.data != field.data.quantize(Decimal(1).scaleb(-digits)):
            raise ValidationError(ngettext("Use at most %(num)s decimal for this currency.",
                                           "Use at most %(num)s decimals for this currency.", digits))

    def values(self) -> RuleValues:
        digits = get_currency_precision(self.currency.data)
        return RuleValues(
            product_line=ProductLine(self.product_line.data),
            first_year_rate=(self.first_year_percent.data / 100).quantize(Decimal("0.0001")),
            renewal_rate=(self.renewal_percent.data / 100).quantize(Decimal("0.0001")),
            one_off_fee_minor=int(self.one_off_fee.data.scaleb(digits)), currency=self.currency.data,
            clawback_days=self.clawback_days.data, payment_terms_days=self.payment_terms_days.data,
            payment_terms_basis=PaymentTermsBasis(self.payment_terms_basis.data))


class ScheduleForm(FlaskForm):
    rules = FieldList(FormField(RuleForm))

    @classmethod
    def for_agreement(cls, agreement, formdata=None):
        existing = {r.product_line: r for r in agreement.rules}
        data = []
        for line in PARTNER_LINES:
            r = existing.get(line)
            digits = get_currency_precision(r.currency) if r else 2
            data.append({"product_line": line.value, "included": r is not None,
                         "first_year_percent": (r.first_year_rate * 100) if r else Decimal("0"),
                         "renewal_percent": (r.renewal_rate * 100) if r else Decimal("0"),
                         "one_off_fee": Decimal(r.one_off_fee_minor).scaleb(-digits) if r else Decimal("0"),
                         "currency": r.currency if r else "EUR", "clawback_days": r.clawback_days if r else 365,
                         "payment_terms_days": r.payment_terms_days if r else 30,
                         "payment_terms_basis": (r.payment_terms_basis if r else
                                                 PaymentTermsBasis.statement_month_end).value})
        return cls(formdata=formdata, data={"rules": data})

    def values(self) -> list[RuleValues]:
        try:
            return [entry.form.values() for entry in self.rules if entry.form.included.data]
        except (InvalidOperation, ValueError) as exc:
            raise ValidationError(str(exc)) from exc


class SignForm(FlaskForm):
    document_sha256 = HiddenField(validators=[DataRequired(), Length(min=64, max=64)])
    typed_name = StringField(_l("Type your full name to sign"), validators=[DataRequired(), Length(max=255)])
    password = PasswordField(_l("Your password, to confirm it is you"), validators=[DataRequired()])
    confirm = BooleanField(_l("I have read the agreement and sign it on behalf of my firm"),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason (recorded)"), validators=[DataRequired(), Length(min=10, max=4000)])


class TerminateForm(ReasonForm):
    last_day = DateField(_l("Last day of the agreement"), validators=[DataRequired()])


class PrepareForm(FlaskForm):
    effective_from = DateField(_l("Effective from"), validators=[DataRequired()])

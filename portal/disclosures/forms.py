"""The partner's declaration of what it disclosed, and compliance's decision on it."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileSize
from wtforms import DateField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from compliance.disclosure_models import DisclosureChannel
from compliance.disclosures import EVIDENCE_MAX_BYTES

from ..i18n import tr


class DeclarationForm(FlaskForm):
    role_disclosed = TextAreaField(_l("What you told the client of your role and status"),
                                   validators=[DataRequired(), Length(max=4000)])
    remuneration_disclosed = TextAreaField(_l("What you told the client of your remuneration (nature, who pays it, "
                                              "amount or basis)"), validators=[DataRequired(), Length(max=4000)])
    amount = StringField(_l("Amount disclosed, if you gave one (in the contract's currency)"),
                         validators=[Optional(), Length(max=20)])
    disclosed_on = DateField(_l("Date of the disclosure"), validators=[DataRequired()])
    channel = RadioField(_l("How"), validators=[DataRequired()], validate_choice=True)
    evidence = FileField(_l("Evidence (optional): the document given to the client, PDF, PNG or JPEG, 5 MB at most"),
                         validators=[FileSize(EVIDENCE_MAX_BYTES, message=_l("The file is larger than 5 MB."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = [SelectChoice(c.value, tr(c.label)) for c in DisclosureChannel]

    def validate_amount(self, field) -> None:
        if field.data:
            try:
                value = Decimal(field.data.replace(",", ".").replace(" ", ""))
            except InvalidOperation:
                raise ValidationError(_l("Give an amount such as 450.00.")) from None
            if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")) or value > 10**9:
                raise ValidationError(_l("Give an amount such as 450.00."))

    @property
    def amount_minor(self) -> int | None:
        if not self.amount.data:
            return None
        return int(Decimal(self.amount.data.replace(",", ".").replace(" ", "")) * 100)


class DecisionForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the partner reads it when a declaration is returned)"),
                           validators=[DataRequired(), Length(min=10, max=4000)])

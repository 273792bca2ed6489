"""A client's consent on the forms of both leads and cases: the day it was given, and its withdrawal."""
from datetime import date, datetime, time, timezone

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import DataRequired, Length


class WithdrawalForm(FlaskForm):
    scope = RadioField(_l("What does the client withdraw?"), validators=[DataRequired()])
    reason = TextAreaField(_l("How and when the client told us (recorded)"),
                           validators=[DataRequired(), Length(min=10, max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope.choices = [("cc_on_milestones", _l("Only the copies of key steps to the referrer")),
                              ("all", _l("All consent: the broker stops working on this referral"))]


def consent_given_at(day: date) -> datetime:
    """The form asks for the day the client consented; stored as a UTC time no later than now (a consent
    given today is recorded as given now, an earlier day at its noon)."""
    now = datetime.now(timezone.utc)
    return min(datetime.combine(day, time(12, 0), tzinfo=timezone.utc), now) if day <= now.date() \
        else datetime.combine(day, time(12, 0), tzinfo=timezone.utc)

"""A client's consent on the forms of both leads and cases: the day it was given, and its withdrawal."""
from datetime import date, datetime, time, UTC

from flask import request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import DataRequired, Length

from .edge import done, unit_of_work
from .extensions import db


class WithdrawalForm(FlaskForm):
    scope = RadioField(_l("What does the client withdraw?"), validators=[DataRequired()])
    reason = TextAreaField(_l("How and when the client told us (recorded)"),
                           validators=[DataRequired(), Length(min=10, max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scope.choices = [("cc_on_milestones", _l("Only the copies of key steps to the referrer")),
                              ("all", _l("All consent: the broker stops working on this referral"))]


def withdraw(subject, operation, render, endpoint: str):
    """The withdrawal form posted on a lead's or a case's page: `operation(session, user, subject, scope=,
    reason=, ip=)` records it, then back to the page (`endpoint`); a refusal shows the page again through
    `render(subject, form)`."""
    form = WithdrawalForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            operation(db.session, current_user, subject, scope=form.scope.data, reason=form.reason.data,
                      ip=request.remote_addr)
        if work.ok:
            return done(_("The withdrawal is recorded; no copy of key steps will be sent from now on."),
                        url_for(endpoint, public_id=subject.public_id))
    return render(subject, form)


def consent_given_at(day: date) -> datetime:
    """The form asks for the day the client consented; stored as a UTC time no later than now (a consent
    given today is recorded as given now, an earlier day at its noon)."""
    now = datetime.now(UTC)
    return min(datetime.combine(day, time(12, 0), tzinfo=UTC), now) if day <= now.date() \
        else datetime.combine(day, time(12, 0), tzinfo=UTC)

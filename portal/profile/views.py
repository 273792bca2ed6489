"""The signed-in user's own settings: language and personal API tokens."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from core.db import utcnow

from ..accounts import operations as ops
from ..accounts.models import ApiToken
from ..edge import done, unit_of_work
from ..extensions import db
from ..forms import language_choices
from ..security.access import signed_in

bp = Blueprint("profile", __name__, url_prefix="/me")


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=255)])
    locale = SelectField(_l("Language"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = language_choices()


class TokenForm(FlaskForm):
    name = StringField(_l("What is this token for?"), validators=[DataRequired(), Length(max=100)])
    days = IntegerField(_l("Valid for (days)"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.days.data is None and not self.days.raw_data:
            self.days.data = current_app.config["API_TOKEN_DAYS"]


@bp.route("/", methods=["GET", "POST"])
@signed_in
def settings():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            ops.update_user(db.session, current_user, current_user, full_name=form.full_name.data,
                            locale=form.locale.data)
        if work.ok:
            return done(_("Changes saved."), url_for("profile.settings"))
    return render_template("profile/settings.html", form=form), 200 if not form.errors else 422


@bp.route("/tokens", methods=["GET", "POST"])
@signed_in
def tokens():
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            token, raw = ops.create_api_token(db.session, current_user, form.name.data, request.remote_addr,
                                              days=form.days.data)
        if work.ok:
            new_token = {"raw": raw, "expires_at": token.expires_at,
                         "days": round((token.expires_at - token.created_at).total_seconds() / 86400)}
            form = TokenForm(formdata=None)
    status = 422 if form.errors else 200
    return render_template("profile/tokens.html", form=form, tokens=ops.tokens_of(db.session, current_user),
                           new_token=new_token, now=utcnow(), owner=None,
                           max_days=current_app.config["API_TOKEN_MAX_DAYS"]), status


@bp.route("/tokens/<public_id>/revoke", methods=["POST"])
@signed_in
def token_revoke(public_id: str):
    token = db.session.execute(select(ApiToken).where(
        ApiToken.public_id == public_id, ApiToken.user_id == current_user.id)).scalar_one_or_none()
    if token is None:
        abort(404)
    with unit_of_work(success=_("Token “%(name)s” revoked. Programs using it can no longer connect.",
                                name=token.name)):
        ops.revoke_api_token(db.session, current_user, token, request.remote_addr)
    return redirect(url_for("profile.tokens"))

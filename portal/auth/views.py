"""Sign-in, sign-out and password links."""
from __future__ import annotations

from urllib.parse import urlsplit

from datetime import timedelta
from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..accounts import operations as ops
from ..accounts.errors import ApiOnlyAccount, InvalidToken
from ..accounts.models import TokenPurpose
from ..edge import done, unit_of_work
from ..extensions import db, limiter
from ..i18n import tr
from ..security.access import SESSION_HOLDERS, allow, public
from . import throttle
from .forms import ForgotPasswordForm, LoginForm, ResetPasswordForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        policy = throttle.Policy.from_config(current_app.config)
        with unit_of_work():  # its own: counted before the password is checked (see portal.auth.throttle)
            reservation = throttle.reserve(db.session, form.email.data, request.remote_addr or "", policy)
        if reservation.attempt is None:
            return _too_many(form, reservation.retry_after)
        with unit_of_work():
            user = _authenticate(form, reservation.attempt)
        if user is not None:
            session.clear()  # a fresh session on sign-in: no fixation
            login_user(user, remember=form.remember.data)
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")) or url_for("home.index"))
    return render_template("auth/login.html", form=form), 200 if request.method == "GET" else 401


def _authenticate(form: LoginForm, attempt):
    """The user the form's credentials open, or None with the form saying why; the attempt counts as a guess
    unless the password was right. A service account's refusal is recorded, not rolled back."""
    try:
        user = ops.authenticate(db.session, form.email.data, form.password.data, request.remote_addr)
    except ApiOnlyAccount as exc:
        throttle.succeeded(db.session, attempt)  # the right password: not a guess
        form.email.errors.append(tr(exc.message))
        return None
    if user is None:
        form.password.errors.append(_("The e-mail address or password is incorrect."))
    else:
        throttle.succeeded(db.session, attempt)
    return user


def _too_many(form: LoginForm, seconds: int):
    form.password.errors.append(_("Too many attempts: please try again in %(wait)s.",
                                  wait=format_timedelta(timedelta(seconds=seconds), threshold=1.1)))
    response = make_response(render_template("auth/login.html", form=form), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


@bp.route("/logout", methods=["POST"])
@allow(*SESSION_HOLDERS)
def logout():
    locale = current_user.locale
    logout_user()
    session.clear()
    session["locale"] = locale  # the sign-in page stays in the language the person was using
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit("5 per 10 minutes", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = ops.find_user_by_email(db.session, form.email.data)
        if user is not None and user.active:
            with unit_of_work():
                ops.send_password_link(db.session, user, TokenPurpose.reset)
        # The same answer whether or not the account exists.
        flash(_("If an account exists for this address, we have sent it a link to choose a new password."),
              "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
@limiter.limit("20 per 10 minutes", methods=["POST"])
def reset_password(token: str):
    try:
        reset = ops.find_valid_token(db.session, token)
    except InvalidToken as exc:
        return render_template("auth/reset_invalid.html", message=tr(exc.message)), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            ops.reset_password(db.session, token, form.password.data, request.remote_addr)
        if isinstance(work.error, InvalidToken):  # another request used the link first
            return render_template("auth/reset_invalid.html", message=tr(work.error.message)), 400
        if work.ok:
            logout_user()
            return done(_("Your password is set. You can sign in now."), url_for("auth.login"))
    return render_template("auth/reset.html", form=form, purpose=reset.purpose)

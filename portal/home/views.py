"""Role home pages, the language switch and the health check."""
from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from core.accounts import LANGUAGES, Role

from ..edge import unit_of_work
from ..extensions import db
from ..security.access import SESSION_HOLDERS, allow, public
from . import dashboards

bp = Blueprint("home", __name__)


@bp.route("/")
@allow(*SESSION_HOLDERS)
def index():
    if current_user.role is Role.programme_viewer:
        from ..programme.views import view

        return view()  # their home is the programme's dashboard, their whole web access
    template, context = dashboards.for_user(db.session, current_user)
    return render_template(template, **context)


@bp.route("/language", methods=["POST"])
@public
def set_language():
    locale = request.form.get("locale", "")
    if locale in LANGUAGES:
        session["locale"] = locale
        if current_user.is_authenticated:
            with unit_of_work():
                current_user.locale = locale
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("home.index")
    return redirect(target)


@bp.route("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means unhealthy
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="reachable")

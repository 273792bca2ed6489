"""An administrator's view of any user's API tokens: list and revoke (each revocation audited)."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.accounts import Role, User
from core.db import utcnow

from ..accounts import operations as ops
from ..accounts.models import ApiToken
from ..edge import unit_of_work
from ..extensions import db
from ..security.access import allow
from ..security.scoping import get_or_404
from .views import bp


@bp.route("/users/<public_id>/tokens")
@allow(Role.admin)
def user_tokens(public_id: str):
    user = get_or_404(User, public_id)
    return render_template("admin/user_tokens.html", user=user, tokens=ops.tokens_of(db.session, user), now=utcnow())


@bp.route("/users/<user_public_id>/tokens/<public_id>/revoke", methods=["POST"])
@allow(Role.admin)
def user_token_revoke(user_public_id: str, public_id: str):
    user = get_or_404(User, user_public_id)
    token = db.session.execute(select(ApiToken).where(ApiToken.public_id == public_id,
                                                      ApiToken.user_id == user.id)).scalar_one_or_none()
    if token is None:
        abort(404)
    with unit_of_work(success=_("Token “%(name)s” revoked. Programs using it can no longer connect.",
                                name=token.name)):
        ops.revoke_api_token(db.session, current_user, token, request.remote_addr)
    return redirect(url_for("admin.user_tokens", public_id=user.public_id))

from flask import current_app, jsonify

from ..security.access import principal, public, signed_in
from .blueprint import bp
from .openapi import build_spec, documented
from .schemas import MeSchema


@bp.route("/openapi.json")
@public
def openapi():
    return jsonify(build_spec(current_app))


@bp.route("/me")
@signed_in
@documented(summary="The user the token belongs to", response=MeSchema, tags=("account",))
def me():
    return jsonify(MeSchema().dump(principal()))

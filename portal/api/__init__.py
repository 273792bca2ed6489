"""The JSON API under /api/v1: bearer tokens, OpenAPI, errors as {"error": {"code", "message", "fields"}}."""
from flask import Blueprint

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API never reads the session cookie (bearer tokens only), so cross-site requests carry no authority.
csrf.exempt(bp)

from . import agreements, cases, leads, payouts, statements, views  # noqa: E402,F401  (registers the routes)

"""The api blueprint, apart from the package so its route modules import it without a loop."""
from flask import Blueprint

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API never reads the session cookie (bearer tokens only), so cross-site requests carry no authority.
csrf.exempt(bp)

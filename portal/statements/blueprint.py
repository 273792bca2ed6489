"""The statements blueprint, apart from the package so its route modules import it without a loop."""
from flask import Blueprint

bp = Blueprint("statements", __name__, url_prefix="/statements")

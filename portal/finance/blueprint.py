"""The finance blueprint, apart from the package so its route modules import it without a loop."""
from flask import Blueprint

bp = Blueprint("finance", __name__, url_prefix="/finance")

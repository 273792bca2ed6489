"""Partner commission statements: partners download their own; finance and admin any firm's."""
from flask import Blueprint

bp = Blueprint("statements", __name__, url_prefix="/statements")

from . import views  # noqa: E402,F401  (registers the routes)

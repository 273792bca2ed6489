"""Partner commission statements: partners download their own; finance and admin any firm's."""
from .blueprint import bp  # noqa: F401

from . import views  # noqa: F401  (registers the routes)

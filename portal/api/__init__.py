"""The JSON API under /api/v1: bearer tokens, OpenAPI, errors as {"error": {"code", "message", "fields"}}."""
from .blueprint import bp  # noqa: F401

from . import agreements, auth, cases, leads, payouts, statements, views, volunteers  # noqa: F401  (registers the routes)

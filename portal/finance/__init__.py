"""Finance's area: payout runs, insurer statements and receipts, accruals, receivables, the trial balance.

Only `finance` acts here; `admin` reads (every page is GET-open to both, every form POST to finance only).
"""
from flask import Blueprint

bp = Blueprint("finance", __name__, url_prefix="/finance")

from . import reconciliation_views, views  # noqa: E402,F401  (registers the routes)

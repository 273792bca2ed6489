"""Finance's area: payout runs, insurer statements and receipts, accruals, receivables, the trial balance.

Only `finance` acts here; `admin` reads (every page is GET-open to both, every form POST to finance only).
"""
from .blueprint import bp  # noqa: F401

from . import views  # noqa: F401  (registers the routes)

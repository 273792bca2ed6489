"""Finance's pages, one module per subject; each registers its routes on the finance blueprint."""
from . import bordereau, disclosures, insurer_rates, overview, partners, payouts, reconciliation  # noqa: F401

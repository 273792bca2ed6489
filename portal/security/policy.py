"""Who may read what: one rule per kind of record, used by the web pages and by the API alike.

A web page and the API endpoint that show the same records declare the same rule (`@permit(READ_LEADS)`), and
the fields only some readers may see are decided by the functions below, so the two can never give different
answers. `tests/portal/test_access.py` walks both with every role to hold them to it.
"""
from __future__ import annotations

from core.accounts import PARTNER_ROLES, PartnerStatus, Role

from .access import Access

INTRODUCERS = frozenset({PartnerStatus.introducer})
BROKERS = frozenset({PartnerStatus.specialist_broker, PartnerStatus.generalist_broker})

#: the broker's staff who work or review the pipeline (not finance: it accounts for contracts, not clients)
PIPELINE_STAFF = frozenset({Role.account_manager, Role.admin, Role.compliance})

#: leads: the staff who work or review them, and the introducer firm that referred them
READ_LEADS = Access(roles=PIPELINE_STAFF | PARTNER_ROLES, statuses=INTRODUCERS)
#: cases: the pipeline staff, finance (contracts and commissions), and the broker firm that submitted them
READ_CASES = Access(roles=PIPELINE_STAFF | {Role.finance} | PARTNER_ROLES, statuses=BROKERS)
#: payout runs and their SEPA files: finance, and administrators reading
READ_PAYOUT_RUNS = Access(roles=frozenset({Role.finance, Role.admin}))
#: partner commission statements: the firm itself, finance and administrators
READ_STATEMENTS = Access(roles=PARTNER_ROLES | {Role.finance, Role.admin})


def may_read_internal_notes(user) -> bool:
    """A milestone's internal note is for the staff who work the case, not for finance or the partner."""
    return user.role in PIPELINE_STAFF


def may_read_underwriting(user) -> bool:
    """A specialist's encrypted case summary and underwriting sensitivities: the submitting firm (scoping keeps
    it to its own cases) and the pipeline staff; not finance."""
    return user.is_partner or user.role in PIPELINE_STAFF


#: an agreement's commission rates: the staff who set, review or pay them
RATE_READERS = frozenset({Role.admin, Role.compliance, Role.finance})


def may_see_rates(user, agreement) -> bool:
    """The rates and the signed document: those staff, and the firm's own administrator (not its members)."""
    if user.role in RATE_READERS:
        return True
    return user.role is Role.partner_admin and user.organisation_id == agreement.organisation_id

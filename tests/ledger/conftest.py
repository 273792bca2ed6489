"""The ledger tests run on a plain session, without Flask (tests/domain.py); the commission world most of them
start from (tests/ledger/books.py builds it)."""
import pytest

from core.accounts import PartnerStatus, Role
from tests.domain import *  # noqa: F401,F403  (session, app, the check that no app context is active)
from tests.ledger.books import add_agreement, add_insurer


@pytest.fixture
def insurer(session):
    """Allianz Care, paying 15 % of the premium on family cover."""
    return add_insurer(session)


@pytest.fixture
def partner(session, make_org, make_user):
    """A broker firm with an agreement in force: 40 % of the broker's commission the first year, 20 % after,
    a 365-day clawback window; and an account manager, who places the contracts."""
    org = make_org(PartnerStatus.specialist_broker)
    add_agreement(session, org)
    session.commit()
    make_user(Role.account_manager)
    return org

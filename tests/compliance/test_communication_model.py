"""An introducer never leads the client communication on insurance: it chooses between the broker and hybrid."""
import pytest

from compliance.errors import CommunicationModelRefused
from compliance.onboarding import check_communication_model
from core.accounts import CommunicationModel as M, PartnerStatus as P


@pytest.mark.parametrize("status", [P.specialist_broker, P.generalist_broker])
def test_brokers_choose_any_model(status):
    for model in M:
        check_communication_model(status, model)


def test_an_introducer_chooses_the_broker_or_hybrid_only():
    check_communication_model(P.introducer, M.broker_leads)
    check_communication_model(P.introducer, M.hybrid)
    with pytest.raises(CommunicationModelRefused) as refused:
        check_communication_model(P.introducer, M.partner_leads)
    assert refused.value.field == "communication_model"


def test_values_are_checked_like_members():
    check_communication_model("introducer", "hybrid")
    with pytest.raises(CommunicationModelRefused):
        check_communication_model("introducer", "partner_leads")

"""Each case records who advises the client (the adviser of record the collaboration agreement names)."""
from core.accounts import PartnerStatus
from pipeline.cases.models import Adviser
from pipeline.cases.services import convert_lead
from tests.pipeline.case_data import case_input


def test_a_specialist_advises_its_client_the_broker_advises_a_generalists(session, make_broker, new_case):
    assert new_case(make_broker(PartnerStatus.specialist_broker)).adviser is Adviser.partner
    assert new_case(make_broker(PartnerStatus.generalist_broker)).adviser is Adviser.broker


def test_the_broker_advises_an_introducers_client(session, manager, introducer, new_lead):
    case = convert_lead(session, manager, new_lead(introducer), case_input())
    assert case.adviser is Adviser.broker


def test_the_case_page_names_the_adviser(make_broker, new_case, login):
    generalist = make_broker(PartnerStatus.generalist_broker)
    case = new_case(generalist)
    page = login(generalist).get(f"/cases/{case.public_id}").get_data(as_text=True)
    assert "Adviser of record" in page and "The broker advises the client" in page

"""An introducer's lead becomes a case led by the broker or shared (hybrid), never by the introducer."""
import pytest
from sqlalchemy import func, select

from compliance.errors import CommunicationModelRefused
from core.accounts import CommunicationModel
from pipeline.cases.models import Case
from pipeline.cases.services import convert_lead
from tests.pipeline.case_data import case_input


def test_a_lead_is_not_converted_into_a_case_the_introducer_leads(session, manager, introducer, new_lead):
    lead = new_lead(introducer)
    with pytest.raises(CommunicationModelRefused):
        convert_lead(session, manager, lead, case_input(model=CommunicationModel.partner_leads))
    session.rollback()
    assert session.execute(select(func.count()).select_from(Case)).scalar_one() == 0
    case = convert_lead(session, manager, lead, case_input(model=CommunicationModel.hybrid))
    assert case.communication_model is CommunicationModel.hybrid

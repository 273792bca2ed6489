"""A broker firm whose people lack last year's training hours submits no new case when the broker's policy says
so: the refusal comes from the case submission itself (it asks compliance.training)."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from compliance import training
from compliance.errors import TrainingShortfall
from core.accounts import Role
from core.db import utcnow
from pipeline.cases.models import Case
from pipeline.cases.services import submit_case
from tests.pipeline.case_data import case_input


@pytest.fixture
def veteran(session, broker):
    """The broker's partner admin, in post since long before last year, with no training recorded."""
    broker.created_at = datetime(2020, 1, 1, tzinfo=UTC)
    session.commit()
    return broker


def test_blocked_when_the_policy_is_on(session, veteran):
    with pytest.raises(TrainingShortfall) as refused:
        submit_case(session, veteran, case_input(), training_blocks=True)
    assert refused.value.params["year"] == utcnow().year - 1
    assert refused.value.status == 403
    session.rollback()
    assert session.execute(select(func.count()).select_from(Case)).scalar() == 0


def test_not_blocked_when_the_policy_is_off(session, veteran):
    case, created = submit_case(session, veteran, case_input(), training_blocks=False)
    assert created and case.id


def test_recorded_training_lifts_the_block(session, veteran, make_user):
    last_year = utcnow().year - 1
    training.record_training(session, make_user(Role.compliance), veteran, training.TrainingInput(
        provider="Chambre syndicale", completed_on=datetime(last_year, 6, 1).date(), duration_minutes=900,
        format="classroom", themes=["insurance_products"]), today=utcnow().date())
    session.commit()
    case, created = submit_case(session, veteran, case_input(), training_blocks=True)
    assert created


def test_a_replayed_submission_is_answered_even_when_blocked_since(session, veteran):
    values = case_input()
    case, _ = submit_case(session, veteran, values, idempotency_key="k1", training_blocks=False)
    session.commit()
    again, created = submit_case(session, veteran, values, idempotency_key="k1", training_blocks=True)
    assert again.id == case.id and not created


def test_a_staff_member_short_of_hours_does_not_block_partner_firms(session, make_broker, make_user):
    manager = make_user(Role.account_manager)
    manager.created_at = utcnow() - timedelta(days=800)
    session.commit()
    user = make_broker()  # joined this year: owes nothing for last year
    assert submit_case(session, user, case_input(), training_blocks=True)[1]

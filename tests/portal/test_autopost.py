"""Commissions post themselves: a placement, renewal or cancellation is posted by the outbox worker, once, without
anyone pressing a button; what cannot post is listed on the finance overview, translated, and the button retries it."""
from __future__ import annotations

import html
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.accounts import PartnerStatus, Role
from core.contracts import Contract, Insurer
from core.db import utcnow
from core.outbox import OutboxMessage, deliver_due
from core.products import ProductLine
from core.transports import FileTransport
from ledger import commissions, engine
from ledger.models import JournalEntry
from ledger.posting import failures, post_pending
from pipeline.cases.pipeline import Placement, move
from pipeline.cases.services import submit_case
from tests.conftest import csrf_from
from tests.ledger.books import add_agreement
from tests.pipeline.case_data import record_needs
from tests.pipeline.test_pipeline import TO_DECISION, S, case_input

START = date(2027, 1, 10)
PREMIUM = 1_000_000


@pytest.fixture
def firm(session, make_org, make_user):
    org = make_org(PartnerStatus.specialist_broker)
    add_agreement(session, org, since=date(2020, 1, 1), payment_terms_days=30)
    session.commit()
    return org, make_user(Role.partner_admin, org), make_user(Role.account_manager)


def insurer(session, *, rated: bool) -> Insurer:
    row = Insurer(code="allianz-care", name="Allianz Care", active=True)
    session.add(row)
    session.flush()
    if rated:
        commissions.set_insurer_rate(session, row, ProductLine.family, Decimal("0.1500"), date(2020, 1, 1), "finance")
    session.commit()
    return row


def place_through_pipeline(session, partner, manager, the_insurer) -> Contract:
    case, _ = submit_case(session, partner, case_input())
    session.commit()
    for stage in TO_DECISION:
        if stage is S.offer:
            record_needs(session, manager, case)
        move(session, manager, case, stage)
        session.commit()
    move(session, manager, case, S.contract_issued, placement=Placement(
        insurer=the_insurer, policy_number="POL-AUTO-1", product_line=ProductLine.family, premium_minor=PREMIUM,
        currency="EUR", start_date=START))
    session.commit()
    return session.execute(select(Contract).where(Contract.case_id == case.id)).scalar_one()


def run_worker(session, tmp_path, *, later: timedelta = timedelta(0)):
    return deliver_due(session, FileTransport(str(tmp_path / "mail")), "Portal <no-reply@portal.test>", batch=100,
                       now=utcnow() + later)


def commission_entries(session, contract) -> list[JournalEntry]:
    session.expire_all()
    return [e for e in session.execute(select(JournalEntry)).scalars() if e.details.get("contract") == contract.public_id]


def held(session, org) -> int:
    session.expire_all()
    return engine.account(session, commissions.held(org.public_id), "EUR").normal_balance


def test_a_placement_is_posted_by_the_worker_once_without_anyone_pressing_a_button(session, firm, tmp_path):
    org, partner, manager = firm
    contract = place_through_pipeline(session, partner, manager, insurer(session, rated=True))
    assert commission_entries(session, contract) == []  # enqueued with the event, not posted in the request

    run_worker(session, tmp_path)
    [entry] = commission_entries(session, contract)
    assert entry.details["broker_commission_minor"] == 150_000
    assert entry.details["client_initials"] == "M.D."  # the partner's statement names Marc Dupont by initials
    assert held(session, org) == 60_000  # 40 % of the broker's 15 %

    again = run_worker(session, tmp_path, later=timedelta(days=3))
    assert post_pending(session, START).posted == []
    session.commit()
    assert len(commission_entries(session, contract)) == 1 and held(session, org) == 60_000
    assert again.handled == 0


def test_a_job_run_twice_posts_nothing_twice(session, firm, tmp_path):
    org, partner, manager = firm
    contract = place_through_pipeline(session, partner, manager, insurer(session, rated=True))
    job = session.execute(select(OutboxMessage).where(OutboxMessage.job_name == "ledger.post_event")).scalar_one()
    run_worker(session, tmp_path)
    # a worker that crashed after posting but before recording the job as done runs it again
    job = session.get(OutboxMessage, job.id)
    session.execute(OutboxMessage.__table__.update().where(OutboxMessage.id == job.id)
                    .values(state="pending", attempts=0))
    session.commit()
    assert run_worker(session, tmp_path).sent == 1
    assert len(commission_entries(session, contract)) == 1 and held(session, org) == 60_000


def test_a_failed_posting_is_listed_translated_and_the_button_retries_it(session, firm, make_user, login, tmp_path):
    org, partner, manager = firm
    unrated = insurer(session, rated=False)
    contract = place_through_pipeline(session, partner, manager, unrated)
    assert run_worker(session, tmp_path).sent >= 1  # the job ran: the failure is the ledger's, not the worker's
    assert [f.code for f in failures(session)] == ["missing_rate"]

    client = login(make_user(Role.finance, locale="fr"))
    page = html.unescape(client.get("/finance/").get_data(as_text=True))
    assert "Aucun taux de commission de Allianz Care pour cette gamme de produits au 2027-01-10." in page
    assert "POL-AUTO-1" in page or contract.public_id in page

    commissions.set_insurer_rate(session, unrated, ProductLine.family, Decimal("0.1500"), date(2020, 1, 1), "finance")
    session.commit()
    token = csrf_from(page)
    done = client.post("/finance/post-events", data={"csrf_token": token}, follow_redirects=True)
    assert done.status_code == 200
    assert "Aucun taux de commission" not in html.unescape(done.get_data(as_text=True))
    assert len(commission_entries(session, contract)) == 1 and held(session, org) == 60_000
    assert failures(session) == []


def test_the_command_reports_a_failure_and_records_it(app, session, firm, tmp_path):
    _org, partner, manager = firm
    place_through_pipeline(session, partner, manager, insurer(session, rated=False))
    result = app.test_cli_runner().invoke(args=["ledger", "post-events"])
    assert result.exit_code == 1 and "No commission rate from Allianz Care" in result.output
    session.expire_all()
    assert session.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == 0
    assert [f.code for f in failures(session)] == ["missing_rate"]

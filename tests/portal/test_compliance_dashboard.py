"""The compliance dashboard: a row per partner firm with its agreement, training, disclosures, copies and consent,
flagged referrals and complaints, two server-drawn charts each with its table, a CSV of every figure; a partner sees
its own firm's status only; nobody else sees the dashboard."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from compliance import complaints
from compliance.complaint_models import ComplainantKind, ComplaintCategory, ComplaintChannel
from core import audit
from core.accounts import Role
from tests.portal import test_disclosures
from tests.portal.test_disclosures import _declare, _decide

world = test_disclosures.world

TODAY = date.today()


@pytest.fixture
def figures(session, world, make_user, login):
    firm, other = world["firm"], world["other"]
    _declare(login(make_user(Role.partner_admin, firm)), world["contract"])
    assert _decide(login(make_user(Role.compliance)), world["contract"], "approve",
                   "Role and remuneration disclosed in writing.").status_code == 302
    complaints.receive(session, None, complaints.ComplaintInput(
        channel=ComplaintChannel.letter, complainant_kind=ComplainantKind.client, complainant_name="Ana Lopez",
        complainant_email=None, category=ComplaintCategory.service,
        description="The broker never called me back about my renewal.",
        received_on=TODAY - timedelta(days=80), concerns=complaints.Concerns(organisation_id=other.id)),
        policy=complaints.DeadlinePolicy(), today=TODAY)
    someone = make_user(Role.partner_member, other)
    audit.record(session, "lead.health_data_refused", actor=someone, organisation=other.public_id,
                 categories=["diagnosis_or_test"])
    session.commit()
    return world


def test_the_dashboard_shows_each_firm_with_charts_tables_and_a_csv(session, figures, make_user, login):
    client = login(make_user(Role.compliance))
    page = client.get("/compliance/dashboard")
    html = page.get_data(as_text=True)
    # two charts, each drawn wide and narrow (the page's style shows the one that fits)
    assert page.status_code == 200 and html.count('<svg class="chart-wide"') == 2 and 'id="chart-disclosures"' in html
    assert html.count('<svg class="chart-narrow"') == 2
    alpha = html.split(f'id="firm-{figures["firm"].public_id}"')[1].split("</tr>")[0]
    beta = html.split(f'id="firm-{figures["other"].public_id}"')[1].split("</tr>")[0]
    assert "1 / 1" in alpha and ">0.0<" in alpha  # the one contract's disclosures approved, within the day
    assert "0 / 1" in beta and ">1<" in beta.replace(" ", "")  # nothing approved, one flagged referral
    assert "1 (1)" in beta  # one complaint open, overdue (received 80 days ago)
    chart = html.split('id="chart-disclosures"')[1].split("</figure>")[0]
    assert "Beta Brokers" in chart and "Courtage Alpha" in chart

    export = client.get("/compliance/dashboard.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = {r["firm"]: r for r in csv.DictReader(io.StringIO(export.get_data(as_text=True)))}
    assert rows["Courtage Alpha"]["disclosures_approved"] == "1" and rows["Courtage Alpha"]["contracts"] == "1"
    assert rows["Beta Brokers"]["complaints_overdue"] == "1"
    assert rows["Beta Brokers"]["health_data_refusals_12_months"] == "1"
    assert rows["Beta Brokers"]["cross_border_holds"] == "0"


def test_a_partner_sees_its_own_status_only(session, figures, make_user, login):
    partner = login(make_user(Role.partner_member, figures["other"]))
    page = partner.get("/firm/compliance").get_data(as_text=True)
    assert "Beta Brokers" in page and "Courtage Alpha" not in page
    assert "0 of your 1 contract has" in page
    assert "Ana Lopez" not in page and "Complaints open" not in page  # compliance's registers are not theirs


@pytest.mark.parametrize("role", [Role.finance, Role.account_manager, Role.partner_admin])
def test_nobody_else_sees_the_dashboard(session, figures, make_user, login, role):
    user = make_user(role, figures["firm"] if role is Role.partner_admin else None)
    client = login(user)
    assert client.get("/compliance/dashboard").status_code == 403
    assert client.get("/compliance/dashboard.csv").status_code == 403
    if role is not Role.partner_admin:
        assert client.get("/firm/compliance").status_code == 403


def test_the_figures_kept_between_requests_follow_every_new_record(session, figures, make_user, login, new_case):
    """The dashboard keeps its costliest counts (consents, refusals, approval delays) between requests: a new
    consent, a new refusal and a new approval show on the very next page all the same."""
    officer = login(make_user(Role.compliance))

    def beta() -> str:
        html = officer.get("/compliance/dashboard").get_data(as_text=True)
        return html.split(f'id="firm-{figures["other"].public_id}"')[1].split("</tr>")[0].replace(" ", "")

    before = beta()
    assert "0/1" in before and ">1<" in before and ">—<" in before  # nothing approved, one refusal, no consent
    partner = make_user(Role.partner_admin, figures["other"])
    new_case(partner)  # its client consents to copies of milestones
    audit.record(session, "lead.health_data_refused", actor=partner, organisation=figures["other"].public_id,
                 categories=["condition"])
    session.commit()
    _declare(login(partner), figures["other_contract"])
    assert _decide(login(make_user(Role.compliance)), figures["other_contract"], "approve",
                   "Role and remuneration disclosed in writing.").status_code == 302
    after = beta()
    assert "1/1" in after and ">0.0<" in after  # approved, within the day
    assert ">2<" in after  # two referrals flagged
    assert ">100%<" in after.replace("\u00a0", "")  # the one consent allows copies

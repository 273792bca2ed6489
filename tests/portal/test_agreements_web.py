"""Agreements in the portal and on the API: who sees what (rates are private), schedules, termination."""
import html
from datetime import date

import pytest
from sqlalchemy import select

from agreements import operations as ops
from agreements.models import Agreement, AgreementStatus, SignerParty
from agreements.queries import agreement_in_force
from core.accounts import PartnerStatus, Role
from core.partners import Lifecycle
from portal.agreements.services import broker_identity, seal_config
from tests.conftest import csrf_from
from tests.factories import bearer_headers

RATE = "30%"  # the default first-year rate of a collaboration schedule, as shown


@pytest.fixture
def active_agreement(app, session, make_org, make_user):
    """An active, sealed agreement of a specialist broker firm, through the real operations."""

    def make(status=PartnerStatus.specialist_broker):
        org = make_org(status, lifecycle=Lifecycle.approved)
        partner = make_user(Role.partner_admin, org)
        staff = make_user(Role.admin)
        with app.test_request_context():
            agreement = ops.prepare_agreement(session, staff, org, effective_from=date(2026, 1, 1))
            ops.send_for_signature(session, staff, agreement, broker_identity())
            ops.sign(session, agreement, partner, party=SignerParty.partner, typed_name=partner.full_name,
                     shown_sha256=agreement.document_sha256, ip="198.51.100.7", user_agent="test")
            ops.sign(session, agreement, staff, party=SignerParty.broker, typed_name=staff.full_name,
                     shown_sha256=agreement.document_sha256, ip="198.51.100.8", user_agent="test")
            ops.finalise(session, agreement, seal_config())
        session.commit()
        return agreement, org, partner

    return make


def test_partner_admin_sees_rates_and_the_sealed_pdf(active_agreement, login):
    agreement, _org, partner = active_agreement()
    c = login(partner)
    page = c.get(f"/agreements/{agreement.public_id}").get_data(as_text=True)
    assert agreement.reference in page and RATE in page and "Download the sealed PDF" in page
    pdf = c.get(f"/agreements/{agreement.public_id}/document.pdf")
    assert pdf.status_code == 200 and pdf.data == agreement.sealed_pdf


def test_partner_member_sees_the_agreement_but_never_the_rates(active_agreement, make_user, login):
    agreement, org, _partner = active_agreement()
    member = login(make_user(Role.partner_member, org))
    page = member.get(f"/agreements/{agreement.public_id}").get_data(as_text=True)
    assert agreement.reference in page and RATE not in page and "Commission schedule" not in page
    assert member.get(f"/agreements/{agreement.public_id}/document.pdf").status_code == 403


def test_account_managers_do_not_see_rates(active_agreement, make_user, login):
    agreement, _org, _partner = active_agreement()
    manager = login(make_user(Role.account_manager))
    page = manager.get(f"/agreements/{agreement.public_id}").get_data(as_text=True)
    assert RATE not in page
    assert manager.get(f"/agreements/{agreement.public_id}/document.pdf").status_code == 403


def test_another_firm_gets_404_for_the_agreement_and_its_pdf(active_agreement, make_org, make_user, login):
    agreement, _org, _partner = active_agreement()
    outsider = login(make_user(Role.partner_admin, make_org()))
    assert outsider.get(f"/agreements/{agreement.public_id}").status_code == 404
    assert outsider.get(f"/agreements/{agreement.public_id}/document.pdf").status_code == 404
    assert agreement.reference not in outsider.get("/agreements/").get_data(as_text=True)


def test_api_lists_own_agreements_with_a_pdf_link_only_for_those_entitled(app, client, active_agreement,
                                                                          make_org, make_user):
    agreement, org, partner = active_agreement()
    other, *_ = active_agreement()
    body = client.get("/api/v1/agreements", headers=bearer_headers(partner)).get_json()
    assert [a["id"] for a in body["items"]] == [agreement.public_id] and body["total"] == 1
    item = body["items"][0]
    assert item["kind"] == "collaboration" and item["status"] == "active" and item["template_version"]
    assert item["effective_from"] == "2026-01-01" and item["pdf"].endswith(f"/api/v1/agreements/{agreement.public_id}/pdf")
    pdf = client.get(f"/api/v1/agreements/{agreement.public_id}/pdf", headers=bearer_headers(partner))
    assert pdf.status_code == 200 and pdf.data == agreement.sealed_pdf
    assert client.get(f"/api/v1/agreements/{other.public_id}/pdf", headers=bearer_headers(partner)).status_code == 404

    member_items = client.get("/api/v1/agreements", headers=bearer_headers(make_user(Role.partner_member, org))).get_json()
    assert member_items["items"][0]["pdf"] is None
    staff = client.get("/api/v1/agreements", headers=bearer_headers(make_user(Role.finance))).get_json()
    assert staff["total"] == 2


def _draft_schedule(app, session, make_org, make_user, login, status, role):
    """A draft agreement for an approved firm, and its schedule editor opened by staff of `role`."""
    org = make_org(status, lifecycle=Lifecycle.approved)
    staff = make_user(role)
    with app.test_request_context():
        agreement = ops.prepare_agreement(session, staff, org, effective_from=date(2026, 1, 1))
    session.commit()
    c = login(staff)
    url = f"/agreements/{agreement.public_id}/schedule"
    return org, staff, agreement, c, url, c.get(url).get_data(as_text=True)


def test_schedule_form_saves_rates_exactly_and_refuses_bad_input(app, session, make_org, make_user, login):
    org, staff, agreement, c, url, page = _draft_schedule(app, session, make_org, make_user, login,
                                                          PartnerStatus.generalist_broker, Role.finance)
    form = {"csrf_token": csrf_from(page)}
    for i, line in enumerate(("individual", "family", "sme", "corporate")):
        form.update({f"rules-{i}-product_line": line, f"rules-{i}-first_year_percent": "27.5",
                     f"rules-{i}-renewal_percent": "12", f"rules-{i}-one_off_fee": "0", f"rules-{i}-currency": "EUR",
                     f"rules-{i}-clawback_days": "180", f"rules-{i}-payment_terms_days": "45"})
    form["rules-0-included"] = "y"
    form["rules-1-included"] = "y"
    bad = c.post(url, data={**form, "rules-0-first_year_percent": "130"})
    assert bad.status_code == 422 and "Number must be between 0 and 100." in bad.get_data(as_text=True)
    session.expire_all()
    assert len(session.get(Agreement, agreement.id).rules) == 4  # unchanged
    ok = c.post(url, data=form)
    assert ok.status_code == 302
    session.expire_all()
    rules = session.get(Agreement, agreement.id).rules
    assert [(r.product_line.value, str(r.first_year_rate), str(r.renewal_rate), r.clawback_days) for r in rules] == [
        ("individual", "0.2750", "0.1200", 180), ("family", "0.2750", "0.1200", 180)]


def test_introducer_recurring_commission_needs_compliance_approval_in_the_ui(app, session, make_org, make_user,
                                                                             login):
    org = make_org(PartnerStatus.introducer, lifecycle=Lifecycle.approved)
    admin = make_user(Role.admin)
    with app.test_request_context():
        agreement = ops.prepare_agreement(session, admin, org, effective_from=date(2026, 1, 1))
        ops.set_schedule(session, admin, agreement, [ops.RuleValues(
            ops.ProductLine.individual, renewal_rate=ops.Decimal("0.05"), one_off_fee_minor=10000)])
    session.commit()
    view = f"/agreements/{agreement.public_id}"
    c = login(admin)
    page = c.get(view).get_data(as_text=True)
    assert "needs a compliance approval" in page and "Send for signature" not in page
    refused = c.post(f"{view}/send", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "needs a compliance approval first" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Agreement, agreement.id).status is AgreementStatus.draft

    officer = login(make_user(Role.compliance))
    page = officer.get(view).get_data(as_text=True)
    r = officer.post(f"{view}/approve-recurring", data={"csrf_token": csrf_from(page),
                                                        "reason": "Client retention service justified by contract"})
    assert r.status_code == 302
    sent = officer.post(f"{view}/send", data={"csrf_token": csrf_from(page)})
    assert sent.status_code == 302
    session.expire_all()
    assert session.get(Agreement, agreement.id).status is AgreementStatus.sent


def test_termination_blocks_the_firm_and_keeps_history(active_agreement, make_user, login, session):
    agreement, org, _partner = active_agreement()
    officer = login(make_user(Role.compliance))
    view = f"/agreements/{agreement.public_id}"
    page = officer.get(view).get_data(as_text=True)
    short = officer.post(f"{view}/terminate", data={"csrf_token": csrf_from(page), "reason": "bye",
                                                   "last_day": "2026-12-31"})
    assert short.status_code == 422
    r = officer.post(f"{view}/terminate", data={"csrf_token": csrf_from(page), "last_day": "2026-12-31",
                                               "reason": "Partner ceased its brokerage activity"})
    assert r.status_code == 302
    session.expire_all()
    ended = session.get(Agreement, agreement.id)
    assert ended.status is AgreementStatus.terminated and ended.effective_to == date(2026, 12, 31)
    assert not ended.organisation.may_do_business
    assert agreement_in_force(session, org.id, date(2026, 6, 1)).id == agreement.id
    assert agreement_in_force(session, org.id, date(2027, 1, 1)) is None
    assert select  # history is queryable; nothing was deleted


def test_signing_someone_elses_firm_agreement_is_404(active_agreement, make_org, make_user, login, app, session):
    org = make_org(lifecycle=Lifecycle.approved)
    staff = make_user(Role.admin)
    with app.test_request_context():
        agreement = ops.prepare_agreement(session, staff, org, effective_from=date(2026, 1, 1))
        ops.send_for_signature(session, staff, agreement, broker_identity())
    session.commit()
    outsider = login(make_user(Role.partner_admin, make_org()))
    assert outsider.get(f"/agreements/{agreement.public_id}/sign").status_code == 404


def test_an_expired_session_during_signing_changes_nothing(app, session, make_org, make_user, login):
    org = make_org(lifecycle=Lifecycle.approved)
    partner, staff = make_user(Role.partner_admin, org), make_user(Role.admin)
    with app.test_request_context():
        agreement = ops.prepare_agreement(session, staff, org, effective_from=date(2026, 1, 1))
        ops.send_for_signature(session, staff, agreement, broker_identity())
    session.commit()
    c = login(partner)
    url = f"/agreements/{agreement.public_id}/sign"
    page = c.get(url).get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "document_sha256": agreement.document_sha256,
            "typed_name": partner.full_name, "password": "correct horse battery", "confirm": "y"}
    c.delete_cookie("session", domain="portal.test")  # the session expired while the page was open
    r = c.post(url, data=form)
    assert r.status_code == 400 and "Your form expired" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(Agreement, agreement.id).status is AgreementStatus.sent
    assert session.get(Agreement, agreement.id).signatures == []


def test_the_schedule_editor_shows_and_saves_what_payment_terms_count_from(app, session, make_org, make_user, login):
    org, staff, agreement, c, url, page = _draft_schedule(app, session, make_org, make_user, login,
                                                          PartnerStatus.specialist_broker, Role.admin)
    assert 'name="rules-0-payment_terms_basis"' in page
    assert '<option selected value="statement_month_end">' in page  # the default of every line
    form = {"csrf_token": csrf_from(page), "rules-0-product_line": "individual", "rules-0-included": "y",
            "rules-0-first_year_percent": "30", "rules-0-renewal_percent": "15", "rules-0-one_off_fee": "0",
            "rules-0-currency": "EUR", "rules-0-clawback_days": "365", "rules-0-payment_terms_days": "45",
            "rules-0-payment_terms_basis": "premium_received"}
    assert c.post(url, data={**form, "rules-0-payment_terms_basis": "whenever"}).status_code == 422
    assert c.post(url, data=form).status_code == 302
    session.expire_all()
    [rule] = session.get(Agreement, agreement.id).rules
    assert (rule.payment_terms_days, rule.payment_terms_basis.value) == (45, "premium_received")
    assert '<option selected value="premium_received">' in c.get(url).get_data(as_text=True)
    view = html.unescape(c.get(f"/agreements/{agreement.public_id}").get_data(as_text=True))
    assert "45 days from the insurer's payment of the commission on the premium" in view

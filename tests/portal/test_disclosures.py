"""Contract disclosures on the web: the partner firm declares what it told its client (with evidence), only its
own contracts; a compliance officer reviews it in a queue, sees the remuneration accrued beside what was
disclosed, returns or approves it; the approval releases the held share through the ledger (the outbox job), and
no other role can decide."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from compliance.disclosure_models import ContractDisclosure, DisclosureState
from core.accounts import PartnerStatus, Role
from core.contracts import Contract
from ledger import commissions, engine
from tests.conftest import csrf_from
from tests.portal.test_autopost import run_worker
from tests.ledger.books import add_agreement, add_insurer, place_and_post

START = date.today() - timedelta(days=20)
PDF = b"%PDF-1.7\n% the disclosure given to the client\n"


@pytest.fixture
def world(session, make_org, make_user):
    insurer = add_insurer(session, since=date(2020, 1, 1))
    firm = make_org(PartnerStatus.specialist_broker, legal_name="Courtage Alpha")
    other = make_org(PartnerStatus.generalist_broker, legal_name="Beta Brokers")
    manager = make_user(Role.account_manager)
    contracts = []
    for n, org in enumerate((firm, other)):
        add_agreement(session, org, since=date(2020, 1, 1))
        contracts.append(place_and_post(session, insurer, org, policy=f"POL-{n}", placed_by_id=manager.id,
                                        start=START))
    session.commit()
    return {"firm": firm, "other": other, "contract": contracts[0], "other_contract": contracts[1],
            "manager": manager}


def _balance(session, org, which):
    session.expire_all()
    code = commissions.held(org.public_id) if which == "held" else commissions.available(org.public_id)
    return engine.account(session, code, "EUR").normal_balance


def _declare(client, contract, **changes):
    url = f"/firm/disclosures/{contract.public_id}"
    data = {"csrf_token": csrf_from(client.get(url).get_data(as_text=True)),
            "role_disclosed": "We are your broker, registered with ORIAS under 12345678.",
            "remuneration_disclosed": "A commission paid by the insurer out of the premium.", "amount": "600.00",
            "disclosed_on": (START - timedelta(days=5)).isoformat(), "channel": "email",
            "evidence": (io.BytesIO(PDF), "disclosure.pdf")}
    data.update(changes)
    return client.post(url, data=data, content_type="multipart/form-data")


def _decide(client, contract, decision, reason):
    url = f"/compliance/disclosures/{contract.public_id}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(f"{url}/{decision}", data={"csrf_token": token, "reason": reason})


def test_a_partner_declares_compliance_returns_then_approves_and_the_share_is_released(
        session, world, make_user, login, tmp_path):
    firm, contract = world["firm"], world["contract"]
    partner = login(make_user(Role.partner_member, firm))
    listing = partner.get("/firm/disclosures").get_data(as_text=True)
    assert "POL-0" in listing and "POL-1" not in listing  # another firm's contract is not listed
    assert partner.get(f"/firm/disclosures/{world['other_contract'].public_id}").status_code == 404

    bad = _declare(partner, contract, disclosed_on=(date.today() + timedelta(days=3)).isoformat(),
                   evidence=(io.BytesIO(b"MZ not a document"), "x.exe"))
    assert bad.status_code == 422 and "cannot be dated in the future" in bad.get_data(as_text=True)
    assert session.scalar(select(ContractDisclosure.state)) in (None, DisclosureState.awaiting_declaration)
    assert _declare(partner, contract).status_code == 302

    officer = login(make_user(Role.compliance))
    queue = officer.get("/compliance/disclosures").get_data(as_text=True)
    assert "POL-0" in queue and "Courtage Alpha" in queue and "POL-1" not in queue  # only what awaits review
    page = officer.get(f"/compliance/disclosures/{contract.public_id}").get_data(as_text=True)
    remuneration = page.split('id="remuneration"')[1].split("</section>")[0]
    assert "1,500.00" in remuneration and "600.00" in remuneration and "Held" in remuneration
    declaration = page.split('id="declaration"')[1].split("</section>")[0]
    assert "ORIAS under 12345678" in declaration and "600.00" in declaration and "disclosure.pdf" in declaration
    evidence = officer.get(f"/compliance/disclosures/{contract.public_id}/evidence")
    assert evidence.status_code == 200 and evidence.data == PDF and evidence.mimetype == "application/pdf"

    assert _decide(officer, contract, "return", "short").status_code == 422
    assert _decide(officer, contract, "return", "State the amount in euros, please.").status_code == 302
    returned = partner.get(f"/firm/disclosures/{contract.public_id}").get_data(as_text=True)
    assert "State the amount in euros, please." in returned and "Send to compliance" in returned
    assert _declare(partner, contract, remuneration_disclosed="A commission of 600.00 EUR paid by the insurer.",
                    evidence=(io.BytesIO(b""), "")).status_code == 302

    assert _balance(session, firm, "held") == 60_000
    assert _decide(officer, contract, "approve", "Role and remuneration disclosed in writing.").status_code == 302
    assert _balance(session, firm, "held") == 60_000  # the ledger posts it, not compliance
    run_worker(session, tmp_path)  # the outbox worker runs the ledger's posting job
    assert (_balance(session, firm, "held"), _balance(session, firm, "available")) == (0, 60_000)
    assert "Approved" in partner.get("/firm/disclosures").get_data(as_text=True)
    assert _decide(officer, contract, "approve", "Approving it a second time.").status_code == 422


@pytest.mark.parametrize("role", [Role.finance, Role.account_manager, Role.admin, Role.partner_admin])
def test_only_a_compliance_officer_decides(session, world, make_user, login, role):
    firm, contract = world["firm"], world["contract"]
    _declare(login(make_user(Role.partner_admin, firm)), contract)
    user = make_user(role, firm if role is Role.partner_admin else None)
    client = login(user)
    page = client.get(f"/compliance/disclosures/{contract.public_id}")
    assert page.status_code == (200 if role is Role.admin else 403)
    if role is Role.admin:
        assert 'id="decide"' not in page.get_data(as_text=True)  # admins read; compliance decides
    token = csrf_from(client.get("/").get_data(as_text=True))
    r = client.post(f"/compliance/disclosures/{contract.public_id}/approve",
                    data={"csrf_token": token, "reason": "Role and remuneration disclosed."})
    assert r.status_code == 403
    session.expire_all()
    assert session.scalar(select(ContractDisclosure.state)) is DisclosureState.submitted


def test_the_officer_who_worked_the_case_cannot_review_it(session, world, make_user, login):
    firm, contract = world["firm"], world["contract"]
    _declare(login(make_user(Role.partner_admin, firm)), contract)
    officer = make_user(Role.compliance)
    contract = session.get(Contract, contract.id)
    contract.placed_by_id = officer.id  # as if this officer had placed it
    session.commit()
    client = login(officer)
    assert "another compliance officer must review" in client.get(
        f"/compliance/disclosures/{contract.public_id}").get_data(as_text=True)
    response = _decide(client, contract, "approve", "Role and remuneration disclosed.")
    assert response.status_code == 422 and "another compliance officer" in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(ContractDisclosure.state)) is DisclosureState.submitted

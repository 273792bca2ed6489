"""A partner's share is held until compliance approves the contract's disclosures: the partner firm declares what it
told the client, a compliance officer who did not work the case approves it, and the ledger — consuming the
approval's business event, never called by compliance — makes the share payable. Refusals change nothing."""
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from compliance import disclosures
from compliance.disclosure_models import DisclosureChannel, DisclosureReview, DisclosureState
from core import events
from core.accounts import Role
from core.contracts import ContractTerm
from core.events import BusinessEvent
from ledger import commissions, engine, posting
from tests.ledger import books

START = date(2026, 12, 1)
PDF = b"%PDF-1.7\n" + b"0" * 100


def _held(session, org, which="held"):
    session.expire_all()
    code = commissions.held(org.public_id) if which == "held" else commissions.available(org.public_id)
    return engine.account(session, code, "EUR").normal_balance


def _declaration(**changes):
    values = {"role_disclosed": "We act as your broker, registered with ORIAS under 12345678.",
              "remuneration_disclosed": "A commission paid by the insurer, 6% of the yearly premium.",
              "disclosed_on": START - timedelta(days=10), "channel": DisclosureChannel.email,
              "remuneration_disclosed_minor": 60_000, "evidence": PDF, "evidence_name": "disclosure.pdf"}
    values.update(changes)
    return disclosures.Declaration(**values)


@pytest.fixture
def placed(session, insurer, partner, make_user):
    manager = make_user(Role.account_manager)
    contract = books.place_and_post(session, insurer, partner, policy="P-1", placed_by_id=manager.id, start=START)
    return contract, manager


def test_an_approval_by_compliance_releases_the_held_share_through_the_ledger(session, partner, placed, make_user):
    contract, manager = placed
    assert _held(session, partner) == 60_000
    someone = make_user(Role.partner_member, partner)
    disclosure = disclosures.declare(session, someone, contract, _declaration(), today=START)
    assert disclosure.state is DisclosureState.submitted and disclosure.evidence_mime == "application/pdf"

    officer = make_user(Role.compliance)
    disclosures.approve(session, officer, disclosure, reason="Role and remuneration disclosed in writing.",
                        involved={manager.id}, today=START)
    session.commit()
    # compliance only recorded its decision and the business event: the share is still held ...
    assert _held(session, partner) == 60_000
    approval = session.scalars(select(BusinessEvent).where(BusinessEvent.kind == events.DISCLOSURE_APPROVED)).one()
    assert approval.subject == contract.public_id and approval.payload["reviewer"] == officer.email
    # ... until the ledger posts the event (the outbox worker's job does this within seconds)
    posting.post_job(session, approval.public_id)
    session.commit()
    assert (_held(session, partner), _held(session, partner, "available")) == (0, 60_000)
    posting.post_job(session, approval.public_id)  # a retried job changes nothing
    posting.post_pending(session, START)
    session.commit()
    assert _held(session, partner, "available") == 60_000 and engine.verify(session) == []

    # a renewal posted after the approval is not held back: the contract's disclosures are approved
    contract.terms.append(ContractTerm(number=2, start_date=START + timedelta(days=365),
                                       end_date=START + timedelta(days=729), premium_minor=1_000_000))
    renewal = events.emit(session, events.CONTRACT_RENEWED, contract.public_id, START + timedelta(days=365),
                          premium_minor=1_000_000, currency="EUR", term=2)
    commissions.post_event(session, renewal, today=START + timedelta(days=365))
    session.commit()
    assert _held(session, partner) == 0 and _held(session, partner, "available") == 60_000 + 30_000


def test_a_returned_declaration_is_declared_again_and_nothing_is_released_meanwhile(
        session, partner, placed, make_user):
    contract, manager = placed
    admin = make_user(Role.partner_admin, partner)
    disclosure = disclosures.declare(session, admin, contract, _declaration(evidence=None), today=START)
    officer = make_user(Role.compliance)
    disclosures.return_(session, officer, disclosure, reason="The remuneration's amount is not stated.",
                        involved={manager.id})
    session.commit()
    assert disclosure.state is DisclosureState.returned and _held(session, partner) == 60_000
    assert session.scalar(select(func.count(BusinessEvent.id)).where(
        BusinessEvent.kind == events.DISCLOSURE_APPROVED)) == 0
    again = disclosures.declare(session, admin, contract, _declaration(), today=START)
    assert again.state is DisclosureState.submitted and [r.decision.value for r in again.reviews] == ["returned"]


def test_refusals_name_the_reason_and_change_nothing(session, partner, placed, make_user, make_org):
    contract, manager = placed
    member = make_user(Role.partner_member, partner)
    outsider = make_user(Role.partner_admin, make_org())
    today = START
    cases = [
        (outsider, _declaration(), disclosures.NotYourFirm),
        (manager, _declaration(), disclosures.NotYourFirm),
        (member, _declaration(disclosed_on=today + timedelta(days=1)), disclosures.DisclosureRefused),
        (member, _declaration(role_disclosed="broker"), disclosures.DisclosureRefused),
        (member, _declaration(evidence=b"MZ\x90\x00 not a pdf"), disclosures.EvidenceRefused),
        (member, _declaration(evidence=b"%PDF-" + b"0" * (disclosures.EVIDENCE_MAX_BYTES + 1)),
         disclosures.EvidenceRefused),
    ]
    for who, declaration, error in cases:
        with pytest.raises(error):
            disclosures.declare(session, who, contract, declaration, today=today)
        session.rollback()
    disclosure = disclosures.disclosure_for(session, contract)
    assert disclosure.state is DisclosureState.awaiting_declaration and disclosure.declared_at is None

    disclosure = disclosures.declare(session, member, contract, _declaration(), today=today)
    session.commit()
    officer, finance = make_user(Role.compliance), make_user(Role.finance)
    refusals = [
        (finance, "Looks fine to me, really.", set(), disclosures.ReviewerNotAllowed),
        (make_user(Role.admin), "Looks fine to me, really.", set(), disclosures.ReviewerNotAllowed),
        (officer, "ok", set(), disclosures.ReasonRequired),
        # four eyes: the officer worked the case
        (officer, "Role and remuneration disclosed.", {officer.id}, disclosures.FourEyes),
    ]
    for who, reason, involved, error in refusals:
        with pytest.raises(error):
            disclosures.approve(session, who, disclosure, reason=reason, involved=involved, today=today)
        session.rollback()
    assert disclosure.state is DisclosureState.submitted and _held(session, partner) == 60_000
    assert session.scalar(select(func.count(DisclosureReview.id))) == 0
    disclosures.approve(session, officer, disclosure, reason="Role and remuneration disclosed.", involved=set(),
                        today=today)
    session.commit()
    with pytest.raises(disclosures.NotReviewable):  # decided once
        disclosures.return_(session, officer, disclosure, reason="Changed my mind about it.", involved=set())
    session.rollback()
    with pytest.raises(disclosures.NotDeclarable):
        disclosures.declare(session, member, contract, _declaration(), today=today)


def test_a_direct_sale_has_no_partner_disclosure(session, insurer, make_user):
    contract = books.place_and_post(session, insurer, None, policy="D-1", placed_by_id=None, start=START)
    with pytest.raises(disclosures.NoPartner):
        disclosures.disclosure_for(session, contract)

"""One person held everywhere, for the data-subject tests: Ana Silva (ana@example.org, +351 912 345 678) referred
as a lead and submitted as a case that was placed (a contract, its commission posted in the ledger, milestones
with notes naming her), a withdrawn consent whose reason names her, a complaint, and a volunteer's adhesion under
the same e-mail. Marc Dupont, another client, is held beside her and must come out untouched."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cryptography.fernet import Fernet

from compliance import complaints
from compliance.complaint_models import ComplainantKind, ComplaintCategory, ComplaintChannel
from compliance.complaints import ComplaintInput, DeadlinePolicy
from core.contracts import Contract
from core.db import utcnow
from core.products import ProductLine
from funnel import journey
from funnel.catalogue import Cover
from ledger.posting import post_pending
from pipeline.cases.models import CaseStatus as S
from pipeline.cases.pipeline import Placement, move, withdraw_consent
from pipeline.cases.services import submit_case
from pipeline.channel import links, questions, uploads
from pipeline.leads.services import submit_lead
from tests.ledger.books import add_agreement, add_insurer
from tests.pipeline.case_data import case_input, lead_input, walk

EMAIL, PHONE, FIRST, LAST = "ana@example.org", "+351 912 345 678", "Ana", "Silvestre"
#: the case keys the secure channel encrypts her documents and answers with
CASE_KEYS = Fernet.generate_key().decode()
BLOODS = b"%PDF-1.7\n1 0 obj <</Type /Catalog>> endobj\n% HbA1c 8.1 Ana Silvestre\n%%EOF\n"
TODAY = utcnow().date()


def same(text: str) -> str:
    return text


@dataclass
class Held:
    lead: object
    case: object
    contract: Contract
    other_case: object
    volunteer: object
    subscription: object


def _placement(insurer, policy: str) -> Placement:
    return Placement(insurer=insurer, policy_number=policy, product_line=ProductLine.family, premium_minor=1_000_000,
                     currency="EUR", start_date=TODAY)


def hold_ana(session, *, manager, broker, introducer, make_volunteer, placed: bool = True) -> Held:
    """Ana held everywhere; her case placed (`placed`), else stopped at the client's decision while Marc's is
    placed (so the ledger has books either way)."""
    insurer = add_insurer(session)
    add_agreement(session, broker.organisation)
    session.commit()
    lead, _ = submit_lead(session, introducer, lead_input(FIRST, last_name=LAST, email=EMAIL, phone=PHONE))
    case, _ = submit_case(session, broker, case_input(FIRST, client_last_name=LAST, client_email=EMAIL,
                                                      client_phone=PHONE))
    other, _ = submit_case(session, broker, case_input("Marc"))
    session.commit()
    walk(session, manager, case, S.needs_analysis, S.quote_requested, S.quote_issued, S.offer, S.client_decision,
         partner_note=f"Spoke to {FIRST} {LAST} on {PHONE}", internal_note=f"{FIRST} prefers e-mail: {EMAIL}")
    walk(session, manager, other, S.needs_analysis, S.quote_requested, S.quote_issued, S.offer, S.client_decision,
         partner_note="Marc Dupont called")
    # she sent her health information through the secure channel (the link went to her address)
    link, _raw = links.issue_link(session, manager, case)
    uploads.receive_document(session, link, filename=f"{FIRST} {LAST} bloods.pdf", data=BLOODS, keys=CASE_KEYS,
                             rules=uploads.UploadRules())
    questions.save_answers(session, link, answers={q.key: False for q in questions.QUESTIONS}, details={},
                           other=f"{FIRST} had asthma as a child", keys=CASE_KEYS)
    session.commit()
    if placed:
        move(session, manager, case, S.contract_issued, placement=_placement(insurer, "POL-ANA-1"))
    else:
        move(session, manager, other, S.contract_issued, placement=_placement(insurer, "POL-MARC-1"))
    post_pending(session, TODAY)
    withdraw_consent(session, manager, case, scope="cc_on_milestones",
                     reason=f"{FIRST} {LAST} asked by phone ({PHONE}) that the partner is no longer copied")
    complaints.receive(session, None, ComplaintInput(
        channel=ComplaintChannel.email, complainant_kind=ComplainantKind.client,
        complainant_name=f"{FIRST} {LAST}", complainant_email=EMAIL, category=ComplaintCategory.service,
        description=f"I am {FIRST} {LAST}; nobody called me back on {PHONE}.", received_on=TODAY),
        policy=DeadlinePolicy())
    session.commit()
    volunteer = make_volunteer(first_name=FIRST, last_name=LAST, email=EMAIL)
    subscription = journey.save_quote(session, volunteer, {Cover.prevoyance: "standard"}, [], today=TODAY,
                                      language="en")
    holder = journey.Holder(FIRST, LAST, EMAIL, PHONE, "12 Rua Augusta, Lisboa")
    journey.start_adhesion(session, subscription, holder=holder, beneficiaries=f"my husband, Rui {LAST}",
                           start_on=max(TODAY, volunteer.mission_start) + timedelta(days=10), accepted=True,
                           today=TODAY, translate=same, broker_name="Broker SAS")
    session.commit()
    session.refresh(case)
    session.refresh(other)
    return Held(lead, case, case.contract or other.contract, other, volunteer, subscription)

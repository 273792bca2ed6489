"""Demo data for `flask demo-data`: one firm of each status with an active sealed agreement, staff in every
role, the volunteer cover's sample tariffs and zone table, a small roster of volunteers with a few subscriptions
(portal.demo_volunteers). Idempotent: a second run creates nothing and changes
nothing."""
from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from agreements import operations as agreement_ops
from agreements.models import Agreement, AgreementStatus, SignerParty
from compliance import onboarding as onboarding_rules
from core.accounts import CommunicationModel, Lifecycle, Organisation, PartnerStatus, Register, Role, User
from core.db import utcnow
from funnel.seed import seed_sample_products

from .accounts import operations as ops

FIRMS = {
    "specialist": dict(legal_name="Lumen Expat Health Brokers SAS", status=PartnerStatus.specialist_broker,
                       register=Register.orias, registration_number="12345678", country="FR",
                       zones=["AE", "FR", "SG", "TH"], communication_model=CommunicationModel.partner_leads,
                       languages=["fr", "en"], company_number="732829320", contact_name="Sophie Lumen",
                       contact_email="ops@lumen.example", cc_key_communications=True),
    "generalist": dict(legal_name="Ashford & Reid Insurance Brokers Ltd", status=PartnerStatus.generalist_broker,
                       register=Register.fca, registration_number="123456", country="GB",
                       zones=["GB", "HK", "US"], communication_model=CommunicationModel.broker_leads,
                       languages=["en"], contact_name="George Ashford", contact_email="ops@ashford.example",
                       cc_key_communications=True),
    "introducer": dict(legal_name="Relocasa Relocation Services SL", status=PartnerStatus.introducer,
                       register=None, registration_number=None, country="ES", zones=["ES", "PT"],
                       communication_model=CommunicationModel.hybrid, languages=["es", "en"],
                       contact_name="Inés Relocasa", contact_email="ops@relocasa.example",
                       cc_key_communications=False),
}

# (e-mail, role, firm key or None, full name, language)
USERS = [
    ("admin@demo.example", Role.admin, None, "Alex Admin", "en"),
    ("compliance@demo.example", Role.compliance, None, "Camille Conformité", "fr"),
    ("finance@demo.example", Role.finance, None, "Fatima Finance", "en"),
    # payout runs need a second pair of eyes: one finance user prepares, another approves
    ("finance.approver@demo.example", Role.finance, None, "Felix Finance", "fr"),
    ("manager@demo.example", Role.account_manager, None, "Marco Manager", "it"),
    ("specialist@demo.example", Role.partner_admin, "specialist", "Sophie Lumen", "fr"),
    ("specialist.member@demo.example", Role.partner_member, "specialist", "Paul Lumen", "fr"),
    ("generalist@demo.example", Role.partner_admin, "generalist", "George Ashford", "en"),
    ("generalist.member@demo.example", Role.partner_member, "generalist", "Grace Reid", "en"),
    ("introducer@demo.example", Role.partner_admin, "introducer", "Inés Relocasa", "es"),
    ("introducer.member@demo.example", Role.partner_member, "introducer", "Iker Relocasa", "es"),
    ("volunteer@demo.example", Role.volunteer, None, "Victor Volontaire", "fr"),
    ("operator@demo.example", Role.programme_operator, None, "Programme operator system", "en"),
    # the programme's own people: the read-only dashboard of aggregates (web only)
    ("programme@demo.example", Role.programme_viewer, None, "Pauline Programme", "fr"),
]

DEMO_LOGINS = [(email, role.value) for email, role, *_ in USERS]


APPROACHES = dict(
    data_sharing_approach="Client consent recorded before sharing; details passed only through the partner "
                          "portal; no medical information by e-mail.",
    disclosure_approach="Role, remuneration and conflicts of interest disclosed in writing before any "
                        "commitment, in the client's language.",
)


def load_demo(session: Session, password: str, seal_config=None, broker=None) -> int:
    """Create what is missing; never change what exists. Returns how many records were created."""
    created = 0
    firms = {}
    for key, values in FIRMS.items():
        org = session.execute(select(Organisation).where(Organisation.legal_name == values["legal_name"])
                              ).scalar_one_or_none()
        if org is None:
            org = ops.create_organisation(session, None, **values)
            for key_, value in {**values, **APPROACHES}.items():
                setattr(org, key_, value)
            created += 1
        firms[key] = org
    for email, role, firm, name, locale in USERS:
        if ops.find_user_by_email(session, email) is None:
            ops.create_user(session, None, email=email, full_name=name, role=role,
                            organisation=firms[firm] if firm else None, locale=locale, password=password,
                            invite=False)
            created += 1
    session.flush()
    created += seed_sample_products(session)
    if seal_config is not None:
        for user in session.execute(select(User).where(User.email.like("%@demo.example"))).scalars():
            user.email_verified_at = user.email_verified_at or user.created_at
        created += _sign_demo_agreements(session, firms, seal_config, broker)
        created += _demo_insurers(session)
        created += _demo_disclosure_settings(session, broker)
        created += _demo_pipeline(session)
        created += _demo_ledger(session, firms)
        from .demo_volunteers import load_volunteers

        created += load_volunteers(session, seal_config)
    return created


def _sign_demo_agreements(session: Session, firms: dict, seal_config, broker) -> int:
    """Take each demo firm through the real flow once: approval, draft, both signatures, seal."""
    compliance = ops.find_user_by_email(session, "compliance@demo.example")
    admin = ops.find_user_by_email(session, "admin@demo.example")
    done = 0
    for key, org in firms.items():
        has_agreement = session.execute(select(Agreement.id).where(
            Agreement.organisation_id == org.id, Agreement.status == AgreementStatus.active)).first()
        if has_agreement:
            continue
        if org.lifecycle in (Lifecycle.applied, Lifecycle.under_review):
            onboarding_rules.decide_status(session, compliance, org, approve=True,
                                           reason="Demo data: registration and approaches checked.")
        agreement = agreement_ops.prepare_agreement(session, admin, org,
                                                    effective_from=date(utcnow().year, 1, 1))
        agreement_ops.send_for_signature(session, admin, agreement, broker)
        partner = ops.find_user_by_email(session, f"{key}@demo.example")
        for signer, party in ((partner, SignerParty.partner), (admin, SignerParty.broker)):
            agreement_ops.sign(session, agreement, signer, party=party, typed_name=signer.full_name,
                               shown_sha256=agreement.document_sha256, ip="127.0.0.1", user_agent="demo-data")
        agreement_ops.finalise(session, agreement, seal_config)
        done += 1
    return done


INSURERS = [("allianz-care", "Allianz Care"), ("april-international", "APRIL International"),
            ("axa-global", "AXA Global Healthcare"), ("bupa-global", "Bupa Global"),
            ("cigna-global", "Cigna Global"), ("msh-international", "MSH International")]


def _demo_insurers(session: Session) -> int:
    from core.contracts import Insurer

    known = set(session.execute(select(Insurer.code)).scalars())
    for code, name in INSURERS:
        if code not in known:
            session.add(Insurer(code=code, name=name))
    session.flush()
    return len([c for c, _ in INSURERS if c not in known])


def _demo_disclosure_settings(session: Session, broker) -> int:
    """The broker's disclosure settings, published by the administrator and in force from today."""
    from compliance import broker_disclosure

    if broker_disclosure.latest(session) is not None:
        return 0
    name = getattr(broker, "name", None) or current_app.config.get("BROKER_NAME", "BIG Insurance Brokers SAS")
    registration = current_app.config.get("BROKER_REGISTRATION", "ORIAS 07000001")
    register, _, number = registration.partition(" ")
    broker_disclosure.publish(session, ops.find_user_by_email(session, "admin@demo.example"),
                              broker_disclosure.SettingsInput(
        effective_from=utcnow().date(), legal_name=name, address="12 rue de la Paix, 75002 Paris, France",
        register=register or "ORIAS", registration_number=number or registration,
        advice_basis=broker_disclosure.AdviceBasis.fair_analysis,
        insurers=["Allianz Care", "Cigna Global", "AXA Global Healthcare", "April International"], holdings=[],
        complaints_procedure="Write to reclamations@broker.example or to the address above: we acknowledge "
                             "within 10 business days and answer within two months.",
        mediation_procedure="If our answer does not satisfy you, you may refer the matter free of charge to "
                            "La Médiation de l'Assurance, TSA 50110, 75441 Paris Cedex 09, www.mediation-assurance.org."),
        today=utcnow().date())
    return 1


def _demo_pipeline(session: Session) -> int:
    """Leads and cases at several milestones, one contract placed — through the real services, so the
    history, the copies to partners and the cc log are what the portal would have written."""
    from datetime import timedelta

    from core.contracts import Insurer
    from core.products import ProductLine
    from compliance import crossborder as host_states
    from pipeline.cases import crossborder, needs, pipeline, services as case_services
    from pipeline.cases.models import BudgetBand, Case, CaseStatus
    from pipeline.leads import services as lead_services
    from pipeline.leads.models import Lead, LeadStatus

    if session.execute(select(Case.id).limit(1)).first() or session.execute(select(Lead.id).limit(1)).first():
        return 0
    user = {key: ops.find_user_by_email(session, f"{key}@demo.example")
            for key in ("manager", "specialist", "generalist", "introducer", "compliance")}
    now = utcnow()
    consent = lead_services.ConsentInput(share_with_broker=True, cc_on_milestones=True, text_version="2026-11",
                                         given_at=now - timedelta(hours=2))

    def lead(first, last, email, country, timeline, category, need, language="en"):
        return lead_services.submit_lead(session, user["introducer"], lead_services.LeadInput(
            first_name=first, last_name=last, email=email, phone=None, country_of_residence=country,
            timeline=timeline, need_category=category, need_summary=need, language=language, consent=consent))[0]

    def case_input(first, last, email, adults, ages, country, line, band, model, **extra):
        return case_services.CaseInput(
            client_first_name=first, client_last_name=last, client_email=email, client_phone=None, adults=adults,
            children=len(ages) - adults, ages=ages, nationality=extra.pop("nationality", "FR"),
            country_of_residence=country, travel_countries=extra.pop("travel", []),
            start_date=now.date() + timedelta(days=30), product_line=line, budget_band=band, current_cover=None,
            renewal_date=None, communication_model=model, language=extra.pop("language", "en"), consent=consent,
            **extra)

    def walk(case, *stages, **kwargs):
        for stage in stages:
            if stage is CaseStatus.offer:  # outside the EU/EEA: the local licensing consideration first
                crossborder.record_local_licensing(session, user["manager"], case, consideration=(
                    "UAE: the insurer covers UAE residents from abroad; the client confirmed no local mandate."))
            if stage is CaseStatus.offer:
                # the account manager records the client's demands and needs before the offer
                needs.record(session, user["manager"], case, needs.NeedsInput(
                    needs="Individual cover for a three-year posting in Dubai, with business trips to France "
                          "and Singapore; inpatient and outpatient, evacuation and repatriation.",
                    budget_minor=500_000, budget_currency="EUR", countries=["AE", "FR", "SG"],
                    chosen_cover="Allianz Care Premier, worldwide excluding the USA, no deductible.",
                    reasons="Worldwide outside the USA covers every country he lives in or visits, within budget, "
                            "and the insurer underwrites in full as he prefers."))
            pipeline.move(session, user["manager"], case, stage, **(kwargs if stage is stages[-1] else {}))

    # the French specialist's passport: Belgium and Luxembourg under the freedom to provide services
    for country in ("BE", "LU"):
        host_states.record_notification(session, user["compliance"], user["specialist"].organisation, country=country,
                                        basis=host_states.NotificationBasis.freedom_of_services,
                                        notified_on=date(2025, 3, 1))
    ana = lead("Ana", "Silva", "ana.silva@example.org", "PT", (now.date() + timedelta(days=60)).isoformat(),
               "family_relocation", "Family of four moving to Lisbon, needs international health cover from January")
    lead("Tomás", "Ruiz", "tomas.ruiz@example.org", "ES", "within_3_months", "individual_expatriate",
         "Freelance designer relocating to Valencia, wants cover valid in Europe and Latin America", "es")
    marta = lead("Marta", "Costa", "marta.costa@example.org", "PT", "asap", "retiree_abroad",
                 "Retired couple settling in the Algarve, looking for long-term international cover")
    lead_services.set_status(session, user["manager"], marta, LeadStatus.contacted)
    converted = case_services.convert_lead(session, user["manager"], ana, case_input(
        "Ana", "Silva", "ana.silva@example.org", 2, [41, 39, 9, 6], "PT", ProductLine.family,
        BudgetBand.from_6000_to_12000, CommunicationModel.hybrid, nationality="BR"))
    walk(converted, CaseStatus.needs_analysis, CaseStatus.quote_requested, CaseStatus.quote_issued,
         partner_note="Three insurers quoted; the broker walks the family through them this week.")

    placed, _ = case_services.submit_case(session, user["specialist"], case_input(
        "Karim", "Haddad", "karim.haddad@example.org", 1, [36], "AE", ProductLine.individual,
        BudgetBand.from_3000_to_6000, CommunicationModel.partner_leads, travel=["FR", "SG"], language="fr",
        case_summary="Engineer posted to Dubai for three years; wants worldwide cover excluding the USA.",
        underwriting_sensitivities="Declared a past sports injury; full medical underwriting preferred."),
        keys=current_app.config["CASE_ENCRYPTION_KEYS"])
    allianz = session.execute(select(Insurer).where(Insurer.code == "allianz-care")).scalar_one()
    walk(placed, CaseStatus.needs_analysis, CaseStatus.quote_requested, CaseStatus.quote_issued,
         CaseStatus.offer, CaseStatus.client_decision, CaseStatus.contract_issued,
         placement=pipeline.Placement(insurer=allianz, policy_number="AC-2026-000117",
                                      product_line=ProductLine.individual, premium_minor=412_800, currency="EUR",
                                      start_date=now.date()),
         partner_note="Allianz Care Premier, worldwide excluding USA, from today.")
    walk(placed, CaseStatus.active)

    framed, _ = case_services.submit_case(session, user["generalist"], case_input(
        "Emily", "Clarke", "emily.clarke@example.org", 2, [45, 44, 14], "HK", ProductLine.family,
        BudgetBand.over_12000, CommunicationModel.broker_leads, nationality="GB", travel=["GB", "US"]))
    walk(framed, CaseStatus.needs_analysis, CaseStatus.quote_requested, CaseStatus.quote_issued,
         CaseStatus.underwriting_questions, partner_note="The insurer asked the client a few questions directly.")
    case_services.submit_case(session, user["specialist"], case_input(
        "Lucie", "Martin", "lucie.martin@example.org", 1, [29], "SG", ProductLine.individual,
        BudgetBand.under_3000, CommunicationModel.partner_leads, language="fr"))
    session.flush()
    return 7


# specimen accounts (valid check digits, not real customers' accounts)
BANK_DETAILS = {"specialist": ("FR1420041010050500013M02606", None),
                "generalist": ("GB29NWBK60161331926819", "NWBKGB2L"),
                "introducer": ("ES9121000418450200051332", None)}


def _demo_ledger(session: Session, firms: dict) -> int:
    """Insurer rates, the placed contract's commission posted and released, and one approved payout run with
    its SEPA file — through the ledger's own operations."""
    from decimal import Decimal

    from core.contracts import Contract, Insurer
    from core.products import ProductLine
    from compliance import disclosures
    from compliance.disclosure_models import DisclosureChannel
    from core.accounts import PARTNER_ROLES
    from ledger import commissions, payouts, posting

    from .finance.services import debtor, payees

    if session.execute(select(payouts.PayoutRun.id).limit(1)).first():
        return 0
    today = utcnow().date()
    for n, insurer in enumerate(session.execute(select(Insurer).order_by(Insurer.code)).scalars()):
        for line in ProductLine:
            commissions.set_insurer_rate(session, insurer, line, Decimal("0.1500") + Decimal(n) / 100,
                                         date(today.year, 1, 1), "finance@demo.example")
    for key, (iban, bic) in BANK_DETAILS.items():
        org = firms[key]
        org.payout_account_holder = org.payout_account_holder or org.legal_name
        org.payout_iban, org.payout_bic = org.payout_iban or iban, org.payout_bic or bic
    session.flush()
    # booked in the month before last: due under the agreements' payment terms (30 days from the statement's
    # month end) by today, so the demo run pays them
    booked = (today.replace(day=1) - timedelta(days=40)).replace(day=5)
    posting.post_pending(session, booked)
    # the partner declared its disclosures and compliance approved them: the ledger releases the held shares
    officer = ops.find_user_by_email(session, "compliance@demo.example")
    for contract in session.execute(select(Contract).where(Contract.organisation_id.is_not(None))).scalars():
        declarer = session.scalars(select(User).where(User.organisation_id == contract.organisation_id,
                                                      User.role.in_(PARTNER_ROLES)).order_by(User.id)).first()
        if declarer is None:
            continue
        disclosure = disclosures.declare(session, declarer, contract, disclosures.Declaration(
            role_disclosed="Broker registered with ORIAS, acting for the client, with no tie to any insurer.",
            remuneration_disclosed="A commission paid by the insurer out of the premium, shared with the broker.",
            disclosed_on=min(contract.start_date, booked) - timedelta(days=7), channel=DisclosureChannel.email),
            today=booked)
        disclosures.approve(session, officer, disclosure, reason="Role and remuneration disclosed in writing "
                            "before the offer.", involved=set(), today=booked)
    posting.post_pending(session, booked)
    preparer = ops.find_user_by_email(session, "finance@demo.example")
    approver = ops.find_user_by_email(session, "finance.approver@demo.example")
    run = payouts.prepare(session, period=booked.replace(day=1), currency="EUR", payees=payees(session, today),
                          prepared_by=preparer.public_id, prepared_by_name=preparer.full_name,
                          execution_date=today)
    payouts.approve(session, run, approved_by=approver.public_id, approved_by_name=approver.full_name,
                    debtor=debtor(), today=today)
    session.flush()
    return 1

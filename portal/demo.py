"""Demo data for `flask demo-data`: one firm of each status with an active sealed agreement, staff in every
role. Idempotent: a second run creates nothing and changes nothing."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from agreements import operations as agreement_ops
from agreements.models import Agreement, AgreementStatus, SignerParty
from compliance import onboarding as onboarding_rules
from core.db import utcnow

from .accounts import operations as ops
from .accounts.models import CommunicationModel, Lifecycle, Organisation, PartnerStatus, Register, Role, User

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
    ("manager@demo.example", Role.account_manager, None, "Marco Manager", "it"),
    ("specialist@demo.example", Role.partner_admin, "specialist", "Sophie Lumen", "fr"),
    ("specialist.member@demo.example", Role.partner_member, "specialist", "Paul Lumen", "fr"),
    ("generalist@demo.example", Role.partner_admin, "generalist", "George Ashford", "en"),
    ("generalist.member@demo.example", Role.partner_member, "generalist", "Grace Reid", "en"),
    ("introducer@demo.example", Role.partner_admin, "introducer", "Inés Relocasa", "es"),
    ("introducer.member@demo.example", Role.partner_member, "introducer", "Iker Relocasa", "es"),
    ("volunteer@demo.example", Role.volunteer, None, "Victor Volontaire", "fr"),
    ("operator@demo.example", Role.programme_operator, None, "Programme operator system", "en"),
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
    if seal_config is not None:
        for user in session.execute(select(User).where(User.email.like("%@demo.example"))).scalars():
            user.email_verified_at = user.email_verified_at or user.created_at
        created += _sign_demo_agreements(session, firms, seal_config, broker)
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

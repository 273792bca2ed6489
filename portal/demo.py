"""Demo data for `flask demo-data`: one firm of each status, staff in every role. Idempotent."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .accounts import operations as ops
from .accounts.models import CommunicationModel, Organisation, PartnerStatus, Register, Role

FIRMS = {
    "specialist": dict(legal_name="Lumen Expat Health Brokers SAS", status=PartnerStatus.specialist_broker,
                       register=Register.orias, registration_number="12345678", country="FR",
                       zones=["AE", "FR", "SG", "TH"], communication_model=CommunicationModel.partner_leads,
                       languages=["fr", "en"]),
    "generalist": dict(legal_name="Ashford & Reid Insurance Brokers Ltd", status=PartnerStatus.generalist_broker,
                       register=Register.fca, registration_number="123456", country="GB",
                       zones=["GB", "HK", "US"], communication_model=CommunicationModel.broker_leads,
                       languages=["en"]),
    "introducer": dict(legal_name="Relocasa Relocation Services SL", status=PartnerStatus.introducer,
                       register=None, registration_number=None, country="ES", zones=["ES", "PT"],
                       communication_model=CommunicationModel.hybrid, languages=["es", "en"]),
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


def load_demo(session: Session, password: str) -> int:
    """Create what is missing; never change what exists. Returns how many records were created."""
    created = 0
    firms = {}
    for key, values in FIRMS.items():
        org = session.execute(select(Organisation).where(Organisation.legal_name == values["legal_name"])
                              ).scalar_one_or_none()
        if org is None:
            org = ops.create_organisation(session, None, **values)
            created += 1
        firms[key] = org
    for email, role, firm, name, locale in USERS:
        if ops.find_user_by_email(session, email) is None:
            ops.create_user(session, None, email=email, full_name=name, role=role,
                            organisation=firms[firm] if firm else None, locale=locale, password=password,
                            invite=False)
            created += 1
    session.flush()
    return created

"""A firm applies; compliance decides; an approved firm gets its draft agreement."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from agreements import operations as agreement_ops
from agreements.models import Agreement
from compliance import onboarding as rules
from compliance.registers import check_company_number, check_registration
from core import audit
from core.accounts import Organisation, Role, User
from core.partners import Lifecycle

from ..accounts import operations as account_ops

APPLICATION_FIELDS = ("legal_name", "status", "register", "registration_number", "company_number", "country",
                      "zones", "communication_model", "cc_key_communications", "languages", "contact_name",
                      "contact_email", "contact_phone", "data_sharing_approach", "disclosure_approach")


def apply(session: Session, *, admin_name: str, admin_email: str, locale: str, ip: str | None,
          **values) -> Organisation:
    """Create the firm in `applied` state and its first administrator, who is e-mailed a link to verify the
    address and choose a password. Invalid registration details refuse the whole application."""
    values = {k: values[k] for k in APPLICATION_FIELDS}
    rules.check_communication_model(values["status"], values["communication_model"])
    values["registration_number"] = check_registration(
        values["register"].value if values["register"] else None, values["registration_number"],
        broker=values["status"].is_broker)
    values["company_number"] = check_company_number(values["country"], values["company_number"])
    if not values["status"].is_broker and not values["register"]:
        values["registration_number"] = None
    org = Organisation(lifecycle=Lifecycle.applied, **values)
    session.add(org)
    session.flush()
    audit.record(session, "organisation.applied", actor=None, subject=org, ip=ip, legal_name=org.legal_name,
                 status=org.status.value, email=admin_email)
    account_ops.create_user(session, None, email=admin_email, full_name=admin_name, role=Role.partner_admin,
                            organisation=org, locale=locale, ip=ip)
    return org


def admin_verified(session: Session, org: Organisation) -> bool:
    return session.execute(select(User.id).where(
        User.organisation_id == org.id, User.role == Role.partner_admin,
        User.email_verified_at.is_not(None)).limit(1)).first() is not None


def latest_agreement(session: Session, org: Organisation) -> Agreement | None:
    return session.execute(select(Agreement).where(Agreement.organisation_id == org.id)
                           .order_by(Agreement.id.desc()).limit(1)).scalar_one_or_none()


def checklist(session: Session, org: Organisation):
    latest = latest_agreement(session, org)
    return rules.checklist(session, org, admin_verified=admin_verified(session, org),
                           agreement_status=latest.status.value if latest else None)


def decide(session: Session, actor: User, org: Organisation, *, approve: bool, reason: str, ip: str | None,
           effective_from: date | None = None) -> Agreement | None:
    """Record compliance's decision; an approval prepares the draft agreement in the same transaction."""
    rules.decide_status(session, actor, org, approve=approve, reason=reason, ip=ip)
    if not approve:
        return None
    return agreement_ops.prepare_agreement(session, actor, org, effective_from=effective_from or date.today())

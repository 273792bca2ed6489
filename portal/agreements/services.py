"""The portal's side of agreements: configuration, the sealing job, and the e-mails around signing."""
from __future__ import annotations

from pathlib import Path

from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from agreements import operations
from agreements.certificates import certificate_pem, ensure_dev_certificate
from agreements.models import Agreement, AgreementStatus
from agreements.sealing import SealConfig
from core.accounts import Role, User
from core.outbox import attachment_provider, job, on_job_failure

from ..mail import queue_mail


def broker_identity() -> operations.BrokerIdentity:
    cfg = current_app.config
    return operations.BrokerIdentity(cfg["BROKER_NAME"], cfg["BROKER_REGISTRATION"])


def seal_config() -> SealConfig:
    cfg = current_app.config
    path, password = cfg["SEAL_P12_PATH"], cfg["SEAL_P12_PASSWORD"].encode()
    if cfg["PORTAL_ENV"] != "production":
        ensure_dev_certificate(path, password)
    return SealConfig(path, password, cfg["SEAL_TSA_URL"])


def seal_certificate_pem() -> bytes:
    config = seal_config()
    return certificate_pem(config.p12_path, config.p12_password)


def _agreement(session: Session, public_id: str) -> Agreement:
    return session.execute(select(Agreement).where(Agreement.public_id == public_id)).scalar_one()


@job(operations.SEAL_JOB)
def seal_job(session: Session, agreement: str) -> None:
    """Run by the outbox worker after the countersignature; retried with backoff until it succeeds."""
    record = _agreement(session, agreement)
    already_active = record.status is AgreementStatus.active
    operations.finalise(session, record, seal_config())
    if not already_active:
        _mail_sealed_copy(session, record)


@on_job_failure(operations.SEAL_JOB)
def seal_failed(session: Session, error: str, agreement: str) -> None:
    operations.record_seal_failure(session, _agreement(session, agreement), error)


@attachment_provider("agreement")
def sealed_copy(session: Session, public_id: str) -> tuple[str, str, bytes]:
    record = _agreement(session, public_id)
    if record.sealed_pdf is None:
        raise LookupError(f"agreement {public_id} has no sealed copy yet")
    return f"{record.reference}.pdf", "application/pdf", record.sealed_pdf


def _mail_sealed_copy(session: Session, record: Agreement) -> None:
    for signature in record.signatures:
        user = signature.user
        queue_mail("agreement_sealed", to=user.email, locale=user.locale, user=user, agreement=record,
                   attachment_ref=f"agreement:{record.public_id}",
                   link=url_for("agreements.view", public_id=record.public_id, _external=True))


def mail_partner_admins(session: Session, record: Agreement, template: str) -> None:
    admins = session.execute(select(User).where(User.organisation_id == record.organisation_id,
                                                User.role == Role.partner_admin, User.active.is_(True))).scalars()
    for user in admins:
        queue_mail(template, to=user.email, locale=user.locale, user=user, agreement=record,
                   link=url_for("agreements.view", public_id=record.public_id, _external=True))


def ensure_dev_seal(app) -> Path | None:
    """`make run` and the tests make sure a development certificate exists before anything is sealed."""
    with app.app_context():
        if app.config["PORTAL_ENV"] == "production":
            return None
        return Path(seal_config().p12_path)

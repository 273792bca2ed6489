"""Fixtures for agreements: a development seal certificate for the run, firms ready for an agreement, and a
helper that takes an agreement through its whole life (prepare → send → partner signs → broker countersigns
→ sealed and active), one committed transaction per step as the portal does it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select

import core.outbox
from agreements import operations
from agreements.certificates import certificate_pem, ensure_dev_certificate
from agreements.models import Agreement, Signature, SignerParty
from agreements.sealing import SealConfig
from core.accounts import PartnerStatus, Role
from core.audit import AuditEvent
from core.outbox import OutboxMessage
from core.partners import Lifecycle
from tests.domain import *  # noqa: F401,F403  (session, app, the check that no app context is active)

BROKER = operations.BrokerIdentity("BIG Insurance Brokers SAS", "ORIAS 07000001")
SEAL_PASSWORD = b"test seal password"
PARTNER_IP, BROKER_IP = "203.0.113.7", "2001:db8::42"
PARTNER_UA, BROKER_UA = "Mozilla/5.0 (partner test browser)", "Mozilla/5.0 (broker test browser)"


@dataclass(frozen=True)
class Seal:
    config: SealConfig
    #: the seal certificate, as a verifier trusts it
    pem: bytes


@pytest.fixture(scope="session")
def seal(tmp_path_factory) -> Seal:
    path = ensure_dev_certificate(tmp_path_factory.mktemp("seal") / "seal-dev.p12", SEAL_PASSWORD)
    return Seal(SealConfig(str(path), SEAL_PASSWORD), certificate_pem(path, SEAL_PASSWORD))


@pytest.fixture
def seal_job():
    # The portal registers the real "agreements.seal" handler; these tests call operations.finalise directly,
    # so a placeholder is enough for the countersignature to queue its job.
    core.outbox.JOBS.setdefault(operations.SEAL_JOB, lambda session, **kw: None)
    return operations.SEAL_JOB


@dataclass
class Firm:
    org: object
    #: the partner firm's administrator, who signs for it
    signer: object


class AgreementFlow:
    """Each step is one committed transaction, as a request in the portal."""

    def __init__(self, session, make_org, make_user, seal: Seal):
        self.session, self._make_org, self._make_user, self.seal = session, make_org, make_user, seal
        self.broker_signer = self.user(Role.admin, full_name="Béatrice Broker")

    def user(self, role, org=None, *, full_name: str, locale="en"):
        user = self._make_user(role, org, locale=locale)
        user.full_name = full_name
        self.session.commit()
        return user

    def firm(self, status=PartnerStatus.specialist_broker, *, signer_name="Pat Partner", **kw) -> Firm:
        kw.setdefault("lifecycle", Lifecycle.approved)
        org = self._make_org(status, **kw)
        return Firm(org, self.user(Role.partner_admin, org, full_name=signer_name))

    def prepare(self, org, *, effective_from=date(2026, 12, 1), language=None, rules=None) -> Agreement:
        agreement = operations.prepare_agreement(self.session, self.broker_signer, org,
                                                 effective_from=effective_from, language=language)
        if rules is not None:
            operations.set_schedule(self.session, self.broker_signer, agreement, rules)
        self.session.commit()
        return agreement

    def send(self, agreement) -> Agreement:
        operations.send_for_signature(self.session, self.broker_signer, agreement, BROKER)
        self.session.commit()
        return agreement

    def sign_partner(self, agreement, user, *, typed_name=None) -> Signature:
        sig = operations.sign(self.session, agreement, user, party=SignerParty.partner,
                              typed_name=typed_name if typed_name is not None else user.full_name,
                              shown_sha256=agreement.document_sha256, ip=PARTNER_IP, user_agent=PARTNER_UA)
        self.session.commit()
        return sig

    def sign_broker(self, agreement, *, typed_name=None) -> Signature:
        user = self.broker_signer
        sig = operations.sign(self.session, agreement, user, party=SignerParty.broker,
                              typed_name=typed_name if typed_name is not None else user.full_name,
                              shown_sha256=agreement.document_sha256, ip=BROKER_IP, user_agent=BROKER_UA)
        self.session.commit()
        return sig

    def finalise(self, agreement) -> Agreement:
        operations.finalise(self.session, agreement, self.seal.config)
        self.session.commit()
        return agreement

    def activate(self, firm: Firm, *, partner_typed_name=None, template_version=None, **prepare_kw) -> Agreement:
        """prepare → send → partner signs → broker countersigns → finalise (sealed, active). `template_version`:
        as if prepared when that version was the latest."""
        agreement = self.prepare(firm.org, **prepare_kw)
        if template_version is not None:
            agreement.template_version = template_version
            self.session.commit()
        agreement = self.send(agreement)
        self.sign_partner(agreement, firm.signer, typed_name=partner_typed_name)
        self.sign_broker(agreement)
        return self.finalise(agreement)


@pytest.fixture
def flow(session, make_org, make_user, seal, seal_job) -> AgreementFlow:
    return AgreementFlow(session, make_org, make_user, seal)


@pytest.fixture
def active_agreement(flow):
    """active_agreement(status=..., firm kwargs...) -> (agreement, firm): a sealed, active agreement."""
    def make(status=PartnerStatus.specialist_broker, *, firm_kw=None, **prepare_kw):
        firm = flow.firm(status, **(firm_kw or {}))
        return flow.activate(firm, **prepare_kw), firm

    return make


@dataclass(frozen=True)
class State:
    status: object
    signatures: int
    document_sha256: str | None
    audit_events: int
    seal_jobs: int


def state_of(session, agreement) -> State:
    """What is in the database for this agreement (after flushing whatever the session holds)."""
    session.flush()
    session.expire_all()
    count = lambda q: session.execute(q).scalar_one()  # noqa: E731
    return State(
        status=session.execute(select(Agreement.status).where(Agreement.id == agreement.id)).scalar_one(),
        signatures=count(select(func.count()).select_from(Signature).where(Signature.agreement_id == agreement.id)),
        document_sha256=session.execute(select(Agreement.document_sha256)
                                        .where(Agreement.id == agreement.id)).scalar_one(),
        audit_events=count(select(func.count()).select_from(AuditEvent)),
        seal_jobs=count(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.job_name == operations.SEAL_JOB)),
    )

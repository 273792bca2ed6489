"""The insurers contracts are placed with: added by administrators or finance, deactivated, never deleted
(contracts refer to them). Each change is on the audit chain."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .accounts import User
from .contracts import Insurer
from .errors import DomainError
from .i18n import N_

CODE_TAKEN = N_("This code is already used.")


class InsurerCodeTaken(DomainError):
    code = "insurer_code_taken"
    status = 409


def create_insurer(session: Session, actor: User, *, code: str, name: str) -> Insurer:
    """A new insurer; its code (lower case) names its receivable account in the ledger, so it is unique."""
    code = code.strip().lower()
    if session.execute(select(Insurer.id).where(Insurer.code == code)).first():
        raise InsurerCodeTaken(CODE_TAKEN, fields={"code": [CODE_TAKEN]})
    insurer = Insurer(code=code, name=name.strip())
    session.add(insurer)
    session.flush()
    audit.record(session, "insurer.created", actor=actor, subject=insurer, code=code)
    return insurer


def set_insurer_active(session: Session, actor: User, insurer: Insurer, active: bool) -> Insurer:
    """Offer the insurer for new contracts again, or stop offering it (its contracts keep referring to it)."""
    insurer.active = active
    audit.record(session, "insurer.activated" if active else "insurer.deactivated", actor=actor, subject=insurer)
    return insurer

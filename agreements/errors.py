"""Every refusal of the agreements package (each a `core.errors.DomainError`)."""
from __future__ import annotations

from core.errors import DomainError


class AgreementError(DomainError):
    code = "agreement_error"


class WrongState(AgreementError):
    code = "agreement_wrong_state"
    status = 409


class DocumentChanged(AgreementError):
    code = "document_changed"
    status = 409


class AlreadySigned(AgreementError):
    code = "already_signed"
    status = 409


class ScheduleInvalid(AgreementError):
    code = "schedule_invalid"


class ApprovalRequired(AgreementError):
    code = "compliance_approval_required"
    status = 409


class NameMismatch(AgreementError):
    code = "typed_name_mismatch"


class TemplateMissing(AgreementError):
    code = "template_missing"


class SealingFailed(AgreementError):
    code = "sealing_failed"
    status = 503

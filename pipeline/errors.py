"""Every refusal of the pipeline, leads and cases alike (each a `core.errors.DomainError`)."""
from __future__ import annotations

from core.errors import DomainError
from core.i18n import N_

#: a decision (an attribution, a consent withdrawal) is recorded with a written reason
REASON_REQUIRED = N_("Write the reason for the decision (at least 10 characters).")


class LeadRefused(DomainError):
    code = "validation_error"


class HealthDataNotAllowed(DomainError):
    """The need description states health data: refused, and nothing of it is stored. `categories` says which
    kinds (never the words), for compliance's record of the refusal."""

    code = "health_data_not_allowed"
    field = "need_summary"
    message = N_("Medical details must not be sent with a referral. Describe the need without any health "
                 "information (conditions, treatments, pregnancy, medication…): the broker asks the client "
                 "directly through its secure channel.")

    def __init__(self, categories: list[str]):
        super().__init__()
        self.categories = categories


class HealthDataSuspected(HealthDataNotAllowed):
    """The screen is unsure: the note may hide health details (a euphemism, a near-miss spelling). Refused all the
    same, and nothing of it is stored, with a message that asks for the note without them."""

    code = "health_data_suspected"
    message = N_("This note may contain health details. Remove anything about the client's or their family's "
                 "health (conditions, treatments, pregnancy, medication, even in other words) and send it again, "
                 "or leave the note empty: the category of need is enough.")


class IdempotencyConflict(DomainError):
    code = "idempotency_key_reused"
    status = 409


class FirmNotActive(DomainError):
    code = "firm_not_active"
    status = 403


class AttributionRefused(DomainError):
    code = "attribution_refused"


class MoveRefused(DomainError):
    code = "transition_refused"
    status = 409


class PlacementRefused(DomainError):
    code = "validation_error"


class CrossBorderCheckRefused(DomainError):
    """A cross-border check of a case cannot be recorded as asked."""
    code = "cross_border_check_refused"


class CrossBorderCheckNotAllowed(CrossBorderCheckRefused):
    code = "cross_border_check_not_allowed"
    status = 403


class CrossBorderCheckNotOpen(CrossBorderCheckRefused):
    """The check does not apply to the case, or was recorded meanwhile."""
    code = "cross_border_check_not_open"
    status = 409

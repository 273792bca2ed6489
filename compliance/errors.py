"""Every refusal of compliance (each a `core.errors.DomainError`), and the error of a malformed lexicon."""
from __future__ import annotations

from core.errors import DomainError
from core.i18n import N_


class InvalidRegistration(DomainError):
    code = "invalid_registration"


class ReviewRefused(DomainError):
    code = "review_refused"


#: a decision (approval, rejection, suspension) is recorded with a written reason
REASON_REQUIRED = N_("Write the reason for the decision (at least 10 characters).")


class LexiconError(ValueError):
    """A lexicon file of the health-data screen has a malformed line or pattern (a fault of the deployment, not a
    refusal of the user's input)."""


class TrainingRefused(DomainError):
    code = "training_refused"


class TrainingShortfall(DomainError):
    """The firm's people lack the past year's training hours and the broker's policy blocks new cases."""

    code = "training_shortfall"
    status = 403
    message = N_("Your firm cannot submit new cases: %(count)s of your people did not complete the 15 hours of "
                 "training required for %(year)s. Record their training on the Training page (your firm's "
                 "administrator can do it), then submit the case again.")


class ComplaintRefused(DomainError):
    """A complaint cannot be recorded or moved on as asked."""
    code = "complaint_refused"


class ComplaintNotInState(ComplaintRefused):
    code = "complaint_wrong_state"
    status = 409
    message = N_("This complaint has moved on meanwhile: this step no longer applies to it.")

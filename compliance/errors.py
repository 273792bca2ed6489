"""Every refusal of compliance (each a `core.errors.DomainError`), and the error of a malformed lexicon."""
from __future__ import annotations

from core.errors import DomainError
from core.i18n import N_


class InvalidRegistration(DomainError):
    code = "invalid_registration"


class ReviewRefused(DomainError):
    code = "review_refused"


class CommunicationModelRefused(DomainError):
    """A firm chose a communication model its status may not use (an introducer leading the client)."""
    code = "validation_error"
    field = "communication_model"
    message = N_("An introducer does not lead the communication with the client: choose \"Broker leads the client "
                 "communication\" or \"Hybrid\".")


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


class NothingHeld(DomainError):
    """An erasure or export asked about a person the portal holds nothing on."""

    code = "nothing_held"
    status = 404
    message = N_("Nothing is held on this person.")


class CrossBorderRefused(DomainError):
    """A host-state notification or a cross-border check of a case cannot be recorded as asked."""
    code = "cross_border_refused"


class CrossBorderNotAllowed(CrossBorderRefused):
    """The user's role does not make this cross-border decision."""
    code = "cross_border_not_allowed"
    status = 403

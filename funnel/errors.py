"""The funnel's domain errors. Each message is a msgid (core.i18n.N_) the portal translates when it shows it;
`fields` names the inputs at fault, dotted for nested ones (`persons.2.birth_date`)."""
from __future__ import annotations

from core.errors import DomainError, NotFound
from core.i18n import N_


class FunnelError(DomainError):
    code = "funnel_error"


class GridInvalid(FunnelError):
    """A tariff grid or zone table offered as a new version does not hold together."""

    code = "tariff_invalid"


class VersionRefused(FunnelError):
    code = "version_refused"


class NoVersionInForce(NotFound):
    """No tariff (or zone table) takes effect on or before the date asked about."""

    code = "no_tariff_in_force"


class UnknownCountry(FunnelError):
    code = "unknown_country"
    message = N_("The mission country %(country)s is not in the zone table: its premium cannot be computed. "
                 "The broker's staff have to place it in a zone first.")
    field = "mission_country"


class UnknownFormula(FunnelError):
    code = "unknown_formula"


class QuoteRefused(FunnelError):
    """The choice cannot be priced as asked (dates outside the mission, a child over the age limit...)."""

    code = "quote_refused"


class DependantNotEligible(FunnelError):
    code = "dependant_not_eligible"


class VolunteerNotFound(NotFound):
    code = "volunteer_not_found"
    message = N_("No volunteer with this file reference or id: %(ref)s.")


class DeclarationRefused(FunnelError):
    """A dependant the volunteer declares cannot be recorded as given."""

    code = "declaration_refused"

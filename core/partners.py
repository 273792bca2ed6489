"""A partner firm's lifecycle, shared by the portal (accounts) and the domain packages."""
import enum

from .i18n import N_


class Lifecycle(enum.Enum):
    applied = "applied"
    under_review = "under_review"
    approved = "approved"
    active = "active"
    suspended = "suspended"
    terminated = "terminated"
    rejected = "rejected"

    @property
    def label(self) -> str:
        return LIFECYCLE_LABELS[self]


LIFECYCLE_LABELS = {
    Lifecycle.applied: N_("Applied"),
    Lifecycle.under_review: N_("Under review"),
    Lifecycle.approved: N_("Approved, agreement in preparation"),
    Lifecycle.active: N_("Active partner"),
    Lifecycle.suspended: N_("Suspended"),
    Lifecycle.terminated: N_("Terminated"),
    Lifecycle.rejected: N_("Application rejected"),
}

"""What the case page and the firm pages show of cross-border matters (shared by their views)."""
from __future__ import annotations

from flask_login import current_user

from compliance import crossborder as rules
from core.accounts import Organisation
from pipeline.cases import crossborder
from pipeline.cases.models import Case

from ..extensions import db
from .forms import EndNotificationForm, HostStateCheckForm, LocalLicensingForm, NotificationForm, ReleaseForm


def case_context(case: Case, forms: dict | None = None) -> dict:
    """`xb`: the case's cross-border check (None for a case older than the checks); `xb_forms`: the forms the
    user may post on it. A partner gets only whether a check is pending (`xb_pending`), never the check."""
    check = crossborder.check_of(db.session, case)
    if not current_user.is_staff:
        return {"xb": None, "xb_forms": {}, "xb_pending": bool(check and check.pending)}
    forms = dict(forms or {})
    if check is not None and check.pending:
        kind = {rules.CrossBorderOutcome.held: ("release", ReleaseForm, crossborder.RELEASE_ROLES),
                rules.CrossBorderOutcome.host_state_check: ("host_state_check", HostStateCheckForm,
                                                            crossborder.HOST_CHECK_ROLES),
                rules.CrossBorderOutcome.outside_eea: ("local_licensing", LocalLicensingForm,
                                                       crossborder.LOCAL_LICENSING_ROLES)}[check.outcome]
        name, form_cls, roles = kind
        if current_user.role in roles and name not in forms:
            forms[name] = form_cls(formdata=None)
    return {"xb": check, "xb_forms": forms, "xb_pending": bool(check and check.pending)}


def firm_context(org: Organisation, form: NotificationForm | None = None, editable: bool = False) -> dict:
    """The firm's host-state notifications, and the forms to add or end one where the user keeps them."""
    return {"host_states": rules.notifications(db.session, org.id),
            "host_state_form": (form or NotificationForm(formdata=None)) if editable else None,
            "end_host_state_form": EndNotificationForm(formdata=None) if editable else None}

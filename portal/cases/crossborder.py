"""The cross-border checks of a case, posted from its page: compliance releases a hold, an account manager or
compliance marks the host-state check done, an account manager records the local licensing consideration
(pipeline.cases.crossborder has the rules; portal.crossborder the list and the firms' notifications)."""
from __future__ import annotations

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from pipeline.cases import crossborder
from pipeline.cases.models import Case

from ..crossborder.forms import HostStateCheckForm, LocalLicensingForm, ReleaseForm
from ..edge import done, unit_of_work
from ..extensions import db
from ..security.access import allow
from ..security.scoping import get_scoped_or_404
from .views import bp, render_case


def _record(public_id: str, name: str, form, operation, success: str):
    """Post one of the case's checks: record it, or show the case page again with the refusal."""
    case = get_scoped_or_404(Case, public_id, current_user)
    status = 422
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            operation(case, form)
        if work.ok:
            return done(success, url_for("cases.view", public_id=case.public_id))
        status = work.error.status
    return render_case(case, status=status, crossborder_forms={name: form})


@bp.route("/<public_id>/cross-border/release", methods=["POST"])
@allow(*crossborder.RELEASE_ROLES)
def crossborder_release(public_id: str):
    return _record(public_id, "release", ReleaseForm(), lambda case, form: crossborder.release_hold(
        db.session, current_user, case, reason=form.reason.data, ip=request.remote_addr),
        _("The hold is released: the case can move on."))


@bp.route("/<public_id>/cross-border/host-state-check", methods=["POST"])
@allow(*crossborder.HOST_CHECK_ROLES)
def crossborder_host_state_check(public_id: str):
    return _record(public_id, "host_state_check", HostStateCheckForm(),
                   lambda case, form: crossborder.complete_host_state_check(
                       db.session, current_user, case, note=form.note.data, ip=request.remote_addr),
                   _("The host-state check is recorded."))


@bp.route("/<public_id>/cross-border/local-licensing", methods=["POST"])
@allow(*crossborder.LOCAL_LICENSING_ROLES)
def crossborder_local_licensing(public_id: str):
    return _record(public_id, "local_licensing", LocalLicensingForm(),
                   lambda case, form: crossborder.record_local_licensing(
                       db.session, current_user, case, consideration=form.consideration.data,
                       ip=request.remote_addr),
                   _("The local licensing consideration is recorded."))

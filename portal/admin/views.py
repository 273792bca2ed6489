"""The administrator's area: partner firms, users, insurers, the audit log and the outbox."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from core.accounts import Organisation, PartnerStatus, Role, User
from core.contracts import Insurer
from core.insurers import create_insurer, set_insurer_active
from core.outbox import OutboxMessage, OutboxState, retry_failed

from ..accounts import operations as ops
from ..accounts.models import TokenPurpose
from ..edge import done, unit_of_work
from ..extensions import db
from ..pagination import paginate
from ..security.access import allow
from ..security.scoping import get_or_404
from .forms import InsurerForm, OrganisationForm, UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

ADMIN = Role.admin


# --- partner firms -------------------------------------------------------------------------------------

@bp.route("/organisations")
@allow(ADMIN, Role.compliance, Role.finance, Role.account_manager)
def organisations():
    status = request.args.get("status")
    q = (request.args.get("q") or "").strip()
    stmt = select(Organisation).order_by(Organisation.legal_name)
    if status in PartnerStatus.__members__:
        stmt = stmt.where(Organisation.status == PartnerStatus[status])
    if q:
        stmt = stmt.where(func.lower(Organisation.legal_name).contains(q.lower()))
    page = paginate(stmt)
    return render_template("admin/organisations.html", page=page, status=status, q=q, statuses=PartnerStatus)


@bp.route("/organisations/new", methods=["GET", "POST"])
@allow(ADMIN)
def organisation_new():
    form = OrganisationForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            org = ops.create_organisation(db.session, current_user, request.remote_addr, **form.values())
        if work.ok:
            return done(_("Partner firm %(name)s created.", name=org.legal_name),
                        url_for("admin.organisation_view", public_id=org.public_id))
    return render_template("admin/organisation_form.html", form=form, org=None), 200 if not form.errors else 422


@bp.route("/organisations/<public_id>")
@allow(ADMIN, Role.compliance, Role.finance, Role.account_manager)
def organisation_view(public_id: str):
    from ..onboarding.views import organisation_context

    org = get_or_404(Organisation, public_id)
    return render_template("admin/organisation.html", **organisation_context(org))


@bp.route("/organisations/<public_id>/edit", methods=["GET", "POST"])
@allow(ADMIN)
def organisation_edit(public_id: str):
    org = get_or_404(Organisation, public_id)
    form = OrganisationForm(obj=org)
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            ops.update_organisation(db.session, current_user, org, request.remote_addr, **form.values())
        if work.ok:
            return done(_("Changes saved."), url_for("admin.organisation_view", public_id=org.public_id))
    return render_template("admin/organisation_form.html", form=form, org=org), 200 if not form.errors else 422


# --- users ---------------------------------------------------------------------------------------------

def _organisations():
    return db.session.execute(select(Organisation).order_by(Organisation.legal_name)).scalars().all()


def _user_values(form: UserForm) -> dict:
    org = get_or_404(Organisation, form.organisation.data) if form.organisation.data else None
    return {"full_name": form.full_name.data, "role": form.role.data, "organisation": org,
            "locale": form.locale.data, "active": form.active.data}


@bp.route("/users")
@allow(ADMIN)
def users():
    q = (request.args.get("q") or "").strip().lower()
    role = request.args.get("role")
    stmt = select(User).order_by(User.email)
    if q:
        stmt = stmt.where(func.lower(User.email).contains(q) | func.lower(User.full_name).contains(q))
    if role in Role.__members__:
        stmt = stmt.where(User.role == Role[role])
    return render_template("admin/users.html", page=paginate(stmt), q=q, role=role, roles=Role)


@bp.route("/users/new", methods=["GET", "POST"])
@allow(ADMIN)
def user_new():
    form = UserForm(organisations=_organisations())
    if form.validate_on_submit():
        values = _user_values(form)
        values.pop("active")
        with unit_of_work(form) as work:
            user = ops.create_user(db.session, current_user, email=form.email.data, ip=request.remote_addr,
                                   **values)
        if work.ok:
            return done(_("User created. An invitation to choose a password was sent to %(email)s.", email=user.email),
                        url_for("admin.user_edit", public_id=user.public_id))
    return render_template("admin/user_form.html", form=form, user=None), 200 if not form.errors else 422


@bp.route("/users/<public_id>", methods=["GET", "POST"])
@allow(ADMIN)
def user_edit(public_id: str):
    user = get_or_404(User, public_id)
    form = UserForm(obj=user, organisations=_organisations())
    del form.email  # the address identifies the account; it is not edited here
    if request.method == "GET":
        form.organisation.data = user.organisation.public_id if user.organisation else ""
    if form.validate_on_submit():
        if user.id == current_user.id and (form.role.data is not Role.admin or not form.active.data):
            form.role.errors = [_("You cannot remove your own administrator access.")]
        else:
            with unit_of_work(form) as work:
                ops.update_user(db.session, current_user, user, ip=request.remote_addr, **_user_values(form))
            if work.ok:
                return done(_("Changes saved."), url_for("admin.user_edit", public_id=user.public_id))
    return render_template("admin/user_form.html", form=form, user=user), 200 if not form.errors else 422


@bp.route("/users/<public_id>/password-link", methods=["POST"])
@allow(ADMIN)
def user_send_reset(public_id: str):
    user = get_or_404(User, public_id)
    with unit_of_work(success=_("A password reset link was sent to %(email)s.", email=user.email)):
        ops.send_password_link(db.session, user, TokenPurpose.reset, actor=current_user, ip=request.remote_addr)
    return redirect(url_for("admin.user_edit", public_id=user.public_id))


# --- audit log and outbox ------------------------------------------------------------------------------

@bp.route("/audit")
@allow(ADMIN, Role.compliance)
def audit_log():
    """The audit log moved to /audit (portal.audit); old links and bookmarks land there, filters kept."""
    return redirect(url_for("audit.log", **request.args))


@bp.route("/outbox")
@allow(ADMIN)
def outbox():
    state = request.args.get("state")
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if state in OutboxState.__members__:
        stmt = stmt.where(OutboxMessage.state == OutboxState[state])
    return render_template("admin/outbox.html", page=paginate(stmt, per_page=50), state=state, states=OutboxState)


@bp.route("/outbox/<public_id>/retry", methods=["POST"])
@allow(ADMIN)
def outbox_retry(public_id: str):
    message = get_or_404(OutboxMessage, public_id)
    with unit_of_work(success=_("The message is queued again.")):
        retry_failed(db.session, message)
    return redirect(url_for("admin.outbox"))


# --- insurers ----------------------------------------------------------------------------------------------

@bp.route("/insurers", methods=["GET", "POST"])
@allow(ADMIN, Role.finance)
def insurers():
    """The insurers contracts are placed with. An insurer is deactivated, never deleted: contracts refer to it."""
    form = InsurerForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            create_insurer(db.session, current_user, code=form.code.data, name=form.name.data)
        if work.ok:
            return done(_("Insurer added."), url_for("admin.insurers"))
    rows = db.session.execute(select(Insurer).order_by(Insurer.name)).scalars().all()
    return render_template("admin/insurers.html", form=form, insurers=rows), 422 if form.errors else 200


@bp.route("/insurers/<public_id>/active", methods=["POST"])
@allow(ADMIN, Role.finance)
def insurer_toggle(public_id: str):
    insurer = get_or_404(Insurer, public_id)
    with unit_of_work():
        set_insurer_active(db.session, current_user, insurer, not insurer.active)
    return redirect(url_for("admin.insurers"))

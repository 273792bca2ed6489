"""A partner administrator manages the people of their own firm — and of no other."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from core.accounts import Role, User

from ..accounts import operations as ops
from ..accounts.models import TokenPurpose
from ..crossborder.panel import firm_context
from ..edge import done, unit_of_work
from ..extensions import db
from ..security.access import PARTNERS, allow
from ..security.scoping import get_scoped_or_404, scoped
from .forms import MemberForm

bp = Blueprint("firm", __name__, url_prefix="/firm")


def _member(public_id: str) -> User:
    # Staff are not scoped to a firm, so this area is for partner admins only (see the declarations).
    return get_scoped_or_404(User, public_id, current_user)


@bp.route("/")
@allow(*PARTNERS)
def team():
    members = db.session.execute(
        scoped(select(User), User, current_user).order_by(User.full_name)).scalars().all()
    org = current_user.organisation
    # the firm's host-state notifications, read-only: kept by the broker's admins and compliance
    host_states = firm_context(org) if current_user.role is Role.partner_admin else {}
    return render_template("firm/team.html", org=org, members=members, **host_states)


@bp.route("/members/new", methods=["GET", "POST"])
@allow(Role.partner_admin)
def member_new():
    form = MemberForm()
    if form.validate_on_submit():
        with unit_of_work(form) as work:
            user = ops.create_user(db.session, current_user, email=form.email.data, full_name=form.full_name.data,
                                   role=Role(form.role.data), organisation=current_user.organisation,
                                   locale=form.locale.data, ip=request.remote_addr)
        if work.ok:
            return done(_("%(name)s was invited by e-mail.", name=user.full_name), url_for("firm.team"))
    return render_template("firm/member_form.html", form=form, member=None), 200 if not form.errors else 422


@bp.route("/members/<public_id>", methods=["GET", "POST"])
@allow(Role.partner_admin)
def member_edit(public_id: str):
    member = _member(public_id)
    form = MemberForm(obj=member)
    if request.method == "GET":
        form.role.data = member.role.value
    del form.email  # the address identifies the account; it is not edited here
    if form.validate_on_submit():
        role = Role(form.role.data)
        if member.id == current_user.id and (role is not Role.partner_admin or not form.active.data):
            form.role.errors = [_("You cannot remove your own administrator access.")]
        else:
            with unit_of_work(form) as work:
                ops.update_user(db.session, current_user, member, ip=request.remote_addr, role=role,
                                full_name=form.full_name.data, locale=form.locale.data, active=form.active.data)
            if work.ok:
                return done(_("Changes saved."), url_for("firm.team"))
    return render_template("firm/member_form.html", form=form, member=member), 200 if not form.errors else 422


@bp.route("/members/<public_id>/password-link", methods=["POST"])
@allow(Role.partner_admin)
def member_send_reset(public_id: str):
    member = _member(public_id)
    with unit_of_work(success=_("A password reset link was sent to %(email)s.", email=member.email)):
        ops.send_password_link(db.session, member, TokenPurpose.reset, actor=current_user, ip=request.remote_addr)
    return redirect(url_for("firm.team"))
